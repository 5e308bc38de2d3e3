# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The copy proves itself: every table's rows counted on the source and on the target at one point, while the source
takes writes (docs/design.md, "The copy proves itself"). Used by sync_status (after the initial copy) and ready_check
(before the cutover's pause).

One measurement: the source agent takes and holds snapshot S1, with the WAL position read inside it, and waits until
the target has applied everything up to that position; the target agent then takes and holds snapshot T, and the
source agent snapshot S2. A target that holds every row is, in T, the source as of some point between S1 and S2 - a few
round trips apart. For a table with a key, the rows S2 sees that S1 did not (their inserting transaction is not visible
in S1: new keys, new versions of updated ones) and the rows of S1 gone by S2 (deleted; found among the rows whose xmax
S1 did not see) are the only ones that may differ: every other key of S1 must be on the target, exactly - so a table
short of even one row is found however busy it is. Without a key, the count must lie in [c1 - D, c1 + I] (I and D the
rows in S2 and not S1, and in S1 and not S2). A shortfall is measured again and reported, with the table named, if it
persists over `attempts` measurements. More rows than that range allows may be rows both inserted and deleted between
S1 and S2 (seen by neither): the table's insert counter is given `settle` seconds to cover them before that is reported
too. When S1 and S2 are the same snapshot (pg_current_snapshot(): nothing ended or began writing between them), the
source held the same rows throughout, and a plain count on each side must be equal.
"""

from __future__ import annotations

import json
import time

from concurrent.futures import ThreadPoolExecutor

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import _connection_options

# pg_stat_all_tables lags the commits it counts: a backend flushes its counters at most once a second, and one that
# falls idle right after a commit only after 10 s (PostgreSQL 15+; 14 sends them every 0.5 s while busy).
SETTLE_SECONDS = 11
ATTEMPTS = 3


class SubscriberBehind(Exception):
    """The subscriber did not apply up to S1's position within one wait: it lags, or its apply worker keeps failing.
    The agent's own words (504 catch_up_timeout) are the message."""


def _key(t):
    return (t['schema'], t['name'])


def _table(k):
    return dict(schema=k[0], name=k[1])


def quoted(schema, name):
    return '"%s"."%s"' % (schema.replace('"', '""'), name.replace('"', '""'))


def _at_once(*calls):
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(call) for call in calls]
        return [f.result() for f in futures]


def _keyset(keys):
    return dict((json.dumps(k, sort_keys=True), k) for k in keys or [])


def _lookup(client, path, db, snapshot, wanted):
    """{table key: set of canonical keys found} for {table key: [keys]}, in a held snapshot."""
    if not wanted:
        return {}
    answer = client.post(path('row-counts/lookup'), dict(database=db, snapshot=snapshot, release=False, tables=[
        dict(_table(k), keys=keys) for k, keys in wanted.items()]))
    return dict((_key(t), set(_keyset(t['found']))) for t in answer['tables'])


