# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The lifecycle's derivation and transition table, on facts shaped as the agents answer them
(GET /v1/migrations/{m}/lifecycle). What each playbook does on real servers is tested end to end in
tests/e2e/test_lifecycle.py and test_lifecycle_model.py; these pin the table itself."""

from __future__ import annotations

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.lifecycle import (
    PLAYBOOKS,
    decide,
    derive,
    refusal,
)


def side(fenced=False, role=False, fpub=False, fslot=None, fsub=None, rpub=False, rslot=None, rsub=None,
         archive=False, identities=(), fsub_enabled=True, rsub_enabled=True):
    def slot(status):
        return dict(exists=status is not None, wal_status=status, active=status is not None)

    def sub(tables, enabled=True):
        if tables is None:
            return dict(exists=False, tables=0, ready=0)
        total, ready = tables
        return dict(exists=True, enabled=enabled, tables=total, ready=ready)

    return dict(database='app', database_exists=True, role=role, fenced=fenced,
                forward=dict(name='pgferry_app', publication=fpub, slot=slot(fslot),
                             subscription=sub(fsub, fsub_enabled)),
                reverse=dict(name='pgferry_app_reverse', publication=rpub, slot=slot(rslot),
                             subscription=sub(rsub, rsub_enabled)),
                user_tables=3, wal=dict(max_slot_wal_keep_size_bytes=-1),
                state=dict(archive=archive, replica_identity_changes=list(identities)))


STREAMING = (side(role=True, fpub=True, fslot='reserved', archive=True), side(fsub=(3, 3), archive=True))
CUT_OVER = (side(fenced=True, role=True, fpub=True, rsub=(3, 3), archive=True),
            side(role=True, rpub=True, rslot='reserved', archive=True))
ROLLED_BACK = (side(role=True, fpub=True, archive=True), side(fenced=True, role=True, rpub=True, archive=True))
# A pause that stopped the stream and resumed clients, ended before it dropped the stream's subscription and slot.
CUT_OVER_LEFT = (side(fenced=True, role=True, fpub=True, fslot='reserved', rsub=(3, 3), archive=True),
                 side(role=True, rpub=True, rslot='reserved', fsub=(3, 3), fsub_enabled=False, archive=True))
ROLLED_BACK_LEFT = (side(role=True, fpub=True, rsub=(3, 3), rsub_enabled=False, archive=True),
                    side(fenced=True, role=True, rpub=True, rslot='reserved', archive=True))


@pytest.mark.parametrize('source,target,bouncer,phase', [
    (side(), side(), None, 'none'),
    (side(), side(), dict(points='target', paused=False), 'cleaned_up'),
    (side(role=True, archive=True), side(), None, 'prepared'),
    (side(role=True, fpub=True, fslot='reserved'), side(fsub=(3, 1)), None, 'copying'),
    (side(role=True, fpub=True, fslot='reserved'), side(fsub=(0, 0)), None, 'copying'),
    (side(role=True, fpub=True, fslot='reserved'), side(), None, 'copying'),  # slot, no subscription (own copy)
    (side(role=True, fpub=True, fslot='reserved'), side(fsub=(3, 3), fsub_enabled=False), None, 'copying'),
    (STREAMING[0], STREAMING[1], dict(points='source', paused=False), 'streaming'),
    (side(role=True, fpub=True, fslot='lost'), side(fsub=(3, 3)), None, 'stream_lost'),
    (side(role=True, fpub=True), side(fsub=(3, 3)), None, 'stream_lost'),  # slot gone
    (side(fenced=True, role=True, fpub=True, fslot='reserved'), side(fsub=(3, 3)), None, 'cutting_over'),
    (CUT_OVER[0], CUT_OVER[1], dict(points='target', paused=False), 'cut_over'),
    (side(fenced=True, role=True, fpub=True), side(), None, 'cut_over'),  # no reverse stream
    (CUT_OVER_LEFT[0], CUT_OVER_LEFT[1], dict(points='target', paused=False), 'cut_over'),
    (CUT_OVER_LEFT[0], CUT_OVER_LEFT[1], dict(points='target', paused=True), 'cut_over'),  # RESUME failed too
    (side(role=True, fpub=True, fslot='reserved'), CUT_OVER_LEFT[1], None, 'copying'),  # undone: source unfenced
    (CUT_OVER_LEFT[0], side(fenced=True, fsub=(3, 3), fsub_enabled=False), None, 'inconsistent'),
    (ROLLED_BACK_LEFT[0], ROLLED_BACK_LEFT[1], dict(points='source', paused=False), 'rolled_back'),
    (side(role=True, fpub=True, rsub=(3, 3)), side(fenced=True, rpub=True, rslot='reserved'), None, 'rolling_back'),
    (ROLLED_BACK[0], ROLLED_BACK[1], dict(points='source', paused=False), 'rolled_back'),
    (side(archive=True), side(role=True, rpub=True), None, 'cleaning_up'),
    (side(archive=True), side(), dict(points='target', paused=False), 'cleaning_up'),
    (side(archive=True), side(), None, 'cleaning_up'),  # only files left
    (side(fenced=True), side(fenced=True), None, 'inconsistent'),
    (side(role=True, fpub=True, rsub=(3, 3)), side(), None, 'inconsistent'),
    (None, side(), None, 'unknown'),
])
def test_phase_is_derived_from_both_sides_and_pgbouncer(source, target, bouncer, phase):
    assert derive(source, target, bouncer).name == phase


@pytest.mark.parametrize('playbook,phase_facts,action', [
    ('migrate', (side(), side(), None), 'run'),
    ('migrate', STREAMING + (None,), 'run'),
    ('migrate', CUT_OVER + (None,), None),
    ('migrate', ROLLED_BACK + (None,), None),
    ('cutover', STREAMING + (None,), 'run'),
    ('cutover', CUT_OVER + (None,), 'done'),
    ('cutover', (side(role=True, fpub=True, fslot='reserved'), side(fsub=(3, 1)), None), None),
    ('cutover', ROLLED_BACK + (None,), None),
    ('rollback', CUT_OVER + (None,), 'run'),
    ('rollback', ROLLED_BACK + (None,), 'done'),
    ('rollback', STREAMING + (None,), None),
    ('rollback', (side(), side(), dict(points='target', paused=False)), None),  # cleaned up: stale old source
    ('rollback', (side(fenced=True, role=True, fpub=True), side(), None), None),  # no reverse stream
    ('cleanup', STREAMING + (None,), None),
    ('cleanup', CUT_OVER + (None,), 'run'),
    ('cleanup', ROLLED_BACK + (None,), 'run'),
    ('cleanup', (side(), side(), None), 'run'),
    ('cutover', CUT_OVER_LEFT + (dict(points='target', paused=True),), 'done'),
    ('rollback', CUT_OVER_LEFT + (None,), 'run'),
    ('cleanup', CUT_OVER_LEFT + (None,), 'run'),
    ('migrate', CUT_OVER_LEFT + (None,), None),
    ('rollback', ROLLED_BACK_LEFT + (None,), 'done'),
    ('cutover', ROLLED_BACK_LEFT + (None,), None),
    ('cleanup', ROLLED_BACK_LEFT + (None,), 'run'),
    ('status', (None, None, None), 'show'),
])
def test_each_playbook_runs_only_where_the_phase_allows_it(playbook, phase_facts, action):
    assert decide(playbook, derive(*phase_facts), 'app')[0] == action


@pytest.mark.parametrize('facts,left', [(CUT_OVER_LEFT, 'forward'), (ROLLED_BACK_LEFT, 'reverse'), (CUT_OVER, None),
                                        (ROLLED_BACK, None)])
def test_a_stream_a_finished_pause_stopped_is_named_to_drop(facts, left):
    phase = derive(*facts)
    assert phase.facts['stream_left'] == left
    assert phase.as_dict()['stream_left'] == left


def test_cleanup_of_a_live_migration_needs_the_migration_named():
    phase = derive(*STREAMING)
    action, why = decide('cleanup', phase, 'app')
    assert action is None and 'pgferry_cleanup_abandon=app' in why and 'TRUNCATE' in why
    assert decide('cleanup', phase, 'app', abandon='other')[0] is None
    assert decide('cleanup', phase, 'app', abandon='app') == ('abandon', None)


def test_a_paused_pgbouncer_lets_only_the_playbook_that_resumes_run():
    paused = derive(STREAMING[0], STREAMING[1], dict(points='source', paused=True))
    assert decide('cutover', paused, 'app')[0] == 'run'
    for playbook in ('migrate', 'cleanup', 'rollback', 'preflight'):
        action, why = decide(playbook, paused, 'app')
        assert action is None and 'pgferry.migrate.cutover' in why, playbook


def test_clients_on_the_wrong_side_are_only_put_right_by_the_playbook_that_owns_the_phase():
    cut = derive(CUT_OVER[0], CUT_OVER[1], dict(points='source', paused=False))
    assert decide('cutover', cut, 'app')[0] == 'done'
    assert decide('cleanup', cut, 'app')[0] is None


def test_every_refusal_names_the_phase_and_what_to_run_and_says_nothing_changed():
    for facts in ((side(), side(), None), STREAMING + (None,), CUT_OVER + (None,), ROLLED_BACK + (None,),
                  (side(role=True, fpub=True, fslot='lost'), side(fsub=(3, 3)), None)):
        phase = derive(*facts)
        for playbook in PLAYBOOKS:
            action, why = decide(playbook, phase, 'app')
            if action is None:
                text = refusal(playbook, phase, 'app', why)
                assert 'phase %s' % phase.name in text and 'Nothing was changed' in text
                assert 'pgferry.migrate.' in why or 'nothing to roll back' in why, (playbook, phase.name, why)
