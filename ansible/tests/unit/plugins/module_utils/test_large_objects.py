# -*- coding: utf-8 -*-
"""What a large-object sync sends, from the two sides' scans (module_utils/large_objects.plan), and when the scans
must be repeated with digests (needs_digests). The scans themselves,
the streams and the marks run against real agents and clusters: agent/.../largeobjects/LargeObjectsTest.java and
tests/e2e/test_left_behind.py."""

from __future__ import annotations

from ansible_collections.pgferry.migrate.plugins.module_utils.large_objects import needs_digests, plan

MARK = {'xmin': '100', 'xids': []}


def test_with_marks_new_changed_on_either_side_and_comment_changes_are_sent():
    sent = dict(oids=[1, 2, 3, 4, 5], mark=MARK, changed=[2], comments={'4': 'aa', '5': 'bb'})
    received = dict(oids=[1, 2, 3, 4, 5, 6], mark=MARK, changed=[3, 6], comments={'4': 'aa', '5': 'cc'})
    copy, unlink = plan(sent, received)
    assert copy == [2, 3, 5]
    assert unlink == [6]


def test_an_object_new_to_the_receiver_is_sent_even_unchanged():
    copy, unlink = plan(dict(oids=[7, 8], mark=MARK, changed=[], comments={}),
                        dict(oids=[7], mark=MARK, changed=[], comments={}))
    assert (copy, unlink) == ([8], [])


def test_without_a_mark_on_either_side_digests_decide():
    sent = dict(oids=[1, 2, 3], changed=None, digests={'1': 'a', '2': 'b', '3': 'c'}, comments={})
    received = dict(oids=[1, 2, 9], mark=MARK, changed=[1], digests={'1': 'a', '2': 'x', '9': 'z'}, comments={})
    copy, unlink = plan(sent, received)
    assert copy == [2, 3], 'the receiver\'s "changed" alone does not count without the sender\'s mark'
    assert unlink == [9]


def test_nothing_to_do_when_both_sides_agree():
    side = dict(oids=[1, 2], mark=MARK, changed=[], comments={'1': 'x'})
    assert plan(side, dict(side)) == ([], [])


def test_digests_only_for_objects_on_both_sides_without_both_marks():
    assert not needs_digests(dict(oids=[1, 2]), dict(oids=[])), 'a first copy into an empty target reads no content'
    assert not needs_digests(dict(oids=[1, 2]), dict(oids=[3])), 'disjoint sides: copies and unlinks need no digests'
    assert needs_digests(dict(oids=[1, 2]), dict(oids=[2, 3]))
    assert needs_digests(dict(oids=[1, 2], mark=MARK), dict(oids=[2]))
    assert needs_digests(dict(oids=[1, 2]), dict(oids=[2], mark=MARK))
    assert not needs_digests(dict(oids=[1, 2], mark=MARK), dict(oids=[2], mark=MARK)), 'marks tell what changed'
