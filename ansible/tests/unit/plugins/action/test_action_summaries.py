# -*- coding: utf-8 -*-
"""What the actions print under their tasks (in place of the debug tasks the roles had): the summary of what the task
found or did, never under no_log nor for a skipped task, a failed one's only where it helps (the preflight's warnings,
the report's failure); and the report's result kept in the run's stats as set_stats would."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.pgferry.migrate.plugins.plugin_utils import in_process
from ansible_collections.pgferry.migrate.plugins.action.copy import ActionModule as Copy
from ansible_collections.pgferry.migrate.plugins.action.lifecycle import ActionModule as Lifecycle
from ansible_collections.pgferry.migrate.plugins.action.preflight import ActionModule as Preflight
from ansible_collections.pgferry.migrate.plugins.action.report import ActionModule as Report
from ansible_collections.pgferry.migrate.plugins.action.roles import ActionModule as Roles
from ansible_collections.pgferry.migrate.plugins.action.schema_archive import ActionModule as SchemaArchive
from ansible_collections.pgferry.migrate.plugins.action.sync_status import ActionModule as SyncStatus


@pytest.fixture
def printed(monkeypatch):
    lines = []
    monkeypatch.setattr(in_process.display, 'display', lambda msg, *a, **kw: lines.append(msg.strip()))
    return lines


def plugin(cls, args, answer, no_log=False):
    task = MagicMock()
    task.args = args
    task.action = 'pgferry.migrate.x'
    task.no_log = no_log
    task.async_val = 0
    task.check_mode = False
    connection = MagicMock()
    connection.transport = 'local'
    play_context = MagicMock()
    play_context.become = False
    play_context.check_mode = False
    p = cls(task, connection, play_context, MagicMock(), MagicMock(), MagicMock())
    p._execute_module = lambda module_name=None, module_args=None, task_vars=None: dict(answer)
    return p


WARNING = dict(code='wal_retention_unbounded', objects=['max_slot_wal_keep_size=-1'], message='WAL is kept.',
               fix='ALTER SYSTEM SET max_slot_wal_keep_size = \'10GB\'')


def test_the_preflight_prints_each_warning_with_its_fix_and_its_notes_even_when_an_error_failed_it(printed):
    answer = dict(failed=True, ok=False, msg='found 1 error', warnings_found=[WARNING], notes=['role r is new'])
    result = plugin(Preflight, dict(side='source'), answer).run(task_vars={})
    assert result['failed'] and result['warnings_found'] == [WARNING]
    assert printed == ["source warning wal_retention_unbounded ['max_slot_wal_keep_size=-1']: WAL is kept. "
                       "Fix: ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'", 'source note: role r is new']


def test_nothing_is_printed_under_no_log_nor_for_a_skipped_task(printed):
    plugin(Preflight, dict(side='source'), dict(warnings_found=[WARNING]), no_log=True).run(task_vars={})
    plugin(Preflight, dict(side='source'), dict(skipped=True, warnings_found=[WARNING])).run(task_vars={})
    assert printed == []


def test_a_failed_step_prints_nothing_ansible_prints_why(printed):
    plugin(SchemaArchive, {}, dict(failed=True, msg='no', sha256='ab' * 32)).run(task_vars={})
    assert printed == []


@pytest.mark.parametrize('answer,where', [(dict(sent=True), 'sent to the target agent'), (dict(inline=True), 'inline'),
                                          (dict(tmpdir='/tmp/x'), 'as files'), ({}, 'not downloaded (check mode)')])
def test_the_archive_says_how_it_travels(printed, answer, where):
    answer = dict(answer, sha256='ab' * 32, archive=dict(entries=9, tables=['a', 'b']))
    plugin(SchemaArchive, {}, answer).run(task_vars={})
    assert printed == ['schema archive sha256 %s, 9 entries, 2 table(s), %s' % ('ab' * 32, where)]


def test_roles_are_printed_for_the_target_only_the_source_read_carries_verifiers(printed):
    roles = dict(created=['app'], passwords_not_moved=['app'], warnings=[dict(code='role_rights_differ')])
    plugin(Roles, dict(side='source'), dict(roles=[dict(name='app', password='SCRAM-SHA-256$x')])).run(task_vars={})
    plugin(Roles, dict(side='target'), dict(roles=roles)).run(task_vars={})
    assert printed == ["roles created: ['app']; passwords not moved: ['app']; warnings: ['role_rights_differ']"]


def test_the_copy_says_what_it_did_or_where_its_job_is(printed):
    summary = dict(outcome='copied', tables=3, rows=1000, seconds=1.5, timings={'rows': 1.0})
    plugin(Copy, dict(wait=False), dict(summary=summary)).run(task_vars={})
    plugin(Copy, dict(wait=False), dict(job=dict(id='copy:m', progress={'percent': 40}))).run(task_vars={})
    assert printed == ["copied: 3 tables, 1000 rows in 1.5 s ({'rows': 1.0})", "copy job copy:m: {'percent': 40}"]


def test_the_wait_says_tables_lag_and_whether_rows_were_compared(printed):
    answer = dict(ready=2, total=2, waited_seconds=0.5, history=[{}], percent=100, subscription=dict(lag_seconds=None),
                  row_counts=dict(tables=[{}, {}], seconds=0.4))
    plugin(SyncStatus, dict(wait=False), answer).run(task_vars={})
    assert printed == ['2/2 tables ready after 0.5s (1 polls), 100%, lag ?s; '
                       'rows equal on both sides (2 tables, 0.4 s)']


def test_the_lifecycle_prints_the_phase_and_what_the_playbook_does_only_once_decided(printed):
    plugin(Lifecycle, dict(side='source', agent={'url': 'http://x'}), dict(reachable=True)).run(task_vars={})
    assert printed == []
    answer = dict(summary=['migration app: phase none'], action='run', next={'migrate': 'run'})
    plugin(Lifecycle, dict(playbook='migrate', agent={'url': 'http://x'}), answer).run(task_vars={})
    plugin(Lifecycle, dict(playbook='status', agent={'url': 'http://x'}), answer).run(task_vars={})
    assert printed == ['migration app: phase none', '-> migrate: run',
                       'migration app: phase none', 'next, each playbook would: {"migrate": "run"}']


def test_a_summary_that_cannot_be_made_never_fails_its_task(printed):
    result = plugin(SchemaArchive, {}, dict(sha256='ab', archive='not a dict')).run(task_vars={})
    assert not result.get('failed') and printed[0].startswith('(no summary: ')


def test_the_report_is_printed_and_kept_in_the_runs_stats(printed, tmp_path):
    args = dict(dir=str(tmp_path), migration_id='app', playbook='migrate', state='streaming_ready',
                steps=[['lifecycle', 1000.0]], note='pgferry state: streaming_ready - run the cutover')
    result = plugin(Report, args, {}).run(task_vars={})
    assert printed[0].startswith('pgferry migrate app: succeeded, state streaming_ready')
    assert printed[1] == 'pgferry state: streaming_ready - run the cutover' == result['report']['note']
    assert printed[-1] == 'report: %s (and .json)' % result['html_path']
    stats = result['ansible_stats']
    assert stats['data'] == dict(pgferry_report=result['report'], pgferry_state='streaming_ready')
    assert stats['per_host'] is False and stats['aggregate'] is True


def test_a_failed_run_is_kept_as_failed_and_a_report_that_could_not_be_written_says_why(printed, tmp_path):
    (tmp_path / 'file').write_text('x')
    args = dict(dir=str(tmp_path / 'file' / 'r'), migration_id='app', playbook='cutover', state='', failed=True)
    result = plugin(Report, args, {}).run(task_vars={})
    assert result['failed'] and result['ansible_stats']['data']['pgferry_state'] == 'failed'
    assert printed[0].startswith('pgferry cutover app: failed') and 'cannot write the report' in result['msg']
