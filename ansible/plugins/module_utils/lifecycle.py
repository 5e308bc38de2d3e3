# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lifecycle of a migration (docs/design.md, "Lifecycle"): its phase, derived from what both agents read in their
catalogs (GET /v1/migrations/{m}/lifecycle) and from what PgBouncer serves, and which playbook may do what in each
phase. One place, so every playbook reads the same phase and refuses the same way."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    agent_argument_spec,
    migration_argument_spec,
    peer_argument_spec,
)
from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import pgbouncer_argument_spec

PHASES = dict(
    none='nothing of the migration exists on either side',
    prepared='role, publication, schema or target database made; no subscription yet',
    copying='the initial copy runs (not every table is ready)',
    streaming='every table is copied; changes stream from the source to the target',
    stream_lost="the source's slot is invalidated or gone: the target can never catch up",
    cutting_over='a cutover stopped inside its pause: the source is fenced (or clients wait at PgBouncer) and the '
                 'forward stream is still there',
    cut_over='clients belong on the target; the old source is fenced',
    rolling_back='a rollback stopped inside its pause: the target is fenced and the reverse stream is still there',
    rolled_back='clients belong on the old source again; the target is fenced and no stream is left',
    cleaning_up="a cleanup after the cutover stopped halfway: some of pgferry's objects are gone",
    cleaned_up="cut over and cleaned up: clients run on the target, nothing of pgferry is left",
    inconsistent='the two sides disagree in a way no playbook leaves them',
    unknown='a side could not be read',
)

# Where clients belong in each phase (None: either, while a pause is in flight).
CLIENTS_ON = dict(none='source', prepared='source', copying='source', streaming='source', stream_lost='source',
                  cutting_over=None, cut_over='target', rolling_back=None, rolled_back='source',
                  cleaning_up='target', cleaned_up='target', inconsistent=None, unknown=None)

PLAYBOOKS = ('preflight', 'migrate', 'status', 'cutover', 'rollback', 'cleanup')
# The playbooks that end a pause: they may run while PgBouncer holds clients.
RESUMING = dict(cutover=('streaming', 'cutting_over', 'cut_over'), rollback=('cut_over', 'rolling_back', 'rolled_back'))
LIVE = ('prepared', 'copying', 'streaming', 'stream_lost')


def _pb(name):
    return 'pgferry.migrate.%s' % name


class Phase(object):
    """The derived phase: name, why, where clients belong, the reverse stream, what PgBouncer does."""

    def __init__(self, name, reasons, facts):
        self.name = name
        self.reasons = reasons
        self.facts = facts

    def as_dict(self):
        return dict(name=self.name, description=PHASES[self.name], reasons=self.reasons,
                    clients_on=CLIENTS_ON[self.name], **self.facts)


def _sub(side, stream):
    return ((side or {}).get(stream) or {}).get('subscription') or {}


def _slot(side, stream):
    return ((side or {}).get(stream) or {}).get('slot') or {}


def _leftovers(side):
    """pgferry's objects and files on one side outside the subscriptions and fences, by name."""
    found = []
    for stream in ('forward', 'reverse'):
        s = side.get(stream) or {}
        if s.get('publication'):
            found.append('publication %s' % s.get('name'))
        if (s.get('slot') or {}).get('exists'):
            found.append('slot %s' % s.get('name'))
    if side.get('role'):
        found.append('role pgferry_* of the migration')
    state = side.get('state') or {}
    if state.get('archive'):
        found.append('schema archive in the state directory')
    if state.get('replica_identity_changes'):
        found.append('%d replica identity change(s)' % len(state['replica_identity_changes']))
    return found


def derive(source, target, bouncer=None):
    """The phase from each side's facts (None: unreadable) and PgBouncer's state (None: not known).

    bouncer: dict(points='source'|'target'|None, paused=bool).
    """
    facts = dict(reverse_stream=False, paused=bool(bouncer and bouncer.get('paused')),
                 pgbouncer_points=(bouncer or {}).get('points'), stream_left=None)
    if source is None or target is None:
        return Phase('unknown', ['the %s could not be read' % ('source' if source is None else 'target')], facts)
    s_fenced, t_fenced = bool(source.get('fenced')), bool(target.get('fenced'))
    forward_sub, reverse_sub = _sub(target, 'forward'), _sub(source, 'reverse')
    forward_slot = _slot(source, 'forward')
    facts['reverse_stream'] = bool(reverse_sub.get('exists'))
    lost = forward_slot.get('wal_status') == 'lost'

    def phase(name, *reasons):
        return Phase(name, list(reasons), facts)

    if forward_sub.get('exists'):
        if t_fenced:
            return phase('inconsistent', 'the target is fenced while the forward subscription exists')
        if s_fenced:
            if forward_sub.get('enabled') is False:
                # Only a cutover's pause disables it on a fenced source, caught up, switched, right before RESUME.
                facts['stream_left'] = 'forward'
                return phase('cut_over', 'the old source is fenced and the forward stream stopped at the fence; its '
                                         'subscription and slot are left to drop (the cutover or cleanup drops them)')
            return phase('cutting_over', 'the source is fenced and the forward subscription still exists')
        if not forward_slot.get('exists') or lost:
            return phase('stream_lost', 'slot %s on the source is %s' % (
                (source.get('forward') or {}).get('name'), 'invalidated (wal_status lost: the WAL it needed was '
                'removed)' if lost else 'gone'))
        total, ready = forward_sub.get('tables') or 0, forward_sub.get('ready') or 0
        if total == 0 or ready < total:
            return phase('copying', '%d of %d tables ready' % (ready, total))
        if forward_sub.get('enabled') is False:
            # A copy of pgferry's own may fill the tables before it enables a subscription made without copy_data.
            return phase('copying', 'the subscription is disabled (%d of %d tables ready); migrate enables it'
                         % (ready, total))
        return phase('streaming', '%d of %d tables ready' % (ready, total))
    if reverse_sub.get('exists'):
        if t_fenced:
            if reverse_sub.get('enabled') is False:
                facts['stream_left'] = 'reverse'
                return phase('rolled_back', 'the target is fenced and the reverse stream stopped at the fence; its '
                                            'subscription and slot are left to drop (the rollback or cleanup drops '
                                            'them)')
            return phase('rolling_back', 'the target is fenced and the reverse subscription still exists')
        if s_fenced:
            return phase('cut_over', 'the forward stream is dropped, the old source is fenced and kept current by '
                                     'the reverse stream')
        return phase('inconsistent', 'the old source subscribes to the reverse stream but neither side is fenced')
    if s_fenced and t_fenced:
        return phase('inconsistent', 'both sides are fenced and no stream is left')
    if s_fenced:
        return phase('cut_over', 'the forward stream is dropped and the old source is fenced; there is no reverse '
                                 'stream')
    if t_fenced:
        return phase('rolled_back', 'the reverse stream is dropped and the target is fenced')
    source_left, target_left = _leftovers(source), _leftovers(target)
    live = bool(source.get('role') or (source.get('forward') or {}).get('publication'))
    if (bouncer or {}).get('points') == 'target' and not facts['paused']:
        if live and (source.get('forward') or {}).get('publication') and not target_left:
            return phase('inconsistent', 'PgBouncer sends clients to the target but the migration was never cut over')
        if source_left or target_left:
            return phase('cleaning_up', 'left: ' + ', '.join(
                ['source: %s' % x for x in source_left] + ['target: %s' % x for x in target_left]))
        return phase('cleaned_up', 'PgBouncer sends clients to the target; nothing of pgferry is left')
    reverse_left = (target.get('reverse') or {}).get('publication') or _slot(target, 'reverse').get('exists') \
        or target.get('role')
    if reverse_left:
        return phase('cleaning_up', "the reverse stream's objects are still on the target: " + ', '.join(target_left))
    if forward_slot.get('exists'):
        if lost:
            return phase('stream_lost', 'slot %s on the source is invalidated' % (source.get('forward') or {}).get('name'))
        return phase('copying', 'slot %s exists without a subscription (a copy under way, or an interrupted '
                                'abandon)' % (source.get('forward') or {}).get('name'))
    if live:
        return phase('prepared', 'made so far: ' + ', '.join(
            ['source: %s' % x for x in source_left] + ['target: %s' % x for x in target_left]))
    if source_left or target_left:
        return phase('cleaning_up', 'only files are left: ' + ', '.join(
            ['source: %s' % x for x in source_left] + ['target: %s' % x for x in target_left]))
    return phase('none', 'nothing of the migration on either side')


# ---------------------------------------------------------------- transitions

