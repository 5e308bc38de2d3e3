# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The copy proves itself: every table's rows counted on the source and on the target at one point, while the source
takes writes (docs/design.md, "The copy proves itself"). Used by sync_status (after the initial copy) and ready_check
(before the cutover's pause).

One measurement: the source agent takes and holds snapshot S1 with the WAL position read inside it and waits until
the target has applied everything up to that position; the target agent then takes and holds snapshot T, and the
source agent snapshot S2. A target that holds every row is, in T, the source as of some point between S1 and S2, so
its count lies in [c1 - D, c1 + I], where c1 is the count in S1, I the rows S2 sees that S1 did not (counted exactly
on the source: their inserting transaction is not visible in S1) and D = I + c1 - c2 the rows S1 saw that S2 does not.
S1 to S2 spans a few round trips, so an idle table must match exactly and a busy one may differ only by the changes of
those milliseconds. Below the range the target misses rows: reported, with the table named, if it persists over
`attempts` measurements. Above it, rows both inserted and deleted between S1 and S2 (seen by neither) may still be on
the target: the table's insert counter is given `settle` seconds to cover them before that is reported too.
"""

from __future__ import annotations

import time

from concurrent.futures import ThreadPoolExecutor

# pg_stat_all_tables lags the commits it counts: a backend flushes its counters at most once a second, and one that
# falls idle right after a commit only after 10 s (PostgreSQL 15+; 14 sends them every 0.5 s while busy).
SETTLE_SECONDS = 11
ATTEMPTS = 3


def _key(t):
    return (t['schema'], t['name'])


def _table(k):
    return dict(schema=k[0], name=k[1])


def quoted(schema, name):
    return '"%s"."%s"' % (schema.replace('"', '""'), name.replace('"', '""'))


def _both(first, second):
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        return a.result(), b.result()


def measure(source, target, path, source_db, target_db, keys, timeout):
    """One measurement of the tables `keys` (None: the manifest's); returns ({key: entry}, before-counters)."""
    body = dict(database=source_db, wait_for_subscriber=True, timeout_seconds=max(1, int(timeout)))
    if keys is not None:
        body['tables'] = [_table(k) for k in keys]
    s1 = source.post(path('row-counts/snapshot'), body)
    tables = [_table(_key(c)) for c in s1['changes']]
    t = target.post(path('row-counts/snapshot'), dict(database=target_db, tables=tables))
    s2 = source.post(path('row-counts/snapshot'), dict(database=source_db, tables=tables))
    c1, ct = _both(
        lambda: source.post(path('row-counts'), dict(database=source_db, tables=tables, snapshot=s1['snapshot'])),
        lambda: target.post(path('row-counts'), dict(database=target_db, tables=tables, snapshot=t['snapshot'])))
    on_target = dict((_key(r), r['rows']) for r in ct['tables'])
    entries = {}
    for r in c1['tables']:
        k = _key(r)
        entries[k] = dict(schema=k[0], name=k[1], source_rows=r['rows'], target_rows=on_target.get(k),
                          inserts=0, deletes=0, lsn=s1['lsn'])
    differing = [k for k, e in entries.items() if e['source_rows'] is not None and e['target_rows'] is not None
                 and e['source_rows'] != e['target_rows']]
    # Always imported, so the held S2 is let go; scanned only for the tables that differ.
    c2 = source.post(path('row-counts'), dict(database=source_db, tables=[_table(k) for k in differing],
                                              snapshot=s2['snapshot'], since=s1['visible']))
    for r in c2['tables']:
        e = entries[_key(r)]
        e['inserts'] = r['inserted_since']
        e['deletes'] = r['inserted_since'] + e['source_rows'] - r['rows']
    for e in entries.values():
        if e['target_rows'] is None or e['source_rows'] is None:
            e['status'] = 'missing'
        elif e['target_rows'] == e['source_rows']:
            e['status'] = 'equal'
        elif e['target_rows'] < e['source_rows'] - e['deletes']:
            e['status'] = 'short'
        elif e['target_rows'] > e['source_rows'] + e['inserts']:
            e['status'] = 'long'
        else:
            e['status'] = 'within_changes'
    return entries, dict((_key(c), c) for c in s1['changes'])


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
                if e['target_rows'] <= e['source_rows'] + max(e['inserts'], inserted):
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
            continue
        out.append('%s: source %d rows, target %d (%s by %d; the source\'s own changes between its two snapshots '
                   'explain -%d..+%d)' % (name, t['source_rows'], t['target_rows'],
                                          'short' if t['status'] == 'short' else 'over',
                                          abs(t['target_rows'] - t['source_rows']), t['deletes'], t['inserts']))
    return '; '.join(out)


# ---------------------------------------------------------------- the source agent of a target-side module

def source_argument_spec():
    """The source agent of sync_status, which otherwise talks to the target only."""
    return dict(
        source_agent_url=dict(type='str'),
        source_agent_token=dict(type='str', no_log=True),
        source_ca_path=dict(type='path'),
        source_validate_certs=dict(type='bool', default=True),
        source_database=dict(type='str'),
    )


class _SourceView:
    """The module as AgentClient sees it, with the source_* options in place of the agent_* ones."""

    def __init__(self, module):
        self._module = module
        p = module.params
        self.params = dict(p, agent_url=p['source_agent_url'],
                           agent_token=p.get('source_agent_token') or p.get('agent_token'),
                           ca_path=p.get('source_ca_path'), validate_certs=p.get('source_validate_certs', True))

    def __getattr__(self, name):
        return getattr(self._module, name)


def source_client(module, client_class):
    """A client_class (AgentClient) for the source agent named by the source_* options."""
    return client_class(_SourceView(module))
