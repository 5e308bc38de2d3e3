# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.preflight: the module, run in process on a local connection (plugin_utils/in_process.py);
documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    """pgferry.migrate.preflight"""

    SHOW_FAILED = True  # an error finding fails the task: its warnings and notes are still worth reading

    def show(self, result):
        side = self._task.args.get('side', '?')
        warnings = ['%s warning %s %s: %s Fix: %s'
                    % (side, w.get('code'), w.get('objects') or [], w.get('message'), w.get('fix'))
                    for w in result.get('warnings_found') or []]
        return warnings + ['%s note: %s' % (side, note) for note in result.get('notes') or []]
