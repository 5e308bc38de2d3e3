"""Resilience of a migration: killing the playbook (native table sync), and separately the target agent (pgferry's own
copy, under writes), during the initial copy, then rerunning: it converges, with exactly one publication, one
subscription and one slot, and every table equal.

Real clusters, real agents, real ansible-playbook processes (see conftest.py); nothing is mocked. The copy is made
to last a few seconds by included.big (PGFERRY_E2E_BIG_ROWS rows); the tests watch the target's catalogs
(pg_subscription, pg_subscription_rel) and strike while some table is not ready yet.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from stacklib import BIG_ROWS, MIGRATION, CopyWatch, Run, Stack, processes_of, timing

# One pgbench client (no lock-order deadlocks between clients), 100 transactions a second: inserts, updates and
# deletes on the big table while it is being copied, and on the two small ones.
WRITES = f"""\\set id random(1, {BIG_ROWS})
\\set cid random(1, 1000)
\\set cents random(1, 100000)
BEGIN;
UPDATE included.big SET payload = md5(:cents::text) WHERE id = :id;
INSERT INTO included.big (payload) VALUES ('written during the migration ' || :cents);
DELETE FROM included.big WHERE id = :id + 1;
INSERT INTO included.orders (customer_id, amount) VALUES (:cid, :cents / 100.0);
UPDATE included.customers SET email = 'c' || :cid || '.' || :cents || '@example.org' WHERE id = :cid;
DELETE FROM included.orders WHERE id = (SELECT min(id) FROM included.orders WHERE customer_id = :cid);
END;
"""


def start_write_load(stack: Stack) -> subprocess.Popen:
    src = stack.info["source"]
    script = stack.dir / "writes.pgbench"
    script.write_text(WRITES)
    log = open(stack.dir / "pgbench.log", "wb")
    proc = subprocess.Popen([str(Path(src["bin_dir"]) / "pgbench"), "-h", src["pg_host"], "-p", str(src["pg_port"]),
                             "-U", "postgres", "-n", "-c", "1", "-T", "900", "-R", "100", "-P", "1",
                             "-f", str(script), "app"],
                            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PGPASSFILE": src["pgpass_file"]})
    log.close()
    stack.children.append(proc)
    return proc


def stop_write_load(stack: Stack, proc: subprocess.Popen) -> None:
    assert proc.poll() is None, f"pgbench stopped by itself:\n{(stack.dir / 'pgbench.log').read_text()[-2000:]}"
    proc.terminate()  # SIGTERM ends pgbench at once (without its summary; -P 1 lines are the record)
    proc.wait(timeout=30)


def wait_for_copy(watch: CopyWatch, run: Run, timeout: float = 240) -> None:
    """Until the watch has seen the initial copy in progress; fails if the playbook ends first."""
    deadline = time.monotonic() + timeout
    while not watch.copying.wait(0.05):
        if run.proc.poll() is not None:
            pytest.fail(f"the playbook ended (rc {run.proc.returncode}) before the initial copy was seen in "
                        f"progress: raise PGFERRY_E2E_BIG_ROWS\n{run.output[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"initial copy not seen in progress after {timeout}s\n{run.output[-3000:]}")


def process_group_alive(pgid: int) -> list[int]:
    """Pids of live (not zombie) processes in a process group."""
    alive = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state ppid pgrp ...
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(entry))
    return alive


def pid_alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def assert_copy_in_progress(stack: Stack, watch: CopyWatch, what: str) -> None:
    """Right after the kill, the copy is not over: some table is not ready yet (native table sync goes on in
    PostgreSQL, which nothing here touched), or the own copy's subscription does not exist yet."""
    state = watch.state()
    assert state is not None and (state[0] == 0 or state[1] > 0), \
        f"the initial copy was over when {what} was killed: {state} (subscriptions, not ready, tables, copying)"


