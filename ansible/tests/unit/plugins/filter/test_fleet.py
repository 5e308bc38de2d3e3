# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import json

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.pgferry.migrate.plugins.filter.fleet_plan import fleet_plan, fleet_select, role_variables
from ansible_collections.pgferry.migrate.plugins.filter.fleet_capacity import fleet_capacity, fleet_capacity_warnings
from ansible_collections.pgferry.migrate.plugins.filter.fleet_report import fleet_report
from ansible_collections.pgferry.migrate.plugins.module_utils.fleet import blocking_cap

HOSTS = ['src1', 'src2', 'shared', 'localhost']


def fleet(*migrations, **extra):
    base = dict(instances=dict(src1=dict(subscription_host='10.0.0.1', subscription_port=5433,
                                         vars=dict(pgferry_sync_timeout=99)),
                               src2=dict(subscription_host='10.0.0.2', max_copies=1), shared={}),
                defaults=dict(pgferry_sync_timeout=7, pgferry_job_timeout=8),
                migrations=list(migrations))
    base.update(extra)
    return base


def test_entries_become_role_variables_with_instance_defaults_and_renames():
    plan = fleet_plan(fleet(dict(id='shop_a', source='src1', database='shop', target='shared'),
                            dict(id='shop_b', source='src2', database='shop', target='shared',
                                 target_database='shop b', pgbouncer_database='shop_b',
                                 vars=dict(pgferry_exclude_schemas=['audit'], pgferry_job_timeout=1))), HOSTS)
    a, b = plan['migrations']
    assert a['vars']['pgferry_subscription_host'] == '10.0.0.1' and a['vars']['pgferry_subscription_port'] == 5433
    assert a['vars']['pgferry_sync_timeout'] == 99  # the source instance's vars over the fleet's defaults
    assert a['vars']['pgferry_target_database'] == 'shop' and a['host'] == 'pgferry_fleet_shop_a'
    assert b['vars']['pgferry_target_database'] == 'shop b' and b['vars']['pgferry_source_database'] == 'shop'
    assert b['vars']['pgferry_job_timeout'] == 1 and b['vars']['pgferry_exclude_schemas'] == ['audit']
    assert b['vars']['pgferry_pgbouncer_database'] == 'shop_b'
    assert plan['max_copies'] == dict(total=4, per_source=2, per_target=2, per_instance=dict(src2=1))


def test_every_problem_is_named_with_its_entry_and_fix():
    with pytest.raises(AnsibleFilterError) as e:
        fleet_plan(fleet(dict(id='a', source='src1', database='x', target='shared'),
                         dict(id='a', source='nowhere', database='y', target='shared'),
                         dict(id='c', source='src2', database='z', target='shared', target_database='x'),
                         dict(id='Bad', source='src1', database='q', target='shared', vars=dict(foo=1)),
                         dict(id='d', source='src1', database='w', target='shared',
                              vars=dict(pgferry_migration_id='e')),
                         max_copies=dict(total=0)), HOSTS)
    text = str(e.value)
    assert 'nothing was run or changed' in text
    assert 'migrations[1] (id a): id a is already used by pgferry_fleet.migrations[0]' in text
    assert "source 'nowhere' is not an inventory host" in text
    assert 'database x on shared is already the target of migration a' in text
    assert "id 'Bad' must match" in text
    assert "'foo' is not a variable of the migrate or cutover role" in text
    assert 'pgferry_migration_id is set by the fleet' in text
    assert 'max_copies.total is 0' in text


def test_not_a_fleet():
    with pytest.raises(AnsibleFilterError, match='must be a mapping'):
        fleet_plan(None, HOSTS)
    with pytest.raises(AnsibleFilterError, match='non-empty list'):
        fleet_plan(fleet(), HOSTS)


def test_role_variables_come_from_the_roles_argument_specs():
    known = role_variables()
    assert {'pgferry_exclude_schemas', 'pgferry_pgbouncer_database', 'pgferry_cutover_verify'} <= known


