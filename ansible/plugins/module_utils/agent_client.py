# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP client for the pgferry agent API, shared by every module of the collection."""

from __future__ import annotations

import json
import re
import socket
import ssl

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit, urlunsplit

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible.module_utils.urls import ConnectionError as AnsibleConnectionError
from ansible.module_utils.urls import SSLValidationError, open_url

MASK = '********'
TOKEN_ENV = 'PGFERRY_AGENT_TOKEN'

# Password literals in SQL and conninfo strings: group 1 and group 2 are kept, what lies between is masked.
# Order matters: a conninfo value quoted inside an SQL literal (password=''x y'') before a plain quoted one.
_SECRET_PATTERNS = (
    re.compile(r"(\bPASSWORD\s+')(?:[^']|'')*(')", re.IGNORECASE),
    re.compile(r"(\bpassword\s*=\s*'')(?:[^']|'''')*('')", re.IGNORECASE),
    re.compile(r"(\bpassword\s*=\s*')(?:[^'\\]|\\.)*(')", re.IGNORECASE),
    re.compile(r"(\bpassword\s*=\s*)[^\s']+()", re.IGNORECASE),
)


def agent_argument_spec():
    """Options every agent module takes; documented in the pgferry.migrate.agent doc fragment."""
    return dict(
        agent_url=dict(type='str', required=True),
        agent_token=dict(type='str', no_log=True, fallback=(env_fallback, [TOKEN_ENV])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='int', default=30),
    )


def mask_secrets(text, secrets=()):
    """Return text with each given secret and any password literal replaced by a mask."""
    if not isinstance(text, str):
        return text
    for secret in secrets:
        if secret:
            text = text.replace(secret, MASK)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK + m.group(2), text)
    return text


