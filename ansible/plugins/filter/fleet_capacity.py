# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet_capacity: what the fleet's instances cannot hold of it, read from their agents' settings."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import capacity_problems


def fleet_capacity(plan, infos):
    if not isinstance(plan, dict) or 'migrations' not in plan or 'max_copies' not in plan:
        raise AnsibleFilterError('fleet_capacity takes the fleet_plan filter\'s result')
    if not isinstance(infos, dict):
        raise AnsibleFilterError('fleet_capacity needs a mapping of inventory host to its agent\'s /v1/info answer')
    return capacity_problems(plan, infos)


class FilterModule:

    def filters(self):
        return {'fleet_capacity': fleet_capacity}
