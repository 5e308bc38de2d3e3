#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: subscription
short_description: Create, align or drop the subscription of a migration on the target server
version_added: 0.1.0
description:
  - With O(state=present), calls the target agent's C(PUT /v1/migrations/{m}/subscription), which creates
    subscription C(pgferry_<migration_id>) to the source's publication of the same name, with replication slot
    C(pgferry_<migration_id>), or brings an existing one's options and connection in line (C(ALTER SUBSCRIPTION)),
    never making a second one.
  - With O(state=absent), calls C(DELETE /v1/migrations/{m}/subscription), which disables and drops it (dropping
    the slot on the source).
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.source_connection
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  state:
    description:
      - Whether the subscription should exist.
      - In check mode, V(absent) reads C(GET .../sync-status) and reports the C(DROP SUBSCRIPTION) it would run.
    type: str
    choices: [present, absent]
    default: present
  connection:
    description:
      - How the TARGET server reaches the source server; becomes the subscription's conninfo.
      - Required when O(state=present).
    type: dict
  copy_data:
    description: Copy the existing rows when the subscription is created.
    type: bool
    default: true
  binary:
    description: Ask the source to send rows in binary format.
    type: bool
    default: false
  streaming:
    description: Stream large in-progress transactions (C(streaming) subscription option).
    type: bool
    default: false
  enabled:
    description: Whether the subscription replicates.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Subscribe the target to the source
  pgferry.migrate.subscription:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    connection:
      host: db1.internal
      port: 5432
      dbname: app
      password: "{{ vault_pgferry_replication_password }}"
      sslmode: verify-full
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run; the password in the conninfo is masked.
  returned: always
  type: list
  elements: str
  sample:
    - >-
      CREATE SUBSCRIPTION "pgferry_app" CONNECTION 'host=db1 port=5432 dbname=app user=pgferry_app
      password=******** sslmode=prefer' PUBLICATION "pgferry_app" WITH (slot_name = 'pgferry_app')
subscription:
  description: The subscription as it is now (name, enabled, masked conninfo, options).
  returned: when O(state=present)
  type: dict
  sample: {"name": "pgferry_app", "enabled": true, "conninfo": "host=db1 port=5432 dbname=app user=pgferry_app password=******** sslmode=prefer"}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    check_mode_step,
    migration_argument_spec,
    migration_path,
    source_connection_argument_spec,
    source_connection_body,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(source_connection_argument_spec())
    argument_spec.update(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        copy_data=dict(type='bool', default=True),
        binary=dict(type='bool', default=False),
        streaming=dict(type='bool', default=False),
        enabled=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[('state', 'present', ('connection',))])
    p = module.params
    client = AgentClient(module)

    if p['state'] == 'absent':
        name = 'pgferry_%s' % p['migration_id']
        if module.check_mode:
            status = client.get(migration_path(module, 'sync-status', dict(database=p['database']))) or {}
            exists = bool((status.get('subscription') or {}).get('exists'))
            module.exit_json(changed=exists, queries=['ALTER SUBSCRIPTION "%s" DISABLE' % name,
                                                      'DROP SUBSCRIPTION "%s"' % name] if exists else [])
        answer = client.delete(migration_path(module, 'subscription', dict(database=p['database'])))
        module.exit_json(**step_result(answer))

    conn = source_connection_body(p)
    body = dict(database=p['database'], connection=conn, copy_data=p['copy_data'], binary=p['binary'],
                streaming=p['streaming'], enabled=p['enabled'])
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
        check_mode_step(module, client, 'PUT', migration_path(module, 'subscription'), body,
                        'CREATE SUBSCRIPTION "pgferry_%s" in database %s (copy_data = %s), once the schema is there'
                        % (p['migration_id'], p['database'], str(p['copy_data']).lower()))
    answer = client.put(migration_path(module, 'subscription'), body)
    module.exit_json(**step_result(answer, [conn['password']]))


if __name__ == '__main__':
    main()
