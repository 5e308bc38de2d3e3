#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: large_objects
short_description: Copy the large objects logical replication does not carry, from one side to the other
version_added: 0.1.0
description:
  - Scans both sides at once (C(GET /v1/migrations/{m}/large-objects)), then sends every large object that is new to
    the receiving side (O(target_agent_url)) or changed on either side since the last sync, with its oid, owner, ACL
    and comment, and removes there those the sending side (O(agent_url)) no longer has. Each batch is one stream from
    the sender's C(POST .../large-objects/export) piped untouched into the receiver's C(PUT .../large-objects), which
    writes it in one transaction.
  - The first sync compares digests of owner, ACL, comment and content on both sides; from then on each side keeps a
    mark, and a sync finds what changed since from the transaction ids of C(pg_largeobject)'s rows, without reading
    contents - that is how M(pgferry.migrate.cutover_steps) brings them in line inside the cutover's pause.
  - Owners and grantees must exist on the receiving side (the roles of the migration); a receiving database that holds
    large objects pgferry did not write there is refused unless O(adopt_existing).
  - Refuses, before anything, when the sending database (O(database) on the sending agent) is fenced, as
    C(GET /v1/migrations/{m}/fence) says - clients then write the receiving side (a cutover happened or is under way),
    which may hold large objects written since that the sender lacks. Nothing is copied then; the cutover and rollback
    playbooks carry large objects from that point (M(pgferry.migrate.cutover_steps)).
  - A rerun changes nothing. In check mode nothing changes and RV(queries) lists the statements (the first 200 of
    each batch).
  - For a rollback, O(agent_url) is the new primary and O(target_agent_url) the old source.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
options:
  target_database:
    description: Database on the receiving side. Defaults to O(database).
    type: str
  batch_size:
    description: Large objects per stream (and per transaction on the receiving side).
    type: int
    default: 500
  adopt_existing:
    description:
      - Treat large objects already in the receiving database as pgferry's own copies, to be replaced or removed to
        match the sender. Only after the receiving agent lost its state directory.
    type: bool
    default: false
'''

EXAMPLES = r'''
- name: Large objects to the target
  pgferry.migrate.large_objects:
    agent_url: https://db1.example.com:8443
    target_agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
'''

RETURN = r'''
queries:
  description: The statements the receiving agent ran, or in check mode would run (the first 200 of each batch).
  returned: always
  type: list
  elements: str
large_objects:
  description:
    - C(objects) on the sending side; C(copied) (of which C(replaced) existed), C(unlinked), C(bytes), C(batches);
      C(detection) - V(xmin) (changes found from transaction ids) or V(digests) (contents compared, when the agent's
      role may not read C(pg_largeobject)).
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
from ansible_collections.pgferry.migrate.plugins.module_utils.large_objects import sync


def fenced_refusal(database):
    return ('the source database %s is fenced: the migration was cut over (or a cutover is under way), so the target '
            'may hold large objects written since that the source lacks. Nothing was copied. Large objects now follow '
            'the cutover and rollback playbooks; run pgferry.migrate.rollback to go back to the source.' % database)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec())
    argument_spec.update(target_database=dict(type='str'), batch_size=dict(type='int', default=500),
                         adopt_existing=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    p['timeout'] = max(p['timeout'], 3600)  # a batch's import answers once its transaction committed
    if not 1 <= p['batch_size'] <= 50000:
        module.fail_json(msg='batch_size must be 1 to 50000, got %d' % p['batch_size'])
    sender = AgentClient(module)
    fence = sender.get(migration_path(module, 'fence', dict(database=p['database'])))
    if fence.get('fenced'):
        module.fail_json(msg=fenced_refusal(p['database']), changed=False, queries=[], fence=fence)
    result = sync(sender, peer_client(module), lambda step, query=None: migration_path(module, step, query),
                  p['database'], p['target_database'] or p['database'], check=module.check_mode,
                  batch_size=p['batch_size'], adopt=p['adopt_existing'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
