"""Cutover with zero failed transactions, failure injection, rollback and cleanup, end to end.

One stack (PostgreSQL 16 source, 18 target, an agent beside each), a PgBouncer in front of the source
(tools/pgbouncer), and pgbench writing THROUGH PgBouncer the whole time (4 clients, inserts, updates and deletes on
the migrated tables) across `pgferry.migrate.migrate`, a cutover in check mode, three that fail on purpose (PgBouncer's
ini unwritable, PgBouncer not answering at the switch, the target agent killed after the fence) and one that
succeeds. pgbench must report 0 failed transactions (no retries). Then writes after the cutover land on the target,
`pgferry.migrate.rollback` - through a switch tasks file of the user's kind - brings clients back to the old source with
every write made on the target, `pgferry.migrate.cleanup` leaves no pgferry slot, publication, subscription or role on
either side, and the switch module goes check mode, pause, rerun unchanged, resume.

Real clusters, agents, PgBouncer and ansible-playbook processes; nothing is mocked.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from clients import Clients
from conftest import CACHE, REPO, Stack, timing, _down

SOURCE_MAJOR, TARGET_MAJOR = 16, 18
# pgbench's -T: an upper bound. The test stops it once the cutover is measured, so a slow (shared, loaded) machine
# never outlives it and a fast one never waits for it.
PGBENCH_SECONDS = int(os.environ.get("PGFERRY_CUTOVER_PGBENCH_SECONDS", "3600"))
# No lock-order deadlock between clients: each transaction locks one customer, then orders of that customer only.
WRITES = """\\set cid random(1, 1000)
\\set cents random(1, 100000)
BEGIN;
INSERT INTO included.orders (customer_id, amount) VALUES (:cid, :cents / 100.0);
UPDATE included.customers SET email = 'c' || :cid || '.' || :cents || '@example.org' WHERE id = :cid;
DELETE FROM included.orders WHERE id = (SELECT min(id) FROM included.orders WHERE customer_id = :cid);
END;
"""
FENCED = ("SELECT count(*) FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = "
          "(SELECT oid FROM pg_database WHERE datname = 'app') AND 'default_transaction_read_only=on' = ANY (setconfig)")
LEFTOVERS = ("SELECT (SELECT count(*) FROM pg_replication_slots) || ' ' || (SELECT count(*) FROM pg_publication) "
             "|| ' ' || (SELECT count(*) FROM pg_subscription) || ' ' || "
             "(SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%') || ' ' || (" + FENCED + ")")


def pgbouncer(stack: Stack, cmd: str, *args: str) -> dict:
    import json
    # Without the stack's marker in its environment: Run.kill() ends every process carrying it, and PgBouncer is not
    # the playbook's.
    env = {k: v for k, v in stack.env().items() if k != "PGFERRY_STACK_DIR"}
    out = subprocess.run([str(REPO / "tools" / "pgbouncer"), cmd, "--name", stack.name, *args], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def bouncer_conninfo(stack: Stack) -> dict:
    """How a client reaches database app through the stack's PgBouncer (psycopg keywords)."""
    b = stack.bouncer
    password = Path(b["pgpass_file"]).read_text().splitlines()[0].split(":", 4)[4]
    return dict(host=b["host"], port=b["port"], user="postgres", password=password, dbname="app")


class LongTransaction:
    """A client through PgBouncer that opens a transaction and leaves it open (idle in transaction), holding its
    server connection: what a PAUSE waits for. It only reads, so it blocks no other client's writes."""

    def __init__(self, stack: Stack):
        import psycopg
        self.conn = psycopg.connect(**bouncer_conninfo(stack), prepare_threshold=None)

    def __enter__(self):
        self.conn.execute("SELECT count(*) FROM included.customers")  # BEGIN implied: psycopg is not in autocommit
        return self

    def __exit__(self, *exc):
        self.conn.rollback()
        self.conn.close()


