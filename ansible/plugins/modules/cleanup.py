#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cleanup
short_description: Remove every object and file a migration made on one server
version_added: 0.1.0
description:
  - Calls C(POST /v1/migrations/{m}/cleanup) - drops the subscriptions, publications and slots C(pgferry_<m>) and
    C(pgferry_<m>_reverse), lifts the fence, drops role C(pgferry_<m>) and removes the migration's state files.
  - For a finished, failed or abandoned migration; safe to rerun. Run it on both sides.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  keep_reverse:
    description: Keep the reverse stream, its role and the state files.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Clean up the source
  pgferry.migrate.cleanup:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
remaining:
  description: What could not be removed, with the reason.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(keep_reverse=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    body = dict(database=p['database'], keep_reverse=p['keep_reverse'])
    if module.check_mode:
        body['check'] = True
    module.exit_json(**step_result(AgentClient(module).post(migration_path(module, 'cleanup'), body)))


if __name__ == '__main__':
    main()
