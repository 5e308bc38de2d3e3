"""Two pgferry.migrate.fleet runs at the same time over overlapping fleets (two controllers, or two AWX jobs whose
migrations overlap): run x moves m0, m1, m2 and run y moves m1, m2, m3, started together onto the same shared target
(inventories/fleet-local, small databases on two source clusters).

Both runs end. A migration of one run only (m0, m3) is streaming in that run's report: the shared target's agent
runs one long job at a time, and a step refused because the other run's job runs there waits for it instead of
failing. A migration of both (m1, m2) is streaming in at least one report; in the other it is streaming too (it went
through without meeting the first run's requests) or "busy" (the agent refused a change with 409
operation_in_progress because the other run changed it at that moment), never "failed"; a run whose report has a
busy migration fails, saying so, and only then. In the end every migration streams, its target is equal to its source,
and it has exactly one publication, one slot and one subscription (no duplicates); a rerun over all four changes
nothing. docs/fleet.md, "Several runs at once".
"""
from __future__ import annotations

import json
import threading
import time

import pytest

import fleetlib
from fleetlib import Fleet, recaps
from stacklib import timing
from test_fleet import CAPS, fleet  # noqa: F401  (the two-stack fixture)


def test_two_runs_over_overlapping_fleets(fleet: Fleet, request: pytest.FixtureRequest):  # noqa: F811
    entries = fleetlib.migrations(4)
    fleet.load(entries)
    runs = {"x": entries[:3], "y": entries[1:]}
    results: dict[str, tuple[int, str, float]] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(runs))

    def run(label: str) -> None:
        try:
            extra = fleet.write_vars(runs[label], max_copies=CAPS, name=f"{label}.yml")
            start.wait(timeout=60)
            results[label] = fleet.playbook(
                "pgferry.migrate.fleet", "-e", f"@{extra}",
                "-e", f"pgferry_fleet_report_dir={fleet.dir / ('report-' + label)}", "--forks", "5",
                timeout=1800, log=f"run-{label}")
        except BaseException as e:  # noqa: BLE001  (reported below, in the test's thread)
            errors.append(e)

    started = time.monotonic()
    threads = [threading.Thread(target=run, args=(label,)) for label in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    timing(request, "two overlapping fleet runs at once", time.monotonic() - started)
    assert not errors, errors

    streaming_somewhere = set()
    for label, (rc, out, seconds) in sorted(results.items()):
        data = json.loads((fleet.dir / f"report-{label}" / "report.json").read_text())
        outcomes = {r["id"]: r["outcome"] for r in data["migrations"]}
        print(f"run {label}: rc {rc} in {seconds:.0f}s, outcomes {outcomes}")
        for r in data["migrations"]:
            if r["outcome"] == "busy":
                print(f"  {r['id']}: {r['error'][:400]}")
        assert set(outcomes) == {m["id"] for m in runs[label]}
        assert "failed" not in outcomes.values(), (label, data["migrations"], out[-6000:])
        assert set(outcomes.values()) <= {"streaming", "busy"}, (label, outcomes, out[-6000:])
        busy = sorted(i for i, o in outcomes.items() if o == "busy")
        # Only a migration of both runs can meet the other run's requests.
        assert set(busy) <= {"m1", "m2"}, (label, busy)
        if busy:
            # The run fails at the very end, naming them (the message may be wrapped in the output).
            flat = " ".join(out.split())
            assert rc != 0 and "driven by another run at the same time" in flat, (label, rc, out[-3000:])
            assert all(r["error"].startswith("busy, driven by another run at the same time (")
                       for r in data["migrations"] if r["outcome"] == "busy"), data["migrations"]
        else:
            assert rc == 0, (label, out[-6000:])
        streaming_somewhere |= {i for i, o in outcomes.items() if o == "streaming"}
    assert streaming_somewhere == {"m0", "m1", "m2", "m3"}

    # Every migration streams, equal to its source, with one publication, one slot and one subscription.
    assert fleet.differences(entries) == []
    subs = fleet.a.psql("target", "SELECT s.subname, d.datname FROM pg_subscription s JOIN pg_database d "
                                  "ON d.oid = s.subdbid ORDER BY 1, 2", db="postgres")
    assert [tuple(r) for r in subs] == [(f"pgferry_{m['id']}", m.get("target_database", m["database"]))
                                        for m in entries], subs
    for host, stack in (("src1", fleet.a), ("src2", fleet.b)):
        mine = [m for m in entries if m["source"] == host]
        slots = stack.psql("source", "SELECT slot_name, database FROM pg_replication_slots "
                                      "WHERE slot_type = 'logical' ORDER BY 1", db="postgres")
        assert [tuple(r) for r in slots] == [(f"pgferry_{m['id']}", m["database"]) for m in mine], (host, slots)
        for m in mine:
            pubs = stack.psql("source", "SELECT pubname FROM pg_publication ORDER BY 1", db=m["database"])
            assert [r[0] for r in pubs] == [f"pgferry_{m['id']}"], (host, m["database"], pubs)

    # One run over all four: everything streaming already, nothing changes.
    extra = fleet.write_vars(entries, max_copies=CAPS, name="all.yml")
    rc, out, _ = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}", "--forks", "6", log="rerun")
    assert rc == 0, out[-6000:]
    changed = {h: r["changed"] for h, r in recaps(out).items() if r.get("changed")}
    assert changed == {}, f"a rerun changed something: {changed}"
