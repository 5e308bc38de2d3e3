# -*- coding: utf-8 -*-
"""fleet_slot through the real AnsibleModule plumbing, against a real HTTP server answering status as target agents
do (phase per migration)."""

from __future__ import annotations

import json
import threading

from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.pgferry.migrate.plugins.modules import fleet_slot

TOKEN = 'tok-fleet-slot-secret'


class _Status(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        mid = self.path.split('/')[3]
        self.server.reads.append(mid)
        ok = self.headers.get('Authorization') == 'Bearer ' + TOKEN
        body = json.dumps({'phase': self.server.phases.get(mid, 'none')} if ok else {'title': 'no'}).encode()
        self.send_response(200 if ok else 401)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def target():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), _Status)
    srv.daemon_threads = True
    srv.phases = {}
    srv.reads = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv
    srv.shutdown()


MIGRATIONS = [dict(id='a', source='s1', target='t', target_database='a'),
              dict(id='b', source='s2', target='t', target_database='b'),
              dict(id='c', source='s1', target='u', target_database='c')]


def run(capsys, target, tmp_path, **args):
    url = 'http://127.0.0.1:%d' % target.server_address[1]
    params = dict(migrations=MIGRATIONS, agents=dict(t=dict(url=url, token=TOKEN), u=dict(url=url, token=TOKEN)),
                  max_copies=dict(total=1, per_source=1, per_target=1), state_dir=str(tmp_path / 'run'),
                  wait_timeout=1, poll_interval=0.2)
    params.update(args)
    with patch_module_args(params), pytest.raises(SystemExit) as exit_:
        fleet_slot.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    return exit_.value.code, json.loads(out)


def test_a_copy_running_on_the_target_makes_the_next_wait(capsys, target, tmp_path):
    target.phases = dict(b='copying')
    code, result = run(capsys, target, tmp_path, migration_id='a')
    assert code == 1 and result['copying'] == ['b']
    assert 'no room for the initial copy of a' in result['msg'] and 'max_copies.total 1' in result['msg']
    target.phases = dict(b='streaming')  # b's copy is done: room again
    code, result = run(capsys, target, tmp_path, migration_id='a')
    assert code == 0 and result['changed'] is False and result['copying'] == []


def test_a_reservation_of_this_run_counts_until_released(capsys, target, tmp_path):
    assert run(capsys, target, tmp_path, migration_id='a')[0] == 0
    caps = dict(total=5, per_source=1, per_target=5)
    code, result = run(capsys, target, tmp_path, migration_id='c', max_copies=caps)
    assert code == 1 and 'source s1 is busy with 1 initial copies (a; limit 1)' in result['msg']
    assert run(capsys, target, tmp_path, migration_id='a', state='released')[0] == 0
    assert run(capsys, target, tmp_path, migration_id='c')[0] == 0


def test_a_migration_whose_copy_already_runs_does_not_wait(capsys, target, tmp_path):
    target.phases = dict(a='copying', b='copying')
    code, result = run(capsys, target, tmp_path, migration_id='a')
    assert code == 0 and result['phase'] == 'copying'


def test_one_agent_job_per_target_instance(capsys, target, tmp_path):
    assert run(capsys, target, tmp_path, migration_id='a', kind='job')[0] == 0
    code, result = run(capsys, target, tmp_path, migration_id='b', kind='job')
    assert code == 1 and 'the agent of t was still busy with the job of a' in result['msg']
    assert run(capsys, target, tmp_path, migration_id='c', kind='job')[0] == 0  # another target
    assert run(capsys, target, tmp_path, migration_id='a', kind='job', state='released')[0] == 0
    assert run(capsys, target, tmp_path, migration_id='b', kind='job')[0] == 0


def test_waiting_forks_share_one_reading_of_the_copies(capsys, target, tmp_path):
    """A fork asking within poll_interval of another's reading reads only its own phase, and a copy that ended is
    seen once the reading is older than that."""
    caps = dict(total=1, per_source=5, per_target=5)
    target.phases = dict(b='copying')
    code, result = run(capsys, target, tmp_path, migration_id='a', max_copies=caps, wait_timeout=0, poll_interval=60)
    assert code == 1 and result['copying'] == ['b'] and sorted(target.reads) == ['a', 'b', 'c']
    target.reads.clear()
    target.phases = dict(b='streaming')  # b's copy ended, but the reading of a moment ago still says copying
    code, result = run(capsys, target, tmp_path, migration_id='c', max_copies=caps, wait_timeout=0, poll_interval=60)
    assert code == 1 and result['copying'] == ['b'] and target.reads == ['c']
    target.reads.clear()
    code, result = run(capsys, target, tmp_path, migration_id='c', max_copies=caps, poll_interval=0.2)
    assert code == 0 and result['copying'] == [] and 'b' in target.reads
