# -*- coding: utf-8 -*-
"""The comparison rule of row_counts.prove, on the agents' answers as they arrive (the agents themselves are tested
against real PostgreSQL servers in the JUnit and end-to-end suites): what counts as equal, what the source's own
changes between its two snapshots explain, and what is reported as a difference."""

from __future__ import annotations

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import AgentClient
from ansible_collections.pgferry.migrate.plugins.module_utils.row_counts import describe, prove, SubscriberBehind

ITEMS = ('Sëc "q"', 'It€ms')
PLAIN = ('public', 'plain')


class Clock:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now


class Table:
    """One table as the agents would read it: its rows (key -> row version) in the source's snapshots S1 and S2, the
    keys on the target, whether it has a key, rows S1 saw locked meanwhile, and the source's insert counter."""

    def __init__(self, s1, s2=None, target=None, keyed=True, locked=(), inserts=(0,)):
        self.s1, self.s2 = s1, s1 if s2 is None else s2
        self.target = set(self.s1) if target is None else set(target)
        self.keyed, self.locked, self.inserts = keyed, set(locked), list(inserts)

    def new(self):
        return [k for k, v in self.s2.items() if self.s1.get(k) != v]

    def touched(self):
        return [k for k, v in self.s1.items() if self.s2.get(k) != v] + sorted(self.locked)


def rows(n, start=1, version=0):
    return dict((i, version) for i in range(start, start + n))


class Agent:
    """Plays one agent's row-counts routes over Tables; records every call."""

    timeout = 30
    hold_seconds = AgentClient.hold_seconds  # the client's own rule for a held request

    def __init__(self, side, tables):
        self.side, self.tables, self.calls = side, tables, []

    def post(self, path, body, accept_status=()):
        answer = self.answer(path, body)
        return (200, answer) if accept_status else answer

    def answer(self, path, body):
        self.calls.append((path, body))
        asked = [(t['schema'], t['name']) for t in body.get('tables') or []]
        if path == 'row-counts/snapshot':
            snap = 't' if self.side == 'target' else 's1' if body.get('wait_for_subscriber') else 's2'
            # S2 is the same snapshot as S1 only when nothing was written between them
            written = snap == 's2' and any(t.s1 != t.s2 or len(set(t.inserts)) > 1 for t in self.tables.values())
            return dict(snapshot=snap, lsn='0/1', visible='700:712:' if written else '700:700:', changes=[
                dict(schema=k[0], name=k[1], inserts=self.tables[k].inserts[0], deletes=0)
                for k in (asked or list(self.tables))])
        if path == 'row-counts':
            return dict(tables=[self.count(k, body['snapshot'], body.get('changes')) for k in asked])
        if path == 'row-counts/lookup':
            return dict(tables=[dict(schema=t['schema'], name=t['name'], found=[
                key for key in t['keys'] if key['id'] in self.state((t['schema'], t['name']), body['snapshot'])])
                for t in body['tables']])
        if path == 'row-counts/changes':
            out = []
            for k in asked:
                t = self.tables[k]
                out.append(dict(schema=k[0], name=k[1], inserts=t.inserts.pop(0) if len(t.inserts) > 1
                                else t.inserts[0], deletes=0))
            return dict(tables=out)
        raise AssertionError(path)

    def delete(self, path):
        self.calls.append((path, None))

    def state(self, k, snapshot):
        t = self.tables[k]
        return t.target if snapshot == 't' else t.s1 if snapshot == 's1' else t.s2

    def count(self, k, snapshot, changes=None):
        t = self.tables[k]
        out = dict(schema=k[0], name=k[1], rows=None if t.target is None and snapshot == 't'
                   else len(self.state(k, snapshot)), inserted_since=None, new_keys=None, touched_keys=None)
        if snapshot == 's1':
            out.update(inserted_since=0, new_keys=[] if t.keyed else None,
                       touched_keys=[dict(id=i) for i in t.touched()] if t.keyed else None)
        elif snapshot == 's2':
            out.update(inserted_since=len(t.new()), new_keys=[dict(id=i) for i in t.new()] if t.keyed else None,
                       touched_keys=[] if t.keyed else None)
        # As the agent: only the half asked for is computed, the other is null.
        if changes == 'touched':
            out.update(inserted_since=None, new_keys=None)
        elif changes == 'inserted':
            out.update(touched_keys=None)
        return out

    def paths(self, path):
        return [b for p, b in self.calls if p == path]


def run(tables, **kw):
    clock = Clock()
    source, target = Agent('source', tables), Agent('target', tables)
    proof = prove(source, target, lambda step: step, 'src', 'dst', sleep=clock.sleep, clock=clock, **kw)
    return proof, source, target


def test_a_quiet_table_that_matches_is_proven_without_a_lookup_and_every_snapshot_is_let_go():
    proof, source, target = run({ITEMS: Table(rows(500)), PLAIN: Table(rows(100), keyed=False)})
    assert proof['proven'] and proof['attempts'] == 1
    assert [t['status'] for t in proof['tables']] == ['equal', 'equal']
    assert not source.paths('row-counts/lookup') and not target.paths('row-counts/lookup')
    released = [p for p, b in source.calls + target.calls if b is None]
    assert sorted(released) == ['row-counts/snapshot?snapshot=s1', 'row-counts/snapshot?snapshot=s2',
                                'row-counts/snapshot?snapshot=t']


def test_a_source_unchanged_between_its_snapshots_is_counted_plainly_on_both_sides():
    proof, source, target = run({ITEMS: Table(rows(500)), PLAIN: Table(rows(100), keyed=False)})
    assert proof['proven']
    counts = source.paths('row-counts')
    assert counts and all('since' not in b and 'changes' not in b and b['snapshot'] == 's1' for b in counts)


