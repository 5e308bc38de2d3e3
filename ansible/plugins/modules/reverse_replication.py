#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: reverse_replication
short_description: Replicate from the new primary back to the old source after cutover
version_added: 0.1.0
description:
  - Calls C(PUT /v1/migrations/{m}/reverse-replication).
  - With O(side=publisher) (the new primary), creates or corrects role C(pgferry_<m>) with O(password) and creates
    publication C(pgferry_<m>_reverse) for every migrated table.
  - With O(side=subscriber) (the old source, fenced or not), creates subscription C(pgferry_<m>_reverse) through
    O(connection) with C(copy_data = false), and C(origin = none) where the old source is PostgreSQL 16 or newer.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  side:
    description: Which end this agent serves.
    type: str
    choices: [publisher, subscriber]
    required: true
  password:
    description: Password of role C(pgferry_<m>) on the publisher (O(side=publisher)).
    type: str
  connection:
    description: How the old source reaches the new primary (O(side=subscriber)).
    type: dict
    suboptions:
      host:
        description: Host name or address of the new primary.
        type: str
        required: true
      port:
        description: Port.
        type: int
        default: 5432
      dbname:
        description: Database on the new primary.
        type: str
        required: true
      user:
        description: Role to log in as; defaults to C(pgferry_<migration_id>).
        type: str
      password:
        description: Its password.
        type: str
        required: true
      sslmode:
        description: libpq sslmode.
        type: str
'''

EXAMPLES = r'''
- name: Publication on the new primary
  pgferry.migrate.reverse_replication:
    agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
    side: publisher
    password: "{{ vault_pgferry_replication_password }}"
'''

RETURN = r'''
queries:
  description: SQL the agent ran (passwords masked).
  returned: always
  type: list
  elements: str
name:
  description: Name of the publication, subscription and slot.
  returned: always
  type: str
  sample: pgferry_app_reverse
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    source_connection_body,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(
        side=dict(type='str', choices=['publisher', 'subscriber'], required=True),
        password=dict(type='str', no_log=True),
        connection=dict(type='dict', options=dict(
            host=dict(type='str', required=True), port=dict(type='int', default=5432),
            dbname=dict(type='str', required=True), user=dict(type='str'),
            password=dict(type='str', required=True, no_log=True), sslmode=dict(type='str'))),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[('side', 'publisher', ['password']), ('side', 'subscriber', ['connection'])])
    p = module.params
    body = dict(database=p['database'], side=p['side'])
    secrets = []
    if p['side'] == 'publisher':
        body['password'] = p['password']
        secrets.append(p['password'])
    else:
        conn = source_connection_body(p)
        body['connection'] = conn
        secrets.append(conn['password'])
    if module.check_mode:
        body['check'] = True
    answer = AgentClient(module).put(migration_path(module, 'reverse-replication'), body)
    module.exit_json(**step_result(answer, secrets))


if __name__ == '__main__':
    main()
