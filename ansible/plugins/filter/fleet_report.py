# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""fleet_report: every migration of a fleet with its phase, copy progress, slot lag and last error; as data, text
and a self-contained HTML page."""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError

# module_utils and html are imported inside the filters: Ansible loads every filter file of the collection in each
# task's worker whenever the task uses any pgferry filter, so an import here would be paid by most tasks of a run.

# (row key, column heading)
COLUMNS = (('id', 'migration'), ('source', 'source'), ('source_database', 'database'), ('target', 'target'),
           ('target_database', 'target database'), ('phase', 'phase'), ('tables', 'tables ready'),
           ('slot_lag_bytes', 'slot lag (bytes)'), ('slot_wal_status', 'slot WAL'), ('outcome', 'outcome'),
           ('error', 'last error'))


# Lifecycle phases a migration settles in after a cutover or rollback of an earlier run: shown as they are.
SETTLED = dict(cut_over='cut over', rolled_back='rolled back')


def _lifecycle(reading):
    """The lifecycle's phase from both sides' facts, when the run read them (a migration neither copying nor
    streaming); else None."""
    sides = [reading.get('lifecycle_source'), reading.get('lifecycle_target')]
    if not all(isinstance(s, dict) and s.get('reachable') for s in sides):
        return None
    from ansible_collections.pgferry.migrate.plugins.module_utils.lifecycle import derive  # pylint: disable=import-outside-toplevel
    return derive(sides[0].get('facts') or {}, sides[1].get('facts') or {}).name


def _row(migration, reading):
    reading = reading or {}
    target = reading.get('target_status') or {}
    source = reading.get('source_status') or {}
    sub = target.get('subscription') or {}
    slot = source.get('slot') or {}
    failure = reading.get('failure') or {}
    error = ''
    busy = bool(failure) and str(failure.get('busy')).lower() in ('true', '1', 'yes')
    if busy:
        error = 'busy, driven by another run at the same time (%s: %s)' % (failure.get('step') or '?',
                                                                           failure.get('msg') or '?')
    elif failure:
        error = '%s: %s' % (failure.get('step') or '?', failure.get('msg') or '?')
    elif reading.get('read_error'):
        error = 'status not read: %s' % reading['read_error']
    phase = target.get('phase') or ('unknown' if reading.get('read_error') else 'none')
    lifecycle = _lifecycle(reading)
    if lifecycle in ('cut_over', 'cutting_over', 'rolled_back', 'rolling_back', 'stream_lost', 'inconsistent'):
        phase = lifecycle  # the target's own status (schema, tables) does not say where the clients belong
    if busy:
        outcome = 'busy'
    elif failure:
        outcome = 'failed'
    elif reading.get('cutover_state') == 'cut_over':  # cut over in this run (pgferry.migrate.fleet_cutover)
        outcome = 'cut over'
    elif lifecycle in SETTLED:  # by an earlier run
        outcome = SETTLED[lifecycle]
    elif phase == 'streaming':
        outcome = 'streaming'
    elif not reading.get('ran', True):
        outcome = 'not run'
    else:
        outcome = 'in progress'
    return dict(id=migration['id'], source=migration['source'], source_database=migration['source_database'],
                target=migration['target'], target_database=migration['target_database'], phase=phase,
                tables='%s/%s' % (sub.get('ready', 0) or 0, sub.get('total', 0) or 0) if sub.get('exists') else '-',
                slot_lag_bytes=slot.get('lag_bytes') if slot.get('exists') else None,
                slot_wal_status=slot.get('wal_status') if slot.get('exists') else None,
                slot_active=slot.get('active') if slot.get('exists') else None,
                outcome=outcome, failed_step=None if busy else failure.get('step'), error=error)


def _instances(rows):
    """Per source instance: its pgferry slots across the fleet's migrations, WAL they retain, slots lost."""
    out = {}
    for r in rows:
        i = out.setdefault(r['source'], dict(slots=0, retained_bytes=0, lost=[]))
        if r['slot_wal_status'] is not None:
            i['slots'] += 1
            i['retained_bytes'] += r['slot_lag_bytes'] or 0
            if r['slot_wal_status'] == 'lost':
                i['lost'].append(r['id'])
    return out