def test_a_target_short_of_an_unchanged_source_is_reported():
    items = Table(rows(500), target=rows(499))
    proof, source, target = run({ITEMS: items, PLAIN: Table(rows(100), keyed=False, target=rows(101))}, settle=1)
    assert not proof['proven']
    assert sorted(t['status'] for t in proof['tables']) == ['long', 'short']
    assert all('since' not in b for b in source.paths('row-counts'))


def busy():
    """Between S1 and S2: rows 1-20 updated, 21-25 deleted, 501-510 inserted, rows 30-40 locked."""
    s1 = rows(500)
    s2 = dict(s1)
    s2.update(rows(20, 1, version=1))
    for i in range(21, 26):
        del s2[i]
    s2.update(rows(10, 501))
    return s1, s2


def test_a_busy_table_complete_on_the_target_at_any_point_between_the_snapshots_is_proven():
    s1, s2 = busy()
    for target in (set(s1), set(s2), set(s1) - {21, 22} | {501, 502, 503}):
        proof, source, dummy = run({ITEMS: Table(s1, s2, target, locked=range(30, 41))})
        assert proof['proven'], (target, proof)
        t = proof['tables'][0]
        assert (t['rewritten'], t['gone'], t['window_keys']) == (20, 5, 35)


def test_a_busy_table_short_of_one_row_nobody_touched_is_reported():
    s1, s2 = busy()
    target = set(s2) - {300}
    proof, source, dummy = run({ITEMS: Table(s1, s2, target)})
    assert not proof['proven'] and proof['attempts'] == 3
    assert proof['differing'][0]['status'] == 'short'
    assert describe(proof['differing']) == (
        '"Sëc ""q"""."It€ms": source 500 rows, target 504 - 1 row missing on the target among the keys no change '
        'touched while counting (35 keys changed meanwhile were set aside)')
    # Later measurements ask only about that table.
    assert source.paths('row-counts/snapshot')[-2]['tables'] == [dict(schema=ITEMS[0], name=ITEMS[1])]


def test_without_a_key_the_count_must_lie_within_what_the_snapshots_saw_change():
    s1, s2 = busy()
    assert run({PLAIN: Table(s1, s2, set(s1) - {21}, keyed=False)})[0]['proven']
    proof = run({PLAIN: Table(s1, s2, set(s1) - set(range(100, 140)), keyed=False)})[0]
    assert not proof['proven'] and proof['differing'][0]['status'] == 'short'
    assert 'explain -25..+30' in describe(proof['differing'])


def test_rows_inserted_and_deleted_between_the_snapshots_are_allowed_once_the_insert_counter_shows_them():
    s1 = rows(500)
    lingering = set(s1) | {9001, 9002}  # inserted and deleted on the source between S1 and S2; still on the target
    proof = run({ITEMS: Table(s1, s1, lingering, inserts=[100, 100, 102])})[0]
    assert proof['proven'] and proof['tables'][0]['status'] == 'within_changes', proof
    proof = run({ITEMS: Table(s1, s1, lingering, inserts=[100])}, settle=3)[0]
    assert not proof['proven'] and proof['differing'][0]['status'] == 'long'
    assert '2 rows too many' in describe(proof['differing'])


def test_a_table_missing_on_the_target_is_reported():
    t = Table(rows(5))
    t.target = None
    proof = run({ITEMS: t}, attempts=1)[0]
    assert not proof['proven']
    assert describe(proof['differing']) == '"Sëc ""q"""."It€ms": missing on the target'


class SparseAgent(Agent):
    """An agent whose JSON leaves nulls out, as the agent's serializer does for every answer without an override."""

    def count(self, k, snapshot, changes=None):
        return dict((key, v) for key, v in super().count(k, snapshot).items() if v is not None)


def test_answers_that_leave_nulls_out_are_read_the_same():
    s1, s2 = busy()
    clock = Clock()
    tables = {PLAIN: Table(s1, s2, set(s1) - {21}, keyed=False)}
    proof = prove(SparseAgent('source', tables), SparseAgent('target', tables), lambda step: step, 'src', 'dst',
                  sleep=clock.sleep, clock=clock)
    assert proof['proven'], proof
    t = Table(rows(5))
    t.target = None
    proof = prove(SparseAgent('source', {ITEMS: t}), SparseAgent('target', {ITEMS: t}), lambda step: step, 'src',
                  'dst', sleep=clock.sleep, clock=clock, attempts=1)
    assert not proof['proven'] and 'missing on the target' in describe(proof['differing'])


class BehindSource(Agent):
    """A source whose subscriber never applies up to S1: the agent answers 504 catch_up_timeout after the wait."""

    def post(self, path, body, accept_status=()):
        self.calls.append((path, body))
        assert path == 'row-counts/snapshot' and 504 in accept_status
        return 504, dict(code='catch_up_timeout', detail='the subscriber of slot pgferry_m had applied up to 0/10 '
                                                         'after 25 s, short of 0/20')


def test_a_subscriber_that_does_not_catch_up_ends_the_comparison_within_the_clients_timeout():
    tables = {ITEMS: Table(rows(10))}
    source, target = BehindSource('source', tables), Agent('target', tables)
    with pytest.raises(SubscriberBehind, match='short of 0/20'):
        prove(source, target, lambda step: step, 'db', 'db', timeout=180)
    # the agent holds S1 at most 25 s, so it answers before the client's 30 s run out; the target was never asked
    assert source.calls[0][1]['timeout_seconds'] == 25
    assert target.calls == []
