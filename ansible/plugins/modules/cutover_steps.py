#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: cutover_steps
short_description: The cutover's steps while clients are paused, in one call
version_added: 0.1.0
description:
  - With O(pgbouncer), first, before anyone is paused - read how PgBouncer runs the database (version, pool mode,
    clients; M(pgferry.migrate.pgbouncer_info)), and wait, at most O(pgbouncer.transaction_wait) seconds, until no
    client transaction on the database is older than O(pgbouncer.long_transaction) seconds (it would hold C(PAUSE)
    and every client behind it); past that the module fails with nothing changed, naming the transactions.
  - Then runs, in this order and stopping at the first failure, what the modules M(pgferry.migrate.switch),
    M(pgferry.migrate.fence), M(pgferry.migrate.catch_up), M(pgferry.migrate.sequences),
    M(pgferry.migrate.reverse_replication) and M(pgferry.migrate.stop_replication) do one by one - with O(pgbouncer),
    C(PAUSE) the clients; fence the side they leave (O(agent_url)); wait until the side they go to
    (O(target_agent_url)) has applied everything up to the fence; copy the sequences; optionally export and hold a
    snapshot on each side for a later M(pgferry.migrate.verify); optionally set up the reverse stream (publisher on
    the target, subscriber on the source); lift a fence left on the target (a rollback's); with O(pgbouncer), point
    the database at the target, C(RELOAD), stop the stream (O(stop_replication)), C(RESUME) and drop the stream.
  - One module call instead of a task per step, so clients wait for the agents' work only, not for Ansible's
    per-task overhead. RV(pause_ms) is how long they waited.
  - Before anyone is paused the stream's subscription is set to commit what it applies with C(synchronous_commit=on)
    (C(PUT catch-up) on O(target_agent_url)), so it confirms each change at once and the catch-up inside the pause
    does not wait for the subscriber's WAL writer (200-600 ms). An undone cutover sets it back to C(off).
  - In transaction and statement pooling C(PAUSE) is waited for at most O(pgbouncer.pause_timeout) seconds (a
    transaction that began after the check may hold it); then it is taken back, that transaction waited for with
    nobody paused, and C(PAUSE) tried again (three attempts). In session pooling with clients connected, C(PAUSE)
    cannot complete while they stay, so it is not waited for - new queries and connections queue - and the fence ends
    the database's server connections - every client connection gets one error (SQLSTATE 57P01) and reconnects into
    the queue; RV(clients_disconnected) counts them, RV(transactions_interrupted) the transactions rolled back.
    O(pgbouncer.session_pooling=refuse) refuses that instead.
  - A rollback is the same sequence the other way - O(agent_url) is then the migration's target, O(target_agent_url)
    its source, O(direction=reverse).
  - On a failure before the stream is dropped, everything done is undone before the module fails - the fence lifted,
    the reverse subscription dropped, a lifted target fence put back, PgBouncer pointed back at the source and
    resumed - so clients go on against the source and nothing was lost; RV(undone) says what was undone. A stream
    stop that could not reach its publisher leaves the forward subscription enabled; a reverse subscription whose
    slot the source cannot reach on the target stays, disabled, and the next cutover makes it again.
    Once the stream is stopped the cutover is complete; a failing C(RESUME) is retried for O(resume_timeout) seconds.
  - Inside the pause the stream is only stopped - its subscription disabled and the triggers tempered for it given
    back, in one transaction (M(pgferry.migrate.stop_replication) with V(drop=false)) - a millisecond, where
    C(DROP SUBSCRIPTION) waits for the apply worker to exit and connects to the publisher (30-70 ms). The
    subscription and its slot are dropped after C(RESUME). A drop that fails then fails the module with RV(complete)
    true and clients running on the target; the lifecycle reads the stopped stream as cut over (rolled back), and a
    rerun of the playbook, or cleanup, drops it.
  - Runs on the PgBouncer host when O(pgbouncer) is given (its ini file is edited there); both agents must be
    reachable from it.
  - With O(large_objects), the large objects logical replication does not carry are synced as
    M(pgferry.migrate.large_objects) does - once before C(PAUSE) (most of the work, outside the pause), and again right
    after the fence, beside the catch-up, for those created, changed or removed since (final - the fenced side takes no
    more writes).
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
  large_objects:
    description:
      - Sync large objects from the side clients leave to the side they go to, before the pause and after the fence.
    type: bool
    default: false
  stop_replication:
    description:
      - Stop the stream after the switch, before C(RESUME), and drop its subscription (and its slot) after it.
      - Needs O(pgbouncer); with another switch the caller drops it after its own switch
        (M(pgferry.migrate.stop_replication)).
    type: bool
    default: false
  resume_timeout:
    description: Seconds a failing C(RESUME) (or the undo's) is retried.
    type: int
    default: 30
  lease_ttl:
    description:
      - Before anything else the module takes the migration's lease on both agents (C(PUT /v1/migrations/{m}/lease)),
        renews it every third of this many seconds and gives it back at the end, its undo included. While it holds it,
        another run's changing requests on the migration are refused (409 C(migration_leased)), so two runs (two
        controllers, overlapping AWX jobs) cannot interleave a cutover - one's undo lifting the other's fence.
      - A run that died lets its lease lapse within this many seconds.
    type: int
    default: 15
  lease_wait:
    description:
      - Seconds to wait for a lease another run holds (a run that died gives it up within its O(lease_ttl)). Past them
        the module fails with nothing done, RV(busy) true, C(status) 409 and C(code) C(migration_leased).
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
busy:
  description: Another run held the migration's lease past O(lease_wait); nothing was done.
  returned: failure
  type: bool
queries:
  description: The statements run, on both sides, and PgBouncer's admin commands.
  returned: always
  type: list
  elements: str
steps_done:
  description:
    - The steps that completed - stream_check (the stream is still there once the lease is held), pool_mode,
      subscriber_commit, large_objects_before_pause, rehearsal (the paused steps in check mode, nobody paused yet),
      transactions, pause, fence,
      disconnect (session pooling), catch_up, sequences, large_objects_scan, large_objects, snapshot, reverse_publisher,
      reverse_subscriber, unfence_target, switch, stop_replication (the apply stopped), resume, drop_subscription.
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
  description: Whether the cutover is done (the stream stopped); a failure after that is not undone.
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
large_objects:
  description: What the sync inside the pause did (as M(pgferry.migrate.large_objects) returns it).
  returned: with O(large_objects)
  type: dict
pause_ms:
  description: Milliseconds from C(PAUSE) to the end of C(RESUME) - how long clients waited.
  returned: with O(pgbouncer)
  type: int
timings_ms:
  description: Milliseconds per step.
  returned: always
  type: dict
pgbouncer:
  description:
    - How PgBouncer ran the database before the pause - C(version), C(pool_mode) and C(pool_mode_from),
      C(pool_modes_in_use), C(clients), C(session_clients) - and C(plan), what the cutover does to clients in that mode.
  returned: with O(pgbouncer)
  type: dict
transactions:
  description: C(waited_ms) for long transactions to end before the pause; C(hidden), client sessions the agent's role
    may not see (it needs pg_read_all_stats).
  returned: with O(pgbouncer)
  type: dict
clients_disconnected:
  description: Session pooling - client connections ended at the fence (each saw one error and reconnected).
  returned: in session pooling with clients
  type: int
transactions_interrupted:
  description: Client transactions that were open when the fence ended their sessions (rolled back).
  returned: success
  type: int
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
    source_connection_body,
)
from ansible_collections.pgferry.migrate.plugins.module_utils.lease import Lease, LeaseBusy
from ansible_collections.pgferry.migrate.plugins.module_utils.large_objects import scan as scan_large_objects
from ansible_collections.pgferry.migrate.plugins.module_utils.large_objects import sync as sync_large_objects
from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import (
    PauseTimedOut,
    PgBouncer,
    PgBouncerError,
    pgbouncer_argument_spec,
    quote_name,
)