def decide(playbook, phase, migration_id, abandon=None, bouncer_error=None, pgbouncer_needed=False):
    """(action, message) for running `playbook` in `phase` (a Phase); action None means refused.

    Actions: run (do the playbook's work), done (already happened: only make sure clients are served where they
    belong), abandon (cleanup of a migration that is not finished: named with pgferry_cleanup_abandon), show (status).
    """
    p = phase.name
    m = migration_id
    start_over = ('start over: %s -e pgferry_cleanup_abandon=%s (drops what the migration made and empties the '
                  "target's copy), then %s" % (_pb('cleanup'), m, _pb('migrate')))
    if playbook == 'status':
        return 'show', None
    if p == 'unknown' and not (playbook == 'cleanup' and abandon == m):
        return None, ('cannot tell the phase: %s. Bring it back and rerun%s' % (
            '; '.join(phase.reasons), ('; to remove what is on the reachable side anyway (a slot holding WAL), run '
                                       '%s -e pgferry_cleanup_abandon=%s' % (_pb('cleanup'), m))
            if playbook == 'cleanup' else ''))
    if pgbouncer_needed and bouncer_error:
        return None, 'PgBouncer cannot be read: %s; fix that first' % bouncer_error
    if phase.facts.get('paused') and p not in RESUMING.get(playbook, ()):
        return None, ('PgBouncer holds the clients paused - a cutover or rollback stopped inside its pause. Run %s '
                      'to finish it%s' % (_pb('rollback' if p in ('rolling_back', 'rolled_back') else 'cutover'),
                                          '' if p != 'cut_over' else ' (or %s to go back)' % _pb('rollback')))
    mismatch = _clients_mismatch(phase)
    table = _TRANSITIONS[playbook]
    if mismatch and table.get(p, (None,))[0] not in ('done',) and not (playbook == 'cutover' and p == 'cut_over'):
        return None, mismatch + '; point it where they belong first (docs/design.md, "Lifecycle")'
    action, why = table.get(p, (None, 'not in this phase'))
    if playbook == 'cleanup' and action is None and p in LIVE + ('inconsistent', 'unknown'):
        if abandon == m:
            return 'abandon', None
        if abandon:
            return None, ('pgferry_cleanup_abandon names migration %s, not %s; nothing was changed' % (abandon, m))
        return None, ('the migration is not finished - cleaning it up abandons it: its subscription, slot, '
                      "publication and role go%s, and a new move starts from nothing with %s. To do that, name it: "
                      '-e pgferry_cleanup_abandon=%s' % (
                          ", and the target's copy is emptied (TRUNCATE)" if p in LIVE else '', _pb('migrate'), m))
    if playbook == 'cleanup' and p == 'rolled_back' and abandon == m:
        return 'abandon', None
    if playbook == 'rollback' and p == 'cut_over' and not phase.facts.get('reverse_stream'):
        return None, ('there is no reverse stream (reverse replication was off, or cleanup removed it): the old '
                      'source misses every write made on the target since the cutover, so sending clients back would '
                      'lose them')
    if action is None:
        return None, why.replace('{start_over}', start_over)
    return action, None


def _clients_mismatch(phase):
    want, points = CLIENTS_ON[phase.name], phase.facts.get('pgbouncer_points')
    if want is None or points is None or phase.facts.get('paused') or want == points:
        return None
    return 'PgBouncer sends clients to the %s, but in phase %s they belong on the %s' % (points, phase.name, want)


_FINISH_CUTOVER = 'a cutover stopped inside its pause: run %s to finish it' % _pb('cutover')
_FINISH_ROLLBACK = 'a rollback stopped inside its pause: run %s to finish it' % _pb('rollback')
_FINISH_CLEANUP = 'a cleanup after the cutover stopped halfway: run %s to finish it' % _pb('cleanup')
_CLEANED = ('the migration is finished: clients run on the target and nothing of pgferry is left; a new move needs a '
            'new migration id')
_ON_TARGET = ('clients run on the target: %s goes back (with every write made there), %s ends the migration'
              % (_pb('rollback'), _pb('cleanup')))
_NOT_CUT = 'it was never cut over: clients are on the source already, there is nothing to roll back'
_MIGRATE_FIRST = 'nothing to cut over yet: run %s first' % _pb('migrate')

