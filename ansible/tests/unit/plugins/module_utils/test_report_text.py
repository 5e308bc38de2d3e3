# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.module_utils import report


def _report(statuses):
    return dict(playbook='migrate', migration_id='m', outcome='ok', state='', seconds=1.0, started_at='a',
                finished_at='b', phase=dict(name=None), steps=[], details={},
                verification=[dict(schema='s', name='t%d' % i, source_rows=1, target_rows=1 if s != 'short' else 0,
                                   status=s) for i, s in enumerate(statuses)])


def test_a_few_tables_are_all_listed():
    lines = report.text(_report(['equal', 'within_changes', 'short']))
    assert lines[1] == 'verification (rows):'
    assert len([line for line in lines if line.startswith('  s.t')]) == 3


def test_many_tables_list_only_those_not_as_they_should_be_with_counts():
    statuses = ['equal'] * 20000 + ['short'] + ['within_changes'] * 3
    lines = report.text(_report(statuses))
    assert lines[1] == ('verification (rows): 20004 tables, 20000 equal, 1 short, 3 within_changes; every table is in '
                        'the JSON and HTML report')
    listed = [line for line in lines if line.startswith('  s.t')]
    assert listed == ['  s.t20000       1       0  short']
    assert len(lines) < 10


def test_many_tables_all_equal_list_none():
    lines = report.text(_report(['equal'] * 60))
    assert lines[1].startswith('verification (rows): 60 tables, 60 equal;')
    assert len(lines) == 2