# PAUSE attempts when a transaction through PgBouncer holds one past pause_timeout (each costs clients that much).
PAUSE_ATTEMPTS = 3


def at_once(*calls):
    """Each call in a thread of its own; their results in order, or the first call's (in order) exception."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def describe_transaction(t, pooled):
    """pid 123 through PgBouncer (user app, application web, client 10.0.0.5:4567, idle in transaction for 42 s)"""
    return 'pid %s %s (user %s, application %s, client %s, %s for %d s)' % (
        t['pid'], 'through PgBouncer' if pooled else 'not through PgBouncer', t.get('user') or '?',
        t.get('application') or '-', t.get('client') or '?', t.get('state') or '?', t.get('seconds') or 0)


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
        self.session = False  # session pooling with clients: PAUSE is not waited for before the fence
        self.info = None
        self.secrets = [s for s in (self.p['password'], (self.p['connection'] or {}).get('password')) if s]
        self.large_objects_answer = None
        self.large_objects_scanned = None
        self.fenced_sequences = None

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
        # What the playbook read before this run held the lease may be stale: another run may have cut over (or rolled
        # back) meanwhile. Its stream gone, this run must change nothing - and the role's rescue must not undo it.
        facts = self.step('stream_check', lambda: self.target.get(self.path('lifecycle', dict(
            database=self.target_db))))
        if not ((facts.get(p['direction']) or {}).get('subscription') or {}).get('exists'):
            raise StepFailed('the %s stream of migration %s has no subscription in database %s any more: another run '
                             'cut over or rolled back meanwhile [changed_meanwhile]; nothing was done, read the '
                             'migration\'s state with pgferry.migrate.status' % (p['direction'], p['migration_id'],
                                                                                 self.target_db))
        if self.bouncer:
            # Before anything changes: how PgBouncer runs the database.
            self.step('pool_mode', self.read_pool_mode)
            result['pgbouncer'] = self.summary()
        # Before the pause, what does not have to be inside it. First the subscriber commits what it applies
        # synchronously, so the catch-up inside the pause is confirmed at once instead of after the subscriber's WAL
        # writer and apply worker wake (200-600 ms); it takes effect at its next transaction, well before the fence.
        self.step('subscriber_commit', lambda: self.target.put(self.path('catch-up'), dict(
            database=self.target_db, direction=p['direction'])))
        # Then the reverse stream's publication and role (nothing flows until the subscription's slot exists), and
        # whether the target carries a fence to lift.
        if p['reverse_replication']:
            self.step('reverse_publisher', lambda: self.target.put(self.path('reverse-replication'), dict(
                database=self.target_db, side='publisher', password=p['password'],
                replica_identities=p['replica_identities'])))
        self.step_name = 'check_target_fence'
        target_fenced = self.target.get(self.path('fence', dict(database=self.target_db))).get('fenced')
        if p['large_objects']:
            self.step('large_objects_before_pause', self.large_objects)
        self.step('rehearsal', self.rehearse)
        if self.bouncer:
            # The pause's PgBouncer commands get their psql logged in now, while nobody waits.
            name = quote_name(self.bouncer.database)
            self.bouncer.log_in_ahead('PAUSE %s' % name, 'RELOAD', 'RESUME %s' % name)
            # Right before the pause: no transaction that would hold it (and every client behind it).
            result['transactions'] = self.step('transactions', self.wait_for_transactions)
        paused_at = time.monotonic()
        if self.bouncer:
            self.step('pause', self.pause)
        # The fence reads the sequences too, in its own session: final once it stands, and one call less in the pause.
        fence_body = dict(database=self.source_db, sequences=True)
        fenced = self.step('fence', lambda: self.source.put(self.path('fence'), fence_body))
        fence = fenced.get('fence') or {}
        self.fenced_sequences = fence.pop('sequences', None)
        result['fence'] = fence
        result['transactions_interrupted'] = fence.get('interrupted', 0)
        if self.session:
            # The fence ended the server connections, so the PAUSE completes: every client was disconnected once and
            # its next query waits for the RESUME.
            self.step('disconnect', self.bouncer.pause_end)
            result['clients_disconnected'] = self.info['session_clients']
        body = dict(database=self.source_db, direction=p['direction'], timeout_seconds=p['catch_up_timeout'])
        if fence.get('lsn'):
            body['lsn'] = fence['lsn']
        # Sequences are final once the source is fenced (nextval is refused in a read-only transaction), so they are
        # copied while the target catches up.
        # The large objects' scans read both sides beside them (reads take no lock; the fenced source changes no more),
        # so only a sync that has something to write adds to the pause.
        lanes = [('catch_up', lambda: self.source.post(self.path('catch-up'), body)),
                 ('sequences', self.sequences)]
        if self.p['large_objects']:
            lanes.append(('large_objects_scan', self.scan_large_objects))
        caught = self.together(*lanes)[0]
        if self.p['large_objects']:
            self.step('large_objects', self.large_objects_after_fence)
        result['catch_up'] = dict((k, v) for k, v in caught.items() if k != 'queries')
        self.record_large_objects(result)
        # The snapshots, the reverse subscription and PgBouncer's switch at once: nothing reaches the source through
        # the reverse stream before the RESUME (the target gets no writes until then), so the snapshots see the same
        # data either way, and the switch only decides where clients go at the RESUME. The subscriber comes first in
        # the order, so when several fail it is the failure the undo sees; a switch done beside a failure is undone
        # like one done before it (the ini is pointed back). The stream is dropped only after all of them: a failure
        # before then leaves it running, and the undo puts clients back on a source still streaming to the target.
        parallel = ([('reverse_subscriber', self.reverse_subscriber)] if p['reverse_replication'] else []) + (
            [('snapshot', self.snapshots)] if p['snapshot'] else []) + (
            [('switch', self.switch)] if self.bouncer else [])
        if parallel:
            answers = dict(zip([name for name, dummy in parallel], self.together(*parallel)))
            if 'snapshot' in answers:
                result['snapshots'] = answers['snapshot']
        if target_fenced:
            self.step('unfence_target', lambda: self.target.delete(self.path('fence', dict(database=self.target_db))))
            self.target_was_fenced = True
        if p['stop_replication']:
            # Inside the pause the apply only stops: DISABLE and the tempered triggers back, one transaction, a
            # millisecond. The apply worker rereads its subscription before it applies another transaction, so nothing
            # arrives here after the commit - not even the reverse stream's changes coming back once clients write.
            # The DROP waits for the worker to exit and connects to the publisher to drop the slot (30-70 ms under
            # load, measured with tools/bench-cutover): after the RESUME.
            self.step('stop_replication', lambda: self.target.post(self.path('stop-replication'), dict(
                database=self.target_db, direction=p['direction'], drop=False)))
        if self.bouncer:
            self.step('resume', lambda: self.bouncer.within(p['resume_timeout'], self.bouncer.resume))
            result['pause_ms'] = int((time.monotonic() - paused_at) * 1000)
        if p['stop_replication']:
            self.step('drop_subscription', lambda: self.target.post(self.path('stop-replication'), dict(
                database=self.target_db, direction=p['direction'])))
        return result

    # ------------------------------------------------------------ PgBouncer, before and at the pause

    def read_pool_mode(self):
        self.info = self.bouncer.info()
        self.bouncer.refuse_session(self.info)
        self.session = PgBouncer.session_path(self.info)

    def summary(self):
        i = self.info
        return dict(version=i['version'], pool_mode=i['pool_mode'], pool_mode_from=i['pool_mode_from'],
                    pool_modes_in_use=i['pool_modes_in_use'], clients=i['clients'],
                    session_clients=i['session_clients'], plan=self.bouncer.plan(i))

    def wait_for_transactions(self):
        """Until no client transaction on the database is older than long_transaction, for at most transaction_wait:
        through PgBouncer such a transaction would hold PAUSE (every client queued behind it), directly the fence
        would end it. Nobody is paused while this waits; past the wait the cutover stops, nothing changed."""
        b = self.p['pgbouncer']
        started = time.monotonic()
        while True:
            read = self.source.get(self.path('transactions', dict(database=self.source_db)))
            long = [t for t in read.get('transactions') or [] if t['seconds'] >= b['long_transaction']]
            waited = int((time.monotonic() - started) * 1000)
            if not long:
                if read.get('hidden'):
                    self.m.warn('the agent of database %s may not see %d client session(s) of other roles (its role '
                                'lacks pg_read_all_stats): transactions in them were not waited for'
                                % (self.source_db, read['hidden']))
                return dict(waited_ms=waited, hidden=read.get('hidden', 0))
            if time.monotonic() - started >= b['transaction_wait']:
                break
            time.sleep(0.2)
        pooled = set(self.bouncer.info()['server_pids'])
        raise StepFailed(
            '%d transaction(s) on database %s have been open longer than long_transaction=%s s and did not end within '
            'transaction_wait=%s s, so nobody was paused and nothing changed: %s. Through PgBouncer such a transaction '
            'holds PAUSE and every client would queue behind it; a direct one would be ended by the fence. Let it '
            'finish, or end it (SELECT pg_terminate_backend(pid) on the server), then run the cutover again; or raise '
            'pgbouncer.transaction_wait (pgferry_pgbouncer_transaction_wait)'
            % (len(long), self.source_db, b['long_transaction'], b['transaction_wait'],
               '; '.join(describe_transaction(t, t['pid'] in pooled) for t in long)))

    def pause(self):
        """PAUSE. Session pooling with clients: not waited for (the fence ends the server connections, then the PAUSE
        completes). Otherwise waited for, pause_timeout at most - a transaction that began after the check may hold
        it: then it is taken back, the transaction waited for (nobody paused) and PAUSE tried again."""
        for attempt in range(1, PAUSE_ATTEMPTS + 1):
            self.bouncer.pause_begin(completes_soon=not self.session)
            if self.session:
                return
            try:
                return self.bouncer.pause_end()
            except PauseTimedOut as e:
                self.bouncer.within(self.p['resume_timeout'], self.bouncer.resume)
                if attempt == PAUSE_ATTEMPTS:
                    raise PgBouncerError('%s (taken back, %d attempts)' % (e, attempt))
                self.read_pool_mode()  # session-pooled clients may have connected since the first read
                if not self.session:
                    self.wait_for_transactions()

    def rehearse(self):
        """The paused steps once in check mode, nobody paused yet. A step that would be refused (a sequence missing on
        the target, the reverse subscription's publication gone) is refused now, with nothing changed. And each agent
        pays its first call of a step (its classes loaded, its JSON reader built: 10-50 ms on a fresh agent, measured
        with tools/bench-cutover) here instead of inside the pause."""
        p = self.p

        # The pause calls each agent two at a time (the catch-up beside the source's large objects' scan, the
        # sequences beside the target's): so does this, so each agent keeps two sessions idle for them instead of
        # logging one in inside the pause (docs/agent.md, "Sessions").
        def scan(client, db):
            return lambda: client.get(self.path('large-objects', dict(database=db, digests='false')))

        def source_side():
            self.source.put(self.path('fence'), dict(database=self.source_db, sequences=True, check=True))
            # Waiting for a position the stream passed long ago returns at once; it only reads.
            at_once(lambda: self.source.post(self.path('catch-up'), dict(
                database=self.source_db, direction=p['direction'], lsn='0/0',
                timeout_seconds=p['catch_up_timeout'])), *([scan(self.source, self.source_db)]
                                                           if p['large_objects'] else []))
            if p['reverse_replication']:
                self.reverse_subscriber(check=True)

        def target_side():
            values = self.source.get(self.path('sequences', dict(database=self.source_db)))['sequences']
            at_once(lambda: self.target.put(self.path('sequences'), dict(
                database=self.target_db, sequences=values, gap=p['gap'], check=True)),
                *([scan(self.target, self.target_db)] if p['large_objects'] else []))
            if p['stop_replication']:
                self.target.post(self.path('stop-replication'), dict(database=self.target_db,
                                                                     direction=p['direction'], drop=False, check=True))

        at_once(source_side, target_side)

    def sequences(self):
        values = self.fenced_sequences
        if values is None:
            values = self.source.get(self.path('sequences', dict(database=self.source_db)))['sequences']
        body = dict(database=self.target_db, sequences=values, gap=self.p['gap'])
        return self.target.put(self.path('sequences'), body)

    def large_objects(self):
        """Large objects created, changed or removed on the side clients leave since the last sync."""
        return sync_large_objects(self.source, self.target, self.path, self.source_db, self.target_db)

    def scan_large_objects(self):
        """Both sides' large objects after the fence, read beside the catch-up and the sequences."""
        self.large_objects_scanned = scan_large_objects(self.source, self.target, self.path, self.source_db,
                                                        self.target_db)

    def large_objects_after_fence(self):
        """The large objects written since the sync before the pause - final, like the sequences, once the source is
        fenced - from the scans already read: writes only when they found something, after the sequences' copy (one
        change per migration at a time on the target's agent)."""
        try:
            self.large_objects_answer = sync_large_objects(self.source, self.target, self.path, self.source_db,
                                                           self.target_db, scanned=self.large_objects_scanned)
        except StepFailed as e:
            raise StepFailed('large objects after the fence: %s' % e.msg)
        return self.large_objects_answer

    def record_large_objects(self, result):
        if self.large_objects_answer is not None:
            result['large_objects'] = self.large_objects_answer['large_objects']

    def snapshots(self):
        """Both sides at once (two agents, and the snapshot call takes no migration lock)."""
        def take(client, db):
            return client.post(self.path('verify/snapshot'), dict(database=db,
                                                                  hold_seconds=self.p['snapshot_hold_seconds']))
        s, t = at_once(lambda: take(self.source, self.source_db), lambda: take(self.target, self.target_db))
        return dict(source=s['snapshot'], target=t['snapshot'])

    def reverse_subscriber(self, check=False):
        conn = source_connection_body(self.p)
        return self.source.put(self.path('reverse-replication'), dict(database=self.source_db, side='subscriber',
                                                                      connection=conn, check=check))

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
            self.drop_reverse_subscription(undone, errors)
        if self.target_was_fenced:
            attempt('target fenced again', lambda: self.target.put(self.path('fence'), dict(database=self.target_db)))
        if 'fence' in done or failed == 'fence':
            attempt('fence lifted', lambda: self.source.delete(self.path('fence', dict(database=self.source_db))))
        if self.bouncer and ('pause' in done or failed == 'pause'):
            self.bouncer.abort_pause()
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
        if 'subscriber_commit' in done:
            # The stream goes on: applied at full speed again, and enabled again if stop_replication disabled it
            # without this run hearing back. Last, so it never holds clients back; a failure costs apply speed, or
            # leaves the stream stopped with its slot keeping the WAL (the lifecycle then reads copying, and
            # migrate enables it): a warning, not an undo error - clients are safe on the source.
            try:
                self.target.delete(self.path('catch-up', dict(database=self.target_db, direction=self.p['direction'])))
                undone.append('subscriber back to asynchronous commit')
            except (StepFailed, PgBouncerError) as e:
                self.m.warn('the subscription of database %s still commits synchronously (it applies more slowly '
                            'until the next cutover drops it)%s: %s' % (
                                self.target_db, ', and may be disabled: pgferry.migrate.migrate enables it'
                                if self.step_name == 'stop_replication' else '', getattr(e, 'msg', None) or e))
        return undone, errors

    def drop_reverse_subscription(self, undone, errors):
        """Its slot is on the target: with the target out of the source's reach, the subscription stays, disabled, so
        no change flows back once the link returns; the next cutover makes it again, cleanup drops both."""
        try:
            self.source.post(self.path('stop-replication'), dict(database=self.source_db, direction='reverse',
                                                                 if_unreachable='disable'))
            undone.append('reverse subscription dropped')
        except StepFailed as e:
            if '[publisher_unreachable]' in e.msg:
                undone.append('reverse subscription disabled (the source cannot reach the target to drop its slot; '
                              'the next cutover makes both again, cleanup drops both)')
            else:
                errors.append('reverse subscription dropped: %s' % e.msg)

    def switch_back(self):
        self.bouncer.point('source')
        self.bouncer.within(self.p['resume_timeout'], self.bouncer.reload)


def words(p):
    """(the playbook, the side clients go to, the side the stream's slot is on, the stream's subscription)."""
    if p['direction'] == 'forward':
        return 'cutover', 'target', 'source', 'pgferry_%s' % p['migration_id']
    return 'rollback', 'old source', 'target', 'pgferry_%s_reverse' % p['migration_id']


def planned(module):
    """Check mode: the steps in order - the agents' own SQL where a step can be asked for it without the ones before
    it having run (fence, stop replication), a comment for the others."""
    p = module.params
    name = quote_name(p['pgbouncer']['database']) if p['pgbouncer'] else None
    target_db = p['target_database'] or p['database']
    out = list(peer_client(module).put(migration_path(module, 'catch-up'), dict(
        database=target_db, direction=p['direction'], check=True)).get('queries') or [])
    session = False
    if name:
        bouncer = PgBouncer(p['pgbouncer'])
        info = bouncer.info()
        session = PgBouncer.session_path(info)
        out.append('-- %s' % bouncer.plan(info))
        out.append('-- wait (at most %s s) until no transaction on the database is older than %s s'
                   % (p['pgbouncer']['transaction_wait'], p['pgbouncer']['long_transaction']))
    if p['reverse_replication']:
        out.append('-- reverse stream: role and publication pgferry_%s_reverse on the target' % p['migration_id'])
    if p['large_objects']:
        out.append('-- large objects new, changed or removed since the last sync, copied to the target')
    if name:
        out.append('PAUSE %s%s' % (name, ' -- not waited for: the fence ends the server connections' if session
                                   else ''))
    out.extend(AgentClient(module).put(migration_path(module, 'fence'),
                                       dict(database=p['database'], check=True)).get('queries') or [])
    if session:
        out.append('-- PAUSE completes: every client connection of the database was ended once')
    out.append('-- wait until the target has applied everything up to the fence (at most %d s)' % p['catch_up_timeout'])
    out.append('-- setval of every sequence on the target (gap %d)' % p['gap'])
    if p['large_objects']:
        out.append('-- large objects written since the sync before the pause, copied to the target')
    if p['snapshot']:
        out.append('-- a REPEATABLE READ snapshot exported and held on each side')
    if p['reverse_replication']:
        out.append('-- reverse stream: subscription pgferry_%s_reverse on the source (copy_data = false)'
                   % p['migration_id'])
    out.append('-- lift a fence left on the target, if any')
    if name:
        out.extend(['WRITE ini', 'RELOAD'])
    stop = []
    if p['stop_replication']:
        stop = peer_client(module).post(migration_path(module, 'stop-replication'), dict(
            database=target_db, direction=p['direction'], drop=False, check=True)).get('queries') or []
        out.extend(stop)
    if name:
        out.append('RESUME %s' % name)
    if p['stop_replication']:
        out.extend(q for q in peer_client(module).post(migration_path(module, 'stop-replication'), dict(
            database=target_db, direction=p['direction'], check=True)).get('queries') or [] if q not in stop)
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
        large_objects=dict(type='bool', default=False),
        resume_timeout=dict(type='int', default=30), password=dict(type='str', no_log=True),
        lease_ttl=dict(type='int', default=15), lease_wait=dict(type='int', default=30),
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
        try:
            queries = planned(module)
        except PgBouncerError as e:
            module.fail_json(msg=str(e), steps_done=[], complete=False)
        module.exit_json(changed=True, steps_done=[], timings_ms={}, complete=False, queries=queries)

    fail_json = module.fail_json

    def raise_step_failed(msg, **kwargs):
        raise StepFailed(msg)

    module.fail_json = raise_step_failed  # agent errors come back here, to be undone
    cut = Cutover(module)
    # Before anything: the migration's lease on both agents, so no other run changes it until this one has ended
    # (its undo included). Another run holding it: nothing was done, and the caller reports the migration busy.
    lease = Lease([cut.source, cut.target], cut.path, ttl=p['lease_ttl'], wait=p['lease_wait'])
    try:
        lease.take()
    except (LeaseBusy, StepFailed) as e:
        busy = isinstance(e, LeaseBusy)
        fail_json(msg='%s; nothing was done' % e.msg, busy=busy, status=409 if busy else None,
                  code='migration_leased' if busy else None, steps_done=[], complete=False, timings_ms={},
                  queries=[])
    try:
        try:
            result = cut.run()
        except StepFailed as e:
            complete = 'stop_replication' in cut.done
            undone, errors = ([], []) if complete else cut.undo()
            what, to, slot_on, subscription = words(p)
            if complete and 'resume' in cut.done:
                msg = ('%s failed: %s. The %s itself is complete and clients run on the %s; only the stopped stream is '
                       'left - its subscription %s and its slot on the %s, which holds WAL there. Rerun '
                       'pgferry.migrate.%s once that is fixed (or cleanup): it drops both'
                       % (cut.step_name, e.msg, what, to, subscription, slot_on, what))
            elif complete:
                msg = ('%s failed: %s. The %s itself is complete (the stream is stopped, PgBouncer points at the %s); '
                       'clients stay paused until RESUME %s works on its admin console, or pgferry.migrate.%s resumes '
                       'them (and drops the stopped stream)'
                       % (cut.step_name, e.msg, what, to, p['pgbouncer']['database'], what))
            else:
                msg = '%s failed: %s. Undone: %s%s' % (
                    cut.step_name, e.msg, ', '.join(undone) or 'nothing was changed',
                    ('; COULD NOT UNDO: ' + '; '.join(errors)) if errors else '')
            lease.release()
            fail_json(msg=msg, steps_done=cut.done, failed_step=cut.step_name, undone=undone, undo_errors=errors,
                      complete=complete, timings_ms=cut.timings, queries=cut.all_queries())
        lease.release()
        if lease.lost:
            module.warn('the migration\'s lease was lost during the cutover (%s): another run may have changed it '
                        'meanwhile; read its state with pgferry.migrate.status' % lease.lost)
        module.exit_json(steps_done=cut.done, timings_ms=cut.timings, complete='stop_replication' in cut.done,
                         queries=cut.all_queries(),
                         **result)
    finally:
        if cut.bouncer:
            cut.bouncer.discard_ahead()
        lease.release()  # idempotent; here for what ends the module otherwise (it would lapse within lease_ttl)


if __name__ == '__main__':
    main()
