# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The report module's content: steps timed from their marks, the text, and an HTML page that escapes every name."""
from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.module_utils.report import build, page, text


def params(**kw):
    p = dict(migration_id='app', playbook='migrate', state='streaming_ready', phase={'name': 'streaming'},
             steps=[['lifecycle', 1000.0], ['sync_status', 1004.0], ['post_data', 1010.5]], finished=1040.0,
             failed=False, verification=[dict(schema='S "q"', name='<t>', source_rows=5, target_rows=5, status='equal',
                                              inserts=0)], details={'copy_percent': 100.0})
    p.update(kw)
    return p


def test_steps_end_where_the_next_begins():
    r = build(params(), now=2000.0)
    assert [(s['name'], s['seconds'], s['offset_seconds']) for s in r['steps']] == [
        ('lifecycle', 4.0, 0.0), ('sync_status', 6.5, 4.0), ('post_data', 29.5, 10.5)]
    assert r['seconds'] == 40.0 and r['outcome'] == 'succeeded' and r['started_at'] == '1970-01-01T00:16:40Z'
    assert r['verification'] == [dict(schema='S "q"', name='<t>', source_rows=5, target_rows=5, status='equal')]


def test_a_failed_run_marks_its_last_step():
    r = build(params(failed=True, state=''), now=1050.0)
    assert r['outcome'] == 'failed' and r['state'] is None and r['steps'][-1]['failed']
    assert 'FAILED here' in text(r)[-4] or any('FAILED here' in line for line in text(r))


def test_text():
    lines = text(build(params(), now=0))
    assert lines[0].startswith('pgferry migrate app: succeeded, state streaming_ready, 40.0s')
    assert any(line.split() == ['S', '"q".<t>', '5', '5', 'equal'] for line in lines)


def test_page_is_self_contained_and_escaped():
    html = page(build(params(), now=0))
    assert html.startswith('<!DOCTYPE html>') and '<style>' in html
    assert '<t>' not in html and '&lt;t&gt;' in html and 'S &quot;q&quot;' in html
    assert '<script' not in html and 'http' not in html
    assert html.count('class="bar') == 3


def test_no_steps():
    r = build(params(steps=[]), now=1040.0)
    assert r['steps'] == [] and r['seconds'] == 0.0 and page(r)


def test_verify_rows_get_a_status_from_equal():
    rows = [dict(schema='s', name='a', source_rows=3, target_rows=3, equal=True),
            dict(schema='s', name='b', source_rows=3, target_rows=2, equal=False),
            dict(schema='s', name='u', source_rows=7, target_rows=0, equal=None)]
    r = build(params(playbook='cutover', verification=rows), now=0)
    assert [t['status'] for t in r['verification']] == ['equal', 'differs', 'not compared']
    assert 'class="bad">differs' in page(r) and 'class="ok">equal' in page(r)
