"""A fleet in one run (pgferry.migrate.fleet, inventories/fleet-local): small databases of different schemas on two
source clusters moved onto one shared target cluster, some renamed there; every one verified equal; the initial
copies never more at once than the caps; a rerun changes nothing; a failing migration does not stop the others and
is reported with its step; an invalid fleet is refused before anything changes.

Environment:
  PGFERRY_E2E_FLEET_SIZE   databases moved by test_fleet_moves_every_database (default 6; the issue's benchmark
                           size is 50, see tools/bench-fleet)
"""
from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid

import pytest

import fleetlib
from fleetlib import Fleet, recaps, report
from stacklib import REPO, timing

SIZE = int(os.environ.get("PGFERRY_E2E_FLEET_SIZE", "6"))
CAPS = {"total": 2, "per_source": 1, "per_target": 2}


@pytest.fixture
def fleet(request: pytest.FixtureRequest, tmp_path):
    a, b = fleetlib.stacks(f"e2efleet-{uuid.uuid4().hex[:8]}")
    f = Fleet(a, b, tmp_path)
    started = time.monotonic()
    try:
        fleetlib.up(a, b)  # one archive key for both stacks' agents
        fleetlib.raise_limits(f, SIZE)
        timing(request, "two stacks up", time.monotonic() - started)
        yield f
    finally:
        try:
            for proc in f.runs:
                if proc.poll() is None:
                    proc.kill()
        finally:
            for st in (a, b):
                subprocess.run([str(REPO / "tools" / "stack"), "down", "--name", st.name], capture_output=True,
                               timeout=180)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
            for st in (a, b):
                shutil.rmtree(st.dir, ignore_errors=True)


class CopyCounter(threading.Thread):
    """Samples the shared target: how many of the fleet's subscriptions copy at once, at most. Two readings, each never
    more than the copies the caps count: subscriptions with a table sync worker running (pg_stat_subscription, one
    query for the whole instance, so it samples often enough to catch the copies of small tables, which take a few
    hundred ms), and, every few samples, subscriptions with a table not yet ready (pg_subscription_rel, per database)."""

    WORKERS = ("SELECT count(DISTINCT w.subid) FROM pg_stat_subscription w JOIN pg_subscription s ON s.oid = w.subid "
               "WHERE w.relid IS NOT NULL AND s.subname LIKE 'pgferry\\_%'")

    def __init__(self, fleet: Fleet, entries: list[dict]):
        super().__init__(daemon=True)
        self.fleet, self.dbs = fleet, [m.get("target_database", m["database"]) for m in entries]
        self.most, self.halt = 0, threading.Event()

    def run(self) -> None:
        sample = 0
        while not self.halt.is_set():
            rows = self.fleet.a.psql("target", self.WORKERS, db="postgres", check=False)
            self.most = max(self.most, int(rows[0][0]) if rows else 0)
            if sample % 10 == 0:
                copying = 0
                for db in self.dbs:
                    rows = self.fleet.a.psql("target", "SELECT count(*) FROM pg_subscription_rel "
                                             "WHERE srsubstate <> 'r'", db=db, check=False)
                    copying += 1 if rows and int(rows[0][0]) > 0 else 0
                self.most = max(self.most, copying)
            sample += 1
            self.halt.wait(0.05)

    def stop(self) -> int:
        self.halt.set()
        self.join(timeout=30)
        return self.most


def test_fleet_moves_every_database(fleet: Fleet, request: pytest.FixtureRequest):
    entries = fleetlib.migrations(SIZE)
    fleet.load(entries)
    extra = fleet.write_vars(entries, max_copies=CAPS)
    counter = CopyCounter(fleet, entries)
    counter.start()
    rc, out, seconds = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}", "--forks", str(SIZE + 2))
    most = counter.stop()
    timing(request, f"fleet of {SIZE} (at most {most} copies seen at once)", seconds)
    assert rc == 0, out[-6000:]
    assert fleet.differences(entries) == []
    data = report(fleet.dir)
    assert data["summary"]["streaming"] == SIZE, data["summary"]
    assert {r["id"]: r["phase"] for r in data["migrations"]} == {m["id"]: "streaming" for m in entries}
    # Never more initial copies at once on the shared target than the fleet's total cap.
    assert 1 <= most <= CAPS["total"], most

    rc, out, _ = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}", "--forks", str(SIZE + 2))
    assert rc == 0, out[-6000:]
    changed = {h: r["changed"] for h, r in recaps(out).items() if r.get("changed")}
    assert changed == {}, f"a rerun changed something: {changed}"

    # status reads only: changed=0 and the same phases.
    rc, out, _ = fleet.playbook("pgferry.migrate.fleet_status", "-e", f"@{extra}")
    assert rc == 0, out[-3000:]
    assert all(r["changed"] == 0 for r in recaps(out).values())
    assert report(fleet.dir)["summary"]["streaming"] == SIZE


