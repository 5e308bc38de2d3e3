#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cutover_steps
short_description: The cutover's agent steps while clients are paused, in one call
version_added: 0.3.0
description:
  - Runs, in this order and stopping at the first failure, the steps that the modules M(pgferry.migrate.fence),
    M(pgferry.migrate.catch_up), M(pgferry.migrate.sequences) and M(pgferry.migrate.reverse_replication) run one by
    one - fence the source (O(agent_url)), wait until the target (O(target_agent_url)) has everything up to the fence,
    copy the sequences, optionally export and hold a snapshot on each side for a later
    M(pgferry.migrate.verify), optionally set up the reverse stream (publisher on the target, subscriber on the source).
  - One module call instead of one task per step, so clients stay paused for the agents' work only, not for Ansible's
    per-task overhead.
  - In check mode nothing is called (each step depends on the previous one having run).
  - On failure, RV(steps_done) lists the steps that completed and RV(failed_step) the one that failed, so the caller
    can undo them (lift the fence, drop the reverse subscription).
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
options:
  target_database:
    description: Database on the target. Defaults to O(database).
    type: str
  catch_up_timeout:
    description: Seconds to wait for the target to reach the fence.
    type: int
    default: 60
  gap:
    description: Added to every sequence copied to the target.
    type: int
    default: 0
  snapshot:
    description: Export and hold a snapshot on both sides after catch-up, for M(pgferry.migrate.verify) to read later.
    type: bool
    default: false
  snapshot_hold_seconds:
    description: How long the agents hold the snapshots at most (M(pgferry.migrate.verify) releases them earlier).
    type: int
    default: 900
  reverse_replication:
    description: Set up the reverse stream; needs O(password) and O(connection).
    type: bool
    default: false
  password:
    description: Password of the replication role made on the target for the reverse stream.
    type: str
  connection:
    description: How the source reaches the target for the reverse subscription (as M(pgferry.migrate.reverse_replication)).
    type: dict
    suboptions:
      host: {type: str, required: true, description: Host.}
      port: {type: int, default: 5432, description: Port.}
      dbname: {type: str, required: true, description: Database.}
      user: {type: str, description: Role; default pgferry_<migration_id>.}
      password: {type: str, required: true, description: Password.}
      sslmode: {type: str, description: libpq sslmode.}
'''

EXAMPLES = r'''
- name: Fence, catch up, sequences, snapshots, reverse stream
  pgferry.migrate.cutover_steps:
    agent_url: https://db1.example.com:8443
    target_agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
    snapshot: true
'''

RETURN = r'''
queries:
  description: The statements run, on both sides.
  returned: always
  type: list
  elements: str
steps_done:
  description: The steps that completed - fence, catch_up, sequences, snapshot, reverse_publisher, reverse_subscriber.
  returned: always
  type: list
  elements: str
failed_step:
  description: The step that failed.
  returned: failure
  type: str
fence:
  description: The fence (its C(lsn) among others).
  returned: success
  type: dict
snapshots:
  description: C(source) and C(target) snapshot ids, for the O(pgferry.migrate.verify#module:snapshot) options.
  returned: when O(snapshot)
  type: dict
timings_ms:
  description: Milliseconds per step.
  returned: always
  type: dict
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    mask_queries,
    migration_argument_spec,
    migration_path,
    peer_argument_spec,
    peer_client,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec())
    argument_spec.update(
        target_database=dict(type='str'), catch_up_timeout=dict(type='int', default=60),
        gap=dict(type='int', default=0), snapshot=dict(type='bool', default=False),
        snapshot_hold_seconds=dict(type='int', default=900),
        reverse_replication=dict(type='bool', default=False), password=dict(type='str', no_log=True),
        connection=dict(type='dict', options=dict(
            host=dict(type='str', required=True), port=dict(type='int', default=5432),
            dbname=dict(type='str', required=True), user=dict(type='str'),
            password=dict(type='str', required=True, no_log=True), sslmode=dict(type='str'))),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[('reverse_replication', True, ['password', 'connection'])])
    p = module.params
    if module.check_mode:  # the steps depend on each other (the fence's position): nothing is run or predicted
        module.exit_json(changed=True, steps_done=[], timings_ms={}, queries=[])
    p['timeout'] = max(p['timeout'], p['catch_up_timeout'] + 30)
    source_db = p['database']
    target_db = p['target_database'] or p['database']
    done, queries, timings, state = [], [], {}, {'step': None}
    secrets = [s for s in (p['password'], (p['connection'] or {}).get('password')) if s]

    fail_json = module.fail_json

    def fail(msg, **kwargs):
        kwargs.update(steps_done=list(done), failed_step=state['step'], timings_ms=dict(timings),
                      queries=mask_queries(queries, secrets))
        fail_json(msg='%s failed: %s' % (state['step'], msg), **kwargs)

    module.fail_json = fail  # every agent error ends here, with what was done so far
    source = AgentClient(module)
    target = peer_client(module)

    def step(name, call):
        state['step'] = name
        t = time.monotonic()
        answer = call()
        timings[name] = int((time.monotonic() - t) * 1000)
        queries.extend((answer or {}).get('queries') or [])
        done.append(name)
        return answer

    fenced = step('fence', lambda: source.put(migration_path(module, 'fence'), dict(database=source_db)))
    fence = fenced.get('fence') or {}
    body = dict(database=source_db, direction='forward', timeout_seconds=p['catch_up_timeout'])
    if fence.get('lsn'):
        body['lsn'] = fence['lsn']
    caught = step('catch_up', lambda: source.post(migration_path(module, 'catch-up'), body))

    def sequences():
        read = source.get(migration_path(module, 'sequences', dict(database=source_db)))
        return target.put(migration_path(module, 'sequences'),
                          dict(database=target_db, sequences=read['sequences'], gap=p['gap']))
    step('sequences', sequences)

    result = dict(changed=True, fence=fence, catch_up=dict((k, v) for k, v in caught.items() if k != 'queries'))
    if p['snapshot']:
        def snapshots():
            hold = dict(hold_seconds=p['snapshot_hold_seconds'])
            s = source.post(migration_path(module, 'verify/snapshot'), dict(hold, database=source_db))
            t = target.post(migration_path(module, 'verify/snapshot'), dict(hold, database=target_db))
            return dict(source=s['snapshot'], target=t['snapshot'])
        result['snapshots'] = step('snapshot', snapshots)

    if p['reverse_replication']:
        step('reverse_publisher', lambda: target.put(migration_path(module, 'reverse-replication'),
                                                     dict(database=target_db, side='publisher',
                                                          password=p['password'])))
        conn = dict((k, v) for k, v in p['connection'].items() if v is not None)
        conn.setdefault('user', 'pgferry_%s' % p['migration_id'])
        step('reverse_subscriber', lambda: source.put(migration_path(module, 'reverse-replication'),
                                                      dict(database=source_db, side='subscriber', connection=conn)))
    state['step'] = None
    module.exit_json(steps_done=done, timings_ms=timings, queries=mask_queries(queries, secrets), **result)


if __name__ == '__main__':
    main()
