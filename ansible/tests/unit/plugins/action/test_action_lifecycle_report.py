# -*- coding: utf-8 -*-
"""The action plugins of lifecycle and report: what reads nothing (lifecycle without PgBouncer) or writes on the
controller as its user (report over a local connection) runs in this process with the modules' own code; anything else
executes the module as before."""

from __future__ import annotations

import json
import os

from unittest.mock import MagicMock

import pytest

from ansible.errors import AnsibleActionFail

from ansible_collections.pgferry.migrate.plugins.action.lifecycle import ActionModule as Lifecycle
from ansible_collections.pgferry.migrate.plugins.action.report import ActionModule as Report


def side(fpub=False, fslot=None, fsub=None):
    """One side's facts as GET .../lifecycle answers them (module_utils/test_lifecycle.py has the full helper)."""
    slot = dict(exists=fslot is not None, wal_status=fslot, active=fslot is not None)
    sub = dict(exists=fsub is not None, enabled=True, tables=(fsub or (0, 0))[0], ready=(fsub or (0, 0))[1])
    return dict(database='app', database_exists=True, role=True, fenced=False,
                forward=dict(name='pgferry_app', publication=fpub, slot=slot, subscription=sub),
                reverse=dict(name='pgferry_app_reverse', publication=False, slot=dict(exists=False),
                             subscription=dict(exists=False, tables=0, ready=0)),
                user_tables=3, wal=dict(max_slot_wal_keep_size_bytes=-1),
                state=dict(archive=True, replica_identity_changes=[]))


def plugin(cls, args, transport='local', become=False, check_mode=False):
    task = MagicMock()
    task.args = args
    task.action = 'pgferry.migrate.x'
    task.async_val = 0
    task.check_mode = check_mode
    connection = MagicMock()
    connection.transport = transport
    connection._shell.tmpdir = None
    play_context = MagicMock()
    play_context.become = become
    play_context.check_mode = check_mode
    p = cls(task, connection, play_context, MagicMock(), MagicMock(), MagicMock())
    p.executed = []

    def execute(module_name=None, module_args=None, task_vars=None):
        p.executed.append((module_name, module_args))
        return dict(changed=False, by='module')
    p._execute_module = execute
    return p


def read(facts):
    return dict(reachable=True, error=None, facts=facts)


def lifecycle_args(**kw):
    args = dict(migration_id='app', database='app', source=read(side(fpub=True, fslot='reserved')),
                target=read(side(fsub=(3, 3))), playbook='cutover')
    args.update(kw)
    return args


def test_the_combination_without_pgbouncer_runs_here_and_decides_as_the_module_does():
    p = plugin(Lifecycle, lifecycle_args(agent={'url': 'http://x', 'token': 'tok-secret-1'}))
    result = p.run(task_vars={})
    assert p.executed == []
    assert result['phase']['name'] == 'streaming' and result['action'] == 'run' and not result.get('failed')
    assert result['summary'][0].startswith('migration app: phase streaming')
    assert result['next']['migrate'] and result['queries'] == [] and result['changed'] is False
    assert 'tok-secret-1' not in json.dumps(result)


def test_a_refusal_fails_with_the_modules_message_unless_told_not_to():
    p = plugin(Lifecycle, lifecycle_args(playbook='rollback'))
    result = p.run(task_vars={})
    assert result['failed'] and result['msg'] == result['message'] and 'refused' in result['msg']
    assert 'Nothing was changed' in result['msg']
    quiet = plugin(Lifecycle, lifecycle_args(playbook='rollback', fail_on_refusal=False)).run(task_vars={})
    assert not quiet.get('failed') and quiet['message'] == result['message'] and 'action' not in quiet


def test_the_module_still_rejects_what_it_would_reject():
    with pytest.raises(AnsibleActionFail):
        plugin(Lifecycle, lifecycle_args(playbook='dance')).run(task_vars={})


@pytest.mark.parametrize('kw', [dict(side='source', agent={'url': 'http://x'}, source=None, target=None),
                                dict(source=None, agent={'url': 'http://x'}),
                                dict(pgbouncer={'admin_user': 'pgbouncer'})])
def test_anything_that_reads_an_agent_or_pgbouncer_executes_the_module(kw):
    args = lifecycle_args(**kw)
    args = dict((k, v) for k, v in args.items() if v is not None)
    p = plugin(Lifecycle, args)
    assert p.run(task_vars={})['by'] == 'module'
    assert p.executed == [('pgferry.migrate.x', args)]


def report_args(tmp_path, **kw):
    args = dict(dir=str(tmp_path / 'r'), migration_id='app', playbook='migrate', state='streaming_ready',
                steps=[['lifecycle', 1000.0], ['sync_status', 1004.0]], failed=False, phase={'name': 'streaming'})
    args.update(kw)
    return args


def test_the_report_is_written_here_over_a_local_connection(tmp_path):
    p = plugin(Report, report_args(tmp_path))
    result = p.run(task_vars={})
    assert p.executed == [] and result['changed'] is True and not result.get('failed')
    assert os.path.exists(result['json_path']) and os.path.exists(result['html_path'])
    latest = tmp_path / 'r' / 'pgferry-app-migrate-latest.json'
    assert json.loads(latest.read_text())['state'] == 'streaming_ready' == result['report']['state']
    assert result['text'][0].startswith('pgferry migrate app: succeeded')


def test_in_check_mode_the_report_is_built_and_nothing_written(tmp_path):
    result = plugin(Report, report_args(tmp_path), check_mode=True).run(task_vars={})
    assert result['report']['outcome'] == 'succeeded' and 'json_path' not in result
    assert not (tmp_path / 'r').exists()


def test_a_report_that_cannot_be_written_fails_with_the_report(tmp_path):
    (tmp_path / 'file').write_text('x')
    result = plugin(Report, report_args(tmp_path, dir=str(tmp_path / 'file' / 'r'))).run(task_vars={})
    assert result['failed'] and 'cannot write the report' in result['msg'] and result['report']['migration_id']
    bad = plugin(Report, report_args(tmp_path, migration_id='App')).run(task_vars={})
    assert bad['failed'] and bad['msg'].startswith('migration_id must match')


@pytest.mark.parametrize('transport,become', [('ssh', False), ('local', True)])
def test_elsewhere_or_with_become_the_module_runs(tmp_path, transport, become):
    p = plugin(Report, report_args(tmp_path), transport=transport, become=become)
    assert p.run(task_vars={})['by'] == 'module' and len(p.executed) == 1
    assert not (tmp_path / 'r').exists()
