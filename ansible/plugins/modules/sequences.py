#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: sequences
short_description: Copy every sequence of the migration's scope from one side to the other
version_added: 0.1.0
description:
  - Reads C(GET /v1/migrations/{m}/sequences) on O(agent_url) (serial, identity and standalone sequences - last_value
    and is_called) and sends them to C(PUT /v1/migrations/{m}/sequences) on O(target_agent_url), which calls
    C(setval) for each that is behind, plus O(gap). A sequence is never moved backwards; a rerun changes nothing.
  - For a rollback, O(agent_url) is the new primary and O(target_agent_url) the old source.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
options:
  target_database:
    description: Database on the receiving side. Defaults to O(database).
    type: str
  gap:
    description: Added to every position, a margin for values handed out after the read.
    type: int
    default: 0
'''

EXAMPLES = r'''
- name: Sequences to the target
  pgferry.migrate.sequences:
    agent_url: https://db1.example.com:8443
    target_agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
    gap: 1000
'''

RETURN = r'''
queries:
  description: The setval calls the receiving agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
sequences:
  description: Each sequence as it is now on the receiving side.
  returned: always
  type: list
  elements: dict
unchanged:
  description: Sequences already at or beyond the position.
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
    peer_argument_spec,
    peer_client,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec())
    argument_spec.update(target_database=dict(type='str'), gap=dict(type='int', default=0))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    read = AgentClient(module).get(migration_path(module, 'sequences', dict(database=p['database'])))
    body = dict(database=p['target_database'] or p['database'], sequences=read['sequences'], gap=p['gap'])
    if module.check_mode:
        body['check'] = True
    module.exit_json(**step_result(peer_client(module).put(migration_path(module, 'sequences'), body)))


if __name__ == '__main__':
    main()
