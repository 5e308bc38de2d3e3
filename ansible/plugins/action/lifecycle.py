# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.lifecycle; documented with the module.

The roles read each side on its own host, then combine the two answers. Without O(pgbouncer) that combination reads
nothing - it is module_utils/lifecycle.py's judge() over the task's arguments - so it runs here, in the controller's
process: a module execution (a temporary directory, a Python process, its imports) costs most of a second on every
playbook run and adds nothing. Anything that reads an agent or PgBouncer runs the module where the task is delegated,
as before
(in a child of the worker on a local connection: plugin_utils/in_process.py).
"""

from __future__ import annotations

import json

from ansible.module_utils.common.parameters import remove_values
from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import InProcessAction
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import mask_value
from ansible_collections.pgferry.migrate.plugins.module_utils.lifecycle import argument_spec, judge


def reads_nothing(args):
    """Whether the task only combines answers read before: no side to read, both given, no PgBouncer."""
    return not args.get('side') and args.get('source') is not None and args.get('target') is not None \
        and not args.get('pgbouncer')


class ActionModule(InProcessAction):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        if not reads_nothing(self._task.args):
            result.update(self._execute_module(module_name=self._task.action, module_args=self._task.args,
                                               task_vars=task_vars))
            return self.shown(result)
        validation, p = self.validate_argument_spec(argument_spec=argument_spec())
        answer, refused = judge(p['migration_id'], p['source'], p['target'], playbook=p['playbook'],
                                abandon=p['abandon'], pgbouncer=False)
        answer = mask_value(answer)
        if refused and p['fail_on_refusal']:
            answer.update(failed=True, msg=answer['message'])
        # as AnsibleModule does with its result: a no_log value (a token, given though unused) never shows
        result.update(remove_values(answer, validation._no_log_values))
        return self.shown(result)

    def show(self, result):
        """The phase and what this playbook does in it (status: what each playbook would do)."""
        if 'action' not in result:
            return []  # one side's read
        playbook = self._task.args.get('playbook')
        return list(result.get('summary') or []) + (
            ['next, each playbook would: %s' % json.dumps(result.get('next'))] if playbook == 'status'
            else ['-> %s: %s' % (playbook, result['action'])])
