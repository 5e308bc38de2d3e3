#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: migration_status
short_description: Read where a migration stands on one server
version_added: 0.1.0
description:
  - Calls an agent's C(GET /v1/migrations/{m}/status) and returns its answer.
  - On a source agent, the answer has the role, the publication and the replication slot (with its lag).
    On a target agent, it has the database, tables expected and present, the subscription, post-data expected
    and present, and the phase.
  - The subscription's error and conflict counters come with it (C(subscription.counters); PostgreSQL 15+). On
    PostgreSQL 18 any non-zero conflict counter (C(subscription.conflicts)) means the target diverged from the source -
    RV(diverged) is true and RV(conflicts) names the counters and, when the agent may read the server log, the tables
    (C(subscription.conflict_tables)).
  - Reads only; never changes anything.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode, since it only reads.
'''

EXAMPLES = r'''
- name: Where does migration "app" stand on the target?
  pgferry.migrate.migration_status:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
  register: target_status

- name: Replication slot lag on the source
  pgferry.migrate.migration_status:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
  register: source_status

- name: Show it
  ansible.builtin.debug:
    msg: "{{ target_status.status.phase }}, slot lag {{ source_status.status.slot.lag_bytes }} bytes"
'''

RETURN = r'''
queries:
  description: Always empty; the module only reads.
  returned: always
  type: list
  elements: str
  sample: []
status:
  description: The agent's answer as it sent it.
  returned: success
  type: dict
  sample:
    {"database": {"exists": true}, "tables": {"expected": 2, "present": 2},
     "subscription": {"exists": true, "enabled": true}, "post_data": {"expected": 3, "present": 3}, "phase": "streaming"}
diverged:
  description: Whether the subscription on this server counted conflicts (PostgreSQL 18) - the target diverged.
  returned: success
  type: bool
conflicts:
  description: The non-zero conflict counters (C(counters)), the C(tables) the server log names, or why they are unknown.
  returned: success
  type: dict
  sample: {"counters": {"confl_update_missing": 1}, "tables": ["\"public\".\"items\" (update_missing)"], "tables_unknown": null}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    mask_value,
    migration_argument_spec,
    migration_path,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)
    status = client.get(migration_path(module, 'status', dict(database=p['database'])))
    status = mask_value(status or {})
    sub = status.get('subscription') or {}
    conflicts = sub.get('conflicts') or {}
    module.exit_json(changed=False, queries=[], status=status, diverged=bool(conflicts),
                     conflicts=dict(counters=conflicts, tables=sub.get('conflict_tables') or [],
                                    tables_unknown=sub.get('conflict_tables_unknown')))


if __name__ == '__main__':
    main()