_PREPARE = dict(
    none=('run', None), prepared=('run', None), copying=('run', None), streaming=('run', None),
    stream_lost=(None, 'the forward stream is lost - the target can never catch up; {start_over}'),
    cutting_over=(None, _FINISH_CUTOVER), cut_over=(None, _ON_TARGET), rolling_back=(None, _FINISH_ROLLBACK),
    rolled_back=(None, 'rolled back: the forward stream is gone and the target holds a stale copy; to migrate again, '
                       '{start_over}'),
    cleaning_up=(None, _FINISH_CLEANUP), cleaned_up=(None, _CLEANED),
    inconsistent=(None, 'see %s and docs/design.md ("Lifecycle") to repair by hand' % _pb('status')),
)

_TRANSITIONS = dict(
    preflight=_PREPARE,
    migrate=_PREPARE,
    cutover=dict(
        none=(None, _MIGRATE_FIRST), prepared=(None, _MIGRATE_FIRST),
        copying=(None, 'the initial copy is not finished: run %s (it waits for the copy), then the cutover'
                       % _pb('migrate')),
        streaming=('run', None), cutting_over=('run', None), cut_over=('done', None),
        stream_lost=(None, 'the forward stream is lost - the target misses writes it can never get; {start_over}'),
        rolling_back=(None, _FINISH_ROLLBACK),
        rolled_back=(None, 'rolled back: the forward stream is gone, so a cutover now would lose every write made on '
                           'the source since; to cut over again, {start_over}'),
        cleaning_up=(None, _FINISH_CLEANUP), cleaned_up=(None, _CLEANED),
        inconsistent=(None, 'see %s and docs/design.md ("Lifecycle") to repair by hand' % _pb('status')),
    ),
    rollback=dict(
        none=(None, _NOT_CUT), prepared=(None, _NOT_CUT), copying=(None, _NOT_CUT), streaming=(None, _NOT_CUT),
        stream_lost=(None, _NOT_CUT),
        cutting_over=(None, 'a cutover stopped inside its pause (clients never ran on the target): run %s to finish '
                            'it, or put clients back by hand (docs/design.md, "Cutover")' % _pb('cutover')),
        cut_over=('run', None), rolling_back=('run', None), rolled_back=('done', None),
        cleaning_up=(None, 'cleaned up after the cutover: the reverse stream is gone and the old source misses every '
                           'write made on the target since - a rollback would send clients to stale data'),
        cleaned_up=(None, 'cleaned up after the cutover: the reverse stream is gone and the old source misses every '
                          'write made on the target since - a rollback would send clients to stale data'),
        inconsistent=(None, 'see %s and docs/design.md ("Lifecycle") to repair by hand' % _pb('status')),
    ),
    cleanup=dict(
        none=('run', None), cleaned_up=('run', None), cleaning_up=('run', None), cut_over=('run', None),
        rolled_back=('run', None),
        cutting_over=(None, _FINISH_CUTOVER), rolling_back=(None, _FINISH_ROLLBACK),
    ),
)


def refusal(playbook, phase, migration_id, why):
    """The one message of a refused playbook: what, which phase and why, what to run instead, and that nothing
    changed."""
    return ('%s refused: migration %s is in phase %s (%s%s). %s%s. Nothing was changed; PgBouncer was not touched.'
            % (_pb(playbook), migration_id, phase.name, PHASES[phase.name],
               (': ' + '; '.join(phase.reasons)) if phase.reasons else '', why[0].upper() + why[1:],
               '' if why.endswith('.') else ''))


def next_steps(phase, migration_id):
    """What each playbook would do now: {playbook: action or 'refused: ...'}, for status."""
    out = {}
    for playbook in PLAYBOOKS:
        if playbook == 'status':
            continue
        action, why = decide(playbook, phase, migration_id)
        out[playbook] = action if action else 'refused: ' + why
    return out


# ---------------------------------------------------------------- the module's answer from what was read

def _mb(n):
    return 'n/a' if n is None else '%.1f MB' % (n / 1048576.0)


