#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: ready_check
short_description: Check that a migration can be cut over, waiting for the lag to come down
version_added: 0.1.0
description:
  - Calls C(POST /v1/migrations/{m}/ready-check) on the source (O(agent_url)) - no schema drift since the schema archive
    (fingerprint), slot lag under O(max_lag_bytes) - then on the target (O(target_agent_url)) - every table ready, apply
    lag under O(max_lag_seconds) while bytes are pending, every sequence of the source present.
  - Schema drift, missing sequences and (PostgreSQL 18 targets) conflicts the subscription counted - changes it could
    not apply as the source made them, a divergence - fail at once (their objects listed); lag and tables still
    copying are retried every O(poll_interval) seconds until O(wait_timeout).
  - Then, with O(row_counts=true), every table's rows are counted on both sides at one point and compared (the
    source's own inserts and deletes between the two snapshots bound any difference; docs/design.md, section The copy
    proves itself) - a table the target holds fewer or more rows of fails the check, naming it, before any client is
    paused. It costs about two full scans of the largest table, one per side at once, outside the pause. It first
    waits, at most 25 seconds (within the client's timeout), for the subscriber to apply everything the source's
    snapshot sees; one that does not (it lags, or its apply worker keeps failing) fails the check with
    C(catch_up_timeout) and the source agent's words.
  - The scope options are the scope as the user defines it (a rule - every schema but X - or lists); the source resolves
    it again, and a schema or table it selects now that the schema archive did not move (created since) is drift
    (C(scope_drift)) - a cutover would leave it behind.
  - Schema drift and missing sequences fail at once (their objects listed); lag and tables still copying are retried
    every O(poll_interval) seconds until O(wait_timeout).
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
  - pgferry.migrate.migration.scope
options:
  target_database:
    description: Database on the target. Defaults to O(database).
    type: str
  max_lag_bytes:
    description: WAL the subscriber may still have to confirm.
    type: int
    default: 16777216
  max_lag_seconds:
    description: Apply lag allowed on the target while bytes are pending.
    type: float
    default: 30
  wait_timeout:
    description: Seconds to keep retrying a lag or copy that is not there yet.
    type: int
    default: 300
  poll_interval:
    description: Seconds between two tries.
    type: float
    default: 2
  row_counts:
    description: Compare every table's rows on both sides (see the description).
    type: bool
    default: true
  row_counts_timeout:
    description: Seconds the comparison may take (it measures again while a difference might be writes in flight).
    type: int
    default: 180
  reverse_replication:
    description:
      - The cutover will keep a reverse stream into the source database. The source agent's role must then be able to
        create that subscription; when it cannot, the check fails (C(agent_lacks_rights)) before anything is paused.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Ready for cutover?
  pgferry.migrate.ready_check:
    agent_url: https://db1.example.com:8443
    target_agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
'''

RETURN = r'''
queries:
  description: Always empty - this step only reads.
  returned: always
  type: list
  elements: str
source:
  description: The source's answer (schema_sha256, lag_bytes, sequences, replica_identities).
  returned: success
  type: dict
target:
  description: The target's answer (lag_seconds, tables).
  returned: success
  type: dict
row_counts:
  description:
    - The comparison of the rows (C(proven), C(tables) with C(source_rows), C(target_rows), C(status) and the source's
      C(inserts) and C(deletes) between the snapshots, C(differing), C(attempts), C(seconds)).
  returned: with O(row_counts=true), once the other checks passed
  type: dict
tries:
  description: How many times the check ran.
  returned: always
  type: int
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    peer_argument_spec,
    peer_client,
    scope_body,
)
from ansible_collections.pgferry.migrate.plugins.module_utils.row_counts import (
    describe as describe_rows,
    prove,
    quoted,
    SubscriberBehind,
)

RETRY = ('lag_too_high', 'tables_not_ready', 'subscription_not_streaming')


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec(scope=True))
    argument_spec.update(target_database=dict(type='str'), max_lag_bytes=dict(type='int', default=16777216),
                         max_lag_seconds=dict(type='float', default=30), wait_timeout=dict(type='int', default=300),
                         poll_interval=dict(type='float', default=2), row_counts=dict(type='bool', default=True),
                         row_counts_timeout=dict(type='int', default=180),
                         reverse_replication=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    source, target = AgentClient(module), peer_client(module)
    path = migration_path(module, 'ready-check')
    started = time.monotonic()
    tries = 0
    while True:
        tries += 1
        body = dict(database=p['database'], side='source', max_lag_bytes=p['max_lag_bytes'])
        if p['reverse_replication']:
            body['reverse_replication'] = True
        body.update(include_schemas=[], exclude_schemas=[], include_tables=[], exclude_tables=[])
        body.update(scope_body(p))  # all four always: the source then resolves the rule again
        status, src = source.post(path, body, accept_status=(200, 422))
        problem = src if status == 422 else None
        if problem is None:
            body = dict(database=p['target_database'] or p['database'], side='target', sequences=src['sequences'])
            if src.get('lag_bytes'):
                body['max_lag_seconds'] = p['max_lag_seconds']
            status, dst = target.post(path, body, accept_status=(200, 422))
            problem = dst if status == 422 else None
            if problem is None:
                result = dict(changed=False, queries=[], source=src, target=dst, tries=tries)
                if p['row_counts']:
                    try:
                        proof = prove(source, target, lambda step: migration_path(module, step), p['database'],
                                      p['target_database'] or p['database'], timeout=p['row_counts_timeout'])
                    except SubscriberBehind as behind:
                        module.fail_json(msg='not ready for cutover [catch_up_timeout]: %s. Nothing was paused or '
                                             'fenced; rerun once the target has caught up' % behind,
                                         code='catch_up_timeout', tries=tries)
                    result['row_counts'] = proof
                    if not proof['proven']:
                        module.fail_json(msg='not ready for cutover [rows_differ]: the target does not hold the '
                                             'source\'s rows: %s. Nothing was paused or fenced; find why (rows '
                                             'changed on the target, a table filtered or truncated), copy those '
                                             'tables again, then rerun' % describe_rows(proof['differing']),
                                         code='rows_differ', objects=[quoted(t['schema'], t['name']) for t in proof['differing']],
                                         **dict((k, v) for k, v in result.items() if k != 'changed'))
                module.exit_json(**result)
        code = problem.get('code')
        if code not in RETRY or time.monotonic() - started >= p['wait_timeout']:
            module.fail_json(msg='not ready for cutover [%s]: %s' % (code, problem.get('detail')), code=code,
                             objects=problem.get('objects', []), tries=tries)
        time.sleep(p['poll_interval'])


if __name__ == '__main__':
    main()
