# -*- coding: utf-8 -*-
"""Test setup: make the collection importable and provide a real HTTP server that plays the agent.

Plain pytest from the repo root (pytest ansible/tests/unit) sees ansible/ as a bare folder, not as
ansible_collections/pgferry/migrate; register that package name for it so imports look as they do in Ansible.
When the tests run from an installed copy (tools/ansible-sanity), the real path already resolves.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import threading
import time
import types

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

COLLECTION_ROOT = Path(__file__).resolve().parents[2]
TOKEN = 'tok-3f9c1d-secret'


def _register_collection():
    if COLLECTION_ROOT.parent.parent.name == 'ansible_collections':
        sys.path.insert(0, str(COLLECTION_ROOT.parents[2]))
        return
    for name, path in (('ansible_collections', None), ('ansible_collections.pgferry', None),
                       ('ansible_collections.pgferry.migrate', COLLECTION_ROOT)):
        if name not in sys.modules:
            pkg = types.ModuleType(name)
            pkg.__path__ = [str(path)] if path else []
            sys.modules[name] = pkg


_register_collection()

INFO = {
    'server_version': '16.13', 'server_version_num': 160013, 'major': 16,
    'settings': {'wal_level': 'logical', 'max_replication_slots': 10, 'max_wal_senders': 10},
    'databases': [{'name': 'app', 'size_bytes': 7901215}],
    'pg_bin_dir': '/opt/pg/16/bin', 'agent_version': '0.1.0',
}


def _problem(status, title, detail, code):
    return status, 'application/problem+json', {
        'type': 'https://pgferry.io/problems/' + code.lower(), 'title': title,
        'status': status, 'detail': detail, 'code': code}


def _problem_objects(status, title, detail, code, objects):
    status, ctype, body = _problem(status, title, detail, code)
    return status, ctype, dict(body, objects=objects)


class _Handler(BaseHTTPRequestHandler):
    """Routes by path; each route is one way the agent (or something that is not the agent) can answer."""

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _route(self):
        srv = self.server
        auth = self.headers.get('Authorization')
        path = self.path
        held = re.search(r'[?&]wait=(\d+)$', path)
        if held:  # the real agent holds the request up to that many seconds; this one answers at once
            path = path[:held.start()]
            srv.waits.append((self.command, path, int(held.group(1))))
        if path == '/v1/health':
            if srv.healthy:
                return 200, 'application/json', {'status': 'ok'}
            return _problem(503, 'Service Unavailable', 'PostgreSQL is not accepting connections', 'PG_DOWN')
        if auth != 'Bearer ' + TOKEN:
            return _problem(401, 'Unauthorized', 'missing or wrong bearer token', 'UNAUTHORIZED')
        if path == '/v1/info':
            return 200, 'application/json', INFO
        if path == '/v1/busy':  # every request slot taken for the first busy_answers requests
            srv.busy_answers -= 1
            if srv.busy_answers >= 0:
                return _problem(503, 'Service Unavailable', 'the agent is already serving 8 requests', 'agent_busy')
            return 200, 'application/json', {'served': True}
        if path == '/echo':
            length = int(self.headers.get('Content-Length') or 0)
            body = json.loads(self.rfile.read(length)) if length else None
            return 200, 'application/json', {'method': self.command, 'body': body,
                                             'content_type': self.headers.get('Content-Type')}
        if path == '/empty':
            return 204, 'application/json', None
        if path == '/missing':
            return _problem(404, 'Not Found', 'no database named shop', 'DB_NOT_FOUND')
        if path == '/boom':
            return _problem(500, 'Internal Server Error', 'replication slot busy', 'SLOT_BUSY')
        if path == '/leaky':  # a careless server echoing the header must not leak it through the module
            return _problem(500, 'Internal Server Error', 'bad header ' + auth, 'LEAK')
        if path == '/html':
            return 200, 'text/html', '<html>not an agent</html>'
        if path == '/html500':
            return 500, 'text/html', '<html>proxy error</html>'
        if path == '/redirect':
            return 302, 'text/plain', ''
        if path.startswith('/v1/migrations/m1/') or path.startswith('/v1/jobs/'):
            return self._jobs(path)
        if path == '/slow':
            time.sleep(srv.slow_seconds)
            return 200, 'application/json', {'late': True}
        return _problem(404, 'Not Found', 'no route ' + path, 'NO_ROUTE')

    def _jobs(self, path):
        """A long step as the agent runs it: POST starts (or re-attaches to) a job, GET /v1/jobs/{id} follows it."""
        srv = self.server
        job_id = 'schema-apply:m1'
        if path == '/v1/migrations/m1/schema-archive' and self.command == 'POST':
            self.rfile.read(int(self.headers.get('Content-Length') or 0))
            if srv.archive is None:
                return _problem(404, 'Not Found', 'no database named app', 'database_not_found')
            size = len(srv.archive) if srv.archive_size is None else srv.archive_size
            return 200, 'application/json', {
                'changed': srv.archive_changed, 'queries': ['pg_dump --format=custom --schema-only app'],
                'archive': {'sha256': hashlib.sha256(srv.archive).hexdigest(), 'size_bytes': size, 'entries': 3,
                            'pg_dump_version': '16.13', 'tables': [{'schema': 'included', 'name': 'customers'}]}}
        if path == '/v1/migrations/m1/schema-archive/manifest' and self.command == 'GET':
            if srv.manifest is None:
                return _problem(404, 'Not Found', 'no manifest', 'archive_not_found')
            return 200, 'application/json', srv.manifest
        if path == '/v1/migrations/m1/schema-archive/manifest' and self.command == 'PUT':
            srv.manifest = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            return 200, 'application/json', {'changed': True}
        if path == '/v1/migrations/m1/schema-archive' and self.command == 'GET':
            if srv.archive is None:
                return _problem(404, 'Not Found', 'no archive', 'archive_not_found')
            return 200, 'application/octet-stream', srv.archive
        if path == '/v1/migrations/m1/schema-archive' and self.command == 'PUT':
            data = self.rfile.read(int(self.headers.get('Content-Length') or 0))
            srv.archive = data
            return 200, 'application/json', {'sha256': self.headers.get('X-Pgferry-Sha256'), 'size_bytes': len(data)}
        if self.command == 'POST' and path == '/v1/migrations/m1/copy':
            length = int(self.headers.get('Content-Length') or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            if body.get('check') and srv.archive is None:
                return _problem(404, 'Not Found', 'no schema archive manifest for this migration on this agent',
                                'archive_not_found')
            if body.get('check'):
                return 200, 'application/json', {'changed': True, 'check': True, 'queries': ['COPY 2 tables']}
            return _problem(500, 'Internal Server Error', 'not served here', 'NO_ROUTE')
        if self.command == 'POST' and path == '/v1/migrations/m1/schema-apply':
            length = int(self.headers.get('Content-Length') or 0)
            body = json.loads(self.rfile.read(length)) if length else {}
            if body.get('check'):
                return 200, 'application/json', {'changed': True, 'check': True, 'queries': ['CREATE TABLE t ()']}
            srv.job_posts += 1
            return 202, 'application/json', {'job': dict(srv.job_state(), state='running')}
        if self.command == 'GET' and path.startswith('/v1/migrations/m1/fence?'):
            return 200, 'application/json', {'database': 'app', 'fenced': srv.fenced, 'fenced_at': None,
                                             'terminated': [], 'lsn': '0/1'}
        if self.command == 'GET' and path.startswith('/v1/migrations/m1/large-objects?'):
            return 200, 'application/json', {'objects': 0, 'oids': [], 'mark': '7', 'next_mark': '8',
                                             'detection': 'xmin'}
        if self.command == 'POST' and path == '/v1/migrations/m1/busy':
            p = _problem(409, 'Conflict', 'post-data:m1 is running', 'operation_in_progress')
            p[2]['job'] = {'id': 'post-data:m1', 'state': 'running'}
            return p
        if self.command == 'POST' and path == '/v1/migrations/m1/queued':
            if srv.other_job_polls > 0:  # the real agent names the running job in objects
                return _problem_objects(409, 'Conflict', 'the agent is running job post-data:m2; wait for it',
                                        'operation_in_progress', ['post-data:m2'])
            return 202, 'application/json', {'job': dict(srv.job_state(), state='succeeded')}
        if self.command == 'GET' and path == '/v1/jobs/post-data:m2':
            srv.other_job_polls -= 1
            return 200, 'application/json', {'id': 'post-data:m2',
                                             'state': 'running' if srv.other_job_polls > 0 else 'succeeded'}
        if self.command == 'GET' and path == '/v1/jobs/' + job_id:
            srv.job_gets += 1
            return 200, 'application/json', srv.job_state()
        return _problem(404, 'Not Found', 'no job at ' + path, 'not_found')

    def _serve(self):
        self.server.requests.append({'method': self.command, 'path': self.path, 'headers': dict(self.headers)})
        status, ctype, payload = self._route()
        if isinstance(payload, bytes):
            data = payload
        elif isinstance(payload, str):
            data = payload.encode()
        else:
            data = b'' if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            if status == 302:
                self.send_header('Location', 'http://elsewhere.invalid/steal')
            self.send_header('Content-Type', ctype)
            if ctype == 'application/octet-stream':
                sha = self.server.archive_sha256 or hashlib.sha256(data).hexdigest()
                self.send_header('X-Pgferry-Sha256', sha)
            self.send_header('Content-Length', str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass

    do_GET = do_POST = do_PUT = do_DELETE = _serve


@pytest.fixture
def agent_server():
    """A real HTTP server on 127.0.0.1 with a free port; yields it with .url, .requests, .healthy."""
    srv = start_agent_server()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture
def second_agent_server():
    """Another one, for the modules that talk to two agents."""
    srv = start_agent_server()
    yield srv
    srv.shutdown()
    srv.server_close()


def start_agent_server():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), _Handler)
    srv.daemon_threads = True
    srv.requests = []
    srv.healthy = True
    srv.slow_seconds = 3
    srv.url = 'http://127.0.0.1:%d' % srv.server_address[1]
    # the job the /v1/migrations/m1/schema-apply route runs: running for job_running_polls GETs, then job_outcome
    srv.archive = None  # bytes the schema-archive route serves (None: 404)
    srv.archive_sha256 = None  # the X-Pgferry-Sha256 it announces (None: the real one)
    srv.archive_size = None  # the size_bytes POST schema-archive reports (None: the real one)
    srv.archive_changed = True  # whether POST schema-archive made a new archive
    srv.manifest = None  # bytes the schema-archive/manifest route serves (None: 404)
    srv.job_posts = srv.job_gets = 0
    srv.waits = []  # (method, path, seconds) of each request that asked the agent to hold it
    srv.job_running_polls = 2
    srv.job_outcome = 'succeeded'
    srv.other_job_polls = 0
    srv.fenced = False  # what GET /v1/migrations/m1/fence answers
    srv.busy_answers = 2  # 503 agent_busy answers of /v1/busy before it serves

    def job_state():
        done = srv.job_gets >= srv.job_running_polls
        job = {'id': 'schema-apply:m1', 'step': 'schema-apply', 'migration': 'm1',
               'state': srv.job_outcome if done else 'running', 'started_at': '2025-01-01T00:00:00Z',
               'finished_at': '2025-01-01T00:00:09Z' if done else None,
               'progress': {'done': srv.job_gets, 'total': srv.job_running_polls, 'message': 'pre-data'}}
        if done and srv.job_outcome == 'succeeded':
            job['result'] = {'changed': True, 'queries': ["CREATE ROLE r PASSWORD 'sekrit'"], 'tables': 2}
        if done and srv.job_outcome == 'failed':
            job['error'] = {'title': 'Unprocessable Entity', 'status': 422, 'code': 'extensions_missing',
                            'detail': 'the target lacks extensions: hstore'}
        return job
    srv.job_state = job_state
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return srv