def summary(migration_id, phase, source, target, bouncer, bouncer_error):
    """Lines for a person - the phase, each side, PgBouncer."""
    lines = ['migration %s: phase %s - %s%s' % (migration_id, phase.name, phase.as_dict()['description'],
                                                (' (%s)' % '; '.join(phase.reasons)) if phase.reasons else '')]
    for side, read in (('source', source), ('target', target)):
        f = read['facts']
        if not read['reachable']:
            lines.append('%s: UNREACHABLE - %s' % (side, read['error']))
            continue
        stream = 'forward' if side == 'source' else 'reverse'
        slot = (f.get(stream) or {}).get('slot') or {}
        sub = (f.get('reverse' if side == 'source' else 'forward') or {}).get('subscription') or {}
        parts = ['database %s%s' % (f.get('database'), '' if f.get('database_exists') else ' (missing)'),
                 'fenced' if f.get('fenced') else 'not fenced']
        if slot.get('exists'):
            limit = (f.get('wal') or {}).get('max_slot_wal_keep_size_bytes')
            parts.append('slot %s %s, lag %s bytes, retained WAL %s of %s, wal_status %s' % (
                (f.get(stream) or {}).get('name'), 'active' if slot.get('active') else 'INACTIVE',
                slot.get('lag_bytes', 'n/a'), _mb(slot.get('retained_bytes')),
                'max_slot_wal_keep_size unbounded (-1)' if limit is not None and limit < 0 else _mb(limit),
                slot.get('wal_status')))
        if sub.get('exists'):
            parts.append('subscription %s: %s of %s tables ready, %s' % (
                (f.get('reverse' if side == 'source' else 'forward') or {}).get('name'), sub.get('ready'),
                sub.get('tables'), 'STOPPED (disabled)' if sub.get('enabled') is False
                else 'apply worker running' if sub.get('worker_pid') else 'apply worker NOT running'))
        lines.append('%s: %s' % (side, '; '.join(parts)))
    if bouncer is not None:
        lines.append('PgBouncer: clients go to the %s%s' % (bouncer['points'] or 'address %s:%s' % (
            bouncer['host'], bouncer['port']), ', PAUSED' if bouncer['paused'] else ''))
    elif bouncer_error:
        lines.append('PgBouncer: UNREADABLE - %s' % bouncer_error)
    return lines


def cleanup_plan(phase, action, source, target, bouncer):
    """Which side first, which sides, whether the target's copy is emptied, the identities to restore there."""
    forward_pub = ((source or {}).get('forward') or {}).get('publication')
    empty = action == 'abandon' and ((phase.name in LIVE and forward_pub) or phase.name == 'rolled_back') \
        and (bouncer or {}).get('points') != 'target'
    return dict(order='target_first' if phase.name in LIVE else 'source_first', source=source is not None,
                target=target is not None, empty_target_tables=bool(empty),
                restore_replica_identity=((source or {}).get('state') or {}).get('replica_identity_changes') or [])


def judge(migration_id, source, target, playbook=None, abandon=None, pgbouncer=False, bouncer=None,
          bouncer_error=None):
    """The lifecycle module's result from both sides as read ({reachable, error, facts}) and PgBouncer's state
    (pgbouncer: whether O(pgbouncer) was given; bouncer, bouncer_error: what reading it gave).

    Returns (result, refused): a refused playbook's result carries the refusal in `message`. Pure - it reads
    nothing - so the action plugin runs it on the controller when no PgBouncer must be read.
    """
    s_facts = source.get('facts') if source.get('reachable') else None
    t_facts = target.get('facts') if target.get('reachable') else None
    phase = derive(s_facts, t_facts, bouncer)
    result = dict(changed=False, queries=[], phase=phase.as_dict(), source=source, target=target,
                  next=next_steps(phase, migration_id),
                  summary=summary(migration_id, phase, source, target, bouncer, bouncer_error))
    if pgbouncer:
        result['pgbouncer'] = dict(bouncer or {}, error=bouncer_error)
    if not playbook:
        return result, False
    needed = pgbouncer and playbook in ('cutover', 'rollback')
    action, why = decide(playbook, phase, migration_id, abandon=abandon or None, bouncer_error=bouncer_error,
                         pgbouncer_needed=needed)
    if action is None:
        result['message'] = refusal(playbook, phase, migration_id, why)
        return result, True
    result['action'] = action
    if playbook == 'cleanup':
        result['cleanup'] = cleanup_plan(phase, action, s_facts, t_facts, bouncer)
    return result, False


def argument_spec():
    """The lifecycle module's options, for the module and its action plugin alike."""
    spec = agent_argument_spec()
    spec.update(peer_argument_spec())
    spec.update(migration_argument_spec())
    spec.update(pgbouncer_argument_spec())
    spec.update(target_database=dict(type='str'),
                playbook=dict(type='str', choices=list(PLAYBOOKS)),
                abandon=dict(type='str', default=''), fail_on_refusal=dict(type='bool', default=True),
                side=dict(type='str', choices=['source', 'target']), source=dict(type='dict'),
                target=dict(type='dict'))
    return spec