def test_caps_in_total_per_source_and_per_target():
    caps = dict(total=3, per_source=1, per_target=2, per_instance=dict(big=5))
    me = dict(id='m', source='s1', target='t')
    assert blocking_cap(me, [], caps) is None
    assert 'source s1 is busy' in blocking_cap(me, [dict(id='x', source='s1', target='t')], caps)
    two_on_t = [dict(id='x', source='s2', target='t'), dict(id='y', source='s3', target='t')]
    assert 'target t is busy with 2 initial copies (x, y; limit 2)' in blocking_cap(me, two_on_t, caps)
    three = [dict(id=i, source='s%d' % n, target='u%d' % n) for n, i in enumerate('xyz', 5)]
    assert 'max_copies.total 3' in blocking_cap(me, three, caps)
    # an instance's own cap replaces per_source/per_target for it
    assert blocking_cap(dict(id='m', source='big', target='t2'), [dict(id='x', source='big', target='t3')],
                        caps) is None


def test_report_rows_outcomes_and_formats():
    plan = fleet_plan(fleet(dict(id='a', source='src1', database='x', target='shared'),
                            dict(id='b', source='src2', database='y', target='shared'),
                            dict(id='c', source='src2', database='z', target='shared')), HOSTS)
    readings = dict(
        a=dict(target_status=dict(phase='streaming', subscription=dict(exists=True, ready=3, total=3)),
               source_status=dict(slot=dict(exists=True, lag_bytes=120, wal_status='reserved', active=True))),
        b=dict(target_status=dict(phase='schema', subscription=dict(exists=False)),
               failure=dict(step='Schema apply on the target', msg='pg_restore failed <b>')),
        c=dict(target_status=dict(phase='copying', subscription=dict(exists=True, ready=1, total=4)),
               source_status=dict(slot=dict(exists=True, lag_bytes=5, wal_status='lost'))))
    r = fleet_report(readings, plan)
    assert r['summary'] == dict(migrations=3, streaming=1, cut_over=0, in_progress=1, failed=1, not_run=0, busy=0,
                                rolled_back=0)
    rows = {x['id']: x for x in r['migrations']}
    assert rows['a']['tables'] == '3/3' and rows['c']['tables'] == '1/4'
    assert rows['b']['error'] == 'Schema apply on the target: pg_restore failed <b>'
    assert r['source_instances']['src2'] == dict(slots=1, retained_bytes=5, lost=['c'])
    assert json.loads(r['json'])['summary']['failed'] == 1
    assert 'slot LOST' in r['text'] and '3 migrations: 1 streaming' in r['text']
    assert 'pg_restore failed &lt;b&gt;' in r['html'] and 'failed <b>' not in r['html']
    assert 'busy' not in r['text']


def _side(**facts):
    """A lifecycle module's side reading: reachable, with the agent's GET lifecycle facts."""
    return dict(reachable=True, error=None, facts=facts)


def test_report_a_migration_cut_over_or_rolled_back_by_an_earlier_run_says_so():
    plan = fleet_plan(fleet(dict(id='a', source='src1', database='x', target='shared'),
                            dict(id='b', source='src2', database='y', target='shared'),
                            dict(id='c', source='src2', database='z', target='shared'),
                            dict(id='d', source='src1', database='w', target='shared')), HOSTS)
    # After a cutover the target's own status is only its tables: the phase comes from the lifecycle's facts.
    settled = dict(target_status=dict(phase='schema', subscription=dict(exists=False)),
                   source_status=dict(slot=dict(exists=False)))
    readings = dict(
        a=dict(settled, lifecycle_source=_side(fenced=True, reverse=dict(subscription=dict(exists=True))),
               lifecycle_target=_side(fenced=False)),
        b=dict(settled, lifecycle_source=_side(fenced=False), lifecycle_target=_side(fenced=True)),
        # the source could not be read: nothing is claimed
        c=dict(settled, lifecycle_source=dict(reachable=False, error='refused', facts={}),
               lifecycle_target=_side(fenced=False)),
        # a fresh migration (schema applied, nothing else): still in progress
        d=dict(settled, lifecycle_source=_side(fenced=False, role=True, forward=dict(publication=True, name='p')),
               lifecycle_target=_side(fenced=False)))
    r = fleet_report(readings, plan)
    rows = {x['id']: x for x in r['migrations']}
    assert (rows['a']['outcome'], rows['a']['phase']) == ('cut over', 'cut_over'), rows['a']
    assert (rows['b']['outcome'], rows['b']['phase']) == ('rolled back', 'rolled_back'), rows['b']
    assert (rows['c']['outcome'], rows['c']['phase']) == ('in progress', 'schema'), rows['c']
    assert (rows['d']['outcome'], rows['d']['phase']) == ('in progress', 'schema'), rows['d']
    assert r['summary'] == dict(migrations=4, streaming=0, cut_over=1, in_progress=2, failed=0, not_run=0, busy=0,
                                rolled_back=1)
    assert '1 cut over, 2 in progress, 0 failed, 0 not run, 1 rolled back' in r['text'], r['text']
    assert '<tr class="rolled-back">' in r['html']