def refused_for_a_long_transaction(stack: Stack, clients: Clients) -> dict:
    """With a transaction left open through PgBouncer, the cutover waits for it (transaction_wait, 3 s here) and
    stops without pausing anyone or changing anything; the clients' latency meanwhile shows no stall."""
    ports = (stack.info["source"]["pg_port"], stack.info["target"]["pg_port"])
    log = Path(stack.bouncer["dir"]) / "pgbouncer.log"
    pauses = log.read_text(errors="replace").count("PAUSE 'app' command issued")
    with LongTransaction(stack):
        began = time.time()
        run = cutover(stack, "-e", "pgferry_pgbouncer_transaction_wait=3")
        ended = time.time()
    out = " ".join(run.output.split())
    assert run.rc != 0 and "have been open longer than long_transaction=1.0 s" in out, run.output[-4000:]
    assert "through PgBouncer (user postgres" in out and "nobody was paused and nothing changed" in out, out[-3000:]
    assert log.read_text(errors="replace").count("PAUSE 'app' command issued") == pauses, "PgBouncer was never paused"
    assert_back_on_source(stack)
    figures = clients.figures(*ports, (began, ended))
    assert figures["failed"] == 0, figures
    return {"seconds": ended - began, **figures}


def through_bouncer(stack: Stack, bouncer: dict, sql: str) -> str:
    psql = Path(stack.info["target"]["bin_dir"]) / "psql"
    r = subprocess.run([str(psql), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", bouncer["host"],
                        "-p", str(bouncer["port"]), "-U", "postgres", "-d", "app", "-c", sql],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PGPASSFILE": bouncer["pgpass_file"]})
    assert r.returncode == 0, f"through PgBouncer: {r.stderr}"
    return r.stdout.strip()


@pytest.fixture
def cut_stack(request: pytest.FixtureRequest):
    """A fresh 16 -> 18 stack with fixtures/basic.sql on the source and a PgBouncer in front of it."""
    name = f"cut-{uuid.uuid4().hex[:8]}"
    st = Stack(name, CACHE / "stacks" / name, {})
    try:
        subprocess.run([str(REPO / "tools" / "stack"), "up", "--name", name, "--source-major", str(SOURCE_MAJOR),
                        "--target-major", str(TARGET_MAJOR)], check=True, capture_output=True, text=True)
        st.info = __import__("json").loads((st.dir / "stack.json").read_text())
        st.psql("source", "CREATE DATABASE app", db="postgres")
        st.psql("source", (REPO / "fixtures" / "basic.sql").read_text())
        st.bouncer = pgbouncer(st, "up")
        yield st
    finally:
        for child in st.children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        for run in st.runs:
            if run.proc.poll() is None:
                run.kill()
        subprocess.run([str(REPO / "tools" / "pgbouncer"), "down", "--name", name], capture_output=True)
        _down(name)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
            import shutil
            shutil.rmtree(st.dir, ignore_errors=True)


def bouncer_pid(stack: Stack) -> int:
    return int((Path(stack.bouncer["dir"]) / "pgbouncer.pid").read_text())


def watch_fence(stack: Stack, action) -> threading.Event:
    """Runs action() as soon as the source carries the fence; the event is set once it ran. One connection polls
    (a psql per poll takes a second on a loaded machine, and the injection would land steps too late), to database
    postgres: the fence ends the sessions of database app."""
    import psycopg
    done = threading.Event()
    c = stack.info["source"]
    password = Path(c["pgpass_file"]).read_text().splitlines()[0].split(":", 4)[4]
    conn = psycopg.connect(host=c["pg_host"], port=c["pg_port"], user="postgres", password=password,
                           dbname="postgres", autocommit=True)

    def watch():
        deadline = time.monotonic() + 120
        try:
            while time.monotonic() < deadline:
                if conn.execute(FENCED).fetchone()[0] == 1:
                    action()
                    done.set()
                    return
                time.sleep(0.01)
        finally:
            conn.close()

    threading.Thread(target=watch, daemon=True).start()
    return done


class TargetLock:
    """A transaction on the target holding every row of one table FOR UPDATE: the subscription's apply waits behind
    it as soon as it updates one, while DDL such as CREATE PUBLICATION still goes through."""

    def __init__(self, stack: Stack, table: str):
        c = stack.info["target"]
        self.table = table
        self.proc = subprocess.Popen([str(Path(c["bin_dir"]) / "psql"), "-X", "-q", "-A", "-t", "-v",
                                      "ON_ERROR_STOP=1", "-h", c["pg_host"], "-p", str(c["pg_port"]), "-U",
                                      "postgres", "-d", "app"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, env={**os.environ, "PGPASSFILE": c["pgpass_file"]})

    def __enter__(self):
        self.proc.stdin.write(f"BEGIN; SELECT count(*) FROM (SELECT 1 FROM {self.table} FOR UPDATE) AS r; "
                              f"SELECT 'locked';\n")
        self.proc.stdin.flush()
        while (line := self.proc.stdout.readline()) and line.strip() != "locked":
            assert line.strip().isdigit(), line
        return self

    def __exit__(self, *exc):
        self.proc.stdin.write("COMMIT;\n")
        self.proc.stdin.close()
        self.proc.wait(30)


class AnotherRun:
    """Another run's lease on the migration, held on both agents and renewed every second as cutover_steps does, as
    long as the block lasts (a second controller in the middle of its own cutover)."""

    OWNER = "run-other-controller"

    def __init__(self, stack: Stack):
        self.stack, self.stop = stack, threading.Event()
        self.token = Path(stack.info["token_file"]).read_text().strip()
        self.thread = threading.Thread(target=self.renew, daemon=True)

    def call(self, side: str, method: str, query: str = "", body: dict | None = None) -> int:
        req = urllib.request.Request(f"{self.stack.info[side]['agent_url']}/v1/migrations/app/lease{query}",
                                     method=method, data=json.dumps(body).encode() if body else None,
                                     headers={"Authorization": f"Bearer {self.token}",
                                              "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status

    def renew(self) -> None:
        while not self.stop.wait(1.0):
            for side in ("source", "target"):
                self.call(side, "PUT", body={"owner": self.OWNER, "ttl_seconds": 5})

    def __enter__(self):
        for side in ("source", "target"):
            assert self.call(side, "PUT", body={"owner": self.OWNER, "ttl_seconds": 5}) == 200
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for side in ("source", "target"):
            self.call(side, "DELETE", f"?owner={self.OWNER}")


def refused_while_another_run_holds_the_lease(stack: Stack, clients: Clients) -> dict:
    """A second controller drives the cutover (its lease is held): this run waits lease_wait (3 s here), then stops
    having done and undone nothing - no PAUSE, no fence, PgBouncer untouched, clients unaffected."""
    ports = (stack.info["source"]["pg_port"], stack.info["target"]["pg_port"])
    log = Path(stack.bouncer["dir"]) / "pgbouncer.log"
    pauses = log.read_text(errors="replace").count("PAUSE 'app' command issued")
    with AnotherRun(stack):
        began = time.time()
        # Privileges off: their step, a change, would wait the agent client's 30 s for the lease before failing busy.
        run = cutover(stack, "-e", "pgferry_cutover_lease_wait=3", "-e", "pgferry_privileges=false",
                      "-e", "pgferry_cutover_row_counts=false")
        ended = time.time()
    out = " ".join(run.output.split())
    assert run.rc != 0 and "[migration_leased]" in out and AnotherRun.OWNER in out, out[-4000:]
    assert "Another run drives this migration right now: this run changed nothing and undid nothing" in out, \
        out[-4000:]
    assert log.read_text(errors="replace").count("PAUSE 'app' command issued") == pauses, "PgBouncer was never paused"
    assert_back_on_source(stack)
    figures = clients.figures(*ports, (began, ended))
    assert figures["failed"] == 0, figures
    return {"seconds": ended - began, **figures}


def assert_back_on_source(stack: Stack) -> None:
    """After a failed cutover: the source unfenced, the forward stream in place, PgBouncer serving the source."""
    assert stack.scalar("source", FENCED) == "0", "the fence is lifted"
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription") == "1", "the forward stream is kept"
    assert stack.scalar("source", "SELECT count(*) FROM pg_subscription") == "0", "no reverse subscription is left"
    port = stack.info["source"]["pg_port"]
    # PgBouncer counts a server login it cut short (a PAUSE issued while it was logging in) as a failed login and
    # refuses new clients for server_login_retry (15 s): seen once, after the fault that freezes PgBouncer. Those
    # refusals are PgBouncer's own; what must hold is that clients reach the source.
    deadline = time.monotonic() + 20
    while True:
        try:
            reached = through_bouncer(stack, stack.bouncer, "SELECT inet_server_port()")
            break
        except AssertionError as e:
            if "server_login_retry" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert reached == str(port), "clients reach the source"


def start_pgbench(stack: Stack, seconds: int = PGBENCH_SECONDS) -> subprocess.Popen:
    script = stack.dir / "cutover-writes.pgbench"
    script.write_text(WRITES)
    b = stack.bouncer
    bench = Path(stack.info["target"]["bin_dir"]) / "pgbench"
    out = open(stack.dir / "pgbench.out", "wb")
    proc = subprocess.Popen([str(bench), "-h", b["host"], "-p", str(b["port"]), "-U", "postgres", "-n", "-c", "4",
                             "-j", "2", "-T", str(seconds), "-R", "40", "-P", "5", "-l",
                             f"--log-prefix={stack.dir / 'pgbench_log'}", "-f", str(script), "app"],
                            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=stack.dir,
                            env={**os.environ, "PGPASSFILE": b["pgpass_file"]})
    out.close()
    stack.children.append(proc)
    return proc


def stop_pgbench(bench: subprocess.Popen) -> None:
    """Stops a pgbench still running with all its clients (one whose client aborted has it in pgbench.out)."""
    assert bench.poll() is None, "pgbench still running, none of its clients aborted"
    bench.send_signal(signal.SIGINT)
    bench.wait(30)


def pgbench_figures(stack: Stack, window: tuple[float, float]) -> dict:
    """From pgbench's per-transaction logs (-l): transactions done and failed, and the largest latency of one that
    ended within window (epoch seconds) - with -R, pgbench measures latency from the scheduled start, so a transaction
    queued behind the pause counts it; and whether a client aborted (pgbench.out): an error other than a
    serialization failure or deadlock ends a pgbench client."""
    text = (stack.dir / "pgbench.out").read_text(errors="replace")
    latencies, processed, failed = [], 0, 0
    for log in stack.dir.glob("pgbench_log*"):
        for line in log.read_text().splitlines():
            fields = line.split()  # client, transaction, latency (us) or "failed", script, epoch s, us, [lag]
            if len(fields) < 6:
                continue
            if fields[2] == "failed":
                failed += 1
            elif fields[2].isdigit():
                processed += 1
                ended = int(fields[4]) + int(fields[5]) / 1e6
                if window[0] <= ended <= window[1]:
                    latencies.append(int(fields[2]))
    summary = re.search(r"number of failed transactions: (\d+)", text)
    return {"failed": max(failed, int(summary.group(1)) if summary else 0), "processed": processed,
            "aborted": "aborted" in text, "max_latency_ms": max(latencies) / 1000 if latencies else None,
            "text": text}


def cutover(stack: Stack, *args: str, timeout: float = 240):
    run = stack.start_playbook("pgferry.migrate.cutover", *args)
    run.wait(timeout)
    return run


def test_cutover_rollback_cleanup_with_zero_failed_transactions(cut_stack: Stack, request: pytest.FixtureRequest):
    st = cut_stack
    began = time.monotonic()
    bench = start_pgbench(st)
    clients = Clients(bouncer_conninfo(st)).__enter__()  # and 4 pooled clients that reconnect on errors
    request.addfinalizer(clients.stop)

    t = time.monotonic()
    run = st.start_playbook("pgferry.migrate.migrate")
    assert run.wait(300) == 0, run.output[-4000:]
    timing(request, "migrate (pgbench writing through PgBouncer)", time.monotonic() - t)

    # 0. Check mode lists the steps, with the agents' SQL, and changes nothing.
    run = cutover(st, "--check", "-v")
    assert run.rc == 0, run.output[-4000:]
    for expected in ('PAUSE "app"', 'SET default_transaction_read_only = on', 'DROP SUBSCRIPTION "pgferry_app"',
                     'RESUME "app"'):
        assert expected in run.output, expected
    assert_back_on_source(st)

    # 1. The switch fails after the fence (PgBouncer's ini cannot be written): cutover_steps undoes what it did -
    #    fence lifted, reverse subscription dropped, clients resumed on the source; replication goes on.
    run = cutover(st, "-e", "pgferry_pgbouncer_ini=/nonexistent/pgbouncer.ini")
    assert run.rc != 0 and "cutover failed at" in run.output, run.output[-4000:]
    assert "switch failed: cannot read PgBouncer ini" in run.output and "fence lifted" in run.output, run.output[-4000:]
    assert "COULD NOT UNDO" not in run.output, run.output[-4000:]
    assert_back_on_source(st)
    assert bench.poll() is None, "pgbench still writing"

    # 2. PgBouncer stops answering right after the fence (SIGSTOP), for longer than the RELOAD waits: the switch
    #    fails, and the undo gets through once PgBouncer is back - fence lifted, clients resumed on the source.
    stopped = watch_fence(st, lambda: os.kill(bouncer_pid(st), signal.SIGSTOP))
    threading.Thread(target=lambda: (stopped.wait(120), time.sleep(8), os.kill(bouncer_pid(st), signal.SIGCONT)),
                     daemon=True).start()
    try:
        run = cutover(st)
    finally:
        os.kill(bouncer_pid(st), signal.SIGCONT)
    assert stopped.is_set(), "the fence was never seen"
    said = " ".join(run.output.split())
    assert run.rc != 0 and "switch failed: the PgBouncer admin console" in said and "did not answer" in said, \
        run.output[-4000:]
    assert "COULD NOT UNDO" not in run.output, run.output[-4000:]
    assert_back_on_source(st)
    assert bench.poll() is None, "pgbench still writing"

    # 3. The target agent is killed after the fence. A lock on the target holds the forward stream's apply back, so
    #    the catch-up is still waiting when the kill lands (no race); the next call to the target agent fails, the
    #    fence is lifted, clients resume on the source; a rerun finishes the cutover.
    with TargetLock(st, "included.customers"):
        killed = watch_fence(st, lambda: (os.kill(st.agent_pid("target"), signal.SIGKILL)))
        # The ready check's row comparison waits for the subscriber, which the lock holds back: off for this run (the
        # comparison has its own tests: tests/e2e/test_row_security.py).
        run = st.start_playbook("pgferry.migrate.cutover", "-e", "pgferry_cutover_row_counts=false")
        assert killed.wait(120), "the fence was never seen"
    assert run.wait(240) != 0 and "cutover failed at" in run.output, run.output[-4000:]
    assert "fence lifted" in run.output, run.output[-4000:]
    assert_back_on_source(st)
    st.up()  # restarts the dead agent on its port
    assert bench.poll() is None, "pgbench still writing"

    # 4. A transaction left open through PgBouncer: the cutover waits 3 s for it, then stops before pausing anyone
    #    (issue #17 item 5: it used to hold every client for pause_timeout, 30 s, and then back off).
    refused = refused_for_a_long_transaction(st, clients)
    print(f"\nlong transaction: cutover stopped before any PAUSE, playbook {refused['seconds']:.0f} s, max client latency "
          f"meanwhile {refused['max_latency_ms']} ms, failed {refused['failed']}")
    assert bench.poll() is None, "pgbench still writing"

    # 4b. Another controller holds the migration's lease (it is cutting over itself): this run stops, touching nothing.
    busy = refused_while_another_run_holds_the_lease(st, clients)
    print(f"\nanother run's lease: cutover stopped having done nothing, playbook {busy['seconds']:.0f} s, failed "
          f"{busy['failed']}")
    assert bench.poll() is None, "pgbench still writing"

    # 5. The real cutover.
    t, began_epoch = time.monotonic(), time.time()
    run = cutover(st, "-e", f"pgferry_report_dir={st.dir / 'reports'}")
    cutover_seconds, ended_epoch = time.monotonic() - t, time.time()
    assert run.rc == 0, run.output[-5000:]
    report = json.loads((st.dir / "reports" / "pgferry-app-cutover-latest.json").read_text())
    assert report["outcome"] == "succeeded" and report["state"] == "cut_over", report
    assert [s["name"] for s in report["steps"]][:1] == ["lifecycle"], report["steps"]
    assert {"ready_check", "pause", "verify", "left_behind"} <= {s["name"] for s in report["steps"]}, report["steps"]
    assert report["verification"] and all(v["status"] in ("equal", "not compared") for v in report["verification"]), \
        report["verification"]
    assert (st.dir / "reports" / "pgferry-app-cutover-latest.html").read_text().startswith("<!DOCTYPE html>")
    pause = re.search(r"pause_ms=(\d+)", run.output)
    steps = re.search(r"steps_ms=(\{.*?\})", " ".join(run.output.split()))
    assert pause, run.output[-3000:]
    assert str(report["details"]["pause_ms"]) == pause.group(1), report["details"]
    assert bench.poll() is None, "pgbench still writing, none of its clients aborted"
    assert st.scalar("source", FENCED) == "1", "the old source stays fenced"
    assert st.scalar("target", "SELECT count(*) FROM pg_subscription") == "0"
    assert st.scalar("source", "SELECT count(*) FROM pg_subscription WHERE subname = 'pgferry_app_reverse'") == "1"

    # A rerun sees the cutover done (source fenced, forward stream gone) and changes nothing.
    run = cutover(st)
    assert run.rc == 0 and "already done earlier" in run.output and run.recap()["changed"] == 0, run.output[-3000:]

    # New writes land on the target.
    marker = f"after cutover {uuid.uuid4().hex[:8]}"
    through_bouncer(st, st.bouncer, f"INSERT INTO included.orders (customer_id, amount) VALUES (1, 1); "
                                    f"UPDATE included.customers SET name = '{marker}' WHERE id = 2")
    assert st.scalar("target", f"SELECT count(*) FROM included.customers WHERE name = '{marker}'") == "1"

    ports = (st.info["source"]["pg_port"], st.info["target"]["pg_port"])
    deadline = time.monotonic() + 30
    while not clients.working_on(ports[1], ended_epoch) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert clients.working_on(ports[1], ended_epoch), "every pooled client works on the target, never restarted"
    pooled = clients.figures(*ports, (began_epoch, ended_epoch + 5))
    print(f"\npool_mode transaction: pause {pause.group(1)} ms, switch gap {pooled['switch_gap_ms']} ms, "
          f"max client latency {pooled['max_latency_ms']} ms, failed transactions {pooled['failed']}, "
          f"clients reconnected {pooled['reconnected']}/4 (pooled clients; load {os.getloadavg()[0]:.1f})")
    assert pooled["failed"] == 0 and pooled["reconnected"] == 0, pooled
    clients.stop()  # their writes would keep the old source a moment behind, and the comparison below never equal

    stop_pgbench(bench)
    figures = pgbench_figures(st, (began_epoch, ended_epoch))
    print(f"\ncutover: pause {pause.group(1)} ms, max client latency {figures['max_latency_ms']} ms, "
          f"failed transactions {figures['failed']}, cutover {cutover_seconds:.1f} s, "
          f"pgbench {time.monotonic() - began:.0f} s / {figures['processed']} transactions; "
          f"steps (ms) {steps.group(1) if steps else '?'}")
    timing(request, f"cutover (pause {pause.group(1)} ms, max latency {figures['max_latency_ms']} ms)", cutover_seconds)
    assert figures["failed"] == 0 and not figures["aborted"], figures["text"][-3000:]
    assert figures["processed"] > 1000, figures["processed"]

    # Checksum-equal both sides (the reverse stream keeps the old source current), sequences target >= source.
    cmp = st.compare(wait=60)
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr
    for seq in ("customers_id_seq", "orders_id_seq"):
        src = int(st.scalar("source", f"SELECT last_value FROM included.{seq}"))
        dst = int(st.scalar("target", f"SELECT last_value FROM included.{seq}"))
        assert dst >= src, f"{seq}: target {dst} < source {src}"

    # Rollback: writes made on the target are on the old source, clients are back there.
    on_target = f"written on the target {uuid.uuid4().hex[:8]}"
    through_bouncer(st, st.bouncer, f"UPDATE included.customers SET name = '{on_target}' WHERE id = 3")
    # Through the user's own switch tasks this time (pgferry_cutover_switch=tasks): the role calls them to pause,
    # to point clients at the old source and to resume, in that order.
    run = st.start_playbook("pgferry.migrate.rollback", "-e", "pgferry_cutover_switch=tasks",
                            "-e", f"pgferry_cutover_switch_tasks={REPO / 'tests' / 'e2e' / 'files' / 'switch_hook.yml'}")
    assert run.wait(240) == 0, run.output[-5000:]
    calls = [line.split(" ", 1)[1].strip() for line in (st.dir / "switch-hook.calls").read_text().splitlines()]
    assert calls == ["pause", "switch source", "resume"], calls
    run = st.start_playbook("pgferry.migrate.rollback", "-e", "pgferry_cutover_switch=tasks",
                            "-e", f"pgferry_cutover_switch_tasks={REPO / 'tests' / 'e2e' / 'files' / 'switch_hook.yml'}")
    assert run.wait(240) == 0 and "already done earlier" in run.output, run.output[-3000:]
    assert run.recap()["changed"] == 0, run.output[-3000:]
    assert st.scalar("source", f"SELECT count(*) FROM included.customers WHERE name IN ('{marker}', '{on_target}')") == "2"
    assert st.scalar("source", FENCED) == "0" and st.scalar("target", FENCED) == "1"
    back = f"back on the source {uuid.uuid4().hex[:8]}"
    through_bouncer(st, st.bouncer, f"UPDATE included.customers SET name = '{back}' WHERE id = 4")
    assert st.scalar("source", f"SELECT count(*) FROM included.customers WHERE name = '{back}'") == "1"

    # Cleanup: nothing of pgferry left on either side; a rerun changes nothing.
    run = st.start_playbook("pgferry.migrate.cleanup")
    assert run.wait(240) == 0, run.output[-5000:]
    for side in ("source", "target"):
        assert st.scalar(side, LEFTOVERS) == "0 0 0 0 0", side
    run = st.start_playbook("pgferry.migrate.cleanup")
    assert run.wait(240) == 0 and run.recap()["changed"] == 0, run.output[-3000:]

    # The switch module on its own: check mode, pause, rerun unchanged, resume, rerun unchanged.
    run = st.start_playbook("tests/e2e/files/switch_module.yml")
    assert run.wait(120) == 0, run.output[-3000:]


def test_controller_killed_inside_the_pause_then_a_rerun_finishes(cut_stack: Stack):
    """The whole ansible-playbook dies while clients are paused and the source is fenced (nothing of Ansible is left
    to undo anything): clients stay queued, no transaction fails, and rerunning the cutover finishes it."""
    st = cut_stack
    bench = start_pgbench(st, seconds=45)
    run = st.start_playbook("pgferry.migrate.migrate")
    assert run.wait(300) == 0, run.output[-4000:]

    with TargetLock(st, "included.customers"):  # holds the catch-up, so the kill lands inside the pause
        # pgbench still writes (the migrate run is shorter than its 45 s), so the stream's apply waits behind the lock
        # and the ready check's row comparison, which waits for the subscriber, would never let the cutover start:
        # off for this run, as in the injected failures above.
        run = st.start_playbook("pgferry.migrate.cutover", "-e", "pgferry_cutover_row_counts=false")
        killed = watch_fence(st, run.kill)
        assert killed.wait(120), "the fence was never seen"
    assert st.scalar("source", FENCED) == "1", "the dead run's fence stands"

    run = cutover(st)
    assert run.rc == 0, run.output[-5000:]
    assert "already done earlier" not in run.output
    assert st.scalar("target", "SELECT count(*) FROM pg_subscription") == "0"
    assert through_bouncer(st, st.bouncer, "SELECT inet_server_port()") == str(st.info["target"]["pg_port"])

    assert bench.wait(120) == 0, (st.dir / "pgbench.out").read_text()[-3000:]
    figures = pgbench_figures(st, (0, time.time()))
    print(f"\ncontroller killed in the pause: failed transactions {figures['failed']}, "
          f"max client latency {figures['max_latency_ms']} ms")
    assert figures["failed"] == 0 and not figures["aborted"], figures["text"][-3000:]
    cmp = st.compare(wait=60)
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr
