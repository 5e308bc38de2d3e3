#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: stop_replication
short_description: Drop the migration's subscription, and with it its slot on the publisher
version_added: 0.1.0
description:
  - Calls C(POST /v1/migrations/{m}/stop-replication) on the subscriber - C(ALTER SUBSCRIPTION .. DISABLE) and
    C(DROP SUBSCRIPTION), which drops the slot on the publisher.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
options:
  direction:
    description: V(forward) drops C(pgferry_<m>) on the target; V(reverse) drops C(pgferry_<m>_reverse) on the old source.
    type: str
    choices: [forward, reverse]
    default: forward
  if_unreachable:
    description:
      - What a publisher that cannot be reached within 15 s to drop the slot leaves (the module then fails with
        C(publisher_unreachable)).
      - V(restore) enables the subscription again as it was, so the failed step changes nothing.
      - V(disable) keeps it disabled, so no change flows once the link returns, as the cutover's undo needs for the
        reverse stream. The next cutover makes a disabled reverse subscription again, and cleanup drops it.
    type: str
    choices: [restore, disable]
    default: restore
  drop:
    description:
      - V(false) stops the apply only - C(ALTER SUBSCRIPTION .. DISABLE) and the tempered triggers back, in one
        transaction - and leaves the subscription and its slot for a later call with V(true). That takes a millisecond
        where a drop waits for the apply worker to exit and connects to the publisher; M(pgferry.migrate.cutover_steps)
        does it inside its pause and drops the subscription after C(RESUME).
    type: bool
    default: true
'''

EXAMPLES = r'''
- name: Stop the forward stream after cutover
  pgferry.migrate.stop_replication:
    agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
'''

RETURN = r'''
queries:
  description: SQL the agent ran, or in check mode would run.
  returned: always
  type: list
  elements: str
subscription:
  description: Name of the subscription.
  returned: always
  type: str
  sample: pgferry_app
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
    argument_spec.update(direction=dict(type='str', choices=['forward', 'reverse'], default='forward'),
                         if_unreachable=dict(type='str', choices=['restore', 'disable'], default='restore'),
                         drop=dict(type='bool', default=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    body = dict(database=p['database'], direction=p['direction'], if_unreachable=p['if_unreachable'], drop=p['drop'])
    if module.check_mode:
        body['check'] = True
    module.exit_json(**step_result(AgentClient(module).post(migration_path(module, 'stop-replication'), body)))


if __name__ == '__main__':
    main()
