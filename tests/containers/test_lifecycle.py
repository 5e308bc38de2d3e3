"""Migrate, cutover, rollback and cleanup over SSH across four hosts, as users run pgferry - with the default suite's
network fault inside the cutover: the target loses the source inside the pause, the cutover undoes itself, the rerun
cuts over.

tools/hosts' lifecycle layout: src (PostgreSQL 16 with its agent beside it, process mode), dst (PostgreSQL 18 only),
agents (systemd as PID 1: the target's agent under the role's hardened unit, reaching dst over the network) and bouncer
(PgBouncer in front of src; the cutover's paused steps run there). The controller is this machine: real
ansible-playbook runs of pgferry.migrate.agent, .info, .migrate, .cutover, .rollback and .cleanup with
inventories/containers, over SSH with a key made for the run, pipelining on, agents on HTTPS with the run's CA.
pgbench writes through PgBouncer across the cutover and across the rollback; every commit its per-transaction log
shows is in the ledger table of the side clients end on, and none of its transactions failed.
"""
from __future__ import annotations

import re
import time

import pytest

from hostlib import FENCED, LEFTOVERS, Hosts, cutover_with_link_cut_in_the_pause, timing, writing_when_fenced


def overhead_ms(hosts: Hosts, host: str) -> float:
    """Per-task overhead on host: (time of 11 pings - time of 1) / 10, in ms."""
    seconds = {}
    for n in (1, 11):
        started = time.monotonic()
        run = hosts.playbook("tests/containers/files/overhead.yml", "-e", f"overhead_host={host}", "-e", f"n={n}")
        seconds[n] = time.monotonic() - started
        assert run.rc == 0, run.output[-3000:]
    return (seconds[11] - seconds[1]) / 10 * 1000


def test_migrate_cutover_rollback_cleanup_over_ssh(make_hosts, request: pytest.FixtureRequest):
    hosts = make_hosts("lifecycle", 16, 18)
    hosts.load()

    # The agent role over SSH: process mode beside src, the hardened systemd unit on the agents host; both on HTTPS.
    t = time.monotonic()
    hosts.install_agents()
    timing(request, "pgferry.migrate.agent (both agents, SSH)", time.monotonic() - t)
    agents = hosts.container("agents")
    from hostlib import docker
    assert docker("exec", agents, "systemctl", "is-active", "pgferry-agent-target") == "active"
    assert docker("exec", agents, "ps", "-o", "user=", "-C", "java").split() == ["pgferry"], "runs as its own user"
    assert docker("exec", agents, "systemctl", "show", "-p", "ProtectSystem", "--value",
                  "pgferry-agent-target") == "strict"
    pid = docker("exec", agents, "systemctl", "show", "-p", "MainPID", "--value", "pgferry-agent-target")
    # As the agent's user: root in the container lacks CAP_SYS_PTRACE, which another user's maps need.
    assert "/pgferry-agent.jsa" in docker("exec", "-u", "pgferry", agents, "cat", f"/proc/{pid}/maps"), \
        "the hardened unit's JVM maps the class-data archive the role made"
    run = hosts.playbook("pgferry.migrate.agent")
    assert run.rc == 0 and all(r["changed"] == 0 for r in run.recap().values()), run.output[-3000:]
    run = hosts.playbook("pgferry.migrate.info")
    assert run.rc == 0 and "source: PostgreSQL 16" in run.output and "target: PostgreSQL 18" in run.output, \
        run.output[-3000:]

    ssh_ms, local_ms = overhead_ms(hosts, "bouncer"), overhead_ms(hosts, "localhost")
    print(f"\nper-task overhead: {ssh_ms:.0f} ms over SSH (pipelining, become), {local_ms:.0f} ms local")
    timing(request, f"per-task overhead: SSH {ssh_ms:.0f} ms, local {local_ms:.0f} ms", 0)

    t = time.monotonic()
    run = hosts.playbook("pgferry.migrate.migrate")
    assert run.rc == 0, run.output[-5000:]
    timing(request, "migrate.yml over SSH", time.monotonic() - t)
    hosts.await_equal()

    # Cutover while pgbench writes through PgBouncer - first with the default suite's network fault: the target loses
    # the source inside the pause, the cutover undoes itself; the link comes back and the rerun cuts over. pgbench
    # writes across both, until stopped.
    bench = hosts.start_pgbench(tag="cutover")
    writing = writing_when_fenced(hosts, bench)
    time.sleep(3)
    run = cutover_with_link_cut_in_the_pause(hosts, request)
    cutover_s = time.monotonic() - hosts.runs[-1].started
    pause = re.search(r"pause_ms=(\d+)", run.output)
    assert writing == [True], "pgbench was writing when the source was fenced"
    assert hosts.scalar("src", FENCED) == "1", "the old source stays fenced"
    assert hosts.server_behind_bouncer() == "dst"
    assert bench.wait() == 0, hosts.pgbench_figures("cutover")["text"][-3000:]
    cut = hosts.pgbench_figures("cutover")
    assert cut["failed"] == 0 and cut["aborted_clients"] == 0, cut["text"][-3000:]
    rows = hosts.assert_nothing_lost("dst", cut)
    hosts.await_equal()  # the reverse stream keeps the old source current
    timing(request, f"cutover.yml over SSH (pause {pause.group(1) if pause else '?'} ms)", cutover_s)

    # Rollback while pgbench writes: clients back on src with every write made on dst.
    bench = hosts.start_pgbench(tag="rollback")
    writing = writing_when_fenced(hosts, bench, "dst")
    time.sleep(3)
    t = time.monotonic()
    run = hosts.playbook("pgferry.migrate.rollback")
    assert run.rc == 0, run.output[-5000:]
    timing(request, "rollback.yml over SSH", time.monotonic() - t)
    assert hosts.server_behind_bouncer() == "src"
    assert hosts.scalar("src", FENCED) == "0" and hosts.scalar("dst", FENCED) == "1"
    assert writing == [True], "pgbench was writing when the target was fenced"
    assert bench.wait() == 0, hosts.pgbench_figures("rollback")["text"][-3000:]
    back = hosts.pgbench_figures("rollback")
    assert back["failed"] == 0 and back["aborted_clients"] == 0, back["text"][-3000:]
    total = hosts.assert_nothing_lost("src", cut, back)
    print(f"pgbench: {cut['logged_commits']} commits across the cutover, {back['logged_commits']} across the "
          f"rollback, 0 failed; ledger on src {total} rows (on dst after the cutover {rows})")

    t = time.monotonic()
    run = hosts.playbook("pgferry.migrate.cleanup")
    assert run.rc == 0, run.output[-5000:]
    timing(request, "cleanup.yml over SSH", time.monotonic() - t)
    for host in ("src", "dst"):
        assert hosts.scalar(host, LEFTOVERS) == "0 0 0 0 0", host
    run = hosts.playbook("pgferry.migrate.cleanup")
    assert run.rc == 0 and run.recap()["localhost"]["changed"] == 0, run.output[-3000:]
