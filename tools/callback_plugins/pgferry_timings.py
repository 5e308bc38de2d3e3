# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Seconds per task and per role task file (one file per step), written as JSON for the bench scripts in tools/.

Enabled only by those scripts: ANSIBLE_CALLBACK_PLUGINS=tools/callback_plugins ANSIBLE_CALLBACKS_ENABLED=pgferry_timings
and PGFERRY_TIMINGS_FILE=<path>.
"""
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = r'''
name: pgferry_timings
type: aggregate
short_description: seconds per task and per step, for pgferry's benchmarks
description:
  - Writes a JSON file (E(PGFERRY_TIMINGS_FILE)) with each task's seconds and their sums per role task file.
requirements:
  - enabled in callbacks_enabled
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'pgferry_timings'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._tasks = []
        self._current = None
        self._started = time.monotonic()
        self._copy = None

    def _close(self):
        if self._current is not None:
            name, path, started = self._current
            self._tasks.append(dict(task=name, file=path, seconds=round(time.monotonic() - started, 3)))
            self._current = None

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._close()
        path = task.get_path() or ''
        self._current = (task.get_name(), os.path.basename(path.split(':')[0]), time.monotonic())

    def v2_playbook_on_handler_task_start(self, task):
        self.v2_playbook_on_task_start(task, False)

    def v2_runner_on_ok(self, result):
        # The copy step's own account of its parts (checks, slot, plan, rows, indexes, subscription).
        summary = result._result.get('summary')
        if isinstance(summary, dict) and 'timings' in summary:
            self._copy = summary

    def v2_playbook_on_stats(self, stats):
        self._close()
        steps = {}
        for t in self._tasks:
            steps[t['file']] = round(steps.get(t['file'], 0) + t['seconds'], 3)
        out = os.environ.get('PGFERRY_TIMINGS_FILE')
        if out:
            with open(out, 'w') as f:
                json.dump(dict(total=round(time.monotonic() - self._started, 3), steps=steps, copy=self._copy,
                               tasks=self._tasks), f, indent=1)
