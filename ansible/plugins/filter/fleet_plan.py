# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet_plan: pgferry_fleet checked as a whole and expanded into one set of role variables per migration."""

from __future__ import annotations

import os

import yaml

from ansible.errors import AnsibleFilterError

# module_utils are imported inside the filters: Ansible loads every filter file of the collection in each task's
# worker whenever the task uses any pgferry filter, so an import here would be paid by most tasks of a run.

_ROLES = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), 'roles')


def role_variables(roles=('migrate', 'cutover')):
    """Every option of every entry point of the roles a fleet entry feeds: what its vars may set."""
    names = set()
    for role in roles:
        path = os.path.join(_ROLES, role, 'meta', 'argument_specs.yml')
        with open(path) as f:
            specs = (yaml.safe_load(f) or {}).get('argument_specs') or {}
        for entry in specs.values():
            names.update((entry or {}).get('options') or {})
    return names


def fleet_plan(fleet, inventory_hosts):
    from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import FleetError, plan  # pylint: disable=import-outside-toplevel
    try:
        return plan(fleet, inventory_hosts, role_variables())
    except FleetError as e:
        raise AnsibleFilterError(str(e))


def fleet_select(planned, groups=None, ids=None):
    """The ids of the migrations of a fleet_plan result in any of these groups or among these ids (neither: all)."""
    from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import FleetError, select  # pylint: disable=import-outside-toplevel
    try:
        return select(planned, groups, ids)
    except FleetError as e:
        raise AnsibleFilterError(str(e))


class FilterModule:

    def filters(self):
        return {'fleet_plan': fleet_plan, 'fleet_select': fleet_select}
