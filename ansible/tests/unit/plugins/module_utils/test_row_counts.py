# -*- coding: utf-8 -*-
"""The comparison rule of row_counts.prove, on the agents' answers as they arrive (the agents themselves are tested
against real PostgreSQL servers in the JUnit and end-to-end suites): what counts as equal, what the source's own
writes may explain, and what is reported as a difference."""

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
    """Answers each route from a list of scripted answers, one per call; records every request body."""

    def __init__(self, **routes):
        self.routes = dict((k, list(v)) for k, v in routes.items())
        self.calls = []

    def post(self, path, body):
        self.calls.append((path, body))
        answers = self.routes[path]
        return answers.pop(0) if len(answers) > 1 else answers[0]


def mark(changes, snapshot='0000000A-1'):
    return dict(snapshot=snapshot, lsn='0/1', applied_lsn='0/1', waited_ms=3,
                changes=[dict(t, inserts=i, deletes=d) for t, i, d in changes])


def counts(*rows):
    return dict(tables=[dict(t, rows=r) for t, r in rows])


def run(source, target, **kw):
    clock = Clock()
    return prove(source, target, lambda step: step, 'src', 'dst', sleep=clock.sleep, clock=clock, **kw)


def test_equal_counts_are_proven_at_once_without_waiting_for_statistics():
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 7, 2), (PLAIN, 0, 0)])],
                      'row-counts': [counts((ITEMS, 500), (PLAIN, 100))]})
    target = Agent(**{'row-counts': [counts((ITEMS, 500), (PLAIN, 100))]})
    proof = run(source, target)
    assert proof['proven'] and proof['attempts'] == 1
    assert [t['status'] for t in proof['tables']] == ['equal', 'equal']
    assert not [c for c in source.calls if c[0] == 'row-counts/changes']
    # The source counts in the snapshot the mark holds, the target the same tables.
    assert source.calls[1][1]['snapshot'] == '0000000A-1'
    assert target.calls[0][1]['tables'] == [dict(ITEMS), dict(PLAIN)]


def test_a_difference_the_sources_own_writes_explain_is_accepted_once_counters_show_them():
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 100, 40)])], 'row-counts': [counts((ITEMS, 500))],
                      # not flushed yet, then flushed: 3 inserts and 1 delete since the mark
                      'row-counts/changes': [counts_changes(ITEMS, 100, 40), counts_changes(ITEMS, 103, 41)]})
    target = Agent(**{'row-counts': [counts((ITEMS, 502))]})
    proof = run(source, target)
    assert proof['proven'], proof
    t = proof['tables'][0]
    assert (t['status'], t['inserts'], t['deletes']) == ('within_changes', 3, 1)


def test_a_table_copied_empty_is_a_difference_however_the_other_tables_look():
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 0, 0), (PLAIN, 0, 0)])],
                      'row-counts': [counts((ITEMS, 500), (PLAIN, 100))],
                      'row-counts/changes': [counts_changes(ITEMS, 0, 0)]})
    target = Agent(**{'row-counts': [counts((ITEMS, 0), (PLAIN, 100))]})
    proof = run(source, target, settle=3, attempts=3)
    assert not proof['proven']
    assert proof['attempts'] == 3
    assert [t['name'] for t in proof['differing']] == ['It€ms']
    assert describe(proof['differing']) == ('"Sëc ""q"""."It€ms": source 500 rows, target 0 (difference -500; the '
                                            "source's own inserts and deletes meanwhile explain at most -0..+0)")
    # Later measurements ask only about the table that differed.
    assert source.calls[-1][1]['tables'] == [dict(ITEMS)]


def test_inserts_do_not_explain_missing_rows_nor_deletes_extra_ones():
    # Target short by 10 while the source only inserted: target - source must lie in [-deletes, +inserts].
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 0, 0)])], 'row-counts': [counts((ITEMS, 500))],
                      'row-counts/changes': [counts_changes(ITEMS, 50, 0)]})
    target = Agent(**{'row-counts': [counts((ITEMS, 490))]})
    assert not run(source, target, settle=2, attempts=2)['proven']
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 0, 0)])], 'row-counts': [counts((ITEMS, 500))],
                      'row-counts/changes': [counts_changes(ITEMS, 0, 50)]})
    target = Agent(**{'row-counts': [counts((ITEMS, 510))]})
    assert not run(source, target, settle=2, attempts=2)['proven']


def test_a_difference_gone_in_the_next_measurement_is_no_alarm():
    # A TRUNCATE between the snapshots is counted by no counter; the next measurement is exact.
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 0, 0)]), mark([(ITEMS, 0, 0)])],
                      'row-counts': [counts((ITEMS, 500)), counts((ITEMS, 0))],
                      'row-counts/changes': [counts_changes(ITEMS, 0, 0)]})
    target = Agent(**{'row-counts': [counts((ITEMS, 0)), counts((ITEMS, 0))]})
    proof = run(source, target, settle=2)
    assert proof['proven'] and proof['attempts'] == 2


def test_a_table_missing_on_the_target_is_reported_without_waiting():
    source = Agent(**{'row-counts/mark': [mark([(ITEMS, 0, 0)])], 'row-counts': [counts((ITEMS, 5))]})
    target = Agent(**{'row-counts': [counts((ITEMS, None))]})
    proof = run(source, target)
    assert not proof['proven'] and proof['attempts'] == 1
    assert describe(proof['differing']) == '"Sëc ""q"""."It€ms": missing on the target'


def counts_changes(table, inserts, deletes):
    return dict(tables=[dict(table, inserts=inserts, deletes=deletes)])
