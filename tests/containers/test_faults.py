"""Network faults between real hosts (docker network disconnect/connect, docker pause), while pgbench writes through
PgBouncer. Each case says what the run reported and proves that a rerun converges, or that the undo left clients on a
complete, writable side: every commit pgbench's per-transaction log shows is in the ledger of the side clients end on,
and pgbench saw no failed transaction.

The default suite's case - the target loses the source inside the cutover pause - runs inside test_lifecycle.py's
cutover (hostlib.cutover_with_link_cut_in_the_pause), on the hosts it already has. PGFERRY_FAULTS=1 adds the rest of the
matrix here, in one chain on one set of hosts: the target loses the source during the initial copy and during
streaming, the agents' host vanishes (paused) inside the cutover pause, and PgBouncer loses the target at the switch.

Outcomes are printed as "fault: <case>: <what happened>" lines.
"""
from __future__ import annotations

import os
import threading
import time

import pytest

from hostlib import FENCED, copying, failure_reason, fenced, hold_apply, outcome, when

FAULT_SECONDS = 15  # longer than wal_sender_timeout/wal_receiver_timeout of the images (10 s): the link is seen dead


@pytest.mark.skipif(os.environ.get("PGFERRY_FAULTS") != "1", reason="the rest of the fault matrix: PGFERRY_FAULTS=1")
def test_fault_matrix(make_hosts, request: pytest.FixtureRequest):
    hosts = make_hosts("lifecycle", 16, 18)
    hosts.load(big_rows=1_500_000)
    hosts.install_agents()

    # 1. The target loses the source during the initial copy, for longer than the replication timeouts.
    healed = threading.Event()
    cut = when(lambda: copying(hosts), lambda: (hosts.disconnect("src", "repl"), time.sleep(FAULT_SECONDS),
                                                hosts.reconnect("src", "repl"), healed.set()))
    t = time.monotonic()
    run = hosts.playbook("pgferry.migrate.migrate")
    first_s = time.monotonic() - t
    assert cut.is_set() and healed.wait(60), "the copy was never seen in progress"
    if run.rc != 0:
        outcome("target loses source during the initial copy",
                f"migrate failed after {first_s:.0f}s: {run.output[-600:]!r}")
        run = hosts.playbook("pgferry.migrate.migrate")
        assert run.rc == 0, run.output[-5000:]
        outcome("target loses source during the initial copy", "rerun converged")
    else:
        outcome("target loses source during the initial copy",
                f"migrate waited through the cut ({FAULT_SECONDS}s) and succeeded in {first_s:.0f}s: the copy "
                f"restarted once the link was back")
    hosts.await_equal(timeout=180)
    assert hosts.scalar("src", "SELECT count(*) FROM pg_replication_slots") == "1", "one slot, no tablesync leftover"
    assert hosts.scalar("dst", "SELECT count(*) FROM pg_subscription") == "1"
    run = hosts.playbook("pgferry.migrate.migrate")
    assert run.rc == 0 and run.recap()["localhost"]["changed"] == 0, run.output[-3000:]

    # 2. During streaming, with clients writing: the stream stalls, resumes, catches up.
    bench = hosts.start_pgbench(tag="matrix")  # spans cases 2-4
    time.sleep(5)
    hosts.disconnect("src", "repl")
    time.sleep(FAULT_SECONDS)
    lag = hosts.scalar("src", "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) FROM "
                              "pg_replication_slots WHERE slot_name = 'pgferry_app'")
    hosts.reconnect("src", "repl")
    t = time.monotonic()
    while time.monotonic() - t < 120 and hosts.scalar(
            "src", "SELECT active FROM pg_replication_slots WHERE slot_name = 'pgferry_app'") != "t":
        time.sleep(1)
    outcome("target loses source during streaming",
            f"slot {lag} bytes behind after {FAULT_SECONDS}s cut; stream active again "
            f"{time.monotonic() - t:.0f}s after the link came back")

    # 3. The agents' host (the target's agent) vanishes inside the cutover pause (held open by hold_apply: it lasts
    #    about a tenth of a second otherwise).
    release = hold_apply(hosts)
    gone = when(lambda: fenced(hosts), lambda: (hosts.pause("agents"), release()), interval=0.05)
    t = time.monotonic()
    run = hosts.start_playbook("pgferry.migrate.cutover")
    # Away longer than cutover_steps waits for an agent's answer (60 s): a call in flight fails, never just in time.
    threading.Thread(target=lambda: (gone.wait(180), time.sleep(75), hosts.unpause("agents")), daemon=True).start()
    try:
        run.wait(400)
    finally:
        release()
        hosts.unpause("agents")
    assert gone.is_set(), "the fence was never seen"
    assert run.rc != 0 and "COULD NOT UNDO" not in run.output, run.output[-4000:]
    assert hosts.scalar("src", FENCED) == "0"
    assert hosts.server_behind_bouncer() == "src"
    outcome("agent host vanishes inside the cutover pause",
            f"cutover failed after {time.monotonic() - t:.0f}s and undid itself ({failure_reason(run.output)}); "
            f"clients back on the source, unfenced")

    # 4. PgBouncer loses the target at the switch (and gets it back 10 s later); the pause held open as in 3.
    release = hold_apply(hosts)
    lost = when(lambda: fenced(hosts), lambda: (hosts.disconnect("dst", "app"), release(), time.sleep(10),
                                                hosts.reconnect("dst", "app")), interval=0.05)
    t = time.monotonic()
    try:
        run = hosts.playbook("pgferry.migrate.cutover")
    finally:
        release()
    assert lost.wait(60)
    side = hosts.server_behind_bouncer()
    outcome("PgBouncer loses the target at the switch",
            f"cutover rc={run.rc} after {time.monotonic() - t:.0f}s; clients on {side}"
            + ("" if run.rc == 0 else f" ({failure_reason(run.output)})"))
    if run.rc != 0:
        run = hosts.playbook("pgferry.migrate.cutover")
        assert run.rc == 0, run.output[-5000:]
        outcome("PgBouncer loses the target at the switch", "rerun cut over")
    assert hosts.server_behind_bouncer() == "dst"

    assert bench.wait() == 0, hosts.pgbench_figures("matrix")["text"][-3000:]
    figures = hosts.pgbench_figures("matrix")
    assert figures["failed"] == 0 and figures["aborted_clients"] == 0, figures["text"][-3000:]
    rows = hosts.assert_nothing_lost("dst", figures)
    outcome("matrix", f"pgbench: {figures['logged_commits']} commits logged across the faults, 0 failed; all in the "
                      f"target's ledger ({rows} rows)")
