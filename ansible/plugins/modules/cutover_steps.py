#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cutover_steps
short_description: The cutover's steps while clients are paused, in one call
version_added: 0.3.0
description:
  - Runs, in this order and stopping at the first failure, what the modules M(pgferry.migrate.switch),
    M(pgferry.migrate.fence), M(pgferry.migrate.catch_up), M(pgferry.migrate.sequences),
    M(pgferry.migrate.reverse_replication) and M(pgferry.migrate.stop_replication) do one by one - with O(pgbouncer),
    C(PAUSE) the clients; fence the side they leave (O(agent_url)); wait until the side they go to
    (O(target_agent_url)) has applied everything up to the fence; copy the sequences; optionally export and hold a
    snapshot on each side for a later M(pgferry.migrate.verify); optionally set up the reverse stream (publisher on
    the target, subscriber on the source); lift a fence left on the target (a rollback's); with O(pgbouncer), point
    the database at the target, C(RELOAD), drop the stream (O(stop_replication)) and C(RESUME).
  - One module call instead of a task per step, so clients wait for the agents' work only, not for Ansible's
    per-task overhead. RV(pause_ms) is how long they waited.
  - A rollback is the same sequence the other way - O(agent_url) is then the migration's target, O(target_agent_url)
    its source, O(direction=reverse).
  - On a failure before the stream is dropped, everything done is undone before the module fails - the fence lifted,
    the reverse subscription dropped, a lifted target fence put back, PgBouncer pointed back at the source and
    resumed - so clients go on against the source and nothing was lost; RV(undone) says what was undone.
    Once the stream is dropped the cutover is complete; a failing C(RESUME) is retried for O(resume_timeout) seconds.
  - Runs on the PgBouncer host when O(pgbouncer) is given (its ini file is edited there); both agents must be
    reachable from it.
  - In check mode nothing changes; RV(queries) lists the steps in order - the fence's and the stream drop's SQL as the
    agents would run them, a comment for the steps that depend on earlier ones having run.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.peer
  - pgferry.migrate.migration
  - pgferry.migrate.pgbouncer
options:
  target_database:
    description: Database on the side clients go to. Defaults to O(database).
    type: str
  direction:
    description: The stream that carried the changes - V(forward) for a cutover, V(reverse) for a rollback.
    type: str
    choices: [forward, reverse]
    default: forward
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
    description: Set up the reverse stream (only with O(direction=forward)); needs O(password) and O(connection).
    type: bool
    default: false
  stop_replication:
    description:
      - Drop the stream's subscription (and its slot) after the switch, before C(RESUME). Needs O(pgbouncer); with
        another switch the caller drops it after its own switch (M(pgferry.migrate.stop_replication)).
    type: bool
    default: false
  resume_timeout:
    description: Seconds a failing C(RESUME) (or the undo's) is retried.
    type: int
    default: 30
  password:
    description: Password of the replication role made on the target for the reverse stream.
    type: str
  replica_identities:
    description:
      - The source's tables whose replica identity is full or an index (M(pgferry.migrate.ready_check) answers them in
        C(source.replica_identities)); the reverse stream's publisher sets the same where the target lacks it.
    type: list
    elements: dict
    default: []
    suboptions:
      schema: {type: str, required: true, description: Schema of the table.}
      name: {type: str, required: true, description: Name of the table.}
      identity: {type: str, required: true, description: "full, or index <name>."}
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
- name: Pause, fence, catch up, sequences, snapshots, reverse stream, switch, stop replication, resume
  pgferry.migrate.cutover_steps:
    agent_url: https://db1.example.com:8443
    target_agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
    snapshot: true
    stop_replication: true
    pgbouncer:
      database: app
      ini: /etc/pgbouncer/pgbouncer.ini
      source_entry: host=10.0.0.11 port=5432 dbname=app
      target_entry: host=10.0.0.12 port=5432 dbname=app
      admin_password: "{{ vault_pgbouncer_admin_password }}"
'''

RETURN = r'''
queries:
  description: The statements run, on both sides, and PgBouncer's admin commands.
  returned: always
  type: list
  elements: str
steps_done:
  description:
    - The steps that completed - pause, fence, catch_up, sequences, snapshot, reverse_publisher, reverse_subscriber,
      unfence_target, switch, stop_replication, resume.
  returned: always
  type: list
  elements: str
failed_step:
  description: The step that failed.
  returned: failure
  type: str
undone:
  description: What was undone after the failure (and RV(undo_errors) what could not be).
  returned: failure
  type: list
  elements: str
undo_errors:
  description: Undo actions that failed, with why; empty when everything was put back.
  returned: failure
  type: list
  elements: str
complete:
  description: Whether the cutover is done (the stream dropped); a failure after that is not undone.
  returned: always
  type: bool
fence:
  description: The fence (its C(lsn) among others).
  returned: success
  type: dict
snapshots:
  description: C(source) and C(target) snapshot ids, for the O(pgferry.migrate.verify#module:snapshot) options.
  returned: when O(snapshot)
  type: dict
pause_ms:
  description: Milliseconds from C(PAUSE) to the end of C(RESUME) - how long clients waited.
  returned: with O(pgbouncer)
  type: int
timings_ms:
  description: Milliseconds per step.
  returned: always
  type: dict
'''

import time

from concurrent.futures import ThreadPoolExecutor

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
from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import (
    PgBouncer,
    PgBouncerError,
    pgbouncer_argument_spec,
    quote_name,
)


def at_once(*calls):
    """Each call in a thread of its own; their results in order, or the first call's (in order) exception."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


class StepFailed(Exception):
    """An agent call or a PgBouncer command failed; raised instead of exiting so what was done can be undone."""

    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg


class Cutover:
    """The paused sequence, step by step: what is done is recorded, so a failure can be undone exactly."""

    def __init__(self, module):
        self.m = module
        self.p = module.params
        self.done, self.queries, self.timings = [], [], {}
        self.step_name = None
        self.source = AgentClient(module)
        self.target = peer_client(module)
        self.bouncer = PgBouncer(self.p['pgbouncer']) if self.p['pgbouncer'] else None
        if self.bouncer:
            self.bouncer.commands = self.queries  # in the order they ran, among the agents' statements
        self.source_db = self.p['database']
        self.target_db = self.p['target_database'] or self.p['database']
        self.target_was_fenced = False
        self.ini_pointed = False
        self.secrets = [s for s in (self.p['password'], (self.p['connection'] or {}).get('password')) if s]

    def step(self, name, call):
        self.step_name = name
        t = time.monotonic()
        try:
            answer = call()
        except PgBouncerError as e:
            raise StepFailed(str(e))
        self.timings[name] = int((time.monotonic() - t) * 1000)
        if isinstance(answer, dict):
            self.queries.extend(answer.get('queries') or [])
        self.done.append(name)
        return answer

    def together(self, *steps):
        """Steps at once (each on another agent, or taking no lock); recorded in the order given, and the first
        failure in that order is the one raised."""
        def timed(call):
            t = time.monotonic()
            try:
                return call(), None, int((time.monotonic() - t) * 1000)
            except (StepFailed, PgBouncerError) as e:
                return None, e, int((time.monotonic() - t) * 1000)

        outcomes = at_once(*[lambda call=call: timed(call) for dummy, call in steps])
        answers = []
        for (name, dummy), (answer, error, ms) in zip(steps, outcomes):
            self.step_name = name
            if error is not None:
                raise StepFailed(getattr(error, 'msg', None) or str(error))
            self.timings[name] = ms
            if isinstance(answer, dict):
                self.queries.extend(answer.get('queries') or [])
            self.done.append(name)
            answers.append(answer)
        return answers

    def all_queries(self):
        return mask_queries(self.queries, self.secrets)

    def path(self, step, query=None):
        return migration_path(self.m, step, query)

    # ------------------------------------------------------------ the sequence

    def run(self):
        p, result = self.p, dict(changed=True)
        # Before the pause, what does not have to be inside it: the reverse stream's publication and role (nothing
        # flows until the subscription's slot exists), and whether the target carries a fence to lift.
        if p['reverse_replication']:
            self.step('reverse_publisher', lambda: self.target.put(self.path('reverse-replication'), dict(
                database=self.target_db, side='publisher', password=p['password'],
                replica_identities=p['replica_identities'])))
        self.step_name = 'check_target_fence'
        target_fenced = self.target.get(self.path('fence', dict(database=self.target_db))).get('fenced')
        paused_at = time.monotonic()
        if self.bouncer:
            self.step('pause', self.bouncer.pause)
        fenced = self.step('fence', lambda: self.source.put(self.path('fence'), dict(database=self.source_db)))
        fence = result['fence'] = fenced.get('fence') or {}
        body = dict(database=self.source_db, direction=p['direction'], timeout_seconds=p['catch_up_timeout'])
        if fence.get('lsn'):
            body['lsn'] = fence['lsn']
        # Sequences are final once the source is fenced (nextval is refused in a read-only transaction), so they are
        # copied while the target catches up.
        caught = self.together(('catch_up', lambda: self.source.post(self.path('catch-up'), body)),
                               ('sequences', self.sequences))[0]
        result['catch_up'] = dict((k, v) for k, v in caught.items() if k != 'queries')
        if p['snapshot']:
            result['snapshots'] = self.step('snapshot', self.snapshots)
        if p['reverse_replication']:
            self.step('reverse_subscriber', self.reverse_subscriber)
        if target_fenced:
            self.step('unfence_target', lambda: self.target.delete(self.path('fence', dict(database=self.target_db))))
            self.target_was_fenced = True
        if self.bouncer:
            self.step('switch', self.switch)
        if p['stop_replication']:
            self.step('stop_replication', lambda: self.target.post(
                self.path('stop-replication'), dict(database=self.target_db, direction=p['direction'])))
        if self.bouncer:
            self.step('resume', lambda: self.bouncer.within(p['resume_timeout'], self.bouncer.resume))
            result['pause_ms'] = int((time.monotonic() - paused_at) * 1000)
        return result

    def sequences(self):
        read = self.source.get(self.path('sequences', dict(database=self.source_db)))
        body = dict(database=self.target_db, sequences=read['sequences'], gap=self.p['gap'])
        return self.target.put(self.path('sequences'), body)

    def snapshots(self):
        """Both sides at once (two agents, and the snapshot call takes no migration lock)."""
        def take(client, db):
            return client.post(self.path('verify/snapshot'), dict(database=db,
                                                                  hold_seconds=self.p['snapshot_hold_seconds']))
        s, t = at_once(lambda: take(self.source, self.source_db), lambda: take(self.target, self.target_db))
        return dict(source=s['snapshot'], target=t['snapshot'])

    def reverse_subscriber(self):
        conn = dict((k, v) for k, v in self.p['connection'].items() if v is not None)
        conn.setdefault('user', 'pgferry_%s' % self.p['migration_id'])
        return self.source.put(self.path('reverse-replication'), dict(database=self.source_db, side='subscriber',
                                                                      connection=conn))

    def switch(self):
        self.bouncer.point('target')
        self.ini_pointed = True  # written, or already so: either way the undo points it back and reloads
        self.bouncer.reload()

    # ------------------------------------------------------------ after a failure

    def undo(self):
        """Put clients back on the source, unfenced, in the order that keeps every client transaction safe."""
        undone, errors = [], []
        failed, done = self.step_name, set(self.done)

        def attempt(what, call):
            try:
                call()
                undone.append(what)
            except (StepFailed, PgBouncerError) as e:
                errors.append('%s: %s' % (what, getattr(e, 'msg', None) or e))

        if 'reverse_subscriber' in done or failed == 'reverse_subscriber':
            attempt('reverse subscription dropped', lambda: self.source.post(
                self.path('stop-replication'), dict(database=self.source_db, direction='reverse')))
        if self.target_was_fenced:
            attempt('target fenced again', lambda: self.target.put(self.path('fence'), dict(database=self.target_db)))
        if 'fence' in done or failed == 'fence':
            attempt('fence lifted', lambda: self.source.delete(self.path('fence', dict(database=self.source_db))))
        if self.bouncer and ('pause' in done or failed == 'pause'):
            # Resumed onto a side still fenced, or still pointed at the target, clients would fail or write where they
            # must not: then they stay paused, and the role's rescue (or a rerun) finishes the undo.
            safe = not errors
            if self.ini_pointed:
                attempt('PgBouncer pointed back at the source', self.switch_back)
                safe = safe and 'PgBouncer pointed back at the source' in undone
            if safe:
                attempt('clients resumed', lambda: self.bouncer.within(self.p['resume_timeout'], self.bouncer.resume))
            else:
                errors.append('clients left paused: the source is still fenced or PgBouncer may still point at the '
                              'target')
        return undone, errors

    def switch_back(self):
        self.bouncer.point('source')
        self.bouncer.within(self.p['resume_timeout'], self.bouncer.reload)


def planned(module):
    """Check mode: the steps in order - the agents' own SQL where a step can be asked for it without the ones before
    it having run (fence, stop replication), a comment for the others."""
    p = module.params
    name = quote_name(p['pgbouncer']['database']) if p['pgbouncer'] else None
    target_db = p['target_database'] or p['database']
    out = []
    if p['reverse_replication']:
        out.append('-- reverse stream: role and publication pgferry_%s_reverse on the target' % p['migration_id'])
    if name:
        out.append('PAUSE %s' % name)
    out.extend(AgentClient(module).put(migration_path(module, 'fence'),
                                       dict(database=p['database'], check=True)).get('queries') or [])
    out.append('-- wait until the target has applied everything up to the fence (at most %d s)' % p['catch_up_timeout'])
    out.append('-- setval of every sequence on the target (gap %d)' % p['gap'])
    if p['snapshot']:
        out.append('-- a REPEATABLE READ snapshot exported and held on each side')
    if p['reverse_replication']:
        out.append('-- reverse stream: subscription pgferry_%s_reverse on the source (copy_data = false)'
                   % p['migration_id'])
    out.append('-- lift a fence left on the target, if any')
    if name:
        out.extend(['WRITE ini', 'RELOAD'])
    if p['stop_replication']:
        out.extend(peer_client(module).post(migration_path(module, 'stop-replication'), dict(
            database=target_db, direction=p['direction'], check=True)).get('queries') or [])
    if name:
        out.append('RESUME %s' % name)
    return out


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(peer_argument_spec())
    argument_spec.update(migration_argument_spec())
    argument_spec.update(pgbouncer_argument_spec())
    argument_spec.update(
        target_database=dict(type='str'), direction=dict(type='str', choices=['forward', 'reverse'], default='forward'),
        catch_up_timeout=dict(type='int', default=60), gap=dict(type='int', default=0),
        snapshot=dict(type='bool', default=False), snapshot_hold_seconds=dict(type='int', default=900),
        reverse_replication=dict(type='bool', default=False), stop_replication=dict(type='bool', default=False),
        resume_timeout=dict(type='int', default=30), password=dict(type='str', no_log=True),
        replica_identities=dict(type='list', elements='dict', default=[], options=dict(
            schema=dict(type='str', required=True), name=dict(type='str', required=True),
            identity=dict(type='str', required=True))),
        connection=dict(type='dict', options=dict(
            host=dict(type='str', required=True), port=dict(type='int', default=5432),
            dbname=dict(type='str', required=True), user=dict(type='str'),
            password=dict(type='str', required=True, no_log=True), sslmode=dict(type='str'))),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_if=[('reverse_replication', True, ['password', 'connection']),
                                        ('stop_replication', True, ['pgbouncer'])])
    p = module.params
    if p['reverse_replication'] and p['direction'] == 'reverse':
        module.fail_json(msg='reverse_replication is for a cutover (direction=forward); a rollback ends the reverse '
                             'stream instead')
    p['timeout'] = max(p['timeout'], p['catch_up_timeout'] + 30)
    if module.check_mode:
        module.exit_json(changed=True, steps_done=[], timings_ms={}, complete=False, queries=planned(module))

    fail_json = module.fail_json

    def raise_step_failed(msg, **kwargs):
        raise StepFailed(msg)

    module.fail_json = raise_step_failed  # agent errors come back here, to be undone
    cut = Cutover(module)
    try:
        result = cut.run()
    except StepFailed as e:
        complete = 'stop_replication' in cut.done
        undone, errors = ([], []) if complete else cut.undo()
        if complete:
            msg = ('%s failed: %s. The cutover itself is complete (the stream is dropped, PgBouncer points at the '
                   'target); clients stay paused until RESUME %s works on its admin console'
                   % (cut.step_name, e.msg, p['pgbouncer']['database']))
        else:
            msg = '%s failed: %s. Undone: %s%s' % (
                cut.step_name, e.msg, ', '.join(undone) or 'nothing was changed',
                ('; COULD NOT UNDO: ' + '; '.join(errors)) if errors else '')
        fail_json(msg=msg, steps_done=cut.done, failed_step=cut.step_name, undone=undone, undo_errors=errors,
                  complete=complete, timings_ms=cut.timings, queries=cut.all_queries())
    module.exit_json(steps_done=cut.done, timings_ms=cut.timings, complete='stop_replication' in cut.done,
                     queries=cut.all_queries(),
                     **result)


if __name__ == '__main__':
    main()
