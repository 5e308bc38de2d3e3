# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One sync of large objects from one agent's database to the other's (docs/design.md, "Large objects").

Shared by the large_objects module (the bulk copy during the migration) and cutover_steps (before the pause, and again
after the fence while clients are paused). Both sides are scanned at once; what to send is decided here from the two
scans; the sender's export stream is piped into the receiver's import untouched; once every batch is in, each side
stores its mark, so the next sync only looks at what changed since.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

STREAM_TYPE = 'application/vnd.pgferry.large-objects'


def _both(first, second):
    with ThreadPoolExecutor(max_workers=2) as pool:
        a, b = pool.submit(first), pool.submit(second)
        return a.result(), b.result()


def plan(sent, received):
    """(copy, unlink): the sender's objects the receiver must (re)write, and the receiver's it must remove.

    With a mark on both sides, an object is rewritten when it is new to the receiver, changed on either side since
    the marks, or its comment differs (a removed comment leaves no row with a newer transaction id). Without, the
    digests of owner, ACL, comment and content decide.
    """
    ours, theirs = sent.get('oids') or [], set(received.get('oids') or [])
    marked = 'mark' in sent and 'mark' in received
    changed = set(sent.get('changed') or []) | set(received.get('changed') or [])
    copy = []
    for oid in ours:
        key = str(oid)
        if oid not in theirs:
            copy.append(oid)
        elif marked:
            if oid in changed or (sent.get('comments') or {}).get(key) != (received.get('comments') or {}).get(key):
                copy.append(oid)
        elif (sent.get('digests') or {}).get(key) != (received.get('digests') or {}).get(key):
            copy.append(oid)
    ours_set = set(ours)
    unlink = [oid for oid in received.get('oids') or [] if oid not in ours_set]
    return copy, unlink


def needs_digests(sent, received):
    """Whether the scans must be repeated with each object's digest before plan() can decide.

    Only objects on both sides can differ unseen, and only without a mark on each side to tell what changed since;
    the first (bulk) copy into an empty target reads no content twice.
    """
    if 'mark' in sent and 'mark' in received:
        return False
    return not set(sent.get('oids') or []).isdisjoint(received.get('oids') or [])


def scan(sender, receiver, path, sender_db, receiver_db):
    """Both sides' large objects, read at once (with digests when the marks cannot tell what changed): reads only, so
    the cutover runs them beside the sequences' copy, and sync() only writes when they found something."""
    def read(client, db, digests):
        return client.get(path('large-objects', dict(database=db, digests=digests)))

    sent, received = _both(lambda: read(sender, sender_db, 'false'), lambda: read(receiver, receiver_db, 'false'))
    if needs_digests(sent, received):
        sent, received = _both(lambda: read(sender, sender_db, 'true'), lambda: read(receiver, receiver_db, 'true'))
    return sent, received


def sync(sender, receiver, path, sender_db, receiver_db, check=False, batch_size=500, adopt=False, scanned=None):
    """Brings the receiver's large objects in line with the sender's; returns the step's result.

    sender, receiver: AgentClient; path(step, query=None): the migration's path of a step; scanned: what scan() read,
    when it was read already (nothing can have changed since on the sender: it is fenced).
    """
    sent, received = scanned or scan(sender, receiver, path, sender_db, receiver_db)
    copy, unlink = plan(sent, received)
    todo = copy + unlink
    totals = dict(objects=sent.get('objects', 0), copied=0, replaced=0, unlinked=0, bytes=0, batches=0,
                  detection=sent.get('detection'))
    queries, xids = [], []
    query = dict(database=receiver_db)
    if check:
        query['check'] = 'true'
    if adopt:
        query['adopt'] = 'true'
    for start in range(0, len(todo), batch_size):
        stream = sender.open_stream('POST', path('large-objects/export'), dict(
            database=sender_db, oids=todo[start:start + batch_size], data=not check))
        try:
            answer = receiver.put_stream(path('large-objects', query), stream, STREAM_TYPE)
        finally:
            stream.close()
        done = answer.get('large_objects') or {}
        for key in ('copied', 'replaced', 'unlinked', 'bytes'):
            totals[key] += done.get(key) or 0
        totals['batches'] += 1
        if done.get('xid'):
            xids.append(done['xid'])
        queries.extend(answer.get('queries') or [])
    if not check and (todo or 'mark' not in sent or 'mark' not in received):
        receiver_mark = dict(database=receiver_db, xmin=received['next_mark'], xids=xids)
        sender_mark = dict(database=sender_db, xmin=sent['next_mark'])
        _both(lambda: receiver.put(path('large-objects/mark'), receiver_mark),
              lambda: sender.put(path('large-objects/mark'), sender_mark))
    return dict(changed=bool(totals['copied'] or totals['unlinked']), queries=queries, large_objects=totals)
