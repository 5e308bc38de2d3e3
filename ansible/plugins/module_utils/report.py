# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The report of a pgferry run (module report): built from the role's marks, rendered as text, JSON and HTML, written
atomically. Shared by the module and its action plugin, which runs it in the controller's process when the task runs
on the controller as the controller's user."""

from __future__ import annotations

import html
import json
import os
import re
import tempfile
import time
from collections import Counter


MIGRATION_ID_RE = re.compile(r'^[a-z][a-z0-9_]{0,39}$')
PLAYBOOK_RE = re.compile(r'^[a-z][a-z0-9_-]{0,39}$')
COLUMNS = ('schema', 'name', 'source_rows', 'target_rows', 'status')


def iso(epoch):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(epoch))


def status_of(t):
    """sync_status rows carry a status; verify rows say equal (null: not compared, an unlogged table)."""
    if t.get('status') is not None or 'equal' not in t:
        return t.get('status')
    return {True: 'equal', False: 'differs'}.get(t['equal'], 'not compared')


def verification_row(t):
    return dict([(k, t.get(k)) for k in COLUMNS[:-1]] + [('status', status_of(t))])


def build(p, now):
    steps = [(str(s[0]), float(s[1])) for s in p['steps'] if isinstance(s, (list, tuple)) and len(s) >= 2]
    finished = p['finished'] if p['finished'] is not None else now
    started = steps[0][1] if steps else finished
    out = []
    for i, (name, at) in enumerate(steps):
        end = steps[i + 1][1] if i + 1 < len(steps) else finished
        entry = dict(name=name, started_at=iso(at), offset_seconds=round(at - started, 1),
                     seconds=round(max(end - at, 0.0), 1))
        if p['failed'] and i == len(steps) - 1:
            entry['failed'] = True
        out.append(entry)
    phase = p['phase'] or {}
    return dict(migration_id=p['migration_id'], playbook=p['playbook'],
                outcome='failed' if p['failed'] else 'succeeded', state=p['state'] or None,
                phase=dict(name=phase.get('name'), description=phase.get('description')),
                started_at=iso(started), finished_at=iso(finished), seconds=round(finished - started, 1),
                steps=out, verification=[verification_row(t) for t in p['verification']],
                details=p['details'], note=p.get('note') or None)


# Statuses of a table found as it should be. Past TEXT_TABLES tables the text (Ansible's output, an AWX job's log)
# lists only the others, at most that many, with a count per status: 20,000 lines of "equal" hide the one that is not.
FINE = ('equal', 'within_changes', 'ok', 'True')
TEXT_TABLES = 50


def text(report):
    lines = ['pgferry %s %s: %s%s, %ss (%s to %s)' % (
        report['playbook'], report['migration_id'], report['outcome'],
        (', state %s' % report['state']) if report['state'] else '', report['seconds'], report['started_at'],
        report['finished_at'])]
    if report.get('note'):
        lines.append(report['note'])
    if report['phase']['name']:
        lines.append('phase at the start: %s' % report['phase']['name'])
    width = max([len(s['name']) for s in report['steps']] + [4])
    for s in report['steps']:
        lines.append('  %-*s %8.1fs%s' % (width, s['name'], s['seconds'], '  FAILED here' if s.get('failed') else ''))
    if report['verification']:
        shown = report['verification']
        if len(shown) > TEXT_TABLES:
            counts = Counter(str(t['status']) for t in shown)
            lines.append('verification (rows): %d tables, %s; every table is in the JSON and HTML report' % (
                len(shown), ', '.join('%d %s' % (n, status) for status, n in sorted(counts.items()))))
            shown = [t for t in shown if str(t['status']) not in FINE][:TEXT_TABLES]
        else:
            lines.append('verification (rows):')
        rows = [['%s.%s' % (t['schema'], t['name']), str(t['source_rows']), str(t['target_rows']), str(t['status'])]
                for t in shown]
        widths = [max(len(r[i]) for r in rows + [['table', 'source', 'target', 'status']]) for i in range(4)]
        for r in ([['table', 'source', 'target', 'status']] + rows) if rows else []:
            lines.append('  ' + '  '.join(v.ljust(w) if i in (0, 3) else v.rjust(w) for i, (v, w) in
                                          enumerate(zip(r, widths))).rstrip())
    for key in sorted(report['details']):
        lines.append('%s: %s' % (key, report['details'][key]))
    return lines


CSS = '''body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}h1{font-size:1.3em}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#176c2c}.bad{color:#b00020;font-weight:bold}
.tl{position:relative;border-left:1px solid #999;margin:1em 0}.row{position:relative;height:1.6em}
.bar{position:absolute;top:.2em;height:1.2em;background:#4a7bd0;border-radius:2px;min-width:2px}
.bar.failed{background:#b00020}.lbl{position:absolute;left:0;top:.15em;white-space:nowrap;font-size:.85em}
.meta{color:#555}'''


