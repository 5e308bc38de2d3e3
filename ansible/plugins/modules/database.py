#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: database
short_description: Create the target database of a migration when it is missing
version_added: 0.1.0
description:
  - Calls the target agent's C(PUT /v1/migrations/{m}/database), which runs C(CREATE DATABASE) when O(database)
    is missing and otherwise checks it.
  - An existing database with another encoding, locale or locale provider than asked fails the step (HTTP 422
    C(database_mismatch)); so does an O(owner) role that does not exist (C(owner_missing)), and a O(locale_provider)
    the target's PostgreSQL lacks (C(locale_provider_unsupported)).
  - Options left unset are not sent; the agent then uses its defaults.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  owner:
    description:
      - Role that owns the new database. It must exist on the target.
    type: str
  encoding:
    description:
      - Encoding of the new database, for example V(UTF8).
    type: str
  lc_collate:
    description:
      - C(LC_COLLATE) of the new database.
    type: str
  lc_ctype:
    description:
      - C(LC_CTYPE) of the new database.
    type: str
  locale_provider:
    description:
      - Locale provider of the new database (PostgreSQL 15 and newer; V(builtin) 17 and newer). Named even when
        V(libc), so a server whose default provider is another does not decide.
    type: str
    choices: [libc, icu, builtin]
  locale:
    description:
      - The ICU or builtin locale of the new database, with O(locale_provider) V(icu) or V(builtin).
    type: str
  icu_rules:
    description:
      - ICU tailoring rules of the new database (PostgreSQL 16 and newer).
    type: str
  template:
    description:
      - Template the new database is copied from.
    type: str
    default: template0
'''

EXAMPLES = r'''
- name: Target database "app", owned by role app
  pgferry.migrate.database:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    owner: app
    encoding: UTF8
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
  sample: ["CREATE DATABASE \"app\" TEMPLATE \"template0\" ENCODING 'UTF8'"]
database:
  description: The database as it is now, as the agent reports it (name, owner, encoding, collation).
  returned: success
  type: dict
  sample: {"name": "app", "owner": "postgres", "encoding": "UTF8", "lc_collate": "C.UTF-8", "lc_ctype": "C.UTF-8"}
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
    argument_spec.update(
        owner=dict(type='str'),
        encoding=dict(type='str'),
        lc_collate=dict(type='str'),
        lc_ctype=dict(type='str'),
        locale_provider=dict(type='str', choices=['libc', 'icu', 'builtin']),
        locale=dict(type='str'),
        icu_rules=dict(type='str'),
        template=dict(type='str', default='template0'),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)

    body = dict(database=p['database'])
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
    for key in ('owner', 'encoding', 'lc_collate', 'lc_ctype', 'locale_provider', 'locale', 'icu_rules', 'template'):
        if p[key] is not None:
            body[key] = p[key]
    answer = client.put(migration_path(module, 'database'), body)
    module.exit_json(**step_result(answer))


if __name__ == '__main__':
    main()
