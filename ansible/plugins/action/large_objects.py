# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.large_objects: the module, run in process on a local connection (plugin_utils/in_process.py);
documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.in_process import ModuleAction


class ActionModule(ModuleAction):
    """pgferry.migrate.large_objects"""

    def show(self, result):
        lo = result.get('large_objects')
        if not isinstance(lo, dict) or 'objects' not in lo:
            return []
        return ['large objects: %s on the source, %s copied, %s removed on the target (%s bytes, changes found by %s)'
                % (lo.get('objects'), lo.get('copied'), lo.get('unlinked'), lo.get('bytes'), lo.get('detection'))]