def test_report_a_migration_driven_by_another_run_is_busy_not_failed():
    plan = fleet_plan(fleet(dict(id='a', source='src1', database='x', target='shared'),
                            dict(id='b', source='src2', database='y', target='shared')), HOSTS)
    readings = dict(
        a=dict(target_status=dict(phase='database'),
               failure=dict(step='Publication', busy=True,
                            msg='agent answered HTTP 409 Conflict [operation_in_progress]: another request changes '
                                'migration a right now (PUT /v1/migrations/a/publication)')),
        b=dict(target_status=dict(phase='schema'),
               failure=dict(step='Schema apply on the target', busy='False', msg='job failed')))
    r = fleet_report(readings, plan)
    assert r['summary'] == dict(migrations=2, streaming=0, cut_over=0, in_progress=0, failed=1, not_run=0, busy=1,
                                rolled_back=0)
    rows = {x['id']: x for x in r['migrations']}
    assert rows['a']['outcome'] == 'busy' and rows['a']['failed_step'] is None
    assert rows['a']['error'].startswith('busy, driven by another run at the same time (Publication: agent answered')
    assert rows['b']['outcome'] == 'failed' and rows['b']['failed_step'] == 'Schema apply on the target'
    assert '1 failed, 0 not run, 1 busy (driven by another run)' in r['text']
    assert '<tr class="busy">' in r['html']


def test_groups_select_the_migrations_to_cut_over_and_a_wrong_one_is_refused():
    plan = fleet_plan(fleet(dict(id='a', source='src1', database='a', target='shared', group='wave1'),
                            dict(id='b', source='src2', database='b', target='shared', group='wave2'),
                            dict(id='c', source='src1', database='c', target='shared', group='wave1'),
                            dict(id='d', source='src2', database='d', target='shared')), HOSTS)
    assert [m['group'] for m in plan['migrations']] == ['wave1', 'wave2', 'wave1', None]
    assert fleet_select(plan, 'wave1') == ['a', 'c']
    assert fleet_select(plan, 'wave2,wave1') == ['a', 'b', 'c']
    assert fleet_select(plan, '', ['d', 'b']) == ['b', 'd']
    assert fleet_select(plan, 'wave2', 'd') == ['b', 'd']
    assert fleet_select(plan) == ['a', 'b', 'c', 'd']
    with pytest.raises(AnsibleFilterError) as e:
        fleet_select(plan, 'wave3', ['a', 'zz'])
    assert 'nothing was cut over or changed' in str(e.value)
    assert "group 'wave3' matches no migration of pgferry_fleet (its groups: wave1, wave2)" in str(e.value)
    assert "migration id 'zz' is not in pgferry_fleet" in str(e.value)
    with pytest.raises(AnsibleFilterError) as e:
        fleet_plan(fleet(dict(id='a', source='src1', database='a', target='shared', group='two words'),
                         dict(id='b', source='src1', database='b', target='shared', group=['x'])), HOSTS)
    assert str(e.value).count("must be a name of letters") == 2


