#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: roles
short_description: Create on the target the roles a migrated database needs, with their SCRAM verifiers
version_added: 0.1.0
description:
  - O(side=source) reads (C(GET /v1/migrations/{m}/roles)) every role the database needs - owners, grantees and
    grantors, policy, default-privilege and setting roles, the roles they belong to and their members - with
    attributes, memberships, settings and, when the source agent may read C(pg_authid), SCRAM password verifiers.
    Its result carries those verifiers for the target - run the task with C(no_log) and pass RV(roles) on.
  - O(side=target) sends them (C(PUT /v1/migrations/{m}/roles)); the target agent creates the missing ones (through
    O(role_map)) and grants the missing memberships, in one transaction. Roles that exist are compared and never
    changed. The verifiers are masked in everything this side returns and logs.
  - The target side fails, changing nothing, on any finding that stops (C(role_conflicts) - a role that would gain rights
    it lacks on the source, one shared with another database of the target, a map that merges roles or names unknown
    ones, a superuser to create); docs/findings.md lists them.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.privileges
  - pgferry.migrate.privileges.ROLES
options:
  side:
    description: V(source) reads the roles, V(target) creates them.
    type: str
    required: true
    choices: [source, target]
  roles:
    description: Target side. The RV(roles) the source side returned.
    type: list
    elements: dict
notes:
  - On the target side O(database) is the target's database - a role used by any other database there counts as
    shared.
'''

EXAMPLES = r'''
- name: The roles app needs (with their verifiers, hence no_log)
  pgferry.migrate.roles:
    agent: "{{ source_agent }}"
    side: source
    migration_id: app
    database: app
  register: app_roles
  no_log: true

- name: The same roles on the shared instance, under its names
  pgferry.migrate.roles:
    agent: "{{ target_agent }}"
    side: target
    migration_id: app
    database: shop
    roles: "{{ app_roles.roles }}"
    role_map: {app_owner: shop_owner, app_rw: shop_rw, app_ro: shop_ro}
'''

RETURN = r'''
queries:
  description: What the target ran, or in check mode would run; password verifiers masked. Empty on the source side.
  returned: always
  type: list
  elements: str
roles:
  description:
    - Source side - the roles (C(name), attributes, C(member_of), C(settings), C(password) kind, C(verifier)).
    - Target side - C(needed), C(created), C(present), C(memberships) granted, C(passwords_not_moved) (each with what to
      do) and C(warnings) (findings that do not stop).
  returned: always
  type: raw
passwords_read:
  description: Source side. Whether the source agent could read the verifiers (it needs superuser).
  returned: on the source side
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    privileges_argument_spec,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(privileges_argument_spec(roles=True))
    argument_spec.update(side=dict(type='str', required=True, choices=['source', 'target']),
                         roles=dict(type='list', elements='dict'))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)
    if p['side'] == 'source':
        answer = client.get(migration_path(module, 'roles', dict(database=p['database'])))
        module.exit_json(changed=False, queries=[], roles=answer['roles'], passwords_read=answer['passwords_read'])
    if p['roles'] is None:
        module.fail_json(msg='roles is required on the target side: the roles the source side returned')
    verifiers = [r['verifier'] for r in p['roles'] if r.get('verifier')]
    # Masked wherever Ansible would show them: the invocation, the result, the logs.
    module.no_log_values.update(verifiers)
    body = dict(database=p['database'], roles=p['roles'], role_map=p['role_map'],
                allow_role_rights=p['allow_role_rights'], allow_shared_roles=p['allow_shared_roles'])
    if module.check_mode:
        body['check'] = True
    answer = client.put(migration_path(module, 'roles'), body)
    module.exit_json(**step_result(answer, secrets=verifiers))


if __name__ == '__main__':
    main()
