#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: publication
short_description: Create, align or drop the publication of a migration on the source server
version_added: 0.1.0
description:
  - With O(state=present), calls the source agent's C(PUT /v1/migrations/{m}/publication), which creates
    publication C(pgferry_<migration_id>) for the tables in scope or brings its membership in line
    (C(ALTER PUBLICATION ... ADD/DROP TABLE)). Partitions are published through their root.
  - A table in scope with neither a primary key nor a replica identity fails the step (C(table_without_replica_identity),
    listing them) unless it is named in O(replica_identity_full).
  - With O(state=absent), calls C(DELETE /v1/migrations/{m}/publication), which drops it if present.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.scope
  - pgferry.migrate.migration.replica_identity
options:
  state:
    description:
      - Whether the publication should exist.
      - In check mode, V(absent) reads C(GET /v1/migrations/{m}/status) and reports the C(DROP PUBLICATION) it would run.
    type: str
    choices: [present, absent]
    default: present
  unlogged_tables:
    description:
      - Unlogged tables in scope write no WAL, so their rows cannot replicate. V(refuse) fails on them; V(empty) leaves
        them out of the publication - the schema steps create them on the target without their rows.
    type: str
    choices: [refuse, empty]
    default: refuse
'''

EXAMPLES = r'''
- name: Publish every table of schema "included"
  pgferry.migrate.publication:
    agent_url: https://db1.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    include_schemas: [included]
    replica_identity_full:
      - {schema: included, name: events_without_pk}

- name: Drop it after the cutover
  pgferry.migrate.publication:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
    state: absent
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
  sample: ["CREATE PUBLICATION \"pgferry_app\" FOR TABLE \"included\".\"customers\" WITH (publish_via_partition_root = true)"]
publication:
  description: The publication as it is now.
  returned: when O(state=present)
  type: dict
  contains:
    name:
      description: Name of the publication.
      type: str
      sample: pgferry_app
    tables:
      description: Tables it publishes.
      type: list
      elements: dict
      sample: [{"schema": "included", "name": "customers"}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    replica_identity_argument_spec,
    replica_identity_body,
    migration_path,
    scope_body,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(scope=True))
    argument_spec.update(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        unlogged_tables=dict(type='str', choices=['refuse', 'empty'], default='refuse'),
    )
    argument_spec.update(replica_identity_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)

    if p['state'] == 'absent':
        name = 'pgferry_%s' % p['migration_id']
        if module.check_mode:
            status = client.get(migration_path(module, 'status', dict(database=p['database']))) or {}
            exists = bool((status.get('publication') or {}).get('exists'))
            module.exit_json(changed=exists, queries=['DROP PUBLICATION "%s"' % name] if exists else [])
        answer = client.delete(migration_path(module, 'publication', dict(database=p['database'])))
        module.exit_json(**step_result(answer))

    body = dict(database=p['database'], publish_via_partition_root=True, **replica_identity_body(p))
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
    if p['unlogged_tables'] != 'refuse':
        body['unlogged_tables'] = p['unlogged_tables']
    body.update(scope_body(p))
    answer = client.put(migration_path(module, 'publication'), body)
    module.exit_json(**step_result(answer))


if __name__ == '__main__':
    main()
