# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.replication_role: the module, run in process on a local connection (plugin_utils/in_process.py);
documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    """pgferry.migrate.replication_role"""

    def show(self, result):
        role = result.get('role') or {}
        return ['role %s: %d schema(s), %d table(s), %d temporary copy policy(ies) (row_security %s)'
                % (role.get('name', '?'), len(role.get('schemas') or []), len(role.get('tables') or []),
                   len(role.get('copy_policies') or []), self._task.args.get('row_security'))]
