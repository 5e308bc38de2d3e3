#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: replica_identity
short_description: Give the target's tables the replica identities of the source's
version_added: 0.1.0
description:
  - Calls the target agent's C(PUT /v1/migrations/{m}/replica-identity), which runs
    C(ALTER TABLE ... REPLICA IDENTITY FULL) or C(... USING INDEX ...) on each table of the received schema archive's
    scope (partitions included) whose identity differs from the source's in O(replica_identities), in one transaction.
  - Run it after M(pgferry.migrate.schema_apply) and before M(pgferry.migrate.subscription) - the apply worker finds
    the rows of an UPDATE or DELETE by that identity, and the reverse stream publishes the tables on the target after
    a cutover, where PostgreSQL rejects UPDATE and DELETE on a table without one.
  - The agent records what each table had before; M(pgferry.migrate.cleanup) puts it back.
  - A source identity whose index the target does not have yet fails the step (HTTP 422
    C(replica_identity_index_missing)) before anything changes.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  replica_identities:
    description:
      - The source's tables whose replica identity is full or an index, as M(pgferry.migrate.publication) returns
        them (C(publication.replica_identities)) and the source's M(pgferry.migrate.ready_check) answers them.
      - Tables not listed are left as they are.
    type: list
    elements: dict
    default: []
    suboptions:
      schema:
        description: Schema of the table.
        type: str
        required: true
      name:
        description: Name of the table.
        type: str
        required: true
      identity:
        description: V(full), or V(index <name>) for an index of the table.
        type: str
        required: true
'''

EXAMPLES = r'''
- name: Publication on the source (it returns the identities of the tables it publishes)
  pgferry.migrate.publication:
    agent:
      url: https://db1.example.com:8443
      token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
  register: publication

- name: The same replica identities on the target
  pgferry.migrate.replica_identity:
    agent:
      url: https://db2.example.com:8443
      token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    replica_identities: "{{ publication.publication.replica_identities }}"
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
  sample: ["ALTER TABLE \"public\".\"events\" REPLICA IDENTITY FULL"]
changed_tables:
  description: The tables whose replica identity was set (or in check mode would be).
  returned: success
  type: list
  elements: dict
  sample: [{"schema": "public", "name": "events"}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    check_mode_step,
    migration_argument_spec,
    migration_path,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(
        replica_identities=dict(type='list', elements='dict', default=[],
                                options=dict(schema=dict(type='str', required=True),
                                             name=dict(type='str', required=True),
                                             identity=dict(type='str', required=True))),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)

    body = dict(database=p['database'],
                replica_identities=[dict(schema=t['schema'], name=t['name'], identity=t['identity'])
                                    for t in p['replica_identities']])
    path = migration_path(module, 'replica-identity')
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
        check_mode_step(module, client, 'PUT', path, body,
                        'the source\'s replica identities on the tables of database %s, once the schema is there'
                        % p['database'])
    module.exit_json(**step_result(client.put(path, body)))


if __name__ == '__main__':
    main()
