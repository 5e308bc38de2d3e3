#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: post_data
short_description: Create the rest of a migration's post-data on the target after the initial copy
version_added: 0.1.0
description:
  - Calls the target agent's C(POST /v1/migrations/{m}/post-data) and follows the job until it ends.
  - The agent restores, from the uploaded schema archive, the post-data entries still missing on the target
    (indexes, constraints, triggers, rules, policies, materialized-view data) with C(pg_restore -j O(jobs)).
  - Then it runs C(ANALYZE) on the migration's tables that have no statistics on the target (a copy makes none, and
    autovacuum never analyzes a partitioned root), so clients that arrive at the cutover meet a planner with statistics.
  - Run it after M(pgferry.migrate.sync_status) reports every table ready, so the copy is not slowed by indexes.
  - Index expressions and materialized views' queries run as their owners (the schema apply moved them), never as the
    agent's role. Policies naming a role of O(role_map) are created naming the target's role.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.job
  - pgferry.migrate.migration.progress
  - pgferry.migrate.privileges
  - pgferry.migrate.privileges.SWITCH
options:
  jobs:
    description:
      - Parallel C(pg_restore) workers.
    type: int
    default: 2
'''

EXAMPLES = r'''
- name: Indexes, constraints and triggers, four at a time
  pgferry.migrate.post_data:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    jobs: 4
'''

RETURN = r'''
queries:
  description: What the agent ran (restore entries), or in check mode would run.
  returned: always
  type: list
  elements: str
  sample: ["CREATE INDEX customers_name_idx ON included.customers USING btree (name)"]
analyzed:
  description: Tables analyzed (in check mode, to analyze) because they had no statistics on the target.
  returned: when the job finished, and in check mode
  type: list
  elements: str
  sample: ['"included"."customers"']
job:
  description: The agent's job as last seen (C(id), C(step), C(state), C(progress), C(started_at), C(finished_at), C(result)).
  returned: when the agent ran a job
  type: dict
  sample: {"id": "post-data:app", "state": "succeeded", "progress": {"done": 2, "total": 2}}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    check_mode_step,
    migration_argument_spec,
    migration_path,
    privileges_argument_spec,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(job=True, progress=True))
    argument_spec.update(privileges_argument_spec(switch=True))
    argument_spec.update(jobs=dict(type='int', default=2))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if p['jobs'] < 1:
        module.fail_json(msg='jobs must be at least 1, got %d' % p['jobs'])
    client = AgentClient(module)

    body = dict(database=p['database'], jobs=p['jobs'], privileges=p['privileges'], role_map=p['role_map'])
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
        check_mode_step(module, client, 'POST', migration_path(module, 'post-data'), body,
                        'post-data in database %s: the indexes, constraints and triggers that are missing, '
                        'pg_restore -j %d' % (p['database'], p['jobs']))
    outcome = client.run_job(migration_path(module, 'post-data'), body,
                             wait=p['wait'], wait_timeout=p['wait_timeout'], poll_interval=p['poll_interval'])
    result = step_result(outcome['result'])
    if outcome['job'] is not None:
        result['job'] = outcome['job']
        if outcome['result'] is None:
            result['changed'] = True
    module.exit_json(**result)


if __name__ == '__main__':
    main()
