# -*- coding: utf-8 -*-
"""The progress action plugins: slices, one line per poll, blips retried, histories joined (plugin_utils/progress.py)."""

from __future__ import annotations

from unittest.mock import MagicMock

import pytest

from ansible_collections.pgferry.migrate.plugins.action.post_data import ActionModule as PostData
from ansible_collections.pgferry.migrate.plugins.action.sync_status import ActionModule as SyncStatus
from ansible_collections.pgferry.migrate.plugins.plugin_utils import progress
from ansible_collections.pgferry.migrate.plugins.plugin_utils.progress import Eta, copy_line, duration, job_line, size


class Scripted:
    """Plays an action plugin against scripted module answers, on a clock that moves only by the slices and pauses."""

    def __init__(self, cls, args, answers, slice_seconds=None, check_mode=False):
        task = MagicMock()
        task.args = args
        task.action = 'pgferry.migrate.x'
        task.async_val = 0
        task.check_mode = check_mode
        play_context = MagicMock()
        play_context.check_mode = check_mode
        self.plugin = cls(task, MagicMock(), play_context, MagicMock(), MagicMock(), MagicMock())
        self.answers = list(answers)
        self.calls = []
        self.now = 0.0
        self.plugin.clock = lambda: self.now
        self.plugin.sleep = self._sleep
        self.plugin._run_module = self._module
        self.slice_seconds = slice_seconds

    def _sleep(self, seconds):
        self.now += seconds

    def _module(self, args, task_vars):
        self.calls.append(dict(args))
        self.now += self.slice_seconds if self.slice_seconds is not None else args.get('wait_timeout', 0)
        return dict(self.answers.pop(0))

    def run(self):
        result = self.plugin.run(task_vars={})
        assert isinstance(result.pop('started_at'), float)  # every pgferry action says when its task began
        return result


@pytest.fixture
def lines(monkeypatch):
    shown = []
    monkeypatch.setattr(progress.display, 'display', lambda msg, *a, **k: shown.append(msg))
    return shown


def running(done, total=4, message='restoring'):
    return dict(failed=True, timed_out=True, msg='job post-data:m still running',
                job=dict(id='post-data:m', state='running', progress=dict(done=done, total=total, message=message)))


def test_formats():
    assert (duration(45), duration(725), duration(11220)) == ('45s', '12m05s', '3h07m')
    assert (size(512), size(1536), size(3 * 1024 ** 3)) == ('512 B', '1.5 kB', '3.0 GB')
    eta = Eta()
    assert eta(10, 10.0) is None and eta(20, 20.0) == pytest.approx(80.0)


def test_a_job_is_waited_for_in_slices_with_a_line_each(lines):
    done = dict(changed=False, queries=['CREATE INDEX i ON t (a)'], job=dict(id='post-data:m', state='succeeded'))
    run = Scripted(PostData, dict(progress_interval=10, wait_timeout=100), [running(1), running(2), done])
    result = run.run()
    assert [c['wait_timeout'] for c in run.calls] == [10, 10, 10] and all(c['wait'] for c in run.calls)
    assert len(lines) == 2 and lines[0].startswith('post-data: 1/4, 25.0%, ETA ?') and 'restoring' in lines[0]
    assert 'ETA 20s' in lines[1]  # 25% more in 10 s, 50% left
    assert not result.get('failed') and result['changed'] is True and result['queries'] == done['queries']
    assert 'timed_out' not in result


def test_the_whole_wait_timeout_is_kept(lines):
    run = Scripted(PostData, dict(progress_interval=30, wait_timeout=50), [running(1), running(2)])
    result = run.run()
    assert [c['wait_timeout'] for c in run.calls] == [30, 20]
    assert result['failed'] and 'still not done after 50s' in result['msg'] and 'rerun' in result['msg']