def page(report):
    e = html.escape
    total = max(report['seconds'], 0.1)
    title = 'pgferry %s %s' % (report['playbook'], report['migration_id'])
    good = report['outcome'] == 'succeeded'
    phase = e(str(report['phase']['name'] or '-'))
    if report['phase']['description']:
        phase += ' (%s)' % e(report['phase']['description'])
    parts = ['<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head><body>'
             % (e(title), CSS),
             '<h1>%s: <span class="%s">%s</span>%s</h1>' % (
                 e(title), 'ok' if good else 'bad', e(report['outcome']),
                 (' - state %s' % e(report['state'])) if report['state'] else ''),
             '<p class="meta">%s to %s, %s s; phase at the start: %s</p>' % (
                 e(report['started_at']), e(report['finished_at']), report['seconds'], phase),
             '<h2>Timeline</h2><div class="tl">']
    for s in report['steps']:
        left = 100.0 * s['offset_seconds'] / total
        width = 100.0 * s['seconds'] / total
        parts.append('<div class="row" title="%s: %s s"><div class="bar%s" style="left:%.2f%%;width:%.2f%%"></div>'
                     '<span class="lbl" style="left:calc(%.2f%% + %.2f%% + 4px)">%s %.1f s</span></div>'
                     % (e(s['name']), s['seconds'], ' failed' if s.get('failed') else '', min(left, 100),
                        min(width, 100 - min(left, 100)), min(left, 70), min(width, 30), e(s['name']), s['seconds']))
    parts.append('</div><h2>Steps</h2><table><tr><th>step</th><th>started (UTC)</th><th>seconds</th></tr>')
    for s in report['steps']:
        parts.append('<tr><td>%s</td><td>%s</td><td class="n">%.1f</td></tr>' % (
            e(s['name']) + (' <span class="bad">failed here</span>' if s.get('failed') else ''), e(s['started_at']),
            s['seconds']))
    parts.append('</table>')
    if report['verification']:
        parts.append('<h2>Verification</h2><table><tr><th>table</th><th>source rows</th><th>target rows</th>'
                     '<th>status</th></tr>')
        for t in report['verification']:
            status = str(t['status'])
            parts.append('<tr><td>%s.%s</td><td class="n">%s</td><td class="n">%s</td><td class="%s">%s</td></tr>' % (
                e(str(t['schema'])), e(str(t['name'])), e(str(t['source_rows'])), e(str(t['target_rows'])),
                'ok' if status in FINE else 'meta' if status == 'not compared' else 'bad', e(status)))
        parts.append('</table>')
    if report['details']:
        parts.append('<h2>Details</h2><table>')
        for key in sorted(report['details']):
            parts.append('<tr><th>%s</th><td>%s</td></tr>' % (e(key), e(json.dumps(report['details'][key]))))
        parts.append('</table>')
    parts.append('</body></html>\n')
    return ''.join(parts)


def write(path, content):
    """Atomically: a reader (or AWX) never sees half a file."""
    fd, tmp = tempfile.mkstemp(prefix='.pgferry-report-', dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(content)
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def argument_spec():
    return dict(
        dir=dict(type='path', required=True),
        migration_id=dict(type='str', required=True),
        playbook=dict(type='str', default='migrate'),
        state=dict(type='str', default=''),
        phase=dict(type='dict', default={}),
        steps=dict(type='list', elements='list', default=[]),
        finished=dict(type='float'),
        failed=dict(type='bool', default=False),
        verification=dict(type='list', elements='dict', default=[]),
        details=dict(type='dict', default={}),
        note=dict(type='str', default=''),
    )


def run(p, check_mode):
    """The module's result from its validated options; a failed one carries `msg` (nothing else was written)."""
    if not MIGRATION_ID_RE.match(p['migration_id']):
        return dict(failed=True,
                    msg='migration_id must match %s, got %r' % (MIGRATION_ID_RE.pattern, p['migration_id']))
    if not PLAYBOOK_RE.match(p['playbook']):
        return dict(failed=True, msg='playbook must match %s, got %r' % (PLAYBOOK_RE.pattern, p['playbook']))
    now = time.time()
    report = build(p, now)
    result = dict(changed=False, report=report, text=text(report))
    if not check_mode:
        try:
            os.makedirs(p['dir'], exist_ok=True)
            stem = os.path.join(p['dir'], 'pgferry-%s-%s-' % (p['migration_id'], p['playbook']))
            stamp = time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
            body = json.dumps(report, indent=2, sort_keys=True) + '\n'
            doc = page(report)
            for suffix in (stamp, 'latest'):
                write(stem + suffix + '.json', body)
                write(stem + suffix + '.html', doc)
        except OSError as e:
            return dict(result, failed=True, msg='cannot write the report to %s: %s (set pgferry_report_dir to a '
                                                 'writable directory)' % (p['dir'], e))
        result.update(changed=True, json_path=stem + stamp + '.json', html_path=stem + stamp + '.html')
    return result
