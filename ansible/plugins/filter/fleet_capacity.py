# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet_capacity: what the fleet's instances cannot hold of it, read from their agents' settings;
fleet_capacity_warnings: what they risk without refusing it (WAL held without a bound)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

# module_utils are imported inside the filters: Ansible loads every filter file of the collection in each task's
# worker whenever the task uses any pgferry filter, so an import here would be paid by most tasks of a run.


def _check(name, plan, infos):
    if not isinstance(plan, dict) or 'migrations' not in plan or 'max_copies' not in plan:
        raise AnsibleFilterError('%s takes the fleet_plan filter\'s result' % name)
    if not isinstance(infos, dict):
        raise AnsibleFilterError('%s needs a mapping of inventory host to its agent\'s /v1/info answer' % name)


def fleet_capacity(plan, infos):
    _check('fleet_capacity', plan, infos)
    from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import capacity_problems  # pylint: disable=import-outside-toplevel
    return capacity_problems(plan, infos)


def fleet_capacity_warnings(plan, infos):
    _check('fleet_capacity_warnings', plan, infos)
    from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import capacity_warnings  # pylint: disable=import-outside-toplevel
    return capacity_warnings(plan, infos)


class FilterModule:

    def filters(self):
        return {'fleet_capacity': fleet_capacity, 'fleet_capacity_warnings': fleet_capacity_warnings}
