# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The copy proves itself: every table's rows counted on the source and on the target at one point, while the source
takes writes (docs/design.md, "The copy proves itself"). Used by sync_status (after the initial copy) and ready_check
(before the cutover's pause).

One measurement: the source agent reads each table's insert/delete counters, takes and holds a snapshot with the WAL
position read inside it, and waits until the target has applied everything up to that position
(row-counts/mark); then the target counts its tables in a fresh snapshot while the source counts in the held one. A
target that holds every row the source had then differs from the source's count only by the changes committed between
the two snapshots: target - source lies within [-deletes, +inserts] of those changes, and PostgreSQL's counters for the
table, read again once its statistics are flushed, bound them. An idle table must match exactly; a difference the
counters cannot explain is measured again (a TRUNCATE, statistics not flushed yet) and, if it persists, is reported
with the table named.
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


def quoted(schema, name):
    return '"%s"."%s"' % (schema.replace('"', '""'), name.replace('"', '""'))


def _both(first, second):
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        return a.result(), b.result()


def prove(source, target, path, source_db, target_db, timeout=120, settle=SETTLE_SECONDS, attempts=ATTEMPTS,
          sleep=time.sleep, clock=time.monotonic):
    """Compare every table of the migration; returns dict(proven, tables, differing, attempts, seconds).

    source, target: AgentClient of each side; path(step) the migration's path for a step. A table missing on the
    target, or whose difference outlives `attempts` measurements (each waiting up to `settle` seconds for the
    counters) or `timeout` seconds, is in `differing`.
    """
    started = clock()
    results = {}
    pending = None  # None: the manifest's tables
    attempt = 0
    last = {}
    while True:
        attempt += 1
        body = dict(database=source_db, timeout_seconds=max(1, int(timeout)))
        if pending is not None:
            body['tables'] = [dict(schema=k[0], name=k[1]) for k in pending]
        mark = source.post(path('row-counts/mark'), body)
        tables = [dict(schema=c['schema'], name=c['name']) for c in mark['changes']]
        before = dict((_key(c), c) for c in mark['changes'])
        src, dst = _both(
            lambda: source.post(path('row-counts'), dict(database=source_db, tables=tables, snapshot=mark['snapshot'])),
            lambda: target.post(path('row-counts'), dict(database=target_db, tables=tables)))
        counted = clock()
        target_rows = dict((_key(t), t['rows']) for t in dst['tables'])
        differing = {}
        for t in src['tables']:
            k = _key(t)
            entry = dict(schema=k[0], name=k[1], source_rows=t['rows'], target_rows=target_rows.get(k),
                         lsn=mark['lsn'], attempt=attempt, inserts=0, deletes=0)
            if entry['target_rows'] is None or entry['source_rows'] is None:
                entry['status'] = 'missing'
                results[k] = entry
            elif entry['target_rows'] == entry['source_rows']:
                entry['status'] = 'equal'
                results[k] = entry
            else:
                differing[k] = entry
        # Wait for the counters to cover the changes made between the two snapshots.
        while differing and clock() - counted < settle:
            sleep(1)
            now = source.post(path('row-counts/changes'), dict(
                database=source_db, tables=[dict(schema=k[0], name=k[1]) for k in differing]))
            for c in now['tables']:
                k = _key(c)
                entry = differing.get(k)
                if entry is None:
                    continue
                entry['inserts'] = c['inserts'] - before[k]['inserts']
                entry['deletes'] = c['deletes'] - before[k]['deletes']
                if -entry['deletes'] <= entry['target_rows'] - entry['source_rows'] <= entry['inserts']:
                    entry['status'] = 'within_changes'
                    results[k] = differing.pop(k)
        last = differing
        if not differing or attempt >= attempts or clock() - started >= timeout:
            break
        pending = list(differing)
    for k, entry in last.items():
        entry['status'] = 'differ'
        results[k] = entry
    tables = [results[k] for k in sorted(results)]
    bad = [t for t in tables if t['status'] in ('differ', 'missing')]
    return dict(proven=not bad, tables=tables, differing=bad, attempts=attempt,
                seconds=round(clock() - started, 1))


def describe(differing):
    """One sentence per table that differs."""
    out = []
    for t in differing:
        name = quoted(t['schema'], t['name'])
        if t['status'] == 'missing':
            out.append('%s: missing on the %s' % (name, 'target' if t['target_rows'] is None else 'source'))
            continue
        out.append('%s: source %d rows, target %d (difference %+d; the source\'s own inserts and deletes meanwhile '
                   'explain at most -%d..+%d)' % (name, t['source_rows'], t['target_rows'],
                                                  t['target_rows'] - t['source_rows'], t['deletes'], t['inserts']))
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
