# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""HTTP client for the pgferry agent API, shared by every module of the collection."""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import re
import socket
import ssl
import tempfile
import time

from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlsplit, urlunsplit
from urllib.request import HTTPRedirectHandler, HTTPSHandler, Request, build_opener

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_native, to_text

MASK = '********'
TOKEN_ENV = 'PGFERRY_AGENT_TOKEN'
MIGRATION_ID_RE = re.compile(r'^[a-z][a-z0-9_]{0,39}$')
SHA256_HEADER = 'X-Pgferry-Sha256'
# Seconds a request refused because another run holds the migration's lease (409 migration_leased) is sent again: more
# than the lease a cutover takes lives after its run died (cutover_steps' lease_ttl, 15 s).
LEASE_WAIT = 30
_CHUNK = 1024 * 1024

# Password literals in SQL and conninfo strings: group 1 and group 2 are kept, what lies between is masked.
# Order matters: a conninfo value quoted inside an SQL literal (password=''x y'') before a plain quoted one.
_SECRET_PATTERNS = (
    re.compile(r"(\bPASSWORD\s+')(?:[^']|'')*(')", re.IGNORECASE),
    re.compile(r"(\bpassword\s*=\s*'')(?:[^']|'''')*('')", re.IGNORECASE),
    re.compile(r"(\bpassword\s*=\s*')(?:[^'\\]|\\.)*(')", re.IGNORECASE),
    re.compile(r"(\bpassword\s*=\s*)[^\s']+()", re.IGNORECASE),
)


def _connection_options():
    """The sub-options of O(agent) and O(target_agent): one dict per side, so a role writes one line per task."""
    return dict(
        url=dict(type='str', required=True),
        token=dict(type='str', no_log=True),
        ca_path=dict(type='path'),
        validate_certs=dict(type='bool'),
    )


def agent_argument_spec():
    """Options every agent module takes; documented in the pgferry.migrate.agent doc fragment.

    The agent is named either by O(agent) (a dict, what the roles pass) or by O(agent_url) and its siblings.
    """
    return dict(
        agent=dict(type='dict', options=_connection_options()),
        agent_url=dict(type='str'),
        agent_token=dict(type='str', no_log=True, fallback=(env_fallback, [TOKEN_ENV])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='int', default=30),
        retry_seconds=dict(type='int', default=60),
    )


