"""Session pooling - PgBouncer's default, and what most installations run - with clients that never disconnect.

One stack (PostgreSQL 16 -> 18), PgBouncer in session pooling in front of the source, and two kinds of long-lived
clients through it from before the migration to the end: pgbench with 4 persistent connections (no -C) and 4 pooled
clients that reconnect on an error, as connection pools do (tests/e2e/clients.py). In order:

1. The preflight says the database runs session pooling and what the cutover will do to its clients.
2. Post-data runs while a lock on the target holds its pg_restore; the target agent gets SIGTERM: pg_restore and its
   sessions stop with it, no temporary file is left, and an immediate rerun of post-data succeeds (issue #17 item 4).
3. A transaction left open through PgBouncer: the cutover waits for it, then stops before pausing anyone.
4. The cutover: PAUSE is not waited for (it would wait forever for the clients to leave); the fence ends the server
   connections, so each client connection sees one error, and the pooled clients, reconnected into PgBouncer's queue,
   run on the target after the resume without being restarted; pgbench, which never reconnects, loses its clients.
   Both sides checksum-equal.

Real clusters, agents, PgBouncer and ansible-playbook processes; nothing is mocked.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from clients import Clients
from conftest import timing
from test_cutover import (FENCED, bouncer_conninfo, cut_stack, cutover, pgbouncer,  # noqa: F401
                          refused_for_a_long_transaction, start_pgbench, through_bouncer)

RESTORE = "pgferry:post-data:app"  # application_name of the target agent's post-data pg_restore


def pids_of(needle: str, inside: str) -> list[int]:
    """Live processes whose command line holds both strings (a pg_restore reading this stack's archive)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if needle in cmd and inside in cmd and stat[stat.rindex(")") + 2] != "Z":
            found.append(int(entry))
    return found


def wait_for(what: str, seconds: float, condition) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s: {what}"
        time.sleep(0.1)


def agent_stops_during_post_data(st) -> None:
    """SIGTERM of the target agent while its pg_restore waits on a lock; then an immediate rerun."""
    state = st.dir / "target" / "state"
    c = st.info["target"]
    lock = subprocess.Popen([str(Path(c["bin_dir"]) / "psql"), "-X", "-q", "-A", "-t", "-h", c["pg_host"], "-p",
                             str(c["pg_port"]), "-U", "postgres", "-d", "app"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, env={**os.environ, "PGPASSFILE": c["pgpass_file"]})
    st.children.append(lock)
    # ROW EXCLUSIVE on customers, held: its CREATE INDEX and the orders foreign key wait behind it.
    lock.stdin.write("BEGIN; LOCK TABLE included.customers IN ROW EXCLUSIVE MODE; SELECT 'locked';\n")
    lock.stdin.flush()
    assert lock.stdout.readline().strip() == "locked"
    run = st.start_playbook("pgferry.migrate.migrate", "--tags", "post_data")
    wait_for("pg_restore waiting on the lock", 180, lambda: st.psql("target", (
        f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{RESTORE}' AND wait_event_type = 'Lock'"),
        db="postgres") not in ([["0"]], []))
    assert pids_of("pg_restore", str(state)), "pg_restore runs"
    agent = st.agent_pid("target")
    os.kill(agent, signal.SIGTERM)
    wait_for("the agent exits", 60, lambda: not Path(f"/proc/{agent}").exists())
    assert pids_of("pg_restore", str(state)) == [], "no pg_restore outlives the agent"
    assert st.scalar("target", f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{RESTORE}'",
                     db="postgres") == "0", "its sessions are gone: nothing builds an index behind the rerun's back"
    assert list(state.glob("*/*.tmp-*")) == [], "no temporary file is left in the state directory"
    assert run.wait(120) != 0
    lock.stdin.write("COMMIT;\n")
    lock.stdin.close()
    lock.wait(30)
    st.up()  # the agent back, as systemd's Restart= or an operator would
    rerun = st.start_playbook("pgferry.migrate.migrate", "--tags", "post_data")
    assert rerun.wait(300) == 0, rerun.output[-4000:]
    assert st.scalar("target", "SELECT count(*) FROM pg_indexes WHERE indexname = 'customers_name_idx'") == "1"


def test_session_pooling_cutover_with_persistent_clients(cut_stack, request):
    st = cut_stack
    st.bouncer = pgbouncer(st, "up", "--pool-mode", "session")
    ports = (st.info["source"]["pg_port"], st.info["target"]["pg_port"])
    bench = start_pgbench(st, seconds=3600)  # runs until the cutover ends its clients
    clients = Clients(bouncer_conninfo(st)).__enter__()
    request.addfinalizer(clients.stop)

    t = time.monotonic()
    run = st.start_playbook("pgferry.migrate.migrate", "--skip-tags", "post_data")
    assert run.wait(400) == 0, run.output[-4000:]
    timing(request, "migrate without post-data (session pooling, 8 persistent clients)", time.monotonic() - t)
    said = " ".join(run.output.split())
    assert "pool_mode=session (from the global pool_mode)" in said and "each connected client gets ONE error" in said

    agent_stops_during_post_data(st)

    refused = refused_for_a_long_transaction(st, clients)
    print(f"\nlong transaction (session pooling): cutover stopped before any PAUSE, playbook {refused['seconds']:.0f} s, "
          f"max client latency meanwhile {refused['max_latency_ms']} ms, failed {refused['failed']}")

    began = time.time()
    run = cutover(st)
    ended = time.time()
    assert run.rc == 0, run.output[-5000:]
    out = " ".join(run.output.split())
    assert "In session pooling PAUSE waits for clients to disconnect" in out, "the ready check says what happens"
    assert "pool_mode=session" in out and "clients_disconnected=" in out, out[-2000:]
    pause = int(out.split("pause_ms=")[1].split()[0])
    disconnected = int(out.split("clients_disconnected=")[1].split()[0])
    assert st.scalar("source", FENCED) == "1"
    assert through_bouncer(st, st.bouncer, "SELECT inet_server_port()") == str(ports[1])

    # The pooled clients reconnected on their own and work on the target; nobody restarted them.
    wait_for("every pooled client writes on the target", 60, lambda: clients.working_on(ports[1], ended))
    time.sleep(1)
    figures = clients.figures(*ports, (began, ended + 5))
    print(f"\npool_mode session: pause {pause} ms, switch gap {figures['switch_gap_ms']} ms, max client latency "
          f"{figures['max_latency_ms']} ms, failed transactions {figures['failed']} {figures['messages']}, clients "
          f"reconnected {figures['reconnected']}/4 (pooled clients; server connections ended {disconnected}, load "
          f"{os.getloadavg()[0]:.1f})")
    timing(request, f"session cutover (switch gap {figures['switch_gap_ms']} ms)", ended - began)
    assert figures["reconnected"] == 4, figures  # each pooled client lost its connection once ...
    assert figures["failed"] <= 4, figures       # ... and at most the transaction it was running
    assert disconnected >= 4, "the 4 pooled clients' and pgbench's connections were ended"

    # pgbench never reconnects: in session pooling its clients end at the cutover, with the server's message.
    bench.wait(120)
    text = (st.dir / "pgbench.out").read_text(errors="replace")
    assert "aborted" in text and any(m in text for m in ("terminating connection due to administrator command",
                                                          "server conn crashed", "server closed the connection")), \
        text[-3000:]

    clients.stop()
    cmp = st.compare(wait=60)
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr
