# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.roles: the module, run in process on a local connection (plugin_utils/in_process.py);
documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    """pgferry.migrate.roles"""

    def show(self, result):
        roles = result.get('roles')
        if self._task.args.get('side') != 'target' or not isinstance(roles, dict):
            return []
        return ['roles created: %s; passwords not moved: %s; warnings: %s'
                % (roles.get('created') or [], roles.get('passwords_not_moved') or [],
                   [w.get('code') for w in roles.get('warnings') or []])]
