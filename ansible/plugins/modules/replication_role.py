#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: replication_role
short_description: Create or update the replication role of a migration on the source server
version_added: 0.1.0
description:
  - Calls the source agent's C(PUT /v1/migrations/{m}/replication-role).
  - Creates or updates role C(pgferry_<migration_id>) with C(LOGIN REPLICATION PASSWORD), C(USAGE) on the schemas
    in scope and C(SELECT) on their tables and sequences, and nothing more.
  - A different password is a change. The agent finds out by trying the password (SCRAM verifier comparison),
    it never stores it.
  - Tables whose row-level security would hide rows from the initial copy are dealt with as O(row_security) says, and
    O(copied=true) takes that extra access back once the copy is proven (docs/design.md, "Row-level security").
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.scope
options:
  password:
    description:
      - Password of the replication role; the target's subscription logs in with it.
      - Never logged nor returned; masked in RV(queries).
    type: str
    required: true
  row_security:
    description:
      - How the initial copy reads tables whose row-level security would hide rows from the role.
      - V(policy) - a temporary C(FOR SELECT TO pgferry_<migration_id> USING (true)) policy named C(pgferry_<migration_id>)
        on each such table, made by the agent (which needs the tables' owner's privileges); works without superuser, so on
        managed services too. A restrictive policy cannot be undone this way - the agent refuses, naming the table.
      - V(bypassrls) - C(BYPASSRLS) on the role; the agent must be allowed to grant it (superuser).
      - V(none) - nothing; preflight reports such tables as errors.
    type: str
    choices: [policy, bypassrls, none]
    default: policy
  copied:
    description:
      - The initial copy is over and proven (every table's rows counted on both sides) - drop the copy policies and take
        back C(BYPASSRLS). The grants stay.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Replication role on the source, for schema "included" only
  pgferry.migrate.replication_role:
    agent_url: https://db1.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    password: "{{ vault_pgferry_replication_password }}"
    include_schemas: [included]
    exclude_tables:
      - {schema: included, name: audit_log}

- name: The copy is proven, its temporary access goes
  pgferry.migrate.replication_role:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
    password: "{{ vault_pgferry_replication_password }}"
    include_schemas: [included]
    copied: true
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run; the password is masked.
  returned: always
  type: list
  elements: str
  sample: ["CREATE ROLE \"pgferry_app\" LOGIN REPLICATION PASSWORD '********'", "GRANT USAGE ON SCHEMA \"included\" TO \"pgferry_app\""]
role:
  description: The role as it is now.
  returned: success
  type: dict
  contains:
    name:
      description: Name of the role.
      type: str
      sample: pgferry_app
    schemas:
      description: Schemas it may use.
      type: list
      elements: str
      sample: [included]
    tables:
      description: Tables it may read.
      type: list
      elements: dict
      sample: [{"schema": "included", "name": "customers"}]
    row_security:
      description: The O(row_security) mode.
      type: str
      sample: policy
    bypassrls:
      description: Whether the role has C(BYPASSRLS).
      type: bool
      sample: false
    copy_policies:
      description: Tables carrying the temporary copy policy.
      type: list
      elements: dict
      sample: [{"schema": "sales", "name": "orders"}]
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    scope_body,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(scope=True))
    argument_spec.update(password=dict(type='str', required=True, no_log=True),
                         row_security=dict(type='str', choices=['policy', 'bypassrls', 'none'], default='policy'),
                         copied=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    client = AgentClient(module)
    body = dict(database=p['database'], password=p['password'], row_security=p['row_security'], copied=p['copied'])
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
    body.update(scope_body(p))
    answer = client.put(migration_path(module, 'replication-role'), body)
    module.exit_json(**step_result(answer, [p['password']]))


if __name__ == '__main__':
    main()
