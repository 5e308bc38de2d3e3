# -*- coding: utf-8 -*-
"""The comparison rule of row_counts.prove, on the agents' answers as they arrive (the agents themselves are tested
against real PostgreSQL servers in the JUnit and end-to-end suites): what counts as equal, what the source's own
changes between its two snapshots explain, and what is reported as a difference."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.module_utils.row_counts import describe, prove

ITEMS = dict(schema='Sëc "q"', name='It€ms')
PLAIN = dict(schema='public', name='plain')


class Clock:
    def __init__(self):
        self.now = 0.0

    def sleep(self, seconds):
        self.now += seconds

    def __call__(self):
        return self.now


class Agent:
    """Answers each route from a list of scripted answers, one per call (the last one repeats); records the calls."""

    def __init__(self, **routes):
        self.routes = dict((k, list(v)) for k, v in routes.items())
        self.calls = []

    def post(self, path, body):
        self.calls.append((path, body))
        answers = self.routes[path]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        return answer(body) if callable(answer) else answer

    def bodies(self, path):
        return [b for p, b in self.calls if p == path]


def snapshot(n, *changes):
    return dict(snapshot='0000000%d-1' % n, lsn='0/%d' % n, visible='%d:%d:' % (700 + n, 700 + n),
                changes=[dict(t, inserts=i, deletes=d) for t, i, d in changes])


def counts(*rows):
    """A count answer; rows are (table, rows) or (table, rows, inserted_since); only the tables asked for."""
    def answer(body):
        asked = [(t['schema'], t['name']) for t in body.get('tables') or []]
        out = [dict(r[0], rows=r[1], inserted_since=r[2] if len(r) > 2 else None) for r in rows]
        return dict(tables=[o for o in out if (o['schema'], o['name']) in asked])
    return answer


def run(source, target, **kw):
    clock = Clock()
    return prove(source, target, lambda step: step, 'src', 'dst', sleep=clock.sleep, clock=clock, **kw)


def agents(s1, ct, s2, changes=None):
    """The source counts s1 in S1 then s2 (with inserted_since) in S2; the target counts ct."""
    def snap(body):
        if not body.get('wait_for_subscriber'):
            return snapshot(2)
        asked = body.get('tables') or [t for t, _ in s1]
        return snapshot(1, *[(t, 0, 0) for t in asked])

    source = Agent(**{'row-counts/snapshot': [snap],
                      'row-counts': [lambda body: counts(*(s2 if body.get('since') else s1))(body)],
                      'row-counts/changes': changes or [dict(tables=[])]})
    target = Agent(**{'row-counts/snapshot': [snapshot(9)], 'row-counts': [counts(*ct)]})
    return source, target


def test_equal_counts_are_proven_at_once_and_the_second_snapshot_is_let_go_unscanned():
    source, target = agents([(ITEMS, 500), (PLAIN, 100)], [(ITEMS, 500), (PLAIN, 100)], [])
    proof = run(source, target)
    assert proof['proven'] and proof['attempts'] == 1
    assert [t['status'] for t in proof['tables']] == ['equal', 'equal']
    first, second = source.bodies('row-counts/snapshot')
    assert first['wait_for_subscriber'] and 'wait_for_subscriber' not in second
    s1_count, s2_count = source.bodies('row-counts')
    assert s1_count['snapshot'] == '00000001-1' and s2_count['snapshot'] == '00000002-1'
    assert s2_count['tables'] == [] and s2_count['since'] == '701:701:'
    assert target.bodies('row-counts')[0]['snapshot'] == '00000009-1'


def test_a_difference_the_sources_changes_between_its_snapshots_explain_is_accepted():
    # S1: 500 rows. Between S1 and S2: 3 inserted, 1 deleted (c2 = 502). The target is somewhere in between.
    for on_target in (499, 500, 501, 502, 503):
        source, target = agents([(ITEMS, 500)], [(ITEMS, on_target)], [(ITEMS, 502, 3)])
        proof = run(source, target)
        assert proof['proven'], (on_target, proof)
        if on_target != 500:
            t = proof['tables'][0]
            assert (t['status'], t['inserts'], t['deletes']) == ('within_changes', 3, 1)


def test_a_table_copied_short_is_reported_however_busy_the_others_are():
    source, target = agents([(ITEMS, 500), (PLAIN, 100)], [(ITEMS, 490), (PLAIN, 150)],
                            [(ITEMS, 502, 3), (PLAIN, 160, 60)])
    proof = run(source, target)
    assert not proof['proven'] and proof['attempts'] == 3
    assert [t['name'] for t in proof['differing']] == ['It€ms']
    assert proof['differing'][0]['status'] == 'short'
    assert describe(proof['differing']) == ('"Sëc ""q"""."It€ms": source 500 rows, target 490 (short by 10; the '
                                            "source's own changes between its two snapshots explain -1..+3)")
    # Later measurements ask only about the table that differed.
    assert source.bodies('row-counts/snapshot')[-2]['tables'] == [dict(ITEMS)]


def test_rows_inserted_and_deleted_between_the_snapshots_may_linger_on_the_target_until_counters_show_them():
    # The target has 2 more than S1 and S2 explain: rows that came and went in between. The insert counter,
    # not yet flushed, then flushed, covers them.
    changes = [dict(tables=[dict(ITEMS, inserts=0, deletes=0)]), dict(tables=[dict(ITEMS, inserts=4, deletes=2)])]
    source, target = agents([(ITEMS, 500)], [(ITEMS, 502)], [(ITEMS, 500, 0)], changes)
    proof = run(source, target)
    assert proof['proven'] and proof['tables'][0]['status'] == 'within_changes', proof
    # Counters that never show them: reported as more rows on the target.
    source, target = agents([(ITEMS, 500)], [(ITEMS, 502)], [(ITEMS, 500, 0)],
                            [dict(tables=[dict(ITEMS, inserts=0, deletes=0)])])
    proof = run(source, target, settle=3)
    assert not proof['proven'] and proof['differing'][0]['status'] == 'long'


def test_a_truncate_between_the_snapshots_is_explained_exactly():
    source, target = agents([(ITEMS, 500)], [(ITEMS, 0)], [(ITEMS, 0, 0)])
    assert run(source, target)['proven']


def test_a_table_missing_on_the_target_is_reported():
    source, target = agents([(ITEMS, 5)], [(ITEMS, None)], [])
    proof = run(source, target, attempts=1)
    assert not proof['proven']
    assert describe(proof['differing']) == '"Sëc ""q"""."It€ms": missing on the target'
