# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The action of every pgferry module that has no action plugin of its own (meta/runtime.yml routes them here): the
module, run on the controller without a new Python when the task's connection is local (plugin_utils/in_process.py),
the usual way otherwise."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import InProcessAction


class ActionModule(InProcessAction):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        result.update(self._execute_module(module_name=self._task.action, module_args=dict(self._task.args),
                                           task_vars=task_vars))
        return result
