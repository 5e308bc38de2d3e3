# -*- coding: utf-8 -*-
"""AgentClient against a real HTTP server on 127.0.0.1 (see conftest.py): statuses, bodies and transport failures."""

from __future__ import annotations

import json
import socket
import time

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    MASK,
    AgentClient,
    agent_argument_spec,
    connection,
    mask_queries,
    source_connection_argument_spec,
    source_connection_body,
)

from conftest import TOKEN


class FailJson(Exception):
    pass


class FakeModule:
    """Just what AgentClient uses of AnsibleModule: params and fail_json, which must end the module."""

    def __init__(self, **params):
        self.params = dict(agent_token=TOKEN, validate_certs=True, ca_path=None, timeout=5)
        self.params.update(params)

    def fail_json(self, **kwargs):
        raise FailJson(kwargs)


def client(url, **params):
    return AgentClient(FakeModule(agent_url=url, **params))


def fail(url, path, method='GET', **params):
    """Run one request that must fail; return fail_json's arguments after checking the token is in none of them."""
    with pytest.raises(FailJson) as err:
        client(url, **params).request(method, path)
    result = err.value.args[0]
    assert TOKEN not in json.dumps(result)
    return result


def closed_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_get_parses_json_and_sends_bearer(agent_server):
    info = client(agent_server.url + '/').get('/v1/info')
    assert info['major'] == 16 and info['settings']['wal_level'] == 'logical'
    req = agent_server.requests[-1]
    assert req['path'] == '/v1/info'
    assert req['headers']['Authorization'] == 'Bearer ' + TOKEN


@pytest.mark.parametrize('method', ['POST', 'PUT'])
def test_body_is_sent_as_json(agent_server, method):
    answer = client(agent_server.url).request(method, '/echo', data={'db': 'app', 'n': 1})
    assert answer == {'method': method, 'body': {'db': 'app', 'n': 1}, 'content_type': 'application/json'}


def test_delete_and_empty_body(agent_server):
    assert client(agent_server.url).delete('/empty') is None
    assert agent_server.requests[-1]['method'] == 'DELETE'


def test_no_token_sends_no_header(agent_server):
    assert client(agent_server.url, agent_token=None).get('/v1/health') == {'status': 'ok'}
    assert 'Authorization' not in agent_server.requests[-1]['headers']


def test_accept_status_returns_problem_instead_of_failing(agent_server):
    agent_server.healthy = False
    status, body = client(agent_server.url).get('/v1/health', accept_status=(503,))
    assert status == 503 and body['code'] == 'PG_DOWN'


def test_401_names_problem_and_token_source(agent_server):
    result = fail(agent_server.url, '/v1/info', agent_token='wrong-token')
    assert result['status'] == 401 and result['code'] == 'UNAUTHORIZED'
    assert result['msg'].startswith('GET %s/v1/info: agent answered HTTP 401 Unauthorized [UNAUTHORIZED]' % agent_server.url)
    assert 'missing or wrong bearer token' in result['msg'] and 'PGFERRY_AGENT_TOKEN' in result['msg']
    assert 'wrong-token' not in json.dumps(result)


def test_404_problem(agent_server):
    result = fail(agent_server.url, '/missing')
    assert result['status'] == 404 and result['code'] == 'DB_NOT_FOUND'
    assert 'HTTP 404 Not Found [DB_NOT_FOUND]: no database named shop' in result['msg']
    assert result['problem']['title'] == 'Not Found'


def test_500_problem(agent_server):
    result = fail(agent_server.url, '/boom', method='POST')
    assert result['status'] == 500 and result['code'] == 'SLOT_BUSY'
    assert result['msg'].startswith('POST ') and 'replication slot busy' in result['msg']


def test_token_echoed_by_server_is_masked(agent_server):
    result = fail(agent_server.url, '/leaky')
    assert ('bad header Bearer ' + MASK) in result['msg']
    assert result['problem']['detail'] == 'bad header Bearer ' + MASK


def test_non_json_success_body(agent_server):
    result = fail(agent_server.url, '/html')
    assert 'not JSON' in result['msg'] and '<html>not an agent</html>' in result['msg']


