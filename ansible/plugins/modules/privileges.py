#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: privileges
short_description: Make the target's owners, grants, default privileges and database settings the source's
version_added: 0.1.0
description:
  - O(side=source) reads (C(GET /v1/migrations/{m}/privileges)) the owner and ACL of every object of the migration's
    scope (columns included), its default privileges, the roles of its row-level security policies, and the database's
    owner, ACL, settings (C(ALTER DATABASE .. SET), C(ALTER ROLE .. IN DATABASE .. SET)) and comment.
  - O(side=target) sends them (C(PUT /v1/migrations/{m}/privileges)); the target agent reads its own the same way and
    changes only what differs, through O(role_map), in one transaction - so a rerun changes nothing. Privileges granted
    on the source after the schema moved (GRANTs are not replicated) arrive this way.
  - With O(connection) instead of O(source), the target agent reads the source's privileges itself, over the
    subscription's connection (every catalog it reads is open to any role). That is one task instead of two, and a
    schema of thousands of tables does not carry its privileges (megabytes) through Ansible.
  - The schema apply already gives the restored objects their owners and privileges; run this after post-data and
    before the cutover. M(pgferry.migrate.verify) compares the same after it.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.source_connection
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.privileges
options:
  side:
    description: V(source) reads the privileges, V(target) makes its own equal to them.
    type: str
    required: true
    choices: [source, target]
  source:
    description:
      - Target side. The RV(privileges) the source side returned.
      - Exactly one of O(source) and O(connection).
    type: dict
  connection:
    description:
      - Target side. How the target host reaches the source, with the replication role, exactly as the subscription
        step gets it; the target agent reads the source's privileges over it.
      - Needs the migration's manifest on the target (the schema apply brings it).
    type: dict
'''

EXAMPLES = r'''
- name: Owners and grants of app
  pgferry.migrate.privileges:
    agent: "{{ source_agent }}"
    side: source
    migration_id: app
    database: app
  register: app_privileges

- name: The same on the target
  pgferry.migrate.privileges:
    agent: "{{ target_agent }}"
    side: target
    migration_id: app
    database: shop
    source: "{{ app_privileges.privileges }}"
    role_map: {app_rw: shop_rw}

- name: The same in one task, the target agent reading the source's itself
  pgferry.migrate.privileges:
    agent: "{{ target_agent }}"
    side: target
    migration_id: app
    database: shop
    connection:
      host: db1.example.com
      dbname: app
      password: "{{ replication_password }}"
    role_map: {app_rw: shop_rw}
'''

RETURN = r'''
queries:
  description: What the target ran, or in check mode would run.
  returned: always
  type: list
  elements: str
privileges:
  description:
    - Source side - the scope's privileges as the agent read them (C(server_major), C(database), C(objects),
      C(default_acls), C(policies), C(superusers)).
    - Target side - C(objects) compared, C(equal), C(differences) (what differed), C(missing) (source objects the
      target lacks) and C(notes).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    privileges_argument_spec,
    source_connection_argument_spec,
    source_connection_body,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(privileges_argument_spec())
    argument_spec.update(side=dict(type='str', required=True, choices=['source', 'target']),
                         source=dict(type='dict'))
    argument_spec.update(source_connection_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('source', 'connection')])
    p = module.params
    client = AgentClient(module)
    if p['side'] == 'source':
        answer = client.get(migration_path(module, 'privileges', dict(database=p['database'])))
        module.exit_json(changed=False, queries=[], privileges=answer)
    body = dict(database=p['database'], role_map=p['role_map'])
    if p['connection']:
        body['connection'] = source_connection_body(p)
    elif p['source'] is not None:
        body['source'] = p['source']
    else:
        module.fail_json(msg='the target side needs source (the privileges the source side returned) or connection '
                             '(the subscription\'s, for the target agent to read them on the source)')
    if module.check_mode:
        body['check'] = True
    module.exit_json(**step_result(client.put(migration_path(module, 'privileges'), body)))


if __name__ == '__main__':
    main()