def info(major, **settings):
    base = dict(max_logical_replication_workers=12, max_worker_processes=24, max_replication_slots=20,
                max_wal_senders=20, max_active_replication_origins=10)
    base.update(settings)
    if major < 18:
        base.pop('max_active_replication_origins')
    return dict(major=major, settings=dict((k, str(v)) for k, v in base.items()))


def test_capacity_counts_streams_and_the_copies_the_caps_allow_per_instance():
    # 7 streams onto shared, copies capped at 2 there: 9 workers and origins; src1 sends 4 (+2 copies), src2 3 (+1).
    plan = fleet_plan(fleet(*[dict(id='m%d' % i, source='src1' if i < 4 else 'src2', database='d%d' % i,
                                   target='shared') for i in range(7)]), HOSTS)
    roomy = dict(src1=info(16), src2=info(16), shared=info(18))
    assert fleet_capacity(plan, roomy) == []
    tight = dict(src1=info(16, max_replication_slots=5, max_wal_senders=6), src2=info(16),
                 shared=info(18, max_active_replication_origins=8, max_logical_replication_workers=9,
                             max_worker_processes=9))
    problems = fleet_capacity(plan, tight)
    assert problems == [
        'shared: max_worker_processes is 9, the fleet needs at least 10 (7 streams onto it and 2 initial copies at '
        'once, and the launcher): ALTER SYSTEM SET max_worker_processes = 10, then restart it (a managed service: its '
        'parameter group)',
        'shared: max_active_replication_origins is 8, the fleet needs at least 9 (7 streams onto it and 2 initial '
        'copies at once: a replication origin each): ALTER SYSTEM SET max_active_replication_origins = 9, then '
        'restart it (a managed service: its parameter group)',
        'src1: max_replication_slots is 5, the fleet needs at least 6 (4 streams from it and 2 initial copies at '
        'once: a slot each): ALTER SYSTEM SET max_replication_slots = 6, then restart it (a managed service: its '
        'parameter group)'], problems
    # Before PostgreSQL 18 a subscriber's origins count against its max_replication_slots.
    older = fleet_capacity(plan, dict(roomy, shared=info(16, max_replication_slots=8)))
    assert len(older) == 1 and older[0].startswith('shared: max_replication_slots is 8, the fleet needs at least 9')
    # An instance whose agent did not answer is left to its migrations' own steps, which fail alone.
    assert fleet_capacity(dict(plan), dict(tight, src1={})) == problems[:2]
    with pytest.raises(AnsibleFilterError):
        fleet_capacity({'migrations': []}, roomy)


def test_capacity_counts_what_others_already_hold_but_not_the_fleets_own():
    plan = fleet_plan(fleet(*[dict(id='m%d' % i, source='src1', database='d%d' % i, target='shared')
                              for i in range(3)]), HOSTS)
    # 3 streams and 2 copies at once (the default caps): 5 slots and senders on src1, 5 workers and origins on shared.
    src1 = info(16, max_replication_slots=7, max_wal_senders=7)
    shared = info(18, max_logical_replication_workers=6, max_active_replication_origins=6)
    # The fleet's own (a rerun), its reverse streams and table sync slots are not others.
    src1['replication'] = dict(slots=['pgferry_m0', 'pgferry_m1_reverse', 'pg_16385_sync_16390_7312345678901234567',
                                      'debezium'],
                               wal_senders=['pgferry_m0', '', 'debezium'], subscriptions=[])
    shared['replication'] = dict(slots=[], wal_senders=[], subscriptions=['pgferry_m2', 'billing_feed'])
    assert fleet_capacity(plan, dict(src1=src1, src2=info(16), shared=shared)) == []
    src1['replication']['slots'] += ['cdc_a', 'cdc_b']
    shared['replication']['subscriptions'].append('audit_feed')
    problems = fleet_capacity(plan, dict(src1=src1, src2=info(16), shared=shared))
    assert problems == [
        'shared: max_logical_replication_workers is 6, the fleet needs at least 7 (3 streams onto it and 2 initial '
        'copies at once; 2 more already in use by others: audit_feed, billing_feed): ALTER SYSTEM SET '
        'max_logical_replication_workers = 7, then restart it (a managed service: its parameter group)',
        'shared: max_active_replication_origins is 6, the fleet needs at least 7 (3 streams onto it and 2 initial '
        'copies at once: a replication origin each; 2 more already in use by others: audit_feed, billing_feed): '
        'ALTER SYSTEM SET max_active_replication_origins = 7, then restart it (a managed service: its parameter '
        'group)',
        'src1: max_replication_slots is 7, the fleet needs at least 8 (3 streams from it and 2 initial copies at '
        'once: a slot each; 3 more already in use by others: cdc_a, cdc_b, debezium): ALTER SYSTEM SET '
        'max_replication_slots = 8, then restart it (a managed service: its parameter group)'], problems


