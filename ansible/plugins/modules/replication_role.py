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
    argument_spec.update(password=dict(type='str', required=True, no_log=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params

    client = AgentClient(module)
    body = dict(database=p['database'], password=p['password'])
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
    body.update(scope_body(p))
    answer = client.put(migration_path(module, 'replication-role'), body)
    module.exit_json(**step_result(answer, [p['password']]))


if __name__ == '__main__':
    main()