def test_non_json_error_body(agent_server):
    result = fail(agent_server.url, '/html500')
    assert result['status'] == 500 and 'proxy error' in result['msg']


def test_redirect_is_not_followed(agent_server):
    result = fail(agent_server.url, '/redirect')
    assert result['status'] == 302 and 'redirect to http://elsewhere.invalid/steal refused' in result['msg']
    assert [r['path'] for r in agent_server.requests] == ['/redirect']


def test_timeout(agent_server):
    started = time.monotonic()
    result = fail(agent_server.url, '/slow', timeout=1, retry_seconds=0)
    assert time.monotonic() - started < agent_server.slow_seconds
    assert 'no answer from the agent within timeout=1s' in result['msg']


def test_connection_refused():
    url = 'http://127.0.0.1:%d' % closed_port()
    result = fail(url, '/v1/info', retry_seconds=0)
    assert result['msg'] == 'GET %s/v1/info: connection refused: is the agent running and listening there?' % url


def test_a_read_survives_an_agent_that_comes_back():
    """The agent is down for the first two attempts (a restart): the GET is repeated until it answers."""
    from http.server import ThreadingHTTPServer
    from conftest import _Handler
    port = closed_port()
    c = client('http://127.0.0.1:%d' % port, retry_seconds=30)
    srv = {}
    sleeps = []

    def sleep(seconds):  # the agent starts during the second pause
        sleeps.append(seconds)
        if len(sleeps) == 2:
            s = ThreadingHTTPServer(('127.0.0.1', port), _Handler)
            s.requests, s.healthy = [], True
            import threading
            threading.Thread(target=s.serve_forever, kwargs={'poll_interval': 0.05}, daemon=True).start()
            srv['s'] = s

    c.sleep = sleep
    try:
        assert c.get('/v1/info')['major'] == 16
        assert sleeps == [1.0, 2.0]
    finally:
        srv['s'].shutdown()
        srv['s'].server_close()


def test_a_read_gives_up_after_retry_seconds():
    url = 'http://127.0.0.1:%d' % closed_port()
    c = client(url, retry_seconds=20)
    now = [0.0]
    c.clock = lambda: now[0]
    c.sleep = lambda seconds: now.__setitem__(0, now[0] + seconds)
    with pytest.raises(FailJson) as err:
        c.get('/v1/info')
    msg = err.value.args[0]['msg']
    assert 'connection refused' in msg and 'still failing after 4 retries over 15s' in msg  # 1+2+4+8, next 15 > 20


@pytest.mark.parametrize('method', ['POST', 'PUT', 'DELETE'])
def test_a_call_that_changes_something_is_not_repeated(method):
    c = client('http://127.0.0.1:%d' % closed_port(), retry_seconds=60)
    c.sleep = lambda seconds: pytest.fail('a %s was repeated' % method)
    with pytest.raises(FailJson) as err:
        c.request(method, '/v1/migrations/m1/post-data', data={})
    assert 'connection refused' in err.value.args[0]['msg'] and 'retries' not in err.value.args[0]['msg']


def test_a_configuration_error_is_not_repeated():
    c = client('http://pgferry-agent.invalid:8443', retry_seconds=60)
    c.sleep = lambda seconds: pytest.fail('a name-resolution failure was repeated')
    with pytest.raises(FailJson) as err:
        c.get('/v1/info')
    assert 'cannot resolve host' in err.value.args[0]['msg']


def test_name_resolution():
    result = fail('http://pgferry-agent.invalid:8443', '/v1/info')
    assert 'cannot resolve host pgferry-agent.invalid' in result['msg']


def test_tls_failure_against_plain_http(agent_server):
    result = fail(agent_server.url.replace('http:', 'https:'), '/v1/info')
    assert 'TLS failure' in result['msg'] and 'ca_path' in result['msg']


def test_bad_scheme_and_credentials_in_url_are_hidden():
    with pytest.raises(FailJson) as err:
        client('ftp://user:pw@host/x')
    assert 'must start with http' in err.value.args[0]['msg'] and 'pw' not in err.value.args[0]['msg']


