#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: fleet_slot
short_description: Wait for room for one more initial copy, or for a target's agent job, in a fleet run
version_added: 0.1.0
description:
  - Used by the C(pgferry.migrate.fleet) playbook on the controller, before a migration's subscription
    step; one call per migration.
  - With O(state=acquired), counts the fleet's initial copies in progress, as the target agents report them
    (C(GET /v1/migrations/{m}/status) phase C(copying)), plus the copies this run has reserved but whose
    subscription is not yet seen; when one more copy of O(migration_id) stays within the caps (in total, on its
    source instance, on its target instance), it reserves a place and returns; otherwise it polls until there is
    room or O(wait_timeout) passes.
  - Counting the catalogs rather than the controller's bookkeeping means copies left running by a killed
    controller still count, and a migration whose copy is already running or done does not wait.
  - Reservations are files in O(state_dir), a directory private to one playbook run; an C(flock) on it makes
    check-and-reserve atomic between the run's forks. O(state=released) removes this migration's reservation.
  - With O(kind=job), waits until no other migration of the run holds the job slot of the same target instance,
    then holds it. The C(pgferry.migrate.fleet) playbook no longer uses it - the job modules wait behind another
    migration's job themselves, needing no fork of another migration - but a playbook of one's own may.
  - Never changes a database; always returns C(changed=false).
author:
  - pgferry maintainers (@pgferry)
