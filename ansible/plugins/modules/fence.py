#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: fence
short_description: Fence a database against writes, or lift the fence
version_added: 0.1.0
description:
  - With O(state=present), calls C(PUT /v1/migrations/{m}/fence) - C(ALTER DATABASE .. SET default_transaction_read_only = on)
    and ends the database's client sessions begun before it; returns the WAL position after it (RV(fence.lsn)).
  - With O(state=absent), calls C(DELETE /v1/migrations/{m}/fence), which resets the setting and ends the read-only
    sessions opened while it stood.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  state:
    description: Whether the fence should stand.
    type: str
    choices: [present, absent]
    default: present
  terminate:
    description: End the client sessions begun before the fence (O(state=present)).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Fence the source
  pgferry.migrate.fence:
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
fence:
  description: The fence as it is now.
  returned: always
  type: dict
  contains:
    database:
      description: The database.
      type: str
    fenced:
      description: Whether the database carries C(default_transaction_read_only = on).
      type: bool
    fenced_at:
      description: When this agent fenced it.
      type: str
    terminated:
      description: Client sessions this call ended.
      type: list
      elements: str
    lsn:
      description: WAL position after the fence, covering every commit before it (O(state=present)).
      type: str
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
    argument_spec.update(state=dict(type='str', choices=['present', 'absent'], default='present'),
                         terminate=dict(type='bool', default=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)
    if p['state'] == 'absent':
        query = dict(database=p['database'])
        if module.check_mode:
            query['check'] = 'true'
        module.exit_json(**step_result(client.delete(migration_path(module, 'fence', query))))
    body = dict(database=p['database'], terminate=p['terminate'])
    if module.check_mode:
        body['check'] = True
    module.exit_json(**step_result(client.put(migration_path(module, 'fence'), body)))


if __name__ == '__main__':
    main()
