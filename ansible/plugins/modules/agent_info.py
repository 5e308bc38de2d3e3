#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: agent_info
short_description: Read what a pgferry agent knows about its PostgreSQL server
version_added: 0.1.0
description:
  - Calls the agent's C(GET /v1/info) and returns its answer, the facts later migration steps check against.
  - Optionally also calls C(GET /v1/health) and reports the result without failing on an unhealthy agent.
  - Reads only; never changes anything.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
options:
  health:
    description:
      - Also call C(GET /v1/health) and return RV(health) and RV(healthy).
      - An unhealthy agent (HTTP 503) is reported, not a failure.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode, since it only reads.
  diff_mode:
    support: none
    description: Returns no diff.
'''

EXAMPLES = r'''
- name: Read the source server's facts
  pgferry.migrate.agent_info:
    agent_url: https://db1.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    ca_path: /etc/pgferry/ca.pem
  register: source

- name: Require logical decoding on the source
  ansible.builtin.assert:
    that: source.info.settings.wal_level == 'logical'

- name: Same, with the connection set once for every agent module of the play
  module_defaults:
    group/pgferry.migrate.agent:
      agent_url: "https://{{ inventory_hostname }}:8443"
  block:
    - name: Read info and health
      pgferry.migrate.agent_info:
        health: true
      register: agent
'''

RETURN = r'''
info:
  description: The agent's C(/v1/info) answer as it sent it; the main keys are listed here.
  returned: success
  type: dict
  contains:
    server_version:
      description: PostgreSQL version string.
      type: str
      sample: "16.13"
    server_version_num:
      description: PostgreSQL version number.
      type: int
      sample: 160013
    major:
      description: PostgreSQL major version.
      type: int
      sample: 16
    settings:
      description: Server settings that matter to logical replication.
      type: dict
      sample: {"wal_level": "logical", "max_replication_slots": 10}
    databases:
      description: Databases on the server.
      type: list
      elements: dict
      sample: [{"name": "app", "size_bytes": 7901215}]
    wal_disk:
      description:
        - The filesystem of the server's WAL directory (links followed) as the agent's host sees it - C(path),
          C(free_bytes), C(total_bytes); absent, with C(wal_disk_error) saying why, when the agent cannot see it.
      type: dict
      sample: {"path": "/var/lib/postgresql/16/main/pg_wal", "free_bytes": 52613349376, "total_bytes": 105089261568}
    pg_bin_dir:
      description: Directory of the PostgreSQL programs the agent uses.
      type: str
      sample: /usr/lib/postgresql/16/bin
    agent_version:
      description: Version of the agent.
      type: str
      sample: 0.1.0
health:
  description: The agent's C(/v1/health) answer, a problem document when unhealthy.
  returned: when O(health=true)
  type: dict
  sample: {"status": "ok"}
healthy:
  description: Whether C(/v1/health) answered HTTP 200.
  returned: when O(health=true)
  type: bool
  sample: true
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(health=dict(type='bool', default=False))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)

    client = AgentClient(module)
    result = dict(changed=False, info=client.get('/v1/info'))
    if module.params['health']:
        status, body = client.get('/v1/health', accept_status=(503,))
        result.update(health=body, healthy=status == 200)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