def measure(source, target, path, source_db, target_db, keys, timeout):
    """One measurement of the tables `keys` (None: the manifest's); returns ({key: entry}, counters before S1)."""
    # The agent holds S1 while it waits for the subscriber: within the client's own timeout, past which the client
    # would give up first ("no answer from the agent") and the agent wait on, a snapshot held, for nothing.
    body = dict(database=source_db, wait_for_subscriber=True, timeout_seconds=source.hold_seconds(timeout))
    if keys is not None:
        body['tables'] = [_table(k) for k in keys]
    status, s1 = source.post(path('row-counts/snapshot'), body, accept_status=(504,))
    if status == 504:
        # The agent let S1 go; nothing is held.
        raise SubscriberBehind((s1 or {}).get('detail') or 'the subscriber did not apply up to the source\'s position')
    held = [(source, s1['snapshot'])]
    done = False
    try:
        tables = [_table(_key(c)) for c in s1['changes']]
        t = target.post(path('row-counts/snapshot'), dict(database=target_db, tables=tables))
        held.append((target, t['snapshot']))
        s2 = source.post(path('row-counts/snapshot'), dict(database=source_db, tables=tables))
        held.append((source, s2['snapshot']))
        if s1.get('visible') is not None and s1['visible'] == s2.get('visible'):
            # The same pg_current_snapshot() in S1 and S2: no transaction ended and none was given an id between
            # them, so the source holds the same rows in both, and the target in T exactly those. A plain count on
            # each side proves it (an idle source: a scheduled fleet's quiet databases, a maintenance window).
            c1, ct = _at_once(
                lambda: source.post(path('row-counts'), dict(database=source_db, tables=tables,
                                                             snapshot=s1['snapshot'], release=False)),
                lambda: target.post(path('row-counts'), dict(database=target_db, tables=tables,
                                                             snapshot=t['snapshot'], release=False)))
            c2 = dict(tables=[dict(r, inserted_since=0) for r in c1['tables']])
        else:
            c1, ct, c2 = _measure_changes(source, target, path, source_db, target_db, tables, s1, t, s2)
        on_target = dict((_key(r), r.get('rows')) for r in ct['tables'])
        after = dict((_key(r), r) for r in c2['tables'])
        entries, keyed = {}, {}
        for r in c1['tables']:
            k = _key(r)
            e = entries[k] = dict(schema=k[0], name=k[1], source_rows=r.get('rows'), target_rows=on_target.get(k),
                                  inserts=0, deletes=0, lsn=s1['lsn'])
            a = after[k]
            if e['source_rows'] is None or e['target_rows'] is None:
                e['status'] = 'missing'
                continue
            e['inserts'] = a['inserted_since']
            e['deletes'] = a['inserted_since'] + r['rows'] - a['rows']
            if e['inserts'] == 0 and e['deletes'] == 0 and e['target_rows'] == e['source_rows']:
                e['status'] = 'equal'
            elif a.get('new_keys') is not None and r.get('touched_keys') is not None:
                keyed[k] = (_keyset(a['new_keys']), _keyset(r['touched_keys']))
            else:
                e['status'] = ('short' if e['target_rows'] < e['source_rows'] - e['deletes']
                               else 'long' if e['target_rows'] > e['source_rows'] + e['inserts'] else 'within_changes')
        if keyed:
            in_s1, in_s2 = _at_once(
                lambda: _lookup(source, path, source_db, s1['snapshot'],
                                dict((k, list(new.values())) for k, (new, touched) in keyed.items() if new)),
                lambda: _lookup(source, path, source_db, s2['snapshot'],
                                dict((k, list(touched.values())) for k, (new, touched) in keyed.items() if touched)))
            window = {}
            for k, (new, touched) in keyed.items():
                gone = dict((c, v) for c, v in touched.items() if c not in in_s2.get(k, set()))
                entries[k]['rewritten'] = len(in_s1.get(k, set()))
                entries[k]['gone'] = len(gone)
                window[k] = dict(new, **gone)
            on_t = _lookup(target, path, target_db, t['snapshot'],
                           dict((k, list(v.values())) for k, v in window.items() if v))
            for k in keyed:
                e = entries[k]
                e['window_keys'], e['window_on_target'] = len(window[k]), len(on_t.get(k, set()))
                over = _stable_over(e)
                e['status'] = 'short' if over < 0 else 'long' if over > 0 else 'equal'
        done = True
        return entries, dict((_key(c), c) for c in s1['changes'])
    finally:
        # After a failure the module has already answered: the agents let the snapshots go at hold_seconds.
        if done:
            for client, snapshot in held:
                client.delete(path('row-counts/snapshot') + '?snapshot=' + snapshot)


def _measure_changes(source, target, path, source_db, target_db, tables, s1, t, s2):
    """The three counts of a source that changed between S1 and S2."""
    since = dict(since=s1['visible'], keys=True, release=False)
    # S1 needs only the keys of rows touched after it, S2 only the rows inserted after S1: each half is a third
    # of a count's cost per table.
    return _at_once(
        lambda: source.post(path('row-counts'), dict(since, database=source_db, tables=tables,
                                                     snapshot=s1['snapshot'], changes='touched')),
        lambda: target.post(path('row-counts'), dict(database=target_db, tables=tables, snapshot=t['snapshot'],
                                                     release=False)),
        lambda: source.post(path('row-counts'), dict(since, database=source_db, tables=tables,
                                                     snapshot=s2['snapshot'], changes='inserted')))