def _summary_text(summary):
    text = ('%(migrations)d migrations: %(streaming)d streaming, %(cut_over)d cut over, %(in_progress)d in '
            'progress, %(failed)d failed, %(not_run)d not run' % summary)
    if summary.get('rolled_back'):
        text += ', %(rolled_back)d rolled back' % summary
    if summary.get('busy'):
        text += ', %(busy)d busy (driven by another run)' % summary
    return text


def _text(rows, summary, instances):
    keys, heads = [c[0] for c in COLUMNS], [c[1] for c in COLUMNS]
    cells = [heads] + [['' if r[k] is None else str(r[k]) for k in keys] for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS) - 1)]
    lines = ['  '.join(c[i].ljust(widths[i]) for i in range(len(widths))) + '  ' + c[-1] for c in cells]
    lines = [line.rstrip() for line in lines]
    lines.append('')
    lines.append(_summary_text(summary))
    for name, i in sorted(instances.items()):
        lines.append('source %s: %d pgferry slot(s), %d bytes of WAL retained%s' % (
            name, i['slots'], i['retained_bytes'],
            ', slot LOST (restart with pgferry.migrate.cleanup, then the fleet): ' + ', '.join(i['lost'])
            if i['lost'] else ''))
    return '\n'.join(lines) + '\n'


def _html(rows, summary, instances, title):
    import html  # pylint: disable=import-outside-toplevel
    esc = html.escape
    head = ''.join('<th>%s</th>' % esc(c[1]) for c in COLUMNS)
    body = ''.join('<tr class="%s">%s</tr>' % (esc(r['outcome'].replace(' ', '-')), ''.join(
        '<td>%s</td>' % esc('' if r[c[0]] is None else str(r[c[0]])) for c in COLUMNS)) for r in rows)
    inst = ''.join('<li>%s: %d slot(s), %d bytes of WAL retained%s</li>' % (
        esc(n), i['slots'], i['retained_bytes'], esc(', LOST: ' + ', '.join(i['lost'])) if i['lost'] else '')
        for n, i in sorted(instances.items()))
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>%s</title><style>'
            'body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}'
            'td,th{border:1px solid #bbb;padding:.2em .5em;text-align:left}th{background:#eee}'
            'tr.failed{background:#fdd}tr.streaming{background:#dfd}tr.in-progress{background:#ffd}'
            'tr.cut-over{background:#ddf}tr.rolled-back{background:#fed}tr.busy{background:#eee}'
            '</style></head><body><h1>%s</h1><p>%s</p><table><tr>%s</tr>%s</table><h2>Source instances</h2>'
            '<ul>%s</ul></body></html>\n' % (
                esc(title), esc(title),
                esc(_summary_text(summary)), head, body, inst))


def fleet_report(readings, plan, title='pgferry fleet'):
    """readings: migration id -> {target_status, source_status, failure: {step, msg, busy}, read_error, ran,
    cutover_state, lifecycle_source, lifecycle_target (the lifecycle module's side readings, when read)}. A failure
    with busy true (the agent refused a change because another run changes the same migration at that moment) is
    reported as outcome busy, not failed; a migration cut over or rolled back by an earlier run, as its lifecycle
    phase says."""
    try:
        migrations = plan['migrations']
    except (TypeError, KeyError):
        raise AnsibleFilterError('fleet_report expects the fleet_plan filter\'s result as its argument')
    readings = readings or {}
    rows = [_row(m, readings.get(m['id'])) for m in migrations]
    summary = dict(migrations=len(rows), streaming=0, cut_over=0, in_progress=0, failed=0, not_run=0, busy=0,
                   rolled_back=0)
    for r in rows:
        summary[r['outcome'].replace(' ', '_')] += 1
    instances = _instances(rows)
    data = dict(summary=summary, migrations=rows, source_instances=instances)
    return dict(data, json=json.dumps(data, indent=2, sort_keys=True) + '\n', text=_text(rows, summary, instances),
                html=_html(rows, summary, instances, title))


class FilterModule:

    def filters(self):
        return {'fleet_report': fleet_report}