def assert_converged(stack: Stack, request: pytest.FixtureRequest, *args: str) -> None:
    """Exactly one publication, slot and subscription; every table ready; equal rows; a further run changes
    nothing."""
    assert stack.psql("source", "SELECT pubname FROM pg_publication ORDER BY 1") == [[MIGRATION]]
    assert stack.psql("source", f"SELECT count(*) FROM pg_roles WHERE rolname = '{MIGRATION}'") == [["1"]]
    # Tablesync workers drop their temporary slots as they finish; once every table is ready only the
    # subscription's own slot may be left, and nothing else in the whole cluster.
    deadline = time.monotonic() + 30
    while True:
        slots = stack.psql("source", "SELECT slot_name, slot_type, database FROM pg_replication_slots ORDER BY 1")
        if len(slots) <= 1 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert slots == [[MIGRATION, "logical", "app"]], f"replication slots on the source: {slots}"
    # pg_subscription is a shared catalog: this is every subscription of the target cluster.
    assert stack.psql("target", "SELECT subname, subenabled, subslotname FROM pg_subscription") == \
        [[MIGRATION, "t", MIGRATION]]
    assert stack.psql("target", "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == [["0"]]
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription_rel") == "3"  # customers, orders, big

    started = time.monotonic()
    cmp = stack.compare(wait=60)
    timing(request, "tools/compare", time.monotonic() - started)
    assert cmp.returncode == 0, f"tables differ:\n{cmp.stdout}\n{cmp.stderr}"
    assert "included.big" in cmp.stdout and "excluded." not in cmp.stdout, cmp.stdout

    started = time.monotonic()
    again = stack.playbook(*args, timeout=300)
    timing(request, "third run (idempotence)", time.monotonic() - started)
    assert again.rc == 0, again.output[-3000:]
    assert again.recap() == {**again.recap(), "changed": 0, "failed": 0, "unreachable": 0}, \
        f"a run on a converged migration changed something:\n{again.output[-4000:]}"


NATIVE = ("-e", "pgferry_copy_method=native")
OWN = ("-e", "pgferry_copy_method=pgferry")


def test_kill_playbook_during_copy_then_rerun(stack: Stack, request: pytest.FixtureRequest) -> None:
    """SIGKILL of the whole ansible-playbook process group while native table sync copies, with writes on the
    source all along; the rerun converges."""
    load = start_write_load(stack)
    watch = CopyWatch(stack)
    watch.start()
    try:
        first = stack.start_playbook("pgferry.migrate.migrate", *NATIVE)
        wait_for_copy(watch, first)
        timing(request, "playbook start -> copy seen in progress", watch.first_copying - first.started)
        first.kill()
        assert_copy_in_progress(stack, watch, "the playbook")
        assert first.rc == -signal.SIGKILL
        assert process_group_alive(first.proc.pid) == [] and processes_of(stack) == [], \
            "processes of the killed playbook are still running"
        max_id_at_kill = int(stack.scalar("source", "SELECT max(id) FROM included.big"))

        started = time.monotonic()
        rerun = stack.playbook(*NATIVE, timeout=300)
        timing(request, "rerun to completion", time.monotonic() - started)
        assert rerun.rc == 0, rerun.output[-4000:]
        assert rerun.recap()["failed"] == 0
        assert watch.ready.wait(30), "the rerun succeeded but not every table is ready"
        timing(request, "initial copy (seen in progress -> all ready)", watch.copy_seconds)
    finally:
        watch.stop()

    stop_write_load(stack, load)
    # The load wrote while the copy ran and after: rows beyond the generated ones, some inserted after the kill.
    max_id = int(stack.scalar("source", "SELECT max(id) FROM included.big"))
    assert max_id > max_id_at_kill > BIG_ROWS, (max_id_at_kill, max_id)
    assert_converged(stack, request)


def test_kill_target_agent_during_copy_then_rerun(stack: Stack, request: pytest.FixtureRequest) -> None:
    """SIGKILL of the target agent's JVM while pgferry's own copy runs, with writes on the source all along: the
    snapshot dies with the agent's replication connection, the playbook in flight fails with a connection error;
    with the agent restarted (tools/stack up), the rerun drops the old slot, empties what the killed copy wrote and
    copies again under a new slot, and every table ends equal."""
    load = start_write_load(stack)
    watch = CopyWatch(stack)
    watch.start()
    try:
        first = stack.start_playbook("pgferry.migrate.migrate", *OWN)
        wait_for_copy(watch, first)
        timing(request, "playbook start -> copy seen in progress", watch.first_copying - first.started)
        pid = stack.agent_pid("target")
        assert pid_alive(pid), f"target agent {pid} is not running"
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 10
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not pid_alive(pid), f"target agent {pid} survived SIGKILL"
        assert_copy_in_progress(stack, watch, "the target agent")

        rc = first.wait(120)
        out = first.output
        assert rc != 0, f"the playbook in flight did not fail with its agent dead:\n{out[-4000:]}"
        agent = stack.info["target"]["agent_url"]
        # The failed task's message, with the YAML callback's line wrapping undone.
        fatal = " ".join(out[out.find("fatal: [localhost -> target]"):].split()) if "fatal: [" in out else ""
        assert agent in fatal and any(e in fatal for e in ("connection refused: is the agent running",
                                                           "cannot connect to the agent")), \
            f"no clear connection error naming the target agent {agent}:\n{out[-4000:]}"
        assert "censored" not in out, f"the error is hidden by no_log:\n{out[-4000:]}"
        assert first.recap()["failed"] == 1

        started = time.monotonic()
        stack.up()  # restarts the dead agent, on the same port
        timing(request, "agent restart (tools/stack up)", time.monotonic() - started)
        assert stack.agent_pid("target") != pid and pid_alive(stack.agent_pid("target"))
        assert stack.info["target"]["agent_url"] == agent

        started = time.monotonic()
        rerun = stack.playbook(*OWN, timeout=300)
        timing(request, "rerun to completion", time.monotonic() - started)
        assert rerun.rc == 0, rerun.output[-4000:]
        assert rerun.recap()["failed"] == 0
        assert "recopied:" in rerun.output, f"the rerun did not copy again:\n{rerun.output[-4000:]}"
        assert watch.ready.wait(30), "the rerun succeeded but not every table is ready"
        timing(request, "initial copy (seen in progress -> all ready)", watch.copy_seconds)
    finally:
        watch.stop()

    stop_write_load(stack, load)
    assert_converged(stack, request, *OWN)
