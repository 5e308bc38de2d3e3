# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Live progress for the modules that wait for hours (sync_status, copy, post_data).

A module's output reaches the play only when it returns, so a four-hour copy would be one silent task. The action
plugin of such a module waits in slices instead: it runs the module with wait_timeout set to one slice
(progress_interval), prints a line from what the timed-out slice returned (the module says so with timed_out), and runs
it again; an identical call re-attaches to the agent's running job, and sync_status only reads. Reads inside a slice
are retried by module_utils/agent_client.py; a slice that failed because the agent could not be reached
(transport_error) is repeated here with growing pauses, for up to retry_seconds, once the wait is under way.
"""

from __future__ import annotations

import math
import time

from ansible.utils.display import Display
from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import InProcessAction

display = Display()

HISTORY_HEAD = 10
HISTORY_MAX = 500


def duration(seconds):
    """A short human duration: 45s, 12m05s, 3h07m."""
    if seconds is None:
        return '?'
    seconds = int(round(seconds))
    if seconds < 60:
        return '%ds' % seconds
    if seconds < 3600:
        return '%dm%02ds' % (seconds // 60, seconds % 60)
    return '%dh%02dm' % (seconds // 3600, (seconds % 3600) // 60)


def size(value):
    """Bytes as B, kB, MB, GB or TB (powers of 1024, as PostgreSQL's pg_size_pretty)."""
    if value is None:
        return '?'
    value = float(value)
    for unit in ('B', 'kB', 'MB', 'GB'):
        if abs(value) < 1024:
            return ('%d %s' % (value, unit)) if unit == 'B' else ('%.1f %s' % (value, unit))
        value /= 1024
    return '%.1f TB' % value


class Eta:
    """Time left from the rate of progress since the first observation (percent 0-100)."""

    def __init__(self):
        self.first = None

    def __call__(self, elapsed, percent):
        if percent is None:
            return None
        if self.first is None:
            self.first = (elapsed, percent)
            return None
        t0, p0 = self.first
        if percent <= p0 or elapsed <= t0:
            return None
        if percent >= 100:
            return 0.0
        return (100.0 - percent) * (elapsed - t0) / (percent - p0)


def copy_line(result, elapsed, eta):
    """One line for a sync_status poll: tables, bytes, percent, ETA, lag."""
    tables = result.get('tables') or []
    done_bytes = sum(t.get('bytes_processed') or 0 for t in tables)
    total_bytes = sum(t.get('bytes_total') or 0 for t in tables)
    percent = result.get('percent')
    left = eta(elapsed, percent)
    sub = result.get('subscription') or {}
    lag = sub.get('lag_seconds')
    text = 'initial copy: %s/%s tables ready' % (result.get('ready', '?'), result.get('total', '?'))
    if total_bytes:
        text += ', %s of %s' % (size(done_bytes), size(total_bytes))
    text += ', %s%%' % ('?' if percent is None else '%.1f' % percent)
    text += ', ETA %s' % (duration(left) if left is not None else '?')
    text += ', lag %s' % ('?' if lag is None else '%.1fs' % lag)
    if result.get('lag_bytes') is not None:
        text += ' / %s' % size(result['lag_bytes'])
    return text + ', waited %s' % duration(elapsed)


def job_line(step, result, elapsed, eta):
    """One line for a job's poll: done/total, percent, ETA, the agent's message."""
    job = result.get('job') or {}
    progress = job.get('progress') or {}
    done, total = progress.get('done'), progress.get('total')
    percent = (100.0 * done / total) if isinstance(done, (int, float)) and total else None
    left = eta(elapsed, percent)
    text = '%s: %s/%s' % (step, '?' if done is None else done, '?' if total is None else total)
    text += ', %s%%' % ('?' if percent is None else '%.1f' % percent)
    text += ', ETA %s' % (duration(left) if left is not None else '?')
    if progress.get('message'):
        text += ', %s' % progress['message']
    return text + ', waited %s' % duration(elapsed)


class ProgressAction(InProcessAction):
    """Base of the action plugins named after a waiting module; subclasses set STEP, DEFAULT_WAIT and line()."""

    TRANSFERS_FILES = False
    _requires_connection = True
    STEP = 'step'
    DEFAULT_WAIT = True
    DEFAULT_TIMEOUT = 3600
    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def line(self, result, elapsed, eta):
        return job_line(self.STEP, result, elapsed, eta)

    def merge(self, results, result, elapsed):
        """The final result from the slices' results (sync_status joins their histories)."""
        return result

    def carry(self, args, answer):
        """The next slice's arguments, given what this one answered (sync_status carries its start's error count)."""
        return args

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        interval = float(args.get('progress_interval') if args.get('progress_interval') is not None else 30.0)
        wait = args.get('wait', self.DEFAULT_WAIT)
        wait = wait if isinstance(wait, bool) else str(wait).lower() in ('1', 'true', 'yes', 'on')
        if self._play_context.check_mode or not wait or interval <= 0:
            result.update(self._run_module(args, task_vars))
            return self.shown(result)

        total = int(args.get('wait_timeout') or self.DEFAULT_TIMEOUT)
        retry_seconds = int(args.get('retry_seconds') if args.get('retry_seconds') is not None else 60)
        started = self.clock()
        eta = Eta()
        slices = []
        blips = 0
        blip_started = None
        while True:
            elapsed = self.clock() - started
            chunk = max(1, int(math.ceil(min(interval, total - elapsed))))
            answer = self._run_module(dict(args, wait=True, wait_timeout=chunk), task_vars)
            elapsed = self.clock() - started
            if answer.get('failed') and answer.get('transport_error') and slices:
                # The agent was not reachable at the start of a slice (a restart, a blip). The call re-attaches to the
                # job it started (or, the job over, finds its work done), so repeating it cannot do anything twice.
                # the module already repeated its reads for retried_seconds: one budget for both
                blip_started = (elapsed - float(answer.get('retried_seconds') or 0)) if blip_started is None \
                    else blip_started
                pause = min(2.0 ** blips, 15.0)
                if elapsed - blip_started + pause <= retry_seconds and elapsed + pause < total:
                    display.display('%s: agent not reachable, retrying in %ds: %s'
                                    % (self.STEP, pause, answer.get('msg')))
                    blips += 1
                    self.sleep(pause)
                    continue
            else:
                blips, blip_started = 0, None
            slices.append((elapsed, answer))
            args = self.carry(args, answer)
            if not (answer.get('failed') and answer.get('timed_out')):
                break
            display.display(self.line(answer, elapsed, eta))
            if elapsed >= total:
                answer['msg'] = '%s: still not done after %ss (wait_timeout); %s. It goes on on the agent: rerun to ' \
                                'wait again' % (self.STEP, total, self.line(answer, elapsed, eta))
                break
        final = self.merge(slices, dict(slices[-1][1]), elapsed)
        if len(slices) > 1 and not final.get('failed') and 'job' in final:
            final['changed'] = True  # the first slice started the job: its work was done during this task
        if not final.get('failed'):
            final.pop('timed_out', None)
        final.pop('transport_error', None)
        result.update(final)
        return self.shown(result)

    def _run_module(self, args, task_vars):
        return self._execute_module(module_name=self._task.action, module_args=args, task_vars=task_vars)