def mask_value(value, secrets=()):
    """mask_secrets applied to every string inside nested dicts and lists."""
    if isinstance(value, dict):
        return dict((k, mask_value(v, secrets)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [mask_value(v, secrets) for v in value]
    return mask_secrets(value, secrets)


def mask_queries(queries, secrets=()):
    """Mask passwords in the SQL a module reports back as `queries`."""
    return [mask_secrets(q, secrets) for q in queries or []]


def _safe_url(url):
    """The URL without user:password@, so it can go into messages."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ''
    if parts.port:
        host = '%s:%d' % (host, parts.port)
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


class AgentClient:
    """Calls one agent; every failure ends the module through fail_json with a message that says what broke."""

    def __init__(self, module):
        self.module = module
        params = module.params
        self.base_url = params['agent_url'].rstrip('/')
        self.token = params.get('agent_token')
        self.validate_certs = params.get('validate_certs', True)
        self.ca_path = params.get('ca_path')
        self.timeout = params.get('timeout') or 30
        if not re.match(r'^https?://', self.base_url):
            self.fail('agent_url must start with http:// or https://, got %s' % _safe_url(self.base_url))

    # ------------------------------------------------------------ public API

    def get(self, path, **kwargs):
        return self.request('GET', path, **kwargs)

    def post(self, path, data=None, **kwargs):
        return self.request('POST', path, data=data, **kwargs)

    def put(self, path, data=None, **kwargs):
        return self.request('PUT', path, data=data, **kwargs)

    def delete(self, path, **kwargs):
        return self.request('DELETE', path, **kwargs)

    def request(self, method, path, data=None, accept_status=()):
        """Send one request and return the parsed JSON body (None for an empty body).

        A status listed in accept_status is not a failure: the call returns (status, body) instead of body,
        so a caller can report, for example, an unhealthy agent's 503 rather than fail on it.
        """
        url = self.url(path)
        headers = {'Accept': 'application/json, application/problem+json'}
        body = None
        if data is not None:
            body = json.dumps(data)
            headers['Content-Type'] = 'application/json'
        if self.token:
            headers['Authorization'] = 'Bearer %s' % self.token
        where = '%s %s' % (method, _safe_url(url))
        try:
            # follow_redirects='none': a redirect must never carry the bearer token to another host.
            resp = open_url(url, data=body, headers=headers, method=method, timeout=self.timeout,
                            validate_certs=self.validate_certs, ca_path=self.ca_path,
                            follow_redirects='none', use_netrc=False, http_agent='pgferry-ansible')
            status = resp.getcode()
            raw = resp.read()
        except HTTPError as e:
            status, raw = e.code, self._read_error_body(e)
            if status in accept_status:
                return status, self._parse(raw, where, status)
            self._fail_http(where, status, raw, e)
        except Exception as e:  # pylint: disable=broad-except
            self.fail(self._describe_transport_error(where, e))
        parsed = self._parse(raw, where, status)
        return (status, parsed) if accept_status else parsed

    def url(self, path):
        return self.base_url + '/' + quote(path.lstrip('/'), safe='/?&=%:@,')

    def fail(self, msg, **kwargs):
        """fail_json with the token masked out of the message and every extra value."""
        self.module.fail_json(msg=mask_secrets(msg, [self.token]), **mask_value(kwargs, [self.token]))

    # ------------------------------------------------------------ errors

    @staticmethod
    def _read_error_body(err):
        try:
            return err.read()
        except Exception:  # pylint: disable=broad-except
            return b''

    def _parse(self, raw, where, status):
        text = to_text(raw or b'', errors='surrogate_or_replace').strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            self.fail('%s: agent answered HTTP %s with a body that is not JSON (is agent_url pointing at a pgferry '
                      'agent?): %s' % (where, status, text[:200]), status=status)

    def _fail_http(self, where, status, raw, err):
        problem = None
        text = to_text(raw or b'', errors='surrogate_or_replace').strip()
        try:
            problem = json.loads(text) if text else None
        except ValueError:
            pass
        if not isinstance(problem, dict):
            reason = to_native(getattr(err, 'reason', '') or '')
            if 300 <= status < 400:
                reason = 'redirect to %s refused' % _safe_url(err.headers.get('Location', '?'))
            detail = (' Body: %s' % text[:200]) if text else ''
            self.fail('%s: agent answered HTTP %s %s.%s' % (where, status, reason, detail), status=status)
        title = problem.get('title') or 'error'
        code = problem.get('code')
        msg = '%s: agent answered HTTP %s %s' % (where, status, title)
        if code:
            msg += ' [%s]' % code
        if problem.get('detail'):
            msg += ': %s' % problem['detail']
        if status == 401:
            msg += ' (check agent_token or the %s environment variable)' % TOKEN_ENV
        self.fail(msg, status=status, code=code, problem=problem)

    def _describe_transport_error(self, where, err):
        """One clear sentence per way a request can fail before an HTTP status arrives."""
        reason = err.reason if isinstance(err, URLError) else err
        if isinstance(reason, (socket.timeout, TimeoutError)) or 'timed out' in to_native(reason):
            return '%s: no answer from the agent within timeout=%ss' % (where, self.timeout)
        if isinstance(reason, ConnectionRefusedError):
            return '%s: connection refused: is the agent running and listening there?' % where
        if isinstance(reason, socket.gaierror):
            return '%s: cannot resolve host %s: %s' % (where, urlsplit(self.base_url).hostname, to_native(reason))
        if isinstance(reason, (ssl.SSLError, ssl.CertificateError, SSLValidationError)):
            return ('%s: TLS failure: %s (set ca_path to the CA that signed the agent certificate, '
                    'or validate_certs=false for testing only)' % (where, to_native(reason)))
        if isinstance(reason, OSError):
            return '%s: cannot connect to the agent: %s' % (where, to_native(reason))
        if isinstance(err, AnsibleConnectionError):
            return '%s: cannot connect to the agent: %s' % (where, to_native(err))
        return '%s: request failed: %s: %s' % (where, type(err).__name__, to_native(err))
