# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Action plugin of pgferry.migrate.post_data: the module, waited for in slices with a progress line per poll
(plugin_utils/progress.py); documented with the module."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.plugin_utils.progress import ProgressAction


class ActionModule(ProgressAction):
    STEP = 'post-data'