GB = 1024 ** 3


def wal(major, keep_mb, free_bytes=None, **settings):
    """info() plus max_slot_wal_keep_size (MB, as pg_settings gives it) and the WAL disk's free space when known."""
    out = info(major, max_slot_wal_keep_size=keep_mb, **settings)
    if free_bytes is not None:
        out['wal_disk'] = dict(path='/var/lib/postgresql/%d/main/pg_wal' % major, free_bytes=free_bytes,
                               total_bytes=4 * free_bytes)
    return out


def test_wal_a_source_may_hold_is_bounded_by_the_free_space_of_its_disk():
    plan = fleet_plan(fleet(*[dict(id='m%d' % i, source='src1' if i < 3 else 'src2', database='d%d' % i,
                                   target='shared') for i in range(5)]), HOSTS)
    shared = info(18)
    # A bound beyond the free space is refused, with half the free space as the fix; within it, nothing is said.
    over = dict(src1=wal(16, 200 * 1024, free_bytes=50 * GB), src2=wal(16, 10 * 1024, free_bytes=50 * GB),
                shared=shared)
    assert fleet_capacity(plan, over) == [
        'src1: max_slot_wal_keep_size is 200.0 GB, more than the 50.0 GB free on the disk of its WAL '
        '(/var/lib/postgresql/16/main/pg_wal): the fleet\'s 3 slots on it may hold WAL until that disk is full, and '
        'the server stops, before the limit lets go of any: ALTER SYSTEM SET max_slot_wal_keep_size = \'25600MB\' '
        '(half the free space) and SELECT pg_reload_conf(), or free space on that disk']
    assert fleet_capacity_warnings(plan, over) == []
    # No bound (PostgreSQL's default): named with the free space when the agent sees the disk, never refused.
    unbounded = dict(src1=wal(16, -1, free_bytes=50 * GB), src2=wal(16, -1), shared=shared)
    assert fleet_capacity(plan, unbounded) == []
    assert fleet_capacity_warnings(plan, unbounded) == [
        'src1: max_slot_wal_keep_size is -1, so the fleet\'s 3 slots on it hold WAL without a bound until their '
        'migrations are cut over or cleaned up; 50.0 GB free on the disk of its WAL '
        '(/var/lib/postgresql/16/main/pg_wal). To bound it: ALTER SYSTEM SET max_slot_wal_keep_size = \'25600MB\' '
        '(half the free space) and SELECT pg_reload_conf()',
        'src2: max_slot_wal_keep_size is -1, so the fleet\'s 2 slots on it hold WAL without a bound until their '
        'migrations are cut over or cleaned up. To bound it: ALTER SYSTEM SET max_slot_wal_keep_size = \'<size>\' '
        'and SELECT pg_reload_conf()']
    # A bound the agent cannot compare (no view of the disk: a managed service), an agent that did not answer, or
    # one that does not report the setting: nothing is refused or said.
    unseen = dict(src1=wal(16, 200 * 1024), src2={}, shared=shared)
    assert fleet_capacity(plan, unseen) == [] and fleet_capacity_warnings(plan, unseen) == []
    assert fleet_capacity_warnings(plan, dict(src1=info(16), src2=info(16), shared=shared)) == []
    with pytest.raises(AnsibleFilterError):
        fleet_capacity_warnings({'migrations': []}, unseen)
