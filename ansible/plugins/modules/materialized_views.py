#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: materialized_views
short_description: Refresh the migration's materialized views on the side clients go to
version_added: 0.1.0
description:
  - Reads the materialized views of the migration's schemas on O(agent_url) (C(GET /v1/migrations/{m}/materialized-views))
    and has O(target_agent_url) refresh, in a job, every one of them the first side holds populated - views read by
    other views first, C(CONCURRENTLY) where a unique index allows it.
  - PostgreSQL runs a view's query as the view's owner; a view owned on the receiving side by a superuser is skipped
    (RV(skipped) says why) unless the first side's owner is that same superuser.
  - The cutover role runs it before the pause - no client waits for it, and nobody reads the target's views yet, so a
    refresh that locks a view blocks no one.
  - In check mode nothing changes; RV(queries) lists the refreshes.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
  - pgferry.migrate.migration.job
options:
  target_database:
    description: Database on the side that refreshes. Defaults to O(database).
    type: str
'''

EXAMPLES = r'''
- name: Refresh materialized views on the target
  pgferry.migrate.materialized_views:
    agent_url: https://db1.example.com:8443
    target_agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
'''

RETURN = r'''
queries:
  description: The refreshes run, or in check mode to be run.
  returned: always
  type: list
  elements: str
refreshed:
  description: Views refreshed, quoted.
  returned: always
  type: list
  elements: str
skipped:
  description: Views not refreshed, each with why.
  returned: always
  type: list
  elements: str
job:
  description: The agent's job (null in check mode, answered at once).
  returned: always
  type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    peer_argument_spec,
    peer_client,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec(job=True))
    argument_spec.update(target_database=dict(type='str'))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    source = AgentClient(module).get(migration_path(module, 'materialized-views', dict(database=p['database'])))
    body = dict(database=p['target_database'] or p['database'], source=source['views'])
    if module.check_mode:
        body['check'] = True
    outcome = peer_client(module).run_job(migration_path(module, 'materialized-views'), body, wait=p['wait'],
                                          wait_timeout=p['wait_timeout'], poll_interval=p['poll_interval'])
    result = outcome['result'] or {}
    module.exit_json(changed=bool(result.get('changed')) or outcome['result'] is None,
                     queries=result.get('queries') or [], refreshed=result.get('refreshed') or [],
                     skipped=result.get('skipped') or [], job=outcome['job'])


if __name__ == '__main__':
    main()
