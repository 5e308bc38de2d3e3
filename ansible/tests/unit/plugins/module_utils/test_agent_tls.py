# -*- coding: utf-8 -*-
"""AgentClient against a real TLS server (a self-signed certificate made here with openssl): ca_path and
validate_certs decide whether the module talks to it, and a refused certificate fails with a message naming the fix."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import AgentClient

TOKEN = 'tls-token-7a1c2b-secret'

pytestmark = pytest.mark.skipif(shutil.which('openssl') is None, reason='needs the openssl command')


class FailJson(Exception):
    pass


class FakeModule:
    def __init__(self, **params):
        self.params = dict(agent_token=TOKEN, validate_certs=True, ca_path=None, timeout=5)
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == '/bad':  # the agent's answer to a request with a bad field
            status, body = 400, {'title': 'Invalid request', 'status': 400, 'code': 'invalid_request',
                                 'field': 'include_schemas[1]', 'detail': 'include_schemas[1] is longer than 63 bytes'}
        elif self.headers.get('Authorization') != 'Bearer ' + TOKEN:
            status, body = 401, {'title': 'Unauthorized', 'status': 401, 'code': 'unauthorized', 'detail': 'no token'}
        else:
            status, body = 200, {'major': 18, 'tls': True}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _self_signed(directory, name):
    cert, key = os.path.join(directory, name + '.crt'), os.path.join(directory, name + '.key')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
                    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


@pytest.fixture(scope='module')
def tls_server(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp('tls'))
    cert, key = _self_signed(directory, 'agent')
    other_ca, dummy = _self_signed(directory, 'other')
    server = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield dict(url='https://127.0.0.1:%d' % server.server_address[1], ca=cert, other_ca=other_ca)
    finally:
        server.shutdown()
        server.server_close()


def _client(url, **params):
    return AgentClient(FakeModule(agent_url=url, **params))


def _fail(url, **params):
    with pytest.raises(FailJson) as err:
        _client(url, **params).get('/v1/info')
    result = err.value.args[0]
    assert TOKEN not in json.dumps(result)
    return result


def test_ca_path_trusts_the_agent_certificate(tls_server):
    assert _client(tls_server['url'], ca_path=tls_server['ca']).get('/v1/info') == {'major': 18, 'tls': True}


def test_unknown_certificate_fails_naming_ca_path(tls_server):
    result = _fail(tls_server['url'])
    assert 'TLS failure' in result['msg'] and 'ca_path' in result['msg'], result['msg']


def test_certificate_of_another_ca_fails(tls_server):
    result = _fail(tls_server['url'], ca_path=tls_server['other_ca'])
    assert 'TLS failure' in result['msg'], result['msg']


def test_validate_certs_false_skips_verification(tls_server):
    assert _client(tls_server['url'], validate_certs=False).get('/v1/info')['tls'] is True


def test_plain_http_to_the_tls_port_fails(tls_server):
    result = _fail(tls_server['url'].replace('https://', 'http://'))
    assert 'GET http://127.0.0.1' in result['msg'], result['msg']


def test_a_refused_field_is_named_in_the_failure(tls_server):
    with pytest.raises(FailJson) as err:
        _client(tls_server['url'], ca_path=tls_server['ca']).get('/bad')
    result = err.value.args[0]
    assert result['status'] == 400 and result['code'] == 'invalid_request'
    assert '[invalid_request]' in result['msg'] and '(field: include_schemas[1])' in result['msg'], result['msg']
