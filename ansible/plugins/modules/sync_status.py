#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: sync_status
short_description: Read, or wait for, the initial copy and the lag of a migration's subscription
version_added: 0.1.0
description:
  - Calls the target agent's C(GET /v1/migrations/{m}/sync-status) and returns the subscription's state and every
    table's copy state.
  - With O(wait=true), polls until the subscription is in sync, that is every table is ready (C(srsubstate = r)) and
    the apply lag is at most O(max_lag_seconds), and fails after O(wait_timeout) seconds with the tables that are not
    ready yet and their states. The agent holds each poll up to O(poll_interval) seconds (C(?wait=N)) and answers as
    soon as every table is ready, so the wait ends as the copy does, not at the next poll; while every table is ready
    but the lag is not yet small, the pauses begin at a quarter of a second and double up to O(poll_interval).
  - Once every table is ready, with O(source_agent) given and O(row_counts=true), the copy proves itself - every
    table's rows are counted on the source and on the target at one point and compared (the source's own inserts and
    deletes between the two snapshots bound any difference; docs/design.md, "The copy proves itself"). A table that
    holds fewer or more rows than the source fails the module with the table named, so RV(synced) is never true for
    a short copy. The comparison first waits, at most 25 seconds at a time (within the client's timeout), for the
    subscriber to apply everything the source's first snapshot sees; one that does not (it lags, or its apply worker
    keeps failing) sends the module back to its polls, which then fail as below or wait on.
  - With O(wait=true) the module's action plugin prints a line every O(progress_interval) seconds while it waits
    (tables ready, bytes copied, percent, ETA, lag), as AWX's job output shows them. Each poll is also recorded in
    RV(history) (elapsed seconds, tables ready, percent, lag).
  - While it waits, a subscription whose workers keep failing (PostgreSQL 15 and later count their errors; it starts a
    failed worker again every few seconds, forever) fails the module once they failed three times more than when the
    wait began, with the apply worker's last error from the server log (when the agent may read it), instead of
    waiting out O(wait_timeout).
  - Reads only; never changes anything.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.progress
options:
  wait:
    description:
      - Wait until the subscription is in sync.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait when O(wait=true). The module fails when the subscription is not in sync by then.
    type: int
    default: 3600
  poll_interval:
    description:
      - The longest wait of one poll in seconds when O(wait=true) - the agent answers sooner once every table is
        ready - and the longest pause between two polls while the lag is not yet small.
    type: float
    default: 5.0
  worker_errors_before:
    description:
      - The subscription's worker errors (apply and table sync) when the wait began; absent, the first poll's count.
        The action plugin passes it from one slice of the wait to the next.
    type: int
  max_lag_seconds:
    description:
      - Largest apply lag, in seconds, that counts as in sync - while bytes are pending (O(source_agent)); an idle
        stream's seconds only grow between the source's keepalives, so with nothing pending it is in sync whatever they
        say.
      - A lag the agent cannot measure (no message received yet) does not count as in sync.
    type: float
    default: 10.0
  source_agent:
    description:
      - The source's agent, which counts the source's rows and whose slot says how many bytes the target has not
        confirmed yet (RV(lag_bytes)) (keys as O(agent) - C(url), C(token), defaulting to the target agent's,
        C(ca_path), C(validate_certs)). Without it the rows are not compared and the lag is the apply worker's seconds
        only.
    type: dict
    suboptions:
      url:
        description: Base URL of the source's agent.
        type: str
        required: true
      token:
        description: Its bearer token.
        type: str
      ca_path:
        description: PEM file with the CA certificate(s) of that agent.
        type: path
      validate_certs:
        description: Whether to verify its TLS certificate (default true).
        type: bool
  source_database:
    description: The database on the source. Defaults to O(database).
    type: str
  row_counts:
    description: Compare every table's rows on both sides once the copy is done (needs O(source_agent)).
    type: bool
    default: true
  row_counts_timeout:
    description: Seconds the comparison may take (it measures again while a difference might be writes in flight).
    type: int
    default: 180
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode, since it only reads.
'''

EXAMPLES = r'''
- name: Wait for the initial copy, up to two hours, polling every 10 s
  pgferry.migrate.sync_status:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    wait: true
    wait_timeout: 7200
    poll_interval: 10
  register: sync

- name: Show how the copy went
  ansible.builtin.debug:
    msg: "{{ sync.history | map(attribute='percent') | list }}"

- name: Or watch it live, one poll per retry
  pgferry.migrate.sync_status:
    agent_url: https://db2.example.com:8443
    migration_id: app
    database: app
  register: sync
  until: sync.synced
  retries: 720
  delay: 10
'''

RETURN = r'''
queries:
  description: Always empty; the module only reads.
  returned: always
  type: list
  elements: str
  sample: []
synced:
  description: Whether every table is ready and the lag is at most O(max_lag_seconds).
  returned: always
  type: bool
  sample: true
