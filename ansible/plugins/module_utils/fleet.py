# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A fleet: many migrations described once (pgferry_fleet), checked as a whole, expanded into the variables of
the migrate and cutover roles, one set per migration. Pure Python, no Ansible import: the fleet_plan filter, the
fleet_copy_slot module and the unit tests share it."""

from __future__ import annotations

import re

MIGRATION_ID = re.compile(r'^[a-z][a-z0-9_]{0,39}$')

# The fleet's own keys; everything a migration passes to the roles is a pgferry_* variable (see ROLE_VARIABLES).
FLEET_KEYS = ('defaults', 'instances', 'migrations', 'max_copies', 'host_prefix')
MAX_COPIES_KEYS = ('total', 'per_source', 'per_target')
INSTANCE_KEYS = ('subscription_host', 'subscription_port', 'max_copies', 'vars')
MIGRATION_KEYS = ('id', 'source', 'database', 'target', 'target_database', 'vars', 'pgbouncer_database', 'group')
# A group names migrations cut over together (pgferry.migrate.fleet_cutover -e pgferry_fleet_cutover_group=...).
GROUP_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$')
DEFAULT_MAX_COPIES = dict(total=4, per_source=2, per_target=2)

# Set by the fleet itself from the entry's own keys: an entry's vars may not override them.
OWN_VARIABLES = ('pgferry_migration_id', 'pgferry_source_host', 'pgferry_target_host', 'pgferry_source_database',
                 'pgferry_target_database')


class FleetError(ValueError):
    """Every problem of a fleet description at once, each naming its entry and the fix."""

    def __init__(self, problems, heading='pgferry_fleet is not valid, nothing was run or changed'):
        self.problems = list(problems)
        super().__init__(heading + ':\n- ' + '\n- '.join(self.problems))


def _positive_int(value):
    try:
        n = int(value)
    except (TypeError, ValueError):
        return None
    return n if n >= 1 and str(value).strip().lstrip('+') == str(n) else None


def _max_copies(raw, where, problems, keys=MAX_COPIES_KEYS):
    if raw is None:
        return {}
    if isinstance(raw, int) and not isinstance(raw, bool) and len(keys) == 1:
        raw = {keys[0]: raw}
    if not isinstance(raw, dict):
        problems.append('%s: max_copies must be a mapping of %s to positive integers' % (where, ', '.join(keys)))
        return {}
    out = {}
    for key, value in raw.items():
        if key not in keys:
            problems.append('%s: max_copies has unknown key %r; use %s' % (where, key, ', '.join(keys)))
            continue
        n = _positive_int(value)
        if n is None:
            problems.append('%s: max_copies.%s is %r; set a whole number of 1 or more' % (where, key, value))
            continue
        out[key] = n
    return out


def _vars(raw, where, known, problems):
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.append('%s: vars must be a mapping of pgferry_* role variables' % where)
        return {}
    out = {}
    for key, value in raw.items():
        if key in OWN_VARIABLES:
            problems.append('%s: %s is set by the fleet from the entry itself (id, source, database, target, '
                            'target_database); remove it from vars' % (where, key))
        elif known and key not in known:
            problems.append('%s: %r is not a variable of the migrate or cutover role; see '
                            'ansible/roles/migrate/meta/argument_specs.yml' % (where, key))
        else:
            out[key] = value
    return out


def _unknown_keys(raw, allowed, where, problems):
    for key in raw:
        if key not in allowed:
            problems.append('%s: unknown key %r; the keys are %s' % (where, key, ', '.join(allowed)))


def plan(fleet, inventory_hosts, known_variables=()):
    """The fleet as a list of migrations, each {'id', 'host', 'source', 'target', 'source_database',
    'target_database', 'vars'} with vars the full set of role variables, plus the caps; raises FleetError naming
    every problem. inventory_hosts: names of the inventory's hosts; known_variables: the roles' variable names
    (empty: not checked)."""
    problems = []
    hosts = set(inventory_hosts or ())
    known = set(known_variables or ())
    if not isinstance(fleet, dict):
        raise FleetError(['pgferry_fleet must be a mapping with instances and migrations (docs/fleet.md)'])
    _unknown_keys(fleet, FLEET_KEYS, 'pgferry_fleet', problems)
    defaults = _vars(fleet.get('defaults'), 'pgferry_fleet.defaults', known, problems)
    caps = dict(DEFAULT_MAX_COPIES)
    caps.update(_max_copies(fleet.get('max_copies'), 'pgferry_fleet', problems))
    prefix = fleet.get('host_prefix', 'pgferry_fleet_')

    instances = fleet.get('instances') or {}
    if not isinstance(instances, dict):
        problems.append('pgferry_fleet.instances must map inventory host names to their settings')
        instances = {}
    instance_settings = {}
    for name, raw in instances.items():
        where = 'pgferry_fleet.instances.%s' % name
        raw = raw or {}
        if not isinstance(raw, dict):
            problems.append('%s must be a mapping (%s)' % (where, ', '.join(INSTANCE_KEYS)))
            continue
        if name not in hosts:
            problems.append('%s: %r is not an inventory host; add it to the inventory with pgferry_agent_url, or '
                            'fix the name' % (where, name))
        _unknown_keys(raw, INSTANCE_KEYS, where, problems)
        instance_settings[name] = dict(
            vars=_vars(raw.get('vars'), where + '.vars', known, problems),
            max_copies=_max_copies(raw.get('max_copies'), where, problems, keys=('per_instance',)).get('per_instance'),
            subscription_host=raw.get('subscription_host'),
            subscription_port=raw.get('subscription_port'))

    migrations = fleet.get('migrations')
    if not isinstance(migrations, list) or not migrations:
        problems.append('pgferry_fleet.migrations must be a non-empty list, one entry per database')
        migrations = []

    out, seen_ids, seen_targets, seen_hosts = [], {}, {}, set()
    for index, raw in enumerate(migrations):
        where = 'pgferry_fleet.migrations[%d]' % index
        if not isinstance(raw, dict):
            problems.append('%s must be a mapping with id, source, database, target' % where)
            continue
        mid = raw.get('id')
        if mid is not None:
            where = '%s (id %s)' % (where, mid)
        _unknown_keys(raw, MIGRATION_KEYS, where, problems)
        missing = [k for k in ('id', 'source', 'database', 'target') if not raw.get(k)]
        if missing:
            problems.append('%s: %s missing; every migration needs id, source, database and target'
                            % (where, ', '.join(missing)))
            continue
        mid = str(mid)
        if not MIGRATION_ID.match(mid):
            problems.append('%s: id %r must match ^[a-z][a-z0-9_]{0,39}$ (it names the role, publication, slot and '
                            'subscription pgferry_<id>)' % (where, mid))
        if mid in seen_ids:
            problems.append('%s: id %s is already used by pgferry_fleet.migrations[%d]; give each migration its own '
                            'id' % (where, mid, seen_ids[mid]))
        seen_ids.setdefault(mid, index)
        source, target = str(raw['source']), str(raw['target'])
        for side, host in (('source', source), ('target', target)):
            if host not in hosts:
                problems.append('%s: %s %r is not an inventory host; add it to the inventory (with '
                                'pgferry_agent_url) or fix the name' % (where, side, host))
        source_db = str(raw['database'])
        target_db = str(raw.get('target_database') or source_db)
        key = (target, target_db)
        if key in seen_targets:
            problems.append('%s: database %s on %s is already the target of migration %s; two migrations cannot '
                            'write one database: set target_database to another name'
                            % (where, target_db, target, seen_targets[key]))
        seen_targets.setdefault(key, mid)
        if source == target and source_db == target_db:
            problems.append('%s: source and target are the same database (%s on %s); set another target or '
                            'target_database' % (where, source_db, source))

        merged = dict(defaults)
        for host in (source, target):
            merged.update(instance_settings.get(host, {}).get('vars', {}))
        src = instance_settings.get(source, {})
        if src.get('subscription_host') is not None:
            merged['pgferry_subscription_host'] = src['subscription_host']
        if src.get('subscription_port') is not None:
            merged['pgferry_subscription_port'] = src['subscription_port']
        if raw.get('pgbouncer_database'):
            merged['pgferry_pgbouncer_database'] = str(raw['pgbouncer_database'])
        merged.update(_vars(raw.get('vars'), where + '.vars', known, problems))
        merged.update(pgferry_migration_id=mid, pgferry_source_host=source, pgferry_target_host=target,
                      pgferry_source_database=source_db, pgferry_target_database=target_db)
        if not merged.get('pgferry_subscription_host') and source in hosts:
            problems.append('%s: no subscription host: set subscription_host on pgferry_fleet.instances.%s (how '
                            'the target server reaches that source) or pgferry_subscription_host in vars'
                            % (where, source))
        group = raw.get('group')
        if group is not None and (not isinstance(group, str) or not GROUP_NAME.match(group)):
            problems.append('%s: group %r must be a name of letters, digits, _ . - (at most 63, starting with a '
                            'letter or digit); it selects the migrations pgferry.migrate.fleet_cutover cuts over '
                            'together' % (where, group))
            group = None
        host_name = prefix + mid
        if host_name in hosts:
            problems.append('%s: its controller-side host %s clashes with an inventory host; rename one or set '
                            'pgferry_fleet.host_prefix' % (where, host_name))
        seen_hosts.add(host_name)
        out.append(dict(id=mid, host=host_name, source=source, target=target, source_database=source_db,
                        target_database=target_db, group=group, vars=merged))

    for name, settings in instance_settings.items():
        if settings.get('max_copies'):
            caps.setdefault('per_instance', {})[name] = settings['max_copies']
    if problems:
        raise FleetError(problems)
    return dict(migrations=out, max_copies=caps)


def copy_limits(caps, source, target):
    """(total, limit on the source instance, limit on the target instance) for one migration."""
    per_instance = caps.get('per_instance') or {}
    return (caps['total'], per_instance.get(source, caps['per_source']), per_instance.get(target, caps['per_target']))


def blocking_cap(me, copying, caps):
    """The first cap that a new initial copy of `me` would exceed, as a sentence, or None. copying: the migrations
    (dicts with id, source, target) whose initial copy is in progress or reserved, `me` excluded."""
    total, per_source, per_target = copy_limits(caps, me['source'], me['target'])
    if len(copying) >= total:
        return 'the fleet has %d initial copies in progress (max_copies.total %d)' % (len(copying), total)
    # An instance counts as a source or a target of a copy: one PostgreSQL serves both roles alike.
    on_source = [m['id'] for m in copying if me['source'] in (m['source'], m['target'])]
    if len(on_source) >= per_source:
        return 'source %s is busy with %d initial copies (%s; limit %d)' % (
            me['source'], len(on_source), ', '.join(sorted(on_source)), per_source)
    on_target = [m['id'] for m in copying if me['target'] in (m['source'], m['target'])]
    if len(on_target) >= per_target:
        return 'target %s is busy with %d initial copies (%s; limit %d)' % (
            me['target'], len(on_target), ', '.join(sorted(on_target)), per_target)
    return None


def capacity_problems(planned, infos):
    """What the instances' settings cannot hold of the fleet, one sentence each naming the setting and the fix; []
    when they hold it. infos maps an inventory host to its agent's GET /v1/info answer.

    Every stream keeps, for as long as it streams, an apply worker and a replication origin on its target and a slot
    and a WAL sender on its source; each initial copy at once (as many as the caps allow) borrows one more of each. A
    stream beyond a limit never starts, and its migration waits until its timeout: refused here instead, before anything
    runs. What else already holds those limits on an instance (another tool's slots and subscriptions, a standby's WAL
    sender: the agent's info names them) is counted on top; the fleet's own objects are not counted twice on a rerun.
    An instance whose agent did not answer is not judged here: its migrations fail at their own first step, and the
    others go on."""
    caps = planned['max_copies']
    migrations = planned['migrations']
    problems = []
    own = set()
    for m in migrations:
        own.update(('pgferry_%s' % m['id'], 'pgferry_%s_reverse' % m['id']))

    def need(host, setting, wanted, why, others=()):
        info = infos.get(host)
        if not info:
            return
        have = _positive_int((info.get('settings') or {}).get(setting)) or 0
        if others:
            wanted += len(others)
            why += '; %d more already in use by others: %s' % (len(others), ', '.join(
                '(a standby or base backup)' if not o else o for o in sorted(others)[:5])
                + (', ...' if len(others) > 5 else ''))
        if have < wanted:
            fix = 'ALTER SYSTEM SET %s = %d, then restart it (a managed service: its parameter group)' % (setting, wanted)
            problems.append('%s: %s is %d, the fleet needs at least %d (%s): %s'
                            % (host, setting, have, wanted, why, fix))

    for target in sorted({m['target'] for m in migrations}):
        streams = sum(1 for m in migrations if m['target'] == target)
        copies = min(streams, caps['total'], copy_limits(caps, None, target)[2])
        why = '%d streams onto it and %d initial copies at once' % (streams, copies)
        subscriptions = in_use(infos.get(target), 'subscriptions', own)
        need(target, 'max_logical_replication_workers', streams + copies, why, subscriptions)
        need(target, 'max_worker_processes', streams + copies + 1, why + ', and the launcher', subscriptions)
        major = (infos.get(target) or {}).get('major') or 0
        # Replication origins: their own limit from PostgreSQL 18, max_replication_slots before.
        need(target, 'max_active_replication_origins' if major >= 18 else 'max_replication_slots', streams + copies,
             why + ': a replication origin each', subscriptions)
    for source in sorted({m['source'] for m in migrations}):
        streams = sum(1 for m in migrations if m['source'] == source)
        copies = min(streams, caps['total'], copy_limits(caps, source, None)[1])
        why = '%d streams from it and %d initial copies at once' % (streams, copies)
        need(source, 'max_replication_slots', streams + copies, why + ': a slot each',
             in_use(infos.get(source), 'slots', own))
        need(source, 'max_wal_senders', streams + copies, why + ': a WAL sender each',
             in_use(infos.get(source), 'wal_senders', own))
        wal = _wal_room(infos.get(source))
        if wal and wal['keep_bytes'] >= 0 and wal['keep_bytes'] > wal['free_bytes']:
            problems.append('%s: max_slot_wal_keep_size is %s, more than the %s free on the disk of its WAL (%s): the '
                            'fleet\'s %d slots on it may hold WAL until that disk is full, and the server stops, '
                            'before the limit lets go of any: ALTER SYSTEM SET max_slot_wal_keep_size = \'%dMB\' (half '
                            'the free space) and SELECT pg_reload_conf(), or free space on that disk'
                            % (source, _size(wal['keep_bytes']), _size(wal['free_bytes']), wal['path'], streams,
                               wal['free_bytes'] // 2 // MB))
    return problems


MB = 1024 * 1024
# The slot of an initial copy's table sync worker (PostgreSQL's name): a copy the caps count already, not another's.
SYNC_SLOT = re.compile(r'^pg_[0-9]+_sync_[0-9]+_[0-9]+$')


def in_use(info, kind, own):
    """Names of what already holds an instance's replication limits that is not the fleet's own (its migrations'
    slots, subscriptions and reverse streams, and table sync slots), from an agent's GET /v1/info 'replication':
    kind 'slots', 'wal_senders' (each sender's slot; '' for a standby's or a base backup's) or 'subscriptions'."""
    names = ((info or {}).get('replication') or {}).get(kind) or []
    return [n for n in names if n not in own and not SYNC_SLOT.match(n)]


def capacity_warnings(planned, infos):
    """What the fleet's source instances risk without refusing it: WAL held without a bound. A slot holds every WAL
    segment its subscriber has not confirmed; the instance's slots share one WAL, so what they hold is what the
    slowest of them holds, and a fleet keeps its slots for as long as its last migration runs. max_slot_wal_keep_size
    bounds it (a slot past it is invalidated: its migration is reported and starts again), -1, PostgreSQL's default,
    does not."""
    warnings = []
    for source in sorted({m['source'] for m in planned['migrations']}):
        wal = _wal_room(infos.get(source))
        if not wal or wal['keep_bytes'] >= 0:
            continue
        streams = sum(1 for m in planned['migrations'] if m['source'] == source)
        free = ('; %s free on the disk of its WAL (%s)' % (_size(wal['free_bytes']), wal['path'])
                if wal['free_bytes'] is not None else '')
        bound = '\'%dMB\' (half the free space)' % (wal['free_bytes'] // 2 // MB) if wal['free_bytes'] is not None \
            else '\'<size>\''
        warnings.append('%s: max_slot_wal_keep_size is -1, so the fleet\'s %d slots on it hold WAL without a bound until '
                        'their migrations are cut over or cleaned up%s. To bound it: ALTER SYSTEM SET '
                        'max_slot_wal_keep_size = %s and SELECT pg_reload_conf()'
                        % (source, streams, free, bound))
    return warnings


def _wal_room(info):
    """max_slot_wal_keep_size in bytes (-1: no bound) and the WAL disk's free bytes and path (None when the agent
    cannot see it), from an agent's GET /v1/info answer; None when the agent did not answer or said nothing of it."""
    if not info:
        return None
    try:
        keep_mb = int((info.get('settings') or {}).get('max_slot_wal_keep_size'))
    except (TypeError, ValueError):
        return None
    disk = info.get('wal_disk') or {}
    free = disk.get('free_bytes')
    if keep_mb >= 0 and free is None:
        return None
    return dict(keep_bytes=keep_mb * MB if keep_mb >= 0 else -1, free_bytes=free, path=disk.get('path'))


def _size(n):
    for unit in ('bytes', 'kB', 'MB', 'GB', 'TB'):
        if n < 1024 or unit == 'TB':
            return '%d %s' % (n, unit) if unit == 'bytes' else '%.1f %s' % (n, unit)
        n /= 1024.0
    return str(n)


def _names(value):
    """A list of names from a list, a comma-separated string, or nothing."""
    if value is None or value == '':
        return []
    if isinstance(value, str):
        return [v.strip() for v in value.split(',') if v.strip()]
    if isinstance(value, (list, tuple)):
        return [str(v).strip() for v in value if str(v).strip()]
    return [str(value)]


def select(planned, groups=None, ids=None):
    """The ids of the planned migrations in any of `groups` or among `ids` (both empty: all of them), in plan
    order; raises FleetError, naming the fix, for a group or an id that matches no migration."""
    migrations = planned['migrations']
    groups, ids = _names(groups), _names(ids)
    known_groups = sorted({m['group'] for m in migrations if m.get('group')})
    known_ids = [m['id'] for m in migrations]
    problems = []
    for g in groups:
        if g not in known_groups:
            problems.append('group %r matches no migration of pgferry_fleet (its groups: %s); fix '
                            'pgferry_fleet_cutover_group, or set group: %s on the entries to cut over'
                            % (g, ', '.join(known_groups) or 'none', g))
    for i in ids:
        if i not in known_ids:
            problems.append('migration id %r is not in pgferry_fleet (its ids: %s); fix pgferry_fleet_cutover_ids'
                            % (i, ', '.join(known_ids)))
    if problems:
        raise FleetError(problems, 'the cutover selection is not valid, nothing was cut over or changed')
    if not groups and not ids:
        return known_ids
    return [m['id'] for m in migrations if m['id'] in ids or (m.get('group') and m['group'] in groups)]