def test_argument_spec_keeps_token_secret():
    spec = agent_argument_spec()
    assert spec['agent_token']['no_log'] is True
    assert spec['agent_token']['fallback'][1] == ['PGFERRY_AGENT_TOKEN']
    assert spec['agent']['options']['token']['no_log'] is True
    assert spec['agent']['options']['url']['required'] is True
    assert spec['validate_certs']['default'] is True and spec['timeout']['default'] == 30


def test_connection_from_the_agent_dict_or_the_flat_options(monkeypatch):
    monkeypatch.delenv('PGFERRY_AGENT_TOKEN', raising=False)
    flat = dict(agent=None, agent_url='https://a:1', agent_token='t1', ca_path='/ca', validate_certs=False)
    assert connection(flat) == ('https://a:1', 't1', '/ca', False)
    both = dict(flat, agent=dict(url='https://b:2', token='t2', ca_path=None, validate_certs=None))
    assert connection(both) == ('https://b:2', 't2', '/ca', False)
    # the peer of a two-sided module: its own dict, its token defaulting to the first agent's
    peer = dict(both, target_agent=dict(url='https://c:3', token=None, ca_path=None, validate_certs=None),
                target_agent_url=None, target_agent_token=None, target_ca_path=None, target_validate_certs=True)
    assert connection(peer, 'target_') == ('https://c:3', 't2', None, True)
    monkeypatch.setenv('PGFERRY_AGENT_TOKEN', 'from-env')
    assert connection(dict(agent=dict(url='https://d:4')))[1] == 'from-env'


def test_the_source_connection_logs_in_as_the_replication_role_unless_told():
    spec = source_connection_argument_spec(required=True)['connection']
    assert spec['required'] is True and spec['options']['password']['no_log'] is True
    assert spec['options']['sslmode']['default'] == 'prefer'
    given = dict(host='db1', port=5432, dbname='My "Shop"', user=None, password='s3cret', sslmode=None)
    assert source_connection_body(dict(migration_id='shop', connection=given)) == dict(
        host='db1', port=5432, dbname='My "Shop"', user='pgferry_shop', password='s3cret')
    given['user'] = 'replicator'
    assert source_connection_body(dict(migration_id='shop', connection=given))['user'] == 'replicator'


def test_mask_queries():
    queries = [
        "CREATE ROLE rep LOGIN REPLICATION PASSWORD 'it''s s3cret'",
        "CREATE SUBSCRIPTION s CONNECTION 'host=db1 user=rep password=hunter2 dbname=app' PUBLICATION p",
        "ALTER SUBSCRIPTION s CONNECTION 'host=db1 password=''two words'''",
        "SELECT 1 /* " + TOKEN + " */",
    ]
    masked = mask_queries(queries, [TOKEN])
    assert masked[0] == "CREATE ROLE rep LOGIN REPLICATION PASSWORD '%s'" % MASK
    assert masked[1] == "CREATE SUBSCRIPTION s CONNECTION 'host=db1 user=rep password=%s dbname=app' PUBLICATION p" % MASK
    assert 'two words' not in masked[2]
    assert masked[3] == 'SELECT 1 /* %s */' % MASK
    assert mask_queries(None) == []


@pytest.mark.parametrize('method', ['GET', 'POST', 'PUT', 'DELETE'])
def test_a_busy_agent_is_asked_again_whatever_the_method(agent_server, method):
    # 503 agent_busy: refused before anything was done, so even a change is sent again
    c = client(agent_server.url)
    c.sleep = lambda seconds: None
    assert c.request(method, '/v1/busy', data={} if method in ('POST', 'PUT') else None) == {'served': True}
    assert sum(1 for r in agent_server.requests if r['path'] == '/v1/busy') == 3


def test_a_busy_agent_past_retry_seconds_fails_naming_it(agent_server):
    agent_server.busy_answers = 1000
    result = fail(agent_server.url, '/v1/busy', retry_seconds=0)
    assert result['status'] == 503 and result['code'] == 'agent_busy', result