def _stable_over(e):
    """Keyed: rows the target holds outside the keys S1 and S2 disagree on, minus those S1 holds there."""
    return e['target_rows'] - e['window_on_target'] - (e['source_rows'] - e['gone'] - e['rewritten'])


def prove(source, target, path, source_db, target_db, timeout=180, settle=SETTLE_SECONDS, attempts=ATTEMPTS,
          sleep=time.sleep, clock=time.monotonic):
    """Compare every table of the migration; returns dict(proven, tables, differing, attempts, seconds).

    source, target: AgentClient of each side; path(step) the migration's path for a step. A table missing on the
    target, or whose rows stay out of range over `attempts` measurements (or `timeout` seconds), is in `differing`.
    """
    started = clock()
    results = {}
    keys = None
    attempt = 0
    while True:
        attempt += 1
        entries, before = measure(source, target, path, source_db, target_db, keys, timeout)
        for e in entries.values():
            e['attempt'] = attempt
        long_ = [k for k, e in entries.items() if e['status'] == 'long']
        measured = clock()
        while long_ and clock() - measured < settle:
            sleep(1)
            now = source.post(path('row-counts/changes'), dict(database=source_db, tables=[_table(k) for k in long_]))
            for c in now['tables']:
                e = entries[_key(c)]
                inserted = c['inserts'] - before[_key(c)]['inserts']
                if 'window_keys' in e:
                    # keyed: rows inserted and deleted again between the snapshots, which neither saw
                    if _stable_over(e) <= inserted:
                        e['status'] = 'within_changes'
                elif e['target_rows'] <= e['source_rows'] + max(e['inserts'], inserted):
                    e['status'], e['inserts'] = 'within_changes', max(e['inserts'], inserted)
            long_ = [k for k in long_ if entries[k]['status'] == 'long']
        results.update(entries)
        keys = [k for k, e in entries.items() if e['status'] in ('short', 'long')]
        if not keys or attempt >= attempts or clock() - started >= timeout:
            break
    tables = [results[k] for k in sorted(results)]
    bad = [t for t in tables if t['status'] in ('short', 'long', 'missing')]
    return dict(proven=not bad, tables=tables, differing=bad, attempts=attempt, seconds=round(clock() - started, 1))


def describe(differing):
    """One sentence per table that differs."""
    out = []
    for t in differing:
        name = quoted(t['schema'], t['name'])
        if t['status'] == 'missing':
            out.append('%s: missing on the %s' % (name, 'target' if t['target_rows'] is None else 'source'))
        elif 'window_keys' in t:
            over = _stable_over(t)
            out.append('%s: source %d rows, target %d - %d row%s %s on the target among the keys no change touched '
                       'while counting (%d keys changed meanwhile were set aside)'
                       % (name, t['source_rows'], t['target_rows'], abs(over), '' if abs(over) == 1 else 's',
                          'missing' if over < 0 else 'too many', t['window_keys']))
        else:
            out.append("%s: source %d rows, target %d (%s by %d; the source's own changes between its two snapshots "
                       "explain -%d..+%d)" % (name, t['source_rows'], t['target_rows'],
                                              'short' if t['status'] == 'short' else 'over',
                                              abs(t['target_rows'] - t['source_rows']), t['deletes'], t['inserts']))
    return '; '.join(out)


# ---------------------------------------------------------------- the source agent of a target-side module

def source_argument_spec():
    """The source agent of sync_status, which otherwise talks to the target only: one dict, as O(agent)."""
    return dict(
        source_agent=dict(type='dict', options=_connection_options()),
        source_database=dict(type='str'),
    )


class _SourceView:
    """The module as AgentClient sees it, with O(source_agent) in place of O(agent); its token defaults to the
    module's own agent's."""

    def __init__(self, module):
        self._module = module
        p = module.params
        own = p.get('agent') or {}
        src = dict(p.get('source_agent') or {})
        self.params = dict(p, agent=src, agent_url=None, ca_path=None,
                           agent_token=src.get('token') or own.get('token') or p.get('agent_token'),
                           validate_certs=True if src.get('validate_certs') is None else src['validate_certs'])

    def __getattr__(self, name):
        return getattr(self._module, name)


def source_client(module, client_class):
    """A client_class (AgentClient) for the source agent named by O(source_agent)."""
    return client_class(_SourceView(module))
