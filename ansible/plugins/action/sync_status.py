# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.sync_status: with wait=true, the wait in slices with a progress line per poll
(tables and bytes copied, percent, ETA, lag; plugin_utils/progress.py); documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.progress import (
    HISTORY_HEAD,
    HISTORY_MAX,
    ProgressAction,
    copy_line,
)


class ActionModule(ProgressAction):
    STEP = 'sync_status'
    DEFAULT_WAIT = False

    def line(self, result, elapsed, eta):
        return copy_line(result, elapsed, eta)

    def carry(self, args, answer):
        """Errors are counted from the start of the whole wait, not of each slice."""
        if args.get('worker_errors_before') is None and answer.get('worker_errors_before') is not None:
            return dict(args, worker_errors_before=answer['worker_errors_before'])
        return args

    def merge(self, results, result, elapsed):
        """One history and one waited_seconds over all slices, as one long module call would return them."""
        history = []
        offset = 0.0
        for ended, answer in results:
            for entry in answer.get('history') or []:
                history.append(dict(entry, elapsed_seconds=round(offset + (entry.get('elapsed_seconds') or 0), 1)))
            offset = ended
        if len(history) > HISTORY_MAX:
            history = history[:HISTORY_HEAD] + history[-(HISTORY_MAX - HISTORY_HEAD):]
        result['history'] = history
        result['waited_seconds'] = round(elapsed, 1)
        return result

    def show(self, result):
        if 'ready' not in result:
            return []
        counts = result.get('row_counts')
        lag = (result.get('subscription') or {}).get('lag_seconds')
        return ['%s/%s tables ready after %ss (%d polls), %s%%, lag %ss; %s'
                % (result.get('ready'), result.get('total'), result.get('waited_seconds', '?'),
                   len(result.get('history') or []), result.get('percent', '?'), '?' if lag is None else lag,
                   'rows equal on both sides (%d tables, %s s)'
                   % (len(counts.get('tables') or []), counts.get('seconds'))
                   if isinstance(counts, dict) else 'rows not compared')]