subscription:
  description:
    - The subscription as the agent reports it (C(exists), C(enabled), C(pid), C(received_lsn), C(latest_end_lsn),
      C(last_msg_receipt_time), C(lag_seconds)).
  returned: always
  type: dict
  sample: {"exists": true, "enabled": true, "pid": 4242, "lag_seconds": 0.4}
tables:
  description:
    - Every table of the subscription with its copy state (C(schema), C(name), C(state), C(state_name),
      C(bytes_processed), C(bytes_total), C(tuples_processed)).
  returned: always
  type: list
  elements: dict
  sample: [{"schema": "included", "name": "orders", "state": "r", "state_name": "ready"}]
ready:
  description: Number of tables ready.
  returned: always
  type: int
  sample: 2
total:
  description: Number of tables of the subscription.
  returned: always
  type: int
  sample: 2
percent:
  description: Copy progress as the agent computes it.
  returned: always
  type: float
  sample: 100.0
lag_bytes:
  description: WAL the target has not confirmed (the source's slot), with O(source_agent); null without.
  returned: always
  type: int
history:
  description: One entry per poll, oldest first (at most the first 10 and the last 490 when there were more).
  returned: always
  type: list
  elements: dict
  sample: [{"elapsed_seconds": 0.0, "ready": 0, "total": 2, "percent": 12.5, "lag_seconds": null}]
row_counts:
  description:
    - The comparison of the rows (C(proven), C(tables) - each with C(source_rows), C(target_rows), C(status) equal,
      within_changes, differ or missing, and the source's C(inserts) and C(deletes) between the two snapshots -,
      C(differing), C(attempts), C(seconds)); or C(proven) false and C(subscriber_behind), the source agent's words,
      when the subscriber did not apply up to the source's snapshot within the comparison's wait.
  returned: when the copy is done and O(source_agent) is given
  type: dict
timed_out:
  description: Set, with the module failed, when O(wait_timeout) passed before the subscription was in sync.
  returned: on a failure by timeout
  type: bool
  sample: true
errors:
  description:
    - The subscription's worker errors so far (C(apply), C(sync)) and C(last_apply_error), the apply worker's last
      error from the server log with the change it was applying (or why it is not known); null before PostgreSQL 15.
  returned: always
  type: dict
  sample: {"apply": 4, "sync": 0, "last_apply_error": "permission denied for table events_2025_a (processing ...)"}
worker_errors_before:
  description: The worker error count the wait compares with (see O(worker_errors_before)).
  returned: always
  type: int
waited_seconds:
  description: Seconds spent polling.
  returned: always
  type: float
  sample: 42.5
'''

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    held,
    migration_argument_spec,
    migration_path,
    poll_pauses,
)
from ansible_collections.pgferry.migrate.plugins.module_utils.row_counts import (
    describe as describe_rows,
    prove,
    source_argument_spec,
    SubscriberBehind,
    source_client,
)

HISTORY_HEAD = 10
HISTORY_MAX = 500
# The shortest time between two polls: a held one is answered early only when something changed.
FIRST_PAUSE = 0.25
# PostgreSQL starts a failed worker again every wal_retrieve_retry_interval (5 s by default), forever: this many new
# errors during one wait is a stream that does not move, not a hiccup.
FAILING_WORKER_ERRORS = 3


def is_synced(status, max_lag, lag_bytes=None):
    """Every table ready, and nothing pending - or, while bytes are pending, the apply lag within max_lag."""
    sub = status.get('subscription') or {}
    tables = status.get('tables') or []
    if not sub.get('exists') or not tables:
        return False
    if any(t.get('state') != 'r' for t in tables):
        return False
    if lag_bytes == 0:
        return True
    lag = sub.get('lag_seconds')
    return lag is not None and lag <= max_lag


def source_lag_bytes(module, client, database):
    """The source slot's unconfirmed bytes, or None when it cannot be read (the poll goes on without it)."""
    saved = module.fail_json

    def raise_instead(msg, **kwargs):
        raise RuntimeError(msg)

    module.fail_json = raise_instead
    try:
        facts = client.get(migration_path(module, 'lifecycle', dict(database=database))) or {}
    except RuntimeError:
        return None
    finally:
        module.fail_json = saved
    return ((facts.get('forward') or {}).get('slot') or {}).get('lag_bytes')


def describe(status):
    tables = status.get('tables') or []
    waiting = ['%s.%s: %s' % (t.get('schema'), t.get('name'), t.get('state_name') or t.get('state'))
               for t in tables if t.get('state') != 'r']
    lag = (status.get('subscription') or {}).get('lag_seconds')
    text = '%s of %s tables ready, lag %s s' % (
        status.get('ready', '?'), status.get('total', '?'), 'unknown' if lag is None else lag)
    if waiting:
        text += '; not ready: ' + ', '.join(waiting)
    return text


def worker_errors(status):
    """The subscription's apply and table sync errors so far (PostgreSQL 15+), None before."""
    errors = status.get('errors')
    return None if errors is None else (errors.get('apply') or 0) + (errors.get('sync') or 0)


def failing_workers_message(migration_id, grown, status):
    errors = status.get('errors') or {}
    return ('subscription pgferry_%s: its workers failed %d times while this waited, and PostgreSQL starts them again '
            'and again - the stream does not move (%s). Last error of the apply worker: %s. Fix the cause (the '
            "target's log has every error; pgferry.migrate.status shows the subscription), then rerun: the migration "
            'goes on from where it is' % (migration_id, grown, describe(status),
                                          errors.get('last_apply_error') or 'none (the table sync workers failed)'))


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec())
    argument_spec.update(
        wait=dict(type='bool', default=False),
        wait_timeout=dict(type='int', default=3600),
        poll_interval=dict(type='float', default=5.0),
        max_lag_seconds=dict(type='float', default=10.0),
        row_counts=dict(type='bool', default=True),
        row_counts_timeout=dict(type='int', default=180),
        progress_interval=dict(type='float', default=30.0),
        worker_errors_before=dict(type='int'),
    )
    argument_spec.update(source_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)
    path = migration_path(module, 'sync-status', dict(database=p['database']))
    source = source_client(module, AgentClient) if p['source_agent'] else None

    history = []
    started = time.monotonic()
    pauses = poll_pauses(p['poll_interval'], first=FIRST_PAUSE)
    # Each poll held by the agent until every table is ready (or another milestone), within the client's timeout.
    hold = client.hold_seconds(p['poll_interval']) if p['wait'] else 0
    errors_at_start = p['worker_errors_before']
    while True:
        asked = time.monotonic()
        seconds = min(hold, int(p['wait_timeout'] - (asked - started)))
        status = client.get(held(path, seconds) if seconds > 0 else path) or {}
        took = time.monotonic() - asked
        errors_now = worker_errors(status)
        if errors_at_start is None:
            errors_at_start = errors_now
        lag_bytes = source_lag_bytes(module, source, p['source_database'] or p['database']) if source else None
        elapsed = round(time.monotonic() - started, 1)
        history.append(dict(elapsed_seconds=elapsed, ready=status.get('ready'), total=status.get('total'),
                            percent=status.get('percent'), lag_bytes=lag_bytes,
                            lag_seconds=(status.get('subscription') or {}).get('lag_seconds')))
        if len(history) > HISTORY_MAX:
            del history[HISTORY_HEAD]
        synced = is_synced(status, p['max_lag_seconds'], lag_bytes)
        result = dict(changed=False, queries=[], synced=synced, subscription=status.get('subscription') or {},
                      tables=status.get('tables') or [], ready=status.get('ready'), total=status.get('total'),
                      percent=status.get('percent'), lag_bytes=lag_bytes, history=history, waited_seconds=elapsed,
                      errors=status.get('errors'), worker_errors_before=errors_at_start)
        if synced and p['row_counts'] and source:
            try:
                proof = prove(source, client, lambda step: migration_path(module, step),
                              p['source_database'] or p['database'], p['database'], timeout=p['row_counts_timeout'])
            except SubscriberBehind as behind:
                # Not in sync after all: the polls go on, and a failing apply worker is named by them.
                synced = result['synced'] = False
                result['row_counts'] = dict(proven=False, subscriber_behind=str(behind))
                elapsed = result['waited_seconds'] = round(time.monotonic() - started, 1)
            else:
                result['row_counts'] = proof
                if not proof['proven']:
                    result['synced'] = False
                    module.fail_json(msg='subscription pgferry_%s: every table is ready, but the copy is not complete '
                                         '- the rows differ: %s. The migration stops here: find why (row-level '
                                         'security, rows changed on the target, a table truncated or filtered), fix '
                                         'it, and copy those tables again'
                                         % (p['migration_id'], describe_rows(proof['differing'])), **result)
        if not p['wait'] or synced:
            module.exit_json(**result)
        if not result['subscription'].get('exists'):
            module.fail_json(msg='subscription pgferry_%s does not exist in database %s: nothing to wait for '
                                 '(run pgferry.migrate.subscription first)' % (p['migration_id'], p['database']),
                             **result)
        grown = (errors_now or 0) - (errors_at_start or 0)
        if grown >= FAILING_WORKER_ERRORS:
            module.fail_json(msg=failing_workers_message(p['migration_id'], grown, status), **result)
        if elapsed >= p['wait_timeout']:
            behind = (result.get('row_counts') or {}).get('subscriber_behind')
            module.fail_json(msg='subscription pgferry_%s not in sync after %ss: %s'
                                 % (p['migration_id'], p['wait_timeout'], behind or describe(status)), timed_out=True,
                             **result)
        # While tables are not ready the held poll is the wait (a quarter of a second at least between two, should an
        # answer come back early); once they are, the lag is waited for with pauses that double.
        pause = next(pauses) if status.get('all_ready') else FIRST_PAUSE
        time.sleep(min(max(pause - took, 0), max(p['wait_timeout'] - elapsed, 0.1)))


if __name__ == '__main__':
    main()