options:
  migration_id:
    description: The migration asking for room.
    type: str
    required: true
  state:
    description: V(acquired) waits for room and reserves it; V(released) gives the reservation back.
    type: str
    choices: [acquired, released]
    default: acquired
  kind:
    description: V(copy) for an initial copy within the caps, V(job) for a target agent's long job.
    type: str
    choices: [copy, job]
    default: copy
  migrations:
    description: Every migration of the fleet, as the P(pgferry.migrate.fleet_plan#filter) filter lists them.
    type: list
    elements: dict
    required: true
    suboptions:
      id: {type: str, required: true, description: Migration id.}
      source: {type: str, required: true, description: Inventory host of its source instance.}
      target: {type: str, required: true, description: Inventory host of its target instance.}
      source_database: {type: str, description: Its database on the source.}
      target_database: {type: str, required: true, description: Its database on the target.}
  agents:
    description: >-
      Inventory host name to agent (a dict with url, token, ca_path, validate_certs) of every target. Needed for
      O(kind=copy).
    type: dict
    default: {}
  max_copies:
    description: >-
      The caps, as the P(pgferry.migrate.fleet_plan#filter) filter returns them: C(total), C(per_source),
      C(per_target) and C(per_instance) (instance to its own cap). Needed for O(kind=copy).
    type: dict
    default: {}
  state_dir:
    description: Directory of this run's reservations, on the controller; made when missing.
    type: path
    required: true
  wait_timeout:
    description: Seconds to wait for room before failing, counted from O(started_at) when given.
    type: int
    default: 3600
  patience:
    description:
      - O(kind=copy). Seconds this call waits for room; past them it returns with RV(reserved) false instead of waiting
        on, so the caller can give its fork back and ask again. A fleet of more migrations than forks needs it - a
        migration holding a place needs a fork for its subscription step, and forks all held by waiting calls would
        never let it have one.
      - Omitted, the call waits up to O(wait_timeout).
    type: float
  started_at:
    description: Epoch seconds when the migration began to wait (its first call), so O(wait_timeout) spans every call.
    type: float
  poll_interval:
    description: Seconds between two counts.
    type: float
    default: 2
  timeout:
    description: Seconds to wait for each agent's answer.
    type: int
    default: 10
attributes:
  check_mode:
    support: full
    description: Counts and waits in check mode too, but reserves nothing.
'''

EXAMPLES = r'''
- name: Wait for room for the initial copy of "shop"
  pgferry.migrate.fleet_slot:
    migration_id: shop
    migrations: "{{ pgferry_fleet_plan.migrations }}"
    agents: "{{ pgferry_fleet_agents }}"
    max_copies: "{{ pgferry_fleet_plan.max_copies }}"
    state_dir: /tmp/pgferry-fleet-run
  delegate_to: localhost
'''

RETURN = r'''
copying:
  description: The other migrations whose initial copy was in progress or reserved when room was found.
  returned: state=acquired and kind=copy
  type: list
  elements: str
  sample: [crm, billing]
phase:
  description: This migration's phase on its target when room was found (C(copying) or C(streaming) mean no wait).
  returned: state=acquired and kind=copy
  type: str
  sample: published
reserved:
  description: O(kind=copy). Whether this migration has room now (reserved, or its copy runs or is done already); false
    only when O(patience) ran out first.
  returned: state=acquired and kind=copy
  type: bool
waited_seconds:
  description: Seconds spent waiting for room.
  returned: state=acquired
  type: float
  sample: 12.5
'''

import fcntl
import json
import os
import time

from concurrent.futures import ThreadPoolExecutor

from urllib.parse import quote

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import AgentClient
from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import blocking_cap

# Phases in which a migration's copy no longer needs room: already running, or done.
HAS_COPY = ('copying', 'streaming')
READERS = 8  # status reads at once when the copies' phases are read
# Phases that cannot turn into "copying" without a subscription step, i.e. without a reservation of this run.
BEFORE_SUBSCRIPTION = ('none', 'database', 'schema', 'published', 'replicating')


class _AgentUnavailable(Exception):
    pass


class _Probe:
    """What AgentClient needs of a module, for one agent among many: a failure is raised, not fatal."""

    def __init__(self, module, agent):
        self.params = dict(agent=agent, timeout=module.params['timeout'])

    def fail_json(self, msg, **kwargs):
        raise _AgentUnavailable(msg)


def _phase(module, agent, migration):
    try:
        status = AgentClient(_Probe(module, agent)).get('/v1/migrations/%s/status?database=%s' % (
            migration['id'], quote(str(migration['target_database']), safe=''))) or {}
    except _AgentUnavailable as e:
        return 'unknown: %s' % e
    return status.get('phase') or 'none'


class _Board:
    """The run's shared view under state_dir: reservations (one file each) and the last phase seen per migration."""

    def __init__(self, state_dir, prefix='reserved-'):
        self.dir = state_dir
        self.prefix = prefix
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.lock_file = open(os.path.join(state_dir, '.lock'), 'a')
        self.phases_file = os.path.join(state_dir, 'phases.json')

    def __enter__(self):
        fcntl.flock(self.lock_file, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.lock_file, fcntl.LOCK_UN)

    def reserved(self):
        return set(n[len(self.prefix):] for n in os.listdir(self.dir) if n.startswith(self.prefix))

    def reserve(self, mid):
        with open(os.path.join(self.dir, self.prefix + mid), 'w') as f:
            f.write('%s\n' % time.time())

    def release(self, mid):
        try:
            os.unlink(os.path.join(self.dir, self.prefix + mid))
            return True
        except FileNotFoundError:
            return False

    def phases(self):
        """(phases by migration id, when the copies were last read from the agents: 0 for never)."""
        try:
            with open(self.phases_file) as f:
                saved = json.load(f)
            return saved['phases'], saved['read_at']
        except (OSError, ValueError, KeyError, TypeError):
            return {}, 0.0

    def save_phases(self, phases, read_at):
        tmp = self.phases_file + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(dict(phases=phases, read_at=read_at), f)
        os.replace(tmp, self.phases_file)


def _occupies(phase, reserved):
    """Whether a migration takes one of the fleet's copy places: its copy runs, or this run reserved one for it
    and its copy is not seen done yet."""
    return phase == 'copying' or (reserved and phase != 'streaming')


def _refresh(module, board, migrations, agents, me, fresh_for, me_read):
    """Phases of the migrations that may be copying: every one the first time, then only those reserved, copying
    or not yet subscribed-and-done (a migration before its subscription step only starts copying through a
    reservation of this run, which puts it back on the list).

    The run's waiting forks share one reading: a fork finding it younger than fresh_for seconds uses it as it is
    (only its own phase is read, once per call). Without that, every waiting fork read every copy's phase at every
    poll, under the lock - in a fleet of 50, thousands of status calls that held the lock and loaded the agents. A
    reading that is a little old errs on the safe side: a copy seen running still counts, and copies of this run are
    counted by their reservations, which are always current."""
    phases, read_at = board.phases()
    reserved = board.reserved()
    stale = time.time() - read_at >= fresh_for
    todo = [m for m in migrations
            if m['id'] not in phases or (m['id'] == me and not me_read)
            or (stale and (m['id'] == me or m['id'] in reserved
                           or phases[m['id']] not in BEFORE_SUBSCRIPTION + ('streaming',)))]

    def read(m):
        agent = agents.get(m['target'])
        return _phase(module, agent, m) if agent else 'unknown: no agent for %s' % m['target']

    # Side by side: the lock is held while they are read, and each read is a round trip to an agent.
    with ThreadPoolExecutor(max_workers=max(1, min(READERS, len(todo)))) as pool:
        phases.update(zip([m['id'] for m in todo], pool.map(read, todo)))
    board.save_phases(phases, time.time() if stale else read_at)
    return phases, reserved


def wait_for_job(module, board, me, by_id):
    """One long agent job (schema apply, post-data) at a time per target instance: the agent refuses a second one
    with 409 operation_in_progress, so the fleet queues them here instead."""
    p = module.params
    started = time.monotonic()
    while True:
        with board:
            holders = sorted(m for m in board.reserved() if m != me['id'] and m in by_id
                             and by_id[m]['target'] == me['target'])
            if not holders:
                if not module.check_mode:
                    board.reserve(me['id'])
                module.exit_json(changed=False, waited_seconds=round(time.monotonic() - started, 1))
        waited = time.monotonic() - started
        if waited >= p['wait_timeout']:
            module.fail_json(msg='the agent of %s was still busy with the job of %s after %ds'
                                 % (me['target'], ', '.join(holders), p['wait_timeout']), waited_seconds=waited)
        time.sleep(min(p['poll_interval'], 0.5))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            migration_id=dict(type='str', required=True),
            state=dict(type='str', choices=['acquired', 'released'], default='acquired'),
            kind=dict(type='str', choices=['copy', 'job'], default='copy'),
            migrations=dict(type='list', elements='dict', required=True, options=dict(
                id=dict(type='str', required=True),
                source=dict(type='str', required=True),
                target=dict(type='str', required=True),
                source_database=dict(type='str'),
                target_database=dict(type='str', required=True),
            )),
            agents=dict(type='dict', default={}, no_log=True),
            max_copies=dict(type='dict', default={}),
            state_dir=dict(type='path', required=True),
            wait_timeout=dict(type='int', default=3600),
            patience=dict(type='float'),
            started_at=dict(type='float'),
            poll_interval=dict(type='float', default=2.0),
            timeout=dict(type='int', default=10),
        ),
        supports_check_mode=True,
    )
    p = module.params
    by_id = dict((m['id'], m) for m in p['migrations'])
    me = by_id.get(p['migration_id'])
    if me is None:
        module.fail_json(msg='migration %s is not in migrations' % p['migration_id'])
    board = _Board(p['state_dir'], prefix='%s-' % p['kind'])
    if p['state'] == 'released':
        with board:
            board.release(me['id'])
        module.exit_json(changed=False)

    if p['kind'] == 'job':
        wait_for_job(module, board, me, by_id)
    started = time.monotonic()
    # The first call's start, on this call's clock: wait_timeout spans every call of one migration's wait.
    since = started - max(0.0, time.time() - p['started_at']) if p['started_at'] else started
    me_read = False
    while True:
        with board:
            phases, reserved = _refresh(module, board, p['migrations'], p['agents'], me['id'], p['poll_interval'],
                                        me_read)
            me_read = True
            mine = phases.get(me['id'], 'none')
            copying = [m for m in p['migrations']
                       if m['id'] != me['id'] and _occupies(phases.get(m['id']), m['id'] in reserved)]
            blocked = None if mine in HAS_COPY else blocking_cap(me, copying, p['max_copies'])
            if blocked is None:
                if mine not in HAS_COPY and not module.check_mode:
                    board.reserve(me['id'])
                module.exit_json(changed=False, reserved=True, phase=mine, copying=sorted(m['id'] for m in copying),
                                 waited_seconds=round(time.monotonic() - since, 1))
        waited = time.monotonic() - since
        if waited >= p['wait_timeout']:
            module.fail_json(msg='no room for the initial copy of %s after %ds: %s; raise pgferry_fleet.max_copies '
                                 'or pgferry_fleet_copy_wait_timeout' % (me['id'], p['wait_timeout'], blocked),
                             phase=mine, copying=sorted(m['id'] for m in copying), waited_seconds=round(waited, 1))
        if p['patience'] is not None and time.monotonic() - started >= p['patience']:
            module.exit_json(changed=False, reserved=False, phase=mine, copying=sorted(m['id'] for m in copying),
                             waited_seconds=round(waited, 1))
        time.sleep(p['poll_interval'])


if __name__ == '__main__':
    main()
