# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.subscription: the module, run in process on a local connection (plugin_utils/in_process.py);
documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    """pgferry.migrate.subscription"""

    def show(self, result):
        return ['ran: %s' % q for q in result.get('queries') or []]  # the module masked the password