MISTAKES = {
    "same target database": (lambda m: m[3].update(target_database="db_2"),
                             "database db_2 on shared is already the target of migration m2"),
    "same id": (lambda m: m[1].update(id="m0"), "id m0 is already used by pgferry_fleet.migrations[0]"),
    "unknown host": (lambda m: m[1].update(source="src9"), "source 'src9' is not an inventory host"),
}


def test_invalid_fleet_is_refused_then_a_failure_stops_only_its_migration(fleet: Fleet):
    """Both on one pair of stacks, to keep the suite short: first nothing may change, then something must."""
    for mistake, (spoil, expected) in MISTAKES.items():
        bad = [dict(m) for m in fleetlib.migrations(4)]
        spoil(bad)
        extra = fleet.write_vars(bad, name=f"bad-{mistake.replace(' ', '-')}.yml")
        rc, out, _ = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}")
        assert rc != 0, mistake
        assert expected in out, f"{mistake}: {out[-3000:]}"
        assert "nothing was run or changed" in out, mistake
    # A target that cannot hold the fleet's streams is refused the same way, from the settings its agent reads.
    major = int(fleet.a.info["target"]["major"])
    origins = "max_active_replication_origins" if major >= 18 else "max_replication_slots"
    before = fleet.a.psql("target", f"SHOW {origins}", db="postgres")[0][0]
    fleetlib.configure(fleet.a, "target", {origins: 3})
    # And a source whose slots may hold more WAL than its disk has room for (its agent reads the disk's free space);
    # the other source, without a bound, is named but not refused.
    fleetlib.configure(fleet.a, "source", {"max_slot_wal_keep_size": "'100TB'"})
    try:
        extra = fleet.write_vars(fleetlib.migrations(4), name="too-small.yml")
        rc, out, _ = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}")
        assert rc != 0 and f"shared: {origins} is 3, the fleet needs at least" in out, out[-3000:]
        assert "src1: max_slot_wal_keep_size is 100.0 TB, more than the" in out, out[-3000:]
        said = " ".join(out.replace("''", "'").split())  # the message as printed: YAML-quoted and folded
        assert "src2: max_slot_wal_keep_size is -1, so the fleet's 2 slots on it hold WAL without a bound" in said, \
            out[-3000:]
        assert "the instances cannot hold the fleet; nothing was run or changed" in out, out[-3000:]
    finally:
        fleetlib.configure(fleet.a, "target", {origins: before})
        fleetlib.configure(fleet.a, "source", {"max_slot_wal_keep_size": None})
    # Nothing ran: no database on the target, no pgferry role on either source.
    assert fleet.a.psql("target", "SELECT datname FROM pg_database WHERE datname NOT IN "
                                  "('postgres', 'template0', 'template1')", db="postgres") == []
    for st in (fleet.a, fleet.b):
        assert st.psql("source", "SELECT rolname FROM pg_roles WHERE rolname LIKE 'pgferry%'", db="postgres") == []

    # A migration whose source database does not exist fails its preflight; the other three go through.
    entries = fleetlib.migrations(4)
    fleet.load(entries)
    entries[2] = dict(entries[2], database="no_such_db", target_database="no_such_db_target")
    extra = fleet.write_vars(entries)
    rc, out, _ = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}", "--forks", "6")
    assert rc != 0
    rows = {r["id"]: r for r in report(fleet.dir)["migrations"]}
    assert rows["m2"]["outcome"] == "failed" and "no_such_db" in rows["m2"]["error"], rows["m2"]
    assert rows["m2"]["failed_step"], rows["m2"]
    assert [i for i, r in rows.items() if r["outcome"] == "streaming"] == ["m0", "m1", "m3"], rows
    assert fleet.differences([m for m in entries if m["id"] != "m2"]) == []
