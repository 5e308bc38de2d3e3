"""The lifecycle end to end (docs/design.md, "Lifecycle"), on one stack (PostgreSQL 14 source, 18 target, PgBouncer in
front, fixtures/lifecycle.sql: names with spaces, capitals, quotes and unicode, a key-less table published with REPLICA
IDENTITY FULL, one identified by a unique index, a partitioned table) and real ansible-playbook runs, pgbench writing
through PgBouncer from the first migration on. Each refusal is checked to change nothing (pgferry's objects on both
sides, PgBouncer), and the invariants (tests/e2e/lifecycle_harness.py) after every step:

- migrate --check on a new migration runs through and changes nothing (#9.5); migrate, and its rerun, with the
  hostile names (the rerun's preflight was a 502: #9.1) and the identity index passed on (#9.4); then --check
  reports nothing to change;
- status with the target down, then the source down: each side on its own, the other named unreachable (#17.2);
- cleanup of a live migration refused, naming what it would abandon; with pgferry_cleanup_abandon, abandoned, and
  migrate starts over cleanly (#17.6);
- a slot invalidated for real by max_slot_wal_keep_size: status says stream_lost, cutover and migrate refuse naming
  the way out, which works (#17.3);
- a schema created after the schema archive refuses the cutover before PAUSE (#17.1, default scope);
- the cutover under pgbench: UPDATEs on the key-less table keep working on the new primary (#9.3);
- cleanup after the cutover puts every replica identity back (#9.7); then a rollback is refused and PgBouncer stays
  on the target (#9.2).
"""
from __future__ import annotations

import subprocess
import time

import pytest

from conftest import REPO
from stacklib import flat
from lifecycle_harness import (
    Invariants,
    LedgerBench,
    bouncer_state,
    make_stack,
    phase_of,
    playbook,
    pgferry_objects,
    refused,
    snapshot,
    tear_down,
    through_bouncer,
    wait_for,
)


def pgbed(*args: str) -> None:
    subprocess.run([str(REPO / "tools" / "pgbed"), *args], check=True, capture_output=True, timeout=300)


def test_lifecycle_reruns_refusals_and_faults(request: pytest.FixtureRequest):
    st = make_stack("life")
    passed = False
    try:
        _scenario(st)
        passed = True
    finally:
        tear_down(st, passed)


def _refused_unchanged(st, name: str, *args: str, expect: str) -> None:
    before = snapshot(st)
    run = playbook(st, name, *args)
    assert refused(run), run.output[-4000:]
    assert expect in flat(run), (expect, run.output[-4000:])
    assert snapshot(st) == before, f"{name} was refused but something changed"


