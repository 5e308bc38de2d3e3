"""Managed-service mode: no superuser anywhere pgferry acts.

tools/hosts' managed layout: src (PostgreSQL 16) and dst (PostgreSQL 17) each with an admin role `dbadmin` that holds
only what RDS, Cloud SQL and Azure give theirs (LOGIN, CREATEDB, CREATEROLE, REPLICATION, pg_signal_backend,
pg_monitor, pg_create_subscription; no file access, not superuser); database app and its tables belong to it. Both
agents run on an adjacent host (agents) and reach their server over the network as dbadmin, as they must beside a
managed service; PgBouncer on its own host logs in as dbadmin too. Over SSH: migrate -> cutover (pgbench writing) ->
rollback -> cleanup, every commit pgbench logged found on the side clients end on.
"""
from __future__ import annotations

import re
import time

import pytest

from hostlib import FENCED, LEFTOVERS, timing, writing_when_fenced

NOT_SUPERUSER = ("SELECT rolsuper, pg_has_role('dbadmin', 'pg_read_server_files', 'MEMBER'), "
                 "pg_has_role('dbadmin', 'pg_write_server_files', 'MEMBER'), "
                 "pg_has_role('dbadmin', 'pg_execute_server_program', 'MEMBER') FROM pg_roles WHERE rolname = 'dbadmin'")


def test_managed_service_without_superuser(make_hosts, request: pytest.FixtureRequest):
    hosts = make_hosts("managed", 16, 17)
    hosts.load()
    for host in ("src", "dst"):
        assert hosts.psql(host, NOT_SUPERUSER, db="postgres") == [["f", "f", "f", "f"]], host
    assert hosts.scalar("src", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'") == "dbadmin"

    t = time.monotonic()
    hosts.install_agents()
    timing(request, "pgferry.migrate.agent (two agents on the adjacent host)", time.monotonic() - t)
    run = hosts.playbook("pgferry.migrate.info")
    assert run.rc == 0, run.output[-3000:]

    t = time.monotonic()
    run = hosts.playbook("pgferry.migrate.migrate")
    assert run.rc == 0, run.output[-5000:]
    timing(request, "migrate.yml as dbadmin", time.monotonic() - t)
    hosts.await_equal()
    assert hosts.scalar("dst", "SELECT tableowner FROM pg_tables WHERE tablename = 'orders'") == "dbadmin"
    # A rerun: every step reads the state and keeps it; without superuser the replication role's password and the
    # subscription's connection cannot be read, so those two are set again (docs/security.md).
    run = hosts.playbook("pgferry.migrate.migrate")
    assert run.rc == 0, run.output[-5000:]
    assert hosts.scalar("src", "SELECT count(*) FROM pg_replication_slots") == "1"
    assert hosts.scalar("dst", "SELECT count(*) FROM pg_subscription") == "1"

    bench = hosts.start_pgbench(tag="cutover")
    writing = writing_when_fenced(hosts, bench)
    time.sleep(3)
    t = time.monotonic()
    run = hosts.playbook("pgferry.migrate.cutover")
    assert run.rc == 0, run.output[-5000:]
    pause = re.search(r"pause_ms=(\d+)", run.output)
    timing(request, f"cutover.yml as dbadmin (pause {pause.group(1) if pause else '?'} ms)", time.monotonic() - t)
    assert writing == [True], "pgbench was writing when the source was fenced"
    assert hosts.scalar("src", FENCED) == "1"
    assert hosts.server_behind_bouncer() == "dst"
    assert bench.wait() == 0, hosts.pgbench_figures("cutover")["text"][-3000:]
    cut = hosts.pgbench_figures("cutover")
    assert cut["failed"] == 0 and cut["aborted_clients"] == 0, cut["text"][-3000:]
    hosts.assert_nothing_lost("dst", cut)
    hosts.await_equal()

    run = hosts.playbook("pgferry.migrate.rollback")
    assert run.rc == 0, run.output[-5000:]
    assert hosts.server_behind_bouncer() == "src"
    hosts.assert_nothing_lost("src", cut)

    run = hosts.playbook("pgferry.migrate.cleanup")
    assert run.rc == 0, run.output[-5000:]
    for host in ("src", "dst"):
        assert hosts.scalar(host, LEFTOVERS) == "0 0 0 0 0", host