def test_a_blip_between_slices_is_retried(lines):
    blip = dict(failed=True, transport_error=True, msg='POST http://a/v1/...: connection refused')
    done = dict(changed=True, job=dict(id='post-data:m', state='succeeded'))
    run = Scripted(PostData, dict(progress_interval=10), [running(1), blip, blip, done])
    result = run.run()
    assert not result.get('failed') and len(run.calls) == 4
    assert sum('agent not reachable, retrying' in line for line in lines) == 2


def test_a_first_call_that_cannot_reach_the_agent_fails_at_once(lines):
    blip = dict(failed=True, transport_error=True, msg='connection refused')
    run = Scripted(PostData, dict(progress_interval=10), [blip])
    assert run.run()['failed'] and len(run.calls) == 1


def test_a_long_outage_ends_the_wait(lines):
    blip = dict(failed=True, transport_error=True, msg='connection refused')
    run = Scripted(PostData, dict(progress_interval=10, retry_seconds=5), [running(1)] + [blip] * 5, slice_seconds=0)
    result = run.run()
    assert result['failed'] and result['msg'] == 'connection refused' and len(run.calls) == 4  # pauses 1, 2, then 4 > 5-3


def test_the_modules_own_retries_count_against_retry_seconds(lines):
    blip = dict(failed=True, transport_error=True, retried_seconds=58.0, msg='connection refused')
    run = Scripted(PostData, dict(progress_interval=10, retry_seconds=60), [running(1), blip, blip, blip],
                   slice_seconds=0)
    result = run.run()
    assert result['failed'] and len(run.calls) == 3  # 58 s spent inside, then pauses of 1 s (59), 2 s would pass 60


def test_other_failures_end_at_once(lines):
    failed = dict(failed=True, msg='job post-data:m failed: boom')
    run = Scripted(PostData, dict(progress_interval=10), [running(1), failed])
    assert run.run()['msg'] == 'job post-data:m failed: boom'


@pytest.mark.parametrize('args,check', [(dict(progress_interval=0), False), (dict(wait=False), False), ({}, True)])
def test_silent_modes_call_the_module_once_as_given(args, check, lines):
    run = Scripted(PostData, args, [dict(changed=True)], check_mode=check)
    assert run.run()['changed'] and run.calls == [args] and not lines


def test_sync_status_lines_and_one_history(lines):
    def poll(percent, ready, processed, timed_out=True):
        answer = dict(ready=ready, total=2, percent=percent, lag_bytes=2048,
                      subscription=dict(exists=True, lag_seconds=0.5),
                      tables=[dict(bytes_processed=processed, bytes_total=4 * 1024 ** 2), dict(bytes_processed=0)],
                      history=[dict(elapsed_seconds=0.0, percent=percent), dict(elapsed_seconds=5.0, percent=percent)])
        if timed_out:
            answer.update(failed=True, timed_out=True, msg='not in sync')
        else:
            answer.update(synced=True, waited_seconds=5.0)
        return answer
    run = Scripted(SyncStatus, dict(wait=True, progress_interval=10),
                   [poll(20.0, 0, 1024 ** 2), poll(60.0, 1, 3 * 1024 ** 2), poll(100.0, 2, 4 * 1024 ** 2, False)])
    result = run.run()
    assert lines[0] == 'initial copy: 0/2 tables ready, 1.0 MB of 4.0 MB, 20.0%, ETA ?, lag 0.5s / 2.0 kB, waited 10s'
    assert 'ETA 10s' in lines[1]
    assert result['synced'] and result['waited_seconds'] == 30.0 and 'failed' not in result
    assert [h['elapsed_seconds'] for h in result['history']] == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0]


def test_sync_status_without_wait_is_one_poll(lines):
    run = Scripted(SyncStatus, dict(), [dict(synced=False)])
    assert run.run() == dict(synced=False) and len(run.calls) == 1


def test_line_without_numbers():
    assert job_line('copy', {}, 3, Eta()) == 'copy: ?/?, ?%, ETA ?, waited 3s'
    assert copy_line({}, 3, Eta()) == 'initial copy: ?/? tables ready, ?%, ETA ?, lag ?, waited 3s'
