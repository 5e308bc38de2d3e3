#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: orphans
short_description: Report what pgferry left on a server
version_added: 0.1.0
description:
  - Calls C(GET /v1/orphans) - slots named C(pgferry_*) (an inactive one has no subscriber and retains WAL),
    publications, subscriptions and fences in every database, and roles named C(pgferry_*).
  - Read-only.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
options:
  fail_on_orphans:
    description: Fail when any inactive C(pgferry_*) slot is found.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Read-only.
  diff_mode:
    support: none
    description: Returns no diff.
'''

EXAMPLES = r'''
- name: What is left on the source
  pgferry.migrate.orphans:
    agent_url: https://db1.example.com:8443
'''

RETURN = r'''
slots:
  description: Slots named pgferry_*, each with C(orphan) (inactive) and the WAL it retains.
  returned: always
  type: list
  elements: dict
publications:
  description: Publications named pgferry_* with their database.
  returned: always
  type: list
  elements: dict
subscriptions:
  description: Subscriptions named pgferry_* with their database.
  returned: always
  type: list
  elements: dict
roles:
  description: Roles named pgferry_*.
  returned: always
  type: list
  elements: str
fenced:
  description: Databases fenced read-only.
  returned: always
  type: list
  elements: str
orphans:
  description: Number of inactive slots.
  returned: always
  type: int
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import AgentClient, agent_argument_spec


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(fail_on_orphans=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    report = AgentClient(module).get('/v1/orphans') or {}
    if module.params['fail_on_orphans'] and report.get('orphans'):
        module.fail_json(msg='%d inactive pgferry slot(s) retain WAL: %s' % (
            report['orphans'], ', '.join(s['name'] for s in report.get('slots', []) if s.get('orphan'))), **report)
    module.exit_json(changed=False, **report)


if __name__ == '__main__':
    main()
