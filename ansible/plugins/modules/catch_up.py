#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: catch_up
short_description: Wait until the subscriber has applied everything up to a WAL position
version_added: 0.1.0
description:
  - Calls C(POST /v1/migrations/{m}/catch-up) on the publishing side, which polls its slot's C(confirmed_flush_lsn)
    until it reaches O(lsn) (default - every commit made so far).
  - Read-only; runs in check mode too.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  lsn:
    description: WAL position to wait for, such as the one the fence returned.
    type: str
  direction:
    description: V(forward) waits on slot C(pgferry_<m>) (the source), V(reverse) on C(pgferry_<m>_reverse) (the new primary).
    type: str
    choices: [forward, reverse]
    default: forward
  timeout_seconds:
    description: How long the agent waits before it gives up (HTTP 504 C(catch_up_timeout)).
    type: int
    default: 60
'''

EXAMPLES = r'''
- name: Wait for the target to have everything the source committed before the fence
  pgferry.migrate.catch_up:
    agent_url: https://db1.example.com:8443
    migration_id: app
    database: app
    lsn: "{{ fence.fence.lsn }}"
'''

RETURN = r'''
queries:
  description: Always empty - this step only reads.
  returned: always
  type: list
  elements: str
catch_up:
  description: The slot, the position waited for, what the subscriber confirmed and how long it took.
  returned: always
  type: dict
  sample: {"slot": "pgferry_app", "lsn": "0/1A2B3C4", "confirmed_flush_lsn": "0/1A2B3C4", "behind_bytes": 120, "waited_ms": 850}
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
    argument_spec.update(lsn=dict(type='str'), direction=dict(type='str', choices=['forward', 'reverse'],
                                                              default='forward'),
                         timeout_seconds=dict(type='int', default=60))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    module.params['timeout'] = max(p['timeout'], p['timeout_seconds'] + 30)
    client = AgentClient(module)
    body = dict(database=p['database'], direction=p['direction'], timeout_seconds=p['timeout_seconds'])
    if p['lsn']:
        body['lsn'] = p['lsn']
    answer = client.post(migration_path(module, 'catch-up'), body)
    module.exit_json(changed=False, queries=[], **answer)


if __name__ == '__main__':
    main()