def _scenario(st) -> None:
    # #9.5: check mode of a new migration lists what it would do and makes nothing.
    before = snapshot(st)
    run = playbook(st, "migrate", "--check", "-v")
    assert run.rc == 0, run.output[-5000:]
    for expected in ("CREATE PUBLICATION", "REPLICA IDENTITY FULL", "-- pg_dump --schema-only", "CREATE DATABASE",
                     '-- CREATE SUBSCRIPTION "pgferry_app"'):
        assert expected in flat(run), expected
    assert snapshot(st) == before

    # #9.1, #9.4: the migration with the hostile names, then a rerun (its preflight sees the role now).
    run = playbook(st, "migrate")
    assert run.rc == 0, run.output[-5000:]
    run = playbook(st, "migrate")
    assert run.rc == 0, run.output[-5000:]
    assert run.recap()["changed"] == 0, run.output[-5000:]
    # Check mode says what a run would do: after that rerun, nothing (the schema archive dumped and compared, not
    # reported as a new one, and schema apply asked of the archive the target holds).
    before = snapshot(st)
    run = playbook(st, "migrate", "--check")
    assert run.rc == 0, run.output[-5000:]
    assert run.recap()["changed"] == 0, run.output[-5000:]
    assert snapshot(st) == before
    assert st.scalar("target", "SELECT relreplident FROM pg_class WHERE relname = 'Counters'") == "i"

    # #9.9: on an idle stream the wait is over as soon as nothing is pending - the apply lag in seconds only grows
    # between keepalives (the demo's last wait, max lag 1 s, stalled for minutes).
    started = time.monotonic()
    run = playbook(st, "status", "-e", "pgferry_status_wait=true", "-e", "pgferry_sync_max_lag_seconds=0.2",
                   "-e", "pgferry_sync_timeout=60", "-e", "pgferry_sync_poll_interval=1", "-v")
    assert run.rc == 0 and phase_of(run) == "streaming", run.output[-4000:]
    assert "'lag_bytes': 0" in run.output or '"lag_bytes": 0' in run.output or "lag_bytes: 0" in run.output, \
        run.output[-4000:]
    print(f"status waiting on an idle stream: {time.monotonic() - started:.0f} s")

    # #17.2: status with one side down shows the other, and names the one that did not answer.
    pgbed("stop", "--name", st.info["target"]["cluster"])
    run = playbook(st, "status")
    out = flat(run)
    assert run.rc != 0 and "target: UNREACHABLE" in out and "phase unknown" in out, out[-4000:]
    assert "slot pgferry_app INACTIVE, lag" in out and "retained WAL" in out, out[-4000:]
    assert "max_slot_wal_keep_size unbounded (-1), wal_status reserved" in out, out[-4000:]
    pgbed("start", "--name", st.info["target"]["cluster"])
    pgbed("stop", "--name", st.info["source"]["cluster"])
    run = playbook(st, "status")
    out = flat(run)
    assert run.rc != 0 and "source: UNREACHABLE" in out, out[-4000:]
    assert "subscription pgferry_app: 6 of 6 tables ready" in out, out[-4000:]
    pgbed("start", "--name", st.info["source"]["cluster"])

    bench = LedgerBench(st).start()
    inv = Invariants(st, bench)
    wait_for("a first pgbench chunk", lambda: bench.done, timeout=120)
    assert inv.check() == []

    # #17.6: a live migration is not cleaned up without its name; with it, it is abandoned and migrate starts over.
    _refused_unchanged(st, "cleanup", expect="-e pgferry_cleanup_abandon=app")
    run = playbook(st, "cleanup", "-e", "pgferry_cleanup_abandon=app")
    assert run.rc == 0 and "abandoned migration app (it was in phase streaming)" in flat(run), run.output[-4000:]
    assert "the copy on the target is emptied (6 tables)" in flat(run), run.output[-3000:]
    assert st.scalar("target", "SELECT count(*) FROM included.customers") == "0"
    assert inv.check() == []
    run = playbook(st, "migrate")
    assert run.rc == 0, run.output[-5000:]
    assert inv.check() == []

    # #17.3: the slot invalidated by max_slot_wal_keep_size while the target is down.
    st.psql("source", "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'", db="postgres")
    st.psql("source", "SELECT pg_reload_conf()", db="postgres")
    pgbed("stop", "--name", st.info["target"]["cluster"])
    for _ in range(4):
        st.psql("source", "INSERT INTO excluded.audit (message) SELECT md5(g::text) FROM generate_series(1, 20000) g")
        st.psql("source", "SELECT pg_switch_wal()")
    st.psql("source", "CHECKPOINT")
    pgbed("start", "--name", st.info["target"]["cluster"])
    assert st.scalar("source", "SELECT wal_status FROM pg_replication_slots WHERE slot_name = 'pgferry_app'") == "lost"
    run = playbook(st, "status")
    assert run.rc == 0 and phase_of(run) == "stream_lost" and "wal_status lost" in flat(run), run.output[-4000:]
    _refused_unchanged(st, "cutover", expect="-e pgferry_cleanup_abandon=app")
    _refused_unchanged(st, "migrate", expect="-e pgferry_cleanup_abandon=app")
    st.psql("source", "ALTER SYSTEM RESET max_slot_wal_keep_size", db="postgres")
    st.psql("source", "SELECT pg_reload_conf()", db="postgres")
    run = playbook(st, "cleanup", "-e", "pgferry_cleanup_abandon=app")
    assert run.rc == 0, run.output[-4000:]
    run = playbook(st, "migrate")
    assert run.rc == 0, run.output[-5000:]
    assert inv.check() == []

    # #17.1: a schema created after the schema archive, default scope: the cutover refuses before PAUSE.
    st.psql("source", 'CREATE SCHEMA "Brand New"; CREATE TABLE "Brand New".t (id int PRIMARY KEY); '
                      'INSERT INTO "Brand New".t VALUES (1)')
    before = snapshot(st)
    run = playbook(st, "cutover")
    assert run.rc != 0 and "scope_drift" in run.output and "Brand New" in run.output, run.output[-4000:]
    assert snapshot(st) == before and bouncer_state(st) == {"points": "source", "paused": False}
    st.psql("source", 'DROP SCHEMA "Brand New" CASCADE')

    # #9.3: the cutover under pgbench; UPDATE on the key-less table keeps working on the new primary.
    run = playbook(st, "cutover")
    assert run.rc == 0, run.output[-5000:]
    assert bouncer_state(st) == {"points": "target", "paused": False}
    chunk = bench.chunk
    wait_for("a pgbench chunk on the target", lambda: max(bench.done or [0]) > chunk, timeout=180)
    assert inv.check() == []

    # #9.7, #9.2: cleanup leaves nothing of pgferry (replica identities put back); a rollback then is refused.
    run = playbook(st, "cleanup")
    assert run.rc == 0, run.output[-5000:]
    assert inv.check(cleaned_up=True) == []
    _refused_unchanged(st, "rollback", expect="phase cleaned_up")
    assert through_bouncer(st, "SELECT inet_server_port()") == str(st.info["target"]["pg_port"])
    assert pgferry_objects(st)["target"]["fence"] == "0"
    bench.stop()
    assert inv.check(cleaned_up=True) == []
