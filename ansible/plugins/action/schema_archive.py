# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.schema_archive: the module, run in process on a local connection (plugin_utils/in_process.py);
documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    """pgferry.migrate.schema_archive"""

    def show(self, result):
        if 'sha256' not in result:
            return []
        where = ('sent to the target agent' if result.get('sent') else 'inline' if result.get('inline')
                 else 'as files' if 'tmpdir' in result else 'not downloaded (check mode)')
        archive = result.get('archive') or {}
        return ['schema archive sha256 %s, %s entries, %d table(s), %s'
                % (result['sha256'], archive.get('entries', '?'), len(archive.get('tables') or []), where)]
