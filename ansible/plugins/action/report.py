# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.report; documented with the module.

The roles write the report on the controller (delegate_to: localhost). There the module would only be this process's
own code run in another Python process - a temporary directory, a process, its imports: most of a second at the end
of every playbook run - so over a local connection without become it runs here (module_utils/report.py), writing as
the same user to the same directory. Anywhere else - another host, or become - the module runs as before.
"""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import InProcessAction
from ansible_collections.pgferry.migrate.plugins.module_utils.report import argument_spec, run


class ActionModule(InProcessAction):
    TRANSFERS_FILES = False

    def _here(self):
        return getattr(self._connection, 'transport', None) == 'local' and not self._play_context.become

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        if not self._here():
            result.update(self._execute_module(module_name=self._task.action, module_args=self._task.args,
                                               task_vars=task_vars))
            return self.kept(result)
        dummy, p = self.validate_argument_spec(argument_spec=argument_spec())
        result.update(run(p, self._task.check_mode))
        return self.kept(result)

    SHOW_FAILED = True  # a report that could not be written says why, and the run goes on to its own outcome

    def show(self, result):
        return (result.get('text') or [result.get('msg') or 'no report']) + \
            (['report: %s (and .json)' % result['html_path']] if result.get('html_path') else [])

    def kept(self, result):
        """``result`` with the report and the state in the run's stats (as set_stats would), printed: AWX keeps them
        with the job (Artifacts)."""
        result['ansible_stats'] = dict(data=dict(pgferry_report=result.get('report') or {},
                                                 pgferry_state=self._task.args.get('state') or 'failed'),
                                       per_host=False, aggregate=True)
        return self.shown(result)