def connection(params, prefix=''):
    """(url, token, ca_path, validate_certs) of one side: O(<prefix>agent) first, else the flat options.

    prefix is '' for the module's own agent and 'target_' for the peer of a two-sided module; the peer's token and
    certificate settings default to the first agent's.
    """
    own = params.get('agent') or {}
    given = params.get(prefix + 'agent') or {}
    if prefix:
        url = given.get('url') or params.get('target_agent_url')
        token = given.get('token') or params.get('target_agent_token') or own.get('token') or params.get('agent_token')
        ca_path = given.get('ca_path') or params.get('target_ca_path')
        validate = given.get('validate_certs')
        if validate is None:
            validate = params.get('target_validate_certs')
    else:
        url = given.get('url') or params.get('agent_url')
        token = given.get('token') or params.get('agent_token')
        ca_path = given.get('ca_path') or params.get('ca_path')
        validate = given.get('validate_certs')
        if validate is None:
            validate = params.get('validate_certs')
    if not token:
        token = os.environ.get(TOKEN_ENV)
    return url, token, ca_path, True if validate is None else bool(validate)


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

    def __init__(self, module, side=''):
        """side: '' for the module's agent, 'target_' for the other agent of a two-sided module."""
        self.module = module
        params = module.params
        url, self.token, self.ca_path, self.validate_certs = connection(params, side)
        self.timeout = params.get('timeout') or 30
        retry = params.get('retry_seconds')
        self.retry_seconds = 60 if retry is None else max(int(retry), 0)
        if not url:
            module.fail_json(msg='name the agent: set %sagent (a dict with url, token, ca_path, validate_certs) or '
                                 '%sagent_url' % (side, side))
        self._built_opener = None
        self.headers = {}  # sent with every request, e.g. LEASE_HEADER while a run holds the migration's lease
        self.base_url = url.rstrip('/')
        if not re.match(r'^https?://', self.base_url):
            self.fail('agent_url must start with http:// or https://, got %s' % _safe_url(self.base_url))

    # ------------------------------------------------------------ public API

    def hold_seconds(self, poll_interval):
        """How long the agent may hold one poll (?wait=N): poll_interval, within this client's timeout."""
        return max(1, min(int(math.ceil(poll_interval)), int(self.timeout) - 5))

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
        body = None
        headers = {}
        if data is not None:
            body = json.dumps(data)
            headers['Content-Type'] = 'application/json'
        status, resp, where = self._send(method, path, body, headers, accept_status)
        raw = resp.read() if resp is not None else self._error_body
        parsed = self._parse(raw, where, status)
        return (status, parsed) if accept_status else parsed

    def download(self, path, dest, mode=0o600):
        """GET path and store its bytes at dest, replaced atomically only when they differ.

        Returns dict(sha256, size_bytes, agent_sha256, changed); agent_sha256 is the X-Pgferry-Sha256 header the
        agent sent (None when absent), and a mismatch with the bytes received fails the module.
        """
        status, resp, where = self._send('GET', path, None, {'Accept': 'application/octet-stream, application/json'})
        agent_sha = resp.headers.get(SHA256_HEADER)
        digest = hashlib.sha256()
        size = 0
        dest_dir = os.path.dirname(os.path.abspath(dest))
        fd, tmp = tempfile.mkstemp(prefix='.pgferry-', dir=dest_dir)
        try:
            with os.fdopen(fd, 'wb') as out:
                while True:
                    chunk = resp.read(_CHUNK)
                    if not chunk:
                        break
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            if agent_sha and agent_sha.lower() != sha:
                self.fail('%s: received %d bytes with sha256 %s but the agent announced %s; the transfer was '
                          'damaged, rerun' % (where, size, sha, agent_sha), status=status)
            changed = file_sha256(dest) != sha
            if changed:
                os.chmod(tmp, mode)
                os.rename(tmp, dest)
                tmp = None
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)
        return dict(sha256=sha, size_bytes=size, agent_sha256=agent_sha, changed=changed)

    def download_bytes(self, path, max_bytes):
        """GET path into memory when its body is at most max_bytes long.

        Returns dict(data, sha256, size_bytes, agent_sha256), or None when the body is longer (Content-Length says
        so, or more than max_bytes arrive); then no more of it is read. A mismatch with the X-Pgferry-Sha256 the
        agent sent fails the module, as in download.
        """
        status, resp, where = self._send('GET', path, None, {'Accept': 'application/octet-stream, application/json'})
        try:
            length = resp.headers.get('Content-Length')
            if length and length.strip().isdigit() and int(length) > max_bytes:
                return None
            chunks = []
            size = 0
            while size <= max_bytes:
                chunk = resp.read(min(_CHUNK, max_bytes + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            if size > max_bytes:
                return None
            data = b''.join(chunks)
            agent_sha = resp.headers.get(SHA256_HEADER)
        finally:
            resp.close()
        sha = hashlib.sha256(data).hexdigest()
        if agent_sha and agent_sha.lower() != sha:
            self.fail('%s: received %d bytes with sha256 %s but the agent announced %s; the transfer was '
                      'damaged, rerun' % (where, size, sha, agent_sha), status=status)
        return dict(data=data, sha256=sha, size_bytes=size, agent_sha256=agent_sha)

    def upload(self, path, src, sha256=None, content_type='application/octet-stream'):
        """PUT the bytes of file src to path with its sha256 in X-Pgferry-Sha256; return the parsed answer."""
        with open(src, 'rb') as f:
            data = f.read()
        return self.upload_bytes(path, data, sha256, content_type)

    def upload_bytes(self, path, data, sha256=None, content_type='application/octet-stream'):
        """PUT data to path with its sha256 in X-Pgferry-Sha256; return the parsed answer."""
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        headers = {'Content-Type': content_type, SHA256_HEADER: sha256}
        status, resp, where = self._send('PUT', path, data, headers)
        return self._parse(resp.read(), where, status)

    def open_stream(self, method, path, data=None, accept='application/octet-stream'):
        """Send a JSON request and return the open response, for a body to be read piece by piece (close it)."""
        body = json.dumps(data) if data is not None else None
        headers = {'Accept': '%s, application/problem+json' % accept}
        if body is not None:
            headers['Content-Type'] = 'application/json'
        dummy, resp, dummy = self._send(method, path, body, headers)
        return resp

    def put_stream(self, path, stream, content_type='application/octet-stream'):
        """PUT a body read from a file-like object (sent chunked, never held whole) and return the parsed answer."""
        status, resp, where = self._send('PUT', path, stream, {'Content-Type': content_type})
        return self._parse(resp.read(), where, status)

    def remote_sha256(self, path):
        """The X-Pgferry-Sha256 the agent sends for GET path without reading the body; None on 404."""
        status, resp, dummy = self._send('GET', path, None, {'Accept': 'application/octet-stream, application/json'},
                                         accept_status=(404,))
        if resp is None:
            return None
        try:
            return (resp.headers.get(SHA256_HEADER) or '').lower() or None
        finally:
            resp.close()

    def get_bytes(self, path, missing_ok=True):
        """GET path and return the raw body; None on 404 when missing_ok."""
        status, resp, dummy = self._send('GET', path, None, {'Accept': 'application/octet-stream, application/json'},
                                         accept_status=(404,) if missing_ok else ())
        if resp is None:
            return None
        try:
            return resp.read()
        finally:
            resp.close()

    def run_job(self, path, data, wait=True, wait_timeout=3600, poll_interval=2.0, sleep=time.sleep,
                clock=time.monotonic):
        """POST a long step and follow its job until it ends; see the Jobs section of docs/design.md.

        The agent answers 202 {"job": {...}} (an identical call re-attaches to the running job), or, for a call that
        needs no job (check mode), 200 with the step's result. Returns dict(job=..., result=..., polls=n);
        result is the job's result once it succeeded (None when wait=false and it still runs). A failed job and a
        job still running after wait_timeout seconds end the module with a message saying so; so does a 409
        operation_in_progress for this migration (another request or playbook drives it right now). A 409 for
        another migration's job (the agent runs one long job at a time; another playbook run or controller started
        it) is queued behind instead when wait is true: the running job is polled until it ends, then the POST is
        sent again, within wait_timeout (queued_seconds says how long).
        """
        where = 'POST %s' % _safe_url(self.url(path))
        started = clock()
        queued = 0.0
        while True:
            # The agent holds the POST up to a second: a short job answers finished, with no poll at all.
            status, answer = self.post(held(path, 1) if wait else path, data, accept_status=(200, 201, 202, 409))
            if status != 409:
                break
            answer = answer if isinstance(answer, dict) else {}
            running = _running_job_id(answer)
            mine = _path_migration(path)
            other = running and mine and running.partition(':')[2] not in ('', mine)
            if answer.get('code') == 'operation_in_progress' and other and wait:
                # The agent runs one long job at a time; this one belongs to another migration (another playbook
                # run, another controller): queue behind it as the fleet's job slot does within one run.
                waited = self._wait_for_other_job(running, wait_timeout - (clock() - started), poll_interval,
                                                  sleep, clock)
                if waited is not None:
                    queued += waited
                    continue
                # timed_out: the action plugins' slices call again, and this call queues again
                self.fail('%s: the agent still runs job %s of another migration after %ss of waiting (it runs one '
                          'long job at a time); rerun to wait again, or raise wait_timeout'
                          % (where, running, int(clock() - started)), status=409, code=answer.get('code'),
                          problem=answer, timed_out=True, queued_seconds=round(clock() - started, 1))
            self.fail('%s: agent answered HTTP 409 [%s]: another long operation is running for %s%s%s; '
                      'wait for it to finish (or for it to fail), then rerun'
                      % (where, answer.get('code') or 'operation_in_progress',
                         'this agent' if other else 'this migration',
                         (' (job %s)' % running) if running else '',
                         (': %s' % answer['detail']) if answer.get('detail') else ''),
                      status=409, code=answer.get('code'), problem=answer)
        if not isinstance(answer, dict) or 'job' not in answer:
            return dict(job=None, result=answer, polls=0)
        job = answer['job']
        if not isinstance(job, dict) or not job.get('id'):
            self.fail('%s: agent answered HTTP %s with a job that has no id: %s' % (where, status, answer))
        polls = 0
        started = clock()
        pauses = poll_pauses(poll_interval)
        # Each poll is held by the agent until the job ends or `hold` seconds pass (GET /v1/jobs/{id}?wait=N), so a
        # job is seen finished as it finishes, not at the next poll; within the client's timeout and wait_timeout.
        hold = self.hold_seconds(poll_interval)
        while wait and job.get('state') == 'running':
            elapsed = clock() - started
            if elapsed >= wait_timeout:
                self.fail('job %s is still running after %ss (%s); it goes on on the agent: rerun the task to '
                          'wait for it again, or raise wait_timeout' % (job['id'], wait_timeout, progress_text(job)),
                          job=job, timed_out=True)
            asked = clock()
            job = self.get(held('/v1/jobs/' + job['id'], max(1, min(hold, int(wait_timeout - elapsed)))))
            polls += 1
            # An answer sooner than the pause while the job runs (an agent that does not hold): never spin.
            short = next(pauses) - (clock() - asked)
            if job.get('state') == 'running' and short > 0:
                sleep(short)
        if job.get('state') == 'failed':
            error = job.get('error') or {}
            msg = 'job %s failed' % job['id']
            if error.get('title'):
                msg += ': %s' % error['title']
            if error.get('code'):
                msg += ' [%s]' % error['code']
            if error.get('detail'):
                msg += ': %s' % error['detail']
            self.fail(msg, job=job, code=error.get('code'), problem=error or None)
        if job.get('state') not in ('running', 'succeeded'):
            self.fail('job %s is in an unknown state %r' % (job['id'], job.get('state')), job=job)
        return dict(job=job, result=job.get('result') if job.get('state') == 'succeeded' else None, polls=polls,
                    queued_seconds=round(queued, 1))

    def _wait_for_other_job(self, job_id, budget, poll_interval, sleep, clock):
        """Polls another migration's running job until it ends; returns the seconds waited, or None when it still
        runs after budget seconds (the caller then fails with the agent's 409)."""
        started = clock()
        pauses = poll_pauses(max(poll_interval, 0.5), first=0.5)
        while clock() - started < budget:
            sleep(next(pauses))
            status, job = self.get('/v1/jobs/' + job_id, accept_status=(404,))
            if status == 404 or not isinstance(job, dict) or job.get('state') != 'running':
                return clock() - started
        return None

    def _opener(self):
        """The standard library's opener: ansible.module_utils.urls would cost every module task about 40 ms of imports
        (cryptography's x509 among them) for features an agent call does not use. Proxies come from the environment,
        as with open_url; netrc is never read."""
        if self._built_opener is None:
            handlers = [_NoRedirect()]
            if self.base_url.startswith('https://'):  # loading the system's CAs costs 20 ms: only where TLS is used
                context = ssl.create_default_context(cafile=self.ca_path)
                if not self.validate_certs:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                handlers.append(HTTPSHandler(context=context))
            self._built_opener = build_opener(*handlers)
        return self._built_opener

    def _send(self, method, path, body, headers, accept_status=()):
        """Open one request; return (status, response, where). HTTP errors end the module unless accepted,
        in which case response is None and the error body is kept in self._error_body."""
        url = self.url(path)
        headers = dict(self.headers, **headers)
        headers.setdefault('Accept', 'application/json, application/problem+json')
        if self.token:
            headers['Authorization'] = 'Bearer %s' % self.token
        where = '%s %s' % (method, _safe_url(url))
        self._error_body = b''
        started = self.clock()
        attempt = 0
        while True:
            try:
                data = body.encode('utf-8') if isinstance(body, str) else body
                request = Request(url, data=data, headers=dict(headers, **{'User-Agent': 'pgferry-ansible'}),
                                  method=method)
                resp = self._opener().open(request, timeout=self.timeout)
                return resp.getcode(), resp, where
            except HTTPError as e:
                status, raw = e.code, self._read_error_body(e)
                if status in accept_status:
                    self._error_body = raw
                    return status, None, where
                if status == 409 and self.clock() - started < LEASE_WAIT and _problem_code(raw) == 'migration_leased':
                    # Refused before anything was done, so sending it again is safe: a run that died lets its lease
                    # lapse within seconds (a rerun right after a kill goes on); a live one outlasts the wait.
                    self.sleep(1.0)
                    continue
                if (status == 503 and self.clock() - started < self.retry_seconds
                        and _problem_code(raw) == 'agent_busy'):
                    # All the agent's request slots were taken (a fleet's many forks at once): refused before anything
                    # was done, so any method may be sent again after the Retry-After it gives, spread a little.
                    self.sleep(_retry_after(e) + random.uniform(0, 0.5))
                    continue
                self._fail_http(where, status, raw, e)
            except Exception as e:  # pylint: disable=broad-except
                delay = self._retry_delay(method, e, attempt, self.clock() - started)
                if delay is None:
                    msg = self._describe_transport_error(where, e)
                    if attempt:
                        msg += ' (still failing after %d retries over %.0fs)' % (attempt, self.clock() - started)
                    # transport_error tells a caller (the action plugins) that the agent may not have seen the call
                    self.fail(msg, transport_error=is_transient(e), retried_seconds=round(self.clock() - started, 1))
                attempt += 1
                self.sleep(delay)
        return None, None, where  # not reached: fail() exits

    # Only reads are repeated: a GET changes nothing, so sending it again after a lost connection is safe, and a
    # four-hour wait is not ended by one agent restart or network blip. A POST/PUT/DELETE may have reached the agent
    # before the connection broke; repeating it blindly could run a step twice, so it fails at once.
    RETRIED_METHODS = ('GET', 'HEAD')
    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def _retry_delay(self, method, err, attempt, elapsed):
        """Seconds to wait before repeating a request that failed before any HTTP status, or None to give up."""
        if method not in self.RETRIED_METHODS or not is_transient(err):
            return None
        delay = min(2.0 ** attempt, 15.0)  # 1, 2, 4, 8, 15, 15... seconds
        if elapsed + delay > self.retry_seconds:
            return None
        return delay

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
        if problem.get('field'):
            msg += ' (field: %s)' % problem['field']
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
        if isinstance(reason, (ssl.SSLError, ssl.CertificateError)):
            return ('%s: TLS failure: %s (set ca_path to the CA that signed the agent certificate, '
                    'or validate_certs=false for testing only)' % (where, to_native(reason)))
        if isinstance(reason, OSError):
            return '%s: cannot connect to the agent: %s' % (where, to_native(reason))
        return '%s: request failed: %s: %s' % (where, type(err).__name__, to_native(err))


class _NoRedirect(HTTPRedirectHandler):
    """A redirect must never carry the bearer token to another host: a 3xx is answered as an HTTP error."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _retry_after(err):
    try:
        return min(max(float(err.headers.get('Retry-After') or 1), 0.1), 10.0)
    except (TypeError, ValueError, AttributeError):
        return 1.0


def _problem_code(raw):
    try:
        problem = json.loads(to_text(raw or b'', errors='surrogate_or_replace'))
    except ValueError:
        return None
    return problem.get('code') if isinstance(problem, dict) else None


def held(path, seconds):
    """The path with ?wait=seconds: the agent answers when what is waited for happens (a job ends, every table is
    ready), or after that many seconds."""
    return '%s%swait=%d' % (path, '&' if '?' in path else '?', seconds)


def poll_pauses(poll_interval, first=0.1):
    """The pauses between polls: short at first, doubling up to poll_interval. Most steps end within a second or two,
    and a fixed interval made each wait for the rest of it (2 s a job, 5 s a sync_status poll) after the work was
    done; a long job is still polled only every poll_interval."""
    pause = min(first, poll_interval)
    while True:
        yield pause
        pause = min(pause * 2, poll_interval)


def _running_job_id(problem):
    """The running job a 409 operation_in_progress names: the agent lists its id in objects (step:migration)."""
    job = problem.get('job')
    if isinstance(job, dict) and job.get('id'):
        return str(job['id'])
    objects = problem.get('objects') or []
    return str(objects[0]) if objects and ':' in str(objects[0]) else None


def _path_migration(path):
    """The migration id of /v1/migrations/{m}/..., or None."""
    parts = path.split('?')[0].strip('/').split('/')
    return parts[2] if len(parts) > 2 and parts[:2] == ['v1', 'migrations'] else None


def is_transient(err):
    """Whether a transport error may go away by itself: refused, reset or timed-out connections (an agent restarting,
    a network blip). TLS and name-resolution failures are configuration errors and are not retried."""
    reason = err.reason if isinstance(err, URLError) else err
    if isinstance(reason, (ssl.SSLError, ssl.CertificateError, socket.gaierror)):
        return False
    if isinstance(reason, (socket.timeout, TimeoutError, ConnectionError)) or 'timed out' in to_native(reason):
        return True
    # http.client's RemoteDisconnected/BadStatusLine/IncompleteRead: the agent went away mid-answer.
    return type(reason).__name__ in ('RemoteDisconnected', 'BadStatusLine', 'IncompleteRead') or \
        (isinstance(reason, OSError) and not isinstance(reason, ssl.SSLError))


# ---------------------------------------------------------------- helpers for the migration step modules

def file_sha256(path):
    """sha256 hex digest of a file, or None when it does not exist."""
    if not path or not os.path.isfile(path):
        return None
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(_CHUNK), b''):
            digest.update(chunk)
    return digest.hexdigest()


def write_if_different(dest, data, mode=0o600):
    """Store data at dest, replaced atomically and only when its bytes differ; return whether it was written."""
    if file_sha256(dest) == hashlib.sha256(data).hexdigest():
        return False
    fd, tmp = tempfile.mkstemp(prefix='.pgferry-', dir=os.path.dirname(os.path.abspath(dest)))
    try:
        with os.fdopen(fd, 'wb') as out:
            out.write(data)
        os.chmod(tmp, mode)
        os.rename(tmp, dest)
        tmp = None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    return True


def progress_text(job):
    """One line for a job's progress: 'done/total: message'."""
    progress = (job or {}).get('progress') or {}
    text = '%s/%s' % (progress.get('done', '?'), progress.get('total', '?'))
    if progress.get('message'):
        text += ': %s' % progress['message']
    return 'state %s, progress %s' % ((job or {}).get('state'), text)


def migration_argument_spec(scope=False, job=False, progress=False):
    """migration_id and database, plus the scope options and the job-waiting options when asked for.

    Documented in the pgferry.migrate.migration doc fragment (and its SCOPE, JOB and PROGRESS variants); progress_interval
    is read by the module's action plugin (plugin_utils/progress.py), which prints a line per poll.
    """
    spec = dict(
        migration_id=dict(type='str', required=True),
        database=dict(type='str', required=True),
    )
    if scope:
        table = dict(type='list', elements='dict', default=[],
                     options=dict(schema=dict(type='str', required=True), name=dict(type='str', required=True)))
        spec.update(
            include_schemas=dict(type='list', elements='str', default=[]),
            exclude_schemas=dict(type='list', elements='str', default=[]),
            include_tables=table,
            exclude_tables=dict(table),
        )
    if job:
        spec.update(
            wait=dict(type='bool', default=True),
            wait_timeout=dict(type='int', default=3600),
            poll_interval=dict(type='float', default=2.0),
        )
    if progress:
        spec.update(progress_interval=dict(type='float', default=30.0))
    return spec


def replica_identity_argument_spec():
    """replica_identity_full and replica_identity_index (doc fragment pgferry.migrate.migration.replica_identity)."""
    table = dict(schema=dict(type='str', required=True), name=dict(type='str', required=True))
    return dict(
        replica_identity_full=dict(type='list', elements='dict', default=[], options=dict(table)),
        replica_identity_index=dict(type='list', elements='dict', default=[],
                                    options=dict(table, index=dict(type='str', required=True))),
    )


def replica_identity_body(params):
    """The request's replica identity fields, as the agent reads them."""
    return dict(
        replica_identity_full=[dict(schema=t['schema'], name=t['name']) for t in params['replica_identity_full']],
        replica_identity_index=[dict(schema=t['schema'], name=t['name'], index=t['index'])
                                for t in params['replica_identity_index']])


def scope_body(params):
    """The request's scope fields, only the ones that restrict something."""
    body = {}
    for key in ('include_schemas', 'exclude_schemas'):
        if params.get(key):
            body[key] = list(params[key])
    for key in ('include_tables', 'exclude_tables'):
        if params.get(key):
            body[key] = [dict(schema=t['schema'], name=t['name']) for t in params[key]]
    return body


def migration_path(module, step, query=None):
    """/v1/migrations/{m}/{step}[?database=..] after checking the migration id's form."""
    m = module.params['migration_id']
    if not MIGRATION_ID_RE.match(m or ''):
        module.fail_json(msg='migration_id must match %s (lower-case letter, then up to 39 lower-case letters, '
                             'digits or _), got %r' % (MIGRATION_ID_RE.pattern, m))
    path = '/v1/migrations/%s/%s' % (m, step)
    if query:
        path += '?' + '&'.join('%s=%s' % (k, quote(str(v), safe='')) for k, v in query.items())
    return path


def step_result(answer, secrets=(), **extra):
    """A module result from a step's answer {changed, queries, ...state}: secrets masked everywhere."""
    answer = dict(answer or {})
    result = dict(changed=bool(answer.pop('changed', False)), queries=mask_queries(answer.pop('queries', []), secrets))
    answer.pop('check', None)
    result.update(mask_value(answer, secrets))
    result.update(mask_value(extra, secrets))
    return result


def privileges_argument_spec(switch=False, roles=False):
    """role_map, and the privileges switch and the roles' opt-ins when asked for (doc fragment privileges)."""
    spec = dict(role_map=dict(type='dict', default={}))
    if switch:
        spec.update(privileges=dict(type='bool', default=True))
    if roles:
        spec.update(allow_role_rights=dict(type='list', elements='str', default=[]),
                    allow_shared_roles=dict(type='list', elements='str', default=[]))
    return spec


def source_connection_argument_spec(required=False):
    """O(connection): the source as the target server reaches it (doc fragment source_connection)."""
    return dict(connection=dict(type='dict', required=required, options=dict(
        host=dict(type='str', required=True),
        port=dict(type='int', default=5432),
        dbname=dict(type='str', required=True),
        user=dict(type='str'),
        password=dict(type='str', required=True, no_log=True),
        sslmode=dict(type='str', default='prefer',
                     choices=['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']),
    )))


def source_connection_body(params):
    """O(connection) as the agent takes it (also the reverse stream's, to the new primary): keys left unset left out,
    the user the migration's replication role."""
    conn = dict((k, v) for k, v in params['connection'].items() if v is not None)
    conn.setdefault('user', 'pgferry_%s' % params['migration_id'])
    return conn


def peer_argument_spec():
    """The second agent of the modules that compare or carry values between both sides (doc fragment peer)."""
    return dict(
        target_agent=dict(type='dict', options=_connection_options()),
        target_agent_url=dict(type='str'),
        target_agent_token=dict(type='str', no_log=True),
        target_ca_path=dict(type='path'),
        target_validate_certs=dict(type='bool', default=True),
    )


def peer_client(module):
    """An AgentClient for the target agent of a two-sided module."""
    return AgentClient(module, side='target_')


# What a step in check mode cannot find because an earlier step of the same run only reported what it would do.
NOT_YET = ('database_not_found', 'archive_not_found', 'subscription_not_found', 'schema_not_applied',
           'target_tables_missing')


def check_mode_step(module, client, method, path, body, would):
    """Check mode of a step: the agent's own answer (its SQL) when it can give one; when what the step works on does
    not exist yet (an earlier step of this run made nothing, in check mode), the step is reported as a change with the
    comment `would` instead of failing. Exits the module either way."""
    status, answer = client.request(method, path, data=body, accept_status=(200, 201, 202, 404, 422))
    answer = answer if isinstance(answer, dict) else {}
    if status in (404, 422):
        if answer.get('code') in NOT_YET:
            module.exit_json(changed=True, queries=['-- ' + would], pending=answer.get('code'))
        client._fail_http('%s %s' % (method, path), status, json.dumps(answer).encode(), None)
    module.exit_json(**step_result(answer))
