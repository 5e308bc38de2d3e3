#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: verify
short_description: Compare every table's row count and checksum, and the sequences, on both sides
version_added: 0.1.0
description:
  - Calls C(POST /v1/migrations/{m}/verify) on the source (O(agent_url)) and then on the target (O(target_agent_url)),
    each reading all tables in one snapshot, and compares - rows and checksum per table, and every target sequence at or
    beyond the source's.
  - The two reads are at the same point only while writes are stopped (during cutover - after the fence and catch-up);
    at any other time a lagging target shows as different.
  - With O(sample_rows), large tables are compared on one primary-key range drawn on the source (TABLESAMPLE SYSTEM),
    the same range being read on the target.
  - With O(privileges) (the default), also the owners and ACLs of every object in scope, default privileges, policy
    roles and the database's owner, ACL and settings, through O(role_map) - the source's C(GET privileges) checked on
    the target by C(PUT privileges) in check mode, which changes nothing.
  - Read-only.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
  - pgferry.migrate.privileges
  - pgferry.migrate.privileges.SWITCH
options:
  target_database:
    description: Database on the target. Defaults to O(database).
    type: str
  sample_rows:
    description: 0 compares every row; otherwise tables larger than this are compared on a key range of that many rows.
    type: int
    default: 0
  snapshot:
    description:
      - A snapshot held by the source agent (exported by M(pgferry.migrate.cutover_steps)). The source is read as of
        that snapshot, which is then released.
    type: str
  target_snapshot:
    description: The same on the target.
    type: str
  fail_on_difference:
    description: Fail when a table or a sequence differs.
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Compare both sides
  pgferry.migrate.verify:
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
tables:
  description: Per table - schema, name, rows and checksum on each side, and C(equal).
  returned: always
  type: list
  elements: dict
differing:
  description: Tables that differ, as schema.name.
  returned: always
  type: list
  elements: str
not_compared:
  description:
    - Unlogged tables of the sending side, as schema.name - their rows do not replicate, so they moved empty
      (C(unlogged_tables) V(empty)) and are not compared; their C(equal) is null.
  returned: always
  type: list
  elements: str
sequences_behind:
  description: Sequences whose target position is behind the source's.
  returned: always
  type: list
  elements: str
privileges_differing:
  description: Each owner, privilege, default privilege, policy role or database setting that differs (empty when
    equal, or when O(privileges) is off).
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
    peer_argument_spec,
    peer_client,
    privileges_argument_spec,
)


def _next(s):
    return s['last_value'] + (s.get('increment') or 1) if s.get('is_called') else s['last_value']


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec())
    argument_spec.update(privileges_argument_spec(switch=True))
    argument_spec.update(target_database=dict(type='str'), sample_rows=dict(type='int', default=0),
                         fail_on_difference=dict(type='bool', default=True), snapshot=dict(type='str'),
                         target_snapshot=dict(type='str'))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    p['timeout'] = max(p['timeout'], 3600)
    path = migration_path(module, 'verify')
    body = dict(database=p['database'], sample_rows=p['sample_rows'])
    if p['snapshot']:
        body['snapshot'] = p['snapshot']
    src = AgentClient(module).post(path, body)
    ranges = [t['range'] for t in src['tables'] if t.get('range')]
    dst = peer_client(module).post(path, dict(database=p['target_database'] or p['database'],
                                              tables=[dict(schema=t['schema'], name=t['name']) for t in src['tables']],
                                              ranges=ranges, snapshot=p['target_snapshot']))
    theirs = dict(((t['schema'], t['name']), t) for t in dst['tables'])
    tables, differing, not_compared = [], [], []
    for t in src['tables']:
        o = theirs.get((t['schema'], t['name']), {})
        equal = t['rows'] == o.get('rows') and t['checksum'] == o.get('checksum')
        if t.get('unlogged') and o.get('checksum') != 'missing':
            equal = None
            not_compared.append('%s.%s' % (t['schema'], t['name']))
        tables.append(dict(schema=t['schema'], name=t['name'], source_rows=t['rows'], target_rows=o.get('rows'),
                           source_checksum=t['checksum'], target_checksum=o.get('checksum'),
                           range=t.get('range'), equal=equal))
        if equal is False:
            differing.append('%s.%s' % (t['schema'], t['name']))
    target_seq = dict(((s['schema'], s['name']), s) for s in dst.get('sequences', []))
    behind = []
    for s in src.get('sequences', []):
        o = target_seq.get((s['schema'], s['name']))
        inc = s.get('increment') or 1
        if o is None or (_next(o) < _next(s) if inc > 0 else _next(o) > _next(s)):
            behind.append('%s.%s' % (s['schema'], s['name']))
    privileges = []
    if p['privileges']:
        theirs = AgentClient(module).get(migration_path(module, 'privileges', dict(database=p['database'])))
        compared = peer_client(module).put(migration_path(module, 'privileges'), dict(
            database=p['target_database'] or p['database'], source=theirs, role_map=p['role_map'], check=True))
        state = compared.get('privileges') or {}
        privileges = list(state.get('differences') or []) + ['missing: %s' % m for m in state.get('missing') or []]
    result = dict(changed=False, queries=[], tables=tables, differing=differing, not_compared=not_compared,
                  sequences_behind=behind, privileges_differing=privileges)
    if p['fail_on_difference'] and (differing or behind or privileges):
        msg = 'the two sides differ: tables %s, sequences behind %s, privileges %s' % (
            differing or 'none', behind or 'none', privileges or 'none')
        module.fail_json(msg=msg, **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
