#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: lifecycle
short_description: Read a migration's phase from both sides and PgBouncer, and refuse what a playbook must not do in it
version_added: 0.1.0
description:
  - Calls C(GET /v1/migrations/{m}/lifecycle) on the source (O(agent)) and the target (O(target_agent)) - each side's
    streams, fence, slot WAL and table states - and, with O(pgbouncer), reads where PgBouncer sends the database's
    clients and whether it holds them paused. Derives the migration's phase from them (docs/design.md, "Lifecycle").
  - With O(playbook), decides what that playbook may do in this phase - RV(action) - or refuses with a message that names
    the phase, why, and the playbook to run instead. The module only reads, so a refusal changed nothing.
  - Each side is read on its own - an agent or server that does not answer is reported in RV(source) or RV(target)
    (C(reachable=false), C(error)), never hides the other side. The phase is then C(unknown).
  - Agents listen on loopback by default, so the roles read each side from its own host (O(side)) and combine the two
    answers where PgBouncer is (O(source) and O(target) instead of O(agent) and O(target_agent)).
  - Combining O(source) and O(target) without O(pgbouncer) reads nothing, so the module's action plugin runs that in
    the controller's process, with the same code, rather than execute the module; whatever reads an agent or PgBouncer
    executes the module where the task runs.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
  - pgferry.migrate.pgbouncer
options:
  target_database:
    description: Database on the target. Defaults to O(database).
    type: str
  side:
    description:
      - Read only this side, through O(agent), and return it as RV(source) or RV(target) - for a later call that
        combines both (O(source), O(target)). No phase is derived.
    type: str
    choices: [source, target]
  source:
    description: The source as an earlier call with O(side=source) returned it (its RV(source)), instead of O(agent).
    type: dict
  target:
    description: The target as an earlier call with O(side=target) returned it (its RV(target)), instead of
      O(target_agent).
    type: dict
  playbook:
    description:
      - The playbook about to run; V(status) only reads. Without it the module reports the phase and decides nothing.
    type: str
    choices: [preflight, migrate, status, cutover, rollback, cleanup]
  abandon:
    description:
      - For V(cleanup) of a migration that is not finished (not cut over, or rolled back) - the migration id, to say
        that it is to be abandoned (C(pgferry_cleanup_abandon)).
    type: str
    default: ''
  fail_on_refusal:
    description: Fail when the playbook is refused; with V(false) the refusal is returned in RV(message).
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode, since it only reads.
'''

EXAMPLES = r'''
- name: May the cutover run?
  pgferry.migrate.lifecycle:
    agent: {url: https://db1.example.com:8443}
    target_agent: {url: https://db2.example.com:8443}
    migration_id: app
    database: app
    playbook: cutover
'''

RETURN = r'''
queries:
  description: Always empty - the module only reads.
  returned: always
  type: list
  elements: str
phase:
  description:
    - C(name) (none, prepared, copying, streaming, stream_lost, cutting_over, cut_over, rolling_back, rolled_back,
      cleaning_up, cleaned_up, inconsistent, unknown), C(description), C(reasons), C(clients_on) (where clients
      belong), C(reverse_stream), C(paused), C(pgbouncer_points).
  returned: always
  type: dict
action:
  description: What the playbook does in this phase - run, done (already happened - only make sure clients are served
    where they belong), abandon (cleanup of an unfinished migration), show; absent when refused.
  returned: with O(playbook), when allowed
  type: str
message:
  description: The refusal, naming the phase and the playbook to run instead.
  returned: when refused
  type: str
source:
  description: C(reachable), C(error), C(facts) (the agent's answer) of the source.
  returned: always
  type: dict
target:
  description: The same for the target.
  returned: always
  type: dict
pgbouncer:
  description: C(points) (source, target or null), C(paused), C(error); absent without O(pgbouncer).
  returned: with O(pgbouncer)
  type: dict
next:
  description: What each playbook would do now.
  returned: always
  type: dict
cleanup:
  description: For V(cleanup) - C(order) (source_first or target_first), C(source) and C(target) (whether to clean
    that side), C(empty_target_tables), C(restore_replica_identity) (the source's record, for the target).
  returned: with O(playbook=cleanup), when allowed
  type: dict
summary:
  description: Lines for a person - the phase, each side, PgBouncer.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    mask_value,
    migration_path,
    peer_client,
)
from ansible_collections.pgferry.migrate.plugins.module_utils.lifecycle import (
    argument_spec,
    judge,
)
from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import (
    PgBouncer,
    PgBouncerError,
    entry_address,
)


class Unreadable(Exception):
    pass


def read_side(module, client, database):
    """The side's facts, or (None, why): an agent error must not end the module, the other side still counts."""
    saved = module.fail_json

    def raise_instead(msg, **kwargs):
        raise Unreadable(msg)

    module.fail_json = raise_instead
    try:
        return client.get(migration_path(module, 'lifecycle', dict(database=database))), None
    except Unreadable as e:
        return None, str(e)
    finally:
        module.fail_json = saved


def read_bouncer(options):
    """dict(points, paused) from SHOW DATABASES, or (None, why)."""
    try:
        bouncer = PgBouncer(options)
        state = bouncer.state()
    except PgBouncerError as e:
        return None, str(e)
    if state is None:
        return None, 'PgBouncer has no database %s' % options['database']
    points = None
    for side in ('source', 'target'):
        host, port = entry_address(options['%s_entry' % side])
        if (state['host'] or None) == host and state['port'] == port:
            points = side
    return dict(points=points, paused=state['paused'], host=state['host'], port=state['port']), None


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    p = module.params
    target_db = p['target_database'] or p['database']
    if p['side']:
        facts, error = read_side(module, AgentClient(module), p['database'] if p['side'] == 'source' else target_db)
        module.exit_json(changed=False, queries=[], **{p['side']: mask_value(dict(
            reachable=facts is not None, error=error, facts=facts or {}))})
    source, target = p['source'], p['target']
    if source is None:
        s_facts, s_error = read_side(module, AgentClient(module), p['database'])
        source = dict(reachable=s_facts is not None, error=s_error, facts=s_facts or {})
    if target is None:
        t_facts, t_error = read_side(module, peer_client(module), target_db)
        target = dict(reachable=t_facts is not None, error=t_error, facts=t_facts or {})
    bouncer, bouncer_error = read_bouncer(p['pgbouncer']) if p['pgbouncer'] else (None, None)
    result, refused = judge(p['migration_id'], source, target, playbook=p['playbook'], abandon=p['abandon'],
                            pgbouncer=bool(p['pgbouncer']), bouncer=bouncer, bouncer_error=bouncer_error)
    if refused and p['fail_on_refusal']:
        module.fail_json(msg=result['message'], **mask_value(result))
    module.exit_json(**mask_value(result))


if __name__ == '__main__':
    main()
