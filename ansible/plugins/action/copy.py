# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.copy: the module, waited for in slices with a progress line per poll
(plugin_utils/progress.py); documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.progress import ProgressAction


class ActionModule(ProgressAction):
    STEP = 'copy'

    def show(self, result):
        summary = result.get('summary')
        if isinstance(summary, dict):
            return ['%s: %s tables, %s rows in %s s (%s)'
                    % (summary.get('outcome', '?'), summary.get('tables', '?'), summary.get('rows', '?'),
                       summary.get('seconds', '?'), summary.get('timings') or {})]
        job = result.get('job')
        return ['copy job %s: %s' % (job.get('id'), job.get('progress') or {})] if isinstance(job, dict) else []
