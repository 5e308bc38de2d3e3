#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cleanup
short_description: Remove every object and file a migration made on one server
version_added: 0.1.0
description:
  - Calls C(POST /v1/migrations/{m}/cleanup) - drops the subscriptions, publications and slots C(pgferry_<m>) and
    C(pgferry_<m>_reverse), lifts the fence, drops role C(pgferry_<m>) and removes the migration's state files.
  - For a finished, failed or abandoned migration; safe to rerun. Run it on both sides.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  keep_reverse:
    description: Keep the reverse stream, its role, the fence of the side it feeds, the replica identities and the state
      files.
    type: bool
    default: false
  empty_tables:
    description:
      - After the subscriptions are dropped, C(TRUNCATE) the migration's tables in this database - an abandoned
        target's copy, so a new migration can start over. Refused on the migration's source. The cleanup role sets it
        only when the lifecycle says the target never served clients (M(pgferry.migrate.lifecycle)).
    type: bool
    default: false
  keep_state:
    description: Keep the agent's state directory of the migration and the fence (a later call without it removes both).
    type: bool
    default: false
  restore_replica_identity:
    description:
      - Replica identity changes the other side recorded (its cleanup answers them as RV(replica_identity_changes)), to
        put back here too - the schema archive carried them to this side.
    type: list
    elements: dict
    default: []
    suboptions:
      schema: {type: str, required: true, description: Schema of the table.}
      name: {type: str, required: true, description: Name of the table.}
      original: {type: str, required: true, description: "What the table had: default, nothing, full or index <name>."}
      set: {type: str, required: true, description: What pgferry set.}
'''

EXAMPLES = r'''
- name: Clean up the source
  pgferry.migrate.cleanup:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
remaining:
  description: What could not be removed, with the reason.
  returned: always
  type: list
  elements: str
replica_identity_changes:
  description: The replica identity changes this side had recorded (before this call).
  returned: always
  type: list
  elements: dict
tables_emptied:
  description: The tables truncated (O(empty_tables)).
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
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(keep_reverse=dict(type='bool', default=False), empty_tables=dict(type='bool', default=False),
                         keep_state=dict(type='bool', default=False),
                         restore_replica_identity=dict(type='list', elements='dict', default=[], options=dict(
                             schema=dict(type='str', required=True), name=dict(type='str', required=True),
                             original=dict(type='str', required=True), set=dict(type='str', required=True))))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    body = dict(database=p['database'], keep_reverse=p['keep_reverse'], empty_tables=p['empty_tables'],
                keep_state=p['keep_state'], restore_replica_identity=p['restore_replica_identity'])
    if module.check_mode:
        body['check'] = True
    module.exit_json(**step_result(AgentClient(module).post(migration_path(module, 'cleanup'), body)))


if __name__ == '__main__':
    main()
