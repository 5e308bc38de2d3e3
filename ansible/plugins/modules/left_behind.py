#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: left_behind
short_description: List what a migration does not move
version_added: 0.1.0
description:
  - Calls C(GET /v1/migrations/{m}/left-behind) on the source - for the scope of the migration's schema archive, the
    same checks as the preflight - and returns one warning per kind of object the migration does not move, naming the
    objects - unlogged tables' rows, materialized views' later contents, foreign tables' data, event triggers, the
    database's own publications, subscriptions and replication slots, tablespaces, extensions' configuration rows,
    pg_cron jobs, and the large objects when they are skipped.
  - Read-only; never changed. The migrate and cutover roles end with it (docs/design.md, "What moves and what does
    not").
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  unlogged_tables:
    description: How the migration treats unlogged tables (V(empty) - moved without their rows).
    type: str
    choices: [refuse, empty]
    default: refuse
  refresh_materialized_views:
    description: Whether the cutover refreshes materialized views on the target.
    type: bool
    default: false
  skip_large_objects:
    description: Whether large objects are left behind.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: What is not moved
  pgferry.migrate.left_behind:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
    unlogged_tables: empty
'''

RETURN = r'''
queries:
  description: Always empty - this only reads.
  returned: always
  type: list
  elements: str
items:
  description: One per kind - C(code), C(severity) (V(warning)), C(objects), C(message), C(fix).
  returned: always
  type: list
  elements: dict
summary:
  description: One line per kind, C(code - objects).
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
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(unlogged_tables=dict(type='str', choices=['refuse', 'empty'], default='refuse'),
                         refresh_materialized_views=dict(type='bool', default=False),
                         skip_large_objects=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    query = dict(database=p['database'], unlogged_tables=p['unlogged_tables'],
                 refresh_materialized_views=str(p['refresh_materialized_views']).lower(),
                 skip_large_objects=str(p['skip_large_objects']).lower())
    answer = AgentClient(module).get(migration_path(module, 'left-behind', query))
    items = answer.get('items') or []
    summary = ['%s - %s' % (i['code'], ', '.join(i.get('objects') or [])) for i in items]
    module.exit_json(changed=False, queries=[], items=items, summary=summary)


if __name__ == '__main__':
    main()
