#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: copy
short_description: pgferry's own initial copy under the slot's snapshot, then the subscription on that slot
version_added: 0.1.0
description:
  - Calls the target agent's C(POST /v1/migrations/{m}/copy) and follows the job until it ends.
  - The target agent creates replication slot C(pgferry_<migration_id>) on the source with an exported snapshot, copies
    every table of the schema archive inside that snapshot over O(connection) (O(jobs) at a time; big tables in ctid
    ranges; many small tables per round trip), builds each table's keys and indexes from the archive as soon as its
    rows are committed (O(index_jobs) at a time), then creates subscription C(pgferry_<migration_id>) on that slot
    with C(copy_data = false), so streaming starts exactly where the snapshot was taken.
  - Run it after M(pgferry.migrate.schema_apply) with O(pgferry.migrate.schema_apply#module:keys=false) and after
    M(pgferry.migrate.publication); then M(pgferry.migrate.sync_status) waits for the lag and
    M(pgferry.migrate.post_data) adds foreign keys, triggers and the rest.
  - A rerun after an interruption (the snapshot dies with its connection) drops the old slot, empties the tables the
    interrupted copy wrote into and copies everything again under a new slot; a copy that had finished only gets its
    subscription; once the subscription exists, nothing changes. Rows or a slot that no copy of this migration made
    are refused, never overwritten.
  - This is the alternative to native table sync (M(pgferry.migrate.subscription) with O(pgferry.migrate.subscription#module:copy_data=true)).
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.source_connection
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.job
  - pgferry.migrate.migration.progress
options:
  connection:
    description:
      - How the TARGET host reaches the source server, with the replication role; the copy reads the source through
        it and it becomes the subscription's conninfo.
    type: dict
    required: true
  jobs:
    description:
      - Tables (or ranges of a big table) copied at once, each over one source and one target session.
      - At most the target agent's C(copy_max_jobs).
    type: int
    default: 2
  index_jobs:
    description:
      - Keys and indexes built at once on the target while the copy goes on.
      - The indexes of a big table (64 MiB or more, or split into ranges) are built side by side, its primary key among
        them (C(CREATE UNIQUE INDEX), then C(ADD CONSTRAINT ... PRIMARY KEY USING INDEX) once the others are built, as
        pgcopydb does); a small table's keys and indexes go in one round trip.
      - O(jobs) and O(index_jobs) together must fit the agent's C(copy_max_connections).
    type: int
    default: 2
  piece_bytes:
    description:
      - Largest part of a table one job copies; bigger tables are split into ctid ranges copied in parallel.
      - Unset means the size of all tables over four pieces per job, from 64 MiB to 1 GiB, where the target agent's
        host has three CPUs or more; on fewer no table is split (a note in C(notes) of RV(summary) says so). Two writers of one
        table each take a target backend's CPU, and their ranges interleave in the target's heap, so the index builds
        after them lose the order a copy in heap order keeps. On two CPUs (pgbench scale 30, four indexes) the copy
        took 4.2-4.4 s whole against 4.8-5.1 s in ranges.
    type: int
  binary:
    description: The subscription's C(binary) option (the copy itself uses binary COPY per table where types allow).
    type: bool
    default: false
  streaming:
    description: The subscription's C(streaming) option (stream large in-progress transactions).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Copy the tables and subscribe, four at a time
  pgferry.migrate.copy:
    agent:
      url: https://db2.example.com:8443
      token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    connection:
      host: db1.internal
      dbname: app
      password: "{{ vault_pgferry_replication_password }}"
      sslmode: verify-full
    jobs: 4
    wait_timeout: 14400
'''

RETURN = r'''
queries:
  description: What the agent ran, or in check mode would run; the password in the conninfo is masked.
  returned: always
  type: list
  elements: str
  sample:
    - "CREATE_REPLICATION_SLOT pgferry_app LOGICAL pgoutput (SNAPSHOT 'export')"
    - "COPY 3 tables (590348288 bytes in 12 pieces, 3 in binary) from the source into the target, 2 at a time, ..."
    - >-
      CREATE SUBSCRIPTION "pgferry_app" CONNECTION '... password=********' PUBLICATION "pgferry_app"
      WITH (slot_name = 'pgferry_app', create_slot = false, copy_data = false, ...)
summary:
  description:
    - What the copy did, in totals (C(status), C(outcome), C(slot), C(consistent_lsn), C(tables), C(bytes), C(rows),
      C(binary_tables), C(index_builds), C(seconds), C(timings) per part, C(notes) - what was not copied, or not in
      ranges, and why). Per table, read
      C(GET /v1/migrations/{m}/copy) on the target agent. (Not named C(copy) - in Jinja C(result.copy) is a dict's
      method.)
    - C(outcome) is C(copied), C(recopied) (an interrupted copy was started over), C(subscribed) (only the
      subscription was missing) or C(unchanged).
  returned: always
  type: dict
  sample: {"status": "done", "outcome": "copied", "tables": 3, "rows": 3000000, "seconds": 12.4}
subscription:
  description: The subscription created on the copy's slot (name, enabled, masked conninfo, options).
  returned: when it was created
  type: dict
job:
  description: The agent's job as last seen (C(id), C(state), C(progress), C(started_at), C(finished_at)).
  returned: when the agent ran a job
  type: dict
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
    argument_spec.update(migration_argument_spec(job=True, progress=True))
    argument_spec.update(source_connection_argument_spec(required=True))
    argument_spec.update(
        jobs=dict(type='int', default=2),
        index_jobs=dict(type='int', default=2),
        piece_bytes=dict(type='int'),
        binary=dict(type='bool', default=False),
        streaming=dict(type='bool', default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    for key in ('jobs', 'index_jobs'):
        if p[key] < 1:
            module.fail_json(msg='%s must be at least 1, got %d' % (key, p[key]))
    client = AgentClient(module)

    conn = source_connection_body(p)
    body = dict(database=p['database'], connection=conn, jobs=p['jobs'], index_jobs=p['index_jobs'],
                binary=p['binary'], streaming='on' if p['streaming'] else 'off')
    if p['piece_bytes'] is not None:
        body['piece_bytes'] = p['piece_bytes']
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
        # The agent answers a check at once; before the archive reaches the target (the schema steps of a check run
        # made nothing), what the step would do is said instead of failing.
        check_mode_step(module, client, 'POST', migration_path(module, 'copy'), body,
                        "would copy the archive's tables under the slot's snapshot, then subscribe on that slot, once "
                        'the schema is applied')
    outcome = client.run_job(migration_path(module, 'copy'), body,
                             wait=p['wait'], wait_timeout=p['wait_timeout'], poll_interval=p['poll_interval'])
    extra = {} if outcome['job'] is None else dict(job=outcome['job'])
    result = step_result(outcome['result'], [conn['password']], **extra)
    if outcome['job'] is not None and outcome['result'] is None:
        result['changed'] = True  # wait=false and still running: something is being done
    module.exit_json(**result)


if __name__ == '__main__':
    main()
