"""Schedule mode (pgferry_schedule_mode): each run of pgferry.migrate.migrate advances the migration as far as it can
without waiting, exits 0 with where it stands, and a later run goes on - until streaming-ready. The cutover is never run.

Deterministic, not a race with a fast copy: the steps before the subscription run first (--tags), then a session on
the target holds a SHARE lock on included.big - the subscription's COPY into it (ROW EXCLUSIVE) waits behind it - so the
initial copy cannot end while the first scheduled runs go. Without the schedule mode a run would wait for that copy
(pgferry_sync_timeout), and the test's per-run timeout fails it. Real clusters, agents and ansible-playbook runs.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from stacklib import MIGRATION, Run, Stack, flat, timing

SCHEDULE = ("-e", "pgferry_schedule_mode=true")
BEFORE_THE_SUBSCRIPTION = "preflight,replication_role,publication,schema_archive,roles,database,schema_apply,replica_identity"
# Generous for a loaded machine: a run that waited for the blocked copy would fail anyway, after
# pgferry_sync_timeout (inventories/local: 300 s), with rc != 0.
RUN_LIMIT = 600
STATE = re.compile(r"pgferry state: (\w+)")
# What carries a schema archive too large to travel inline (roles/migrate/tasks: schema_archive_fetch.yml,
# schema_apply_copy.yml, schema_transfer_cleanup.yml), in order.
FILE_TASKS = ("Private temporary directory on the controller", "Fetch the archive and its manifest to the controller",
              "Remove the source host's copy", "Private temporary directory on the target host",
              "Copy the archive and its manifest to the target host", "Remove the target host's copy of the archive",
              "Remove the source host's copy of the archive", "Remove the controller's copy of the archive")
LOCKER = "pgferry-test-locker"


def hold_share_lock(stack: Stack, table: str) -> subprocess.Popen:
    """A psql session on the target holding SHARE on table until it is terminated; returns once the lock is held."""
    c = stack.info["target"]
    proc = subprocess.Popen([str(Path(c["bin_dir"]) / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", c["pg_host"],
                             "-p", str(c["pg_port"]), "-U", "postgres", "-d", "app",
                             "-c", f"BEGIN; LOCK TABLE {table} IN SHARE MODE; SELECT pg_sleep(3600)"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PGPASSFILE": c["pgpass_file"], "PGAPPNAME": LOCKER})
    stack.children.append(proc)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        held = stack.scalar("target", "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                                      f"WHERE c.oid = '{table}'::regclass AND l.mode = 'ShareLock' AND l.granted")
        if held == "1":
            return proc
        assert proc.poll() is None, f"the locking session ended: {proc.stderr.read().decode()}"
        time.sleep(0.1)
    raise AssertionError(f"SHARE lock on {table} not granted within 30 s")


def report(stack: Stack) -> dict:
    return json.loads((stack.dir / "reports" / "pgferry-app-migrate-latest.json").read_text())


def scheduled_run(stack: Stack, request, label: str) -> tuple[Run, str, float]:
    started = time.monotonic()
    run = stack.playbook(*SCHEDULE, "-e", f"pgferry_report_dir={stack.dir / 'reports'}", timeout=RUN_LIMIT)
    seconds = time.monotonic() - started
    timing(request, label, seconds)
    out = run.output
    assert run.rc == 0, f"{label}: a scheduled run failed (rc {run.rc}):\n{out[-4000:]}"
    states = STATE.findall(out)
    assert states, f"{label}: no 'pgferry state:' line:\n{out[-3000:]}"
    return run, states[-1], seconds


def test_schedule_mode_advances_to_streaming_ready(stack: Stack, request) -> None:
    # The schema archive as files (limit 0, not sent agent to agent), the way an archive over
    # pgferry_schema_archive_inline_max_bytes takes on hosts reached over SSH - every other test's archive goes agent to
    # agent (local connection) - and under --tags, which the included file tasks must follow.
    prepare = stack.playbook("--tags", BEFORE_THE_SUBSCRIPTION, "-e", "pgferry_schema_archive_inline_max_bytes=0",
                             "-e", "pgferry_schema_archive_direct=false", timeout=300)
    assert prepare.rc == 0, prepare.output[-4000:]
    assert re.search(r"schema archive sha256 [0-9a-f]{64}, \d+ entries, \d+ table\(s\), as files", flat(prepare)), \
        prepare.output[-4000:]
    for task in FILE_TASKS:
        ran = re.search(rf"TASK \[[^\]]*: {re.escape(task)}\] \**\n(ok|changed): ", prepare.output)
        assert ran, (task, prepare.output[-4000:])
    locker = hold_share_lock(stack, "included.big")

    run, state, seconds = scheduled_run(stack, request, "scheduled run 1 (copy blocked)")
    assert state == "copying", run.output[-3000:]
    assert stack.scalar("target", f"SELECT count(*) FROM pg_subscription WHERE subname = '{MIGRATION}'") == "1"
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") != "0"
    assert "initial copy:" not in run.output  # no waiting: not one progress line
    first = report(stack)
    assert first["state"] == "copying" and first["outcome"] == "succeeded", first
    assert [s["name"] for s in first["steps"]][:2] == ["lifecycle", "preflight"] and "post_data" not in \
        [s["name"] for s in first["steps"]], first["steps"]

    # A second run while the copy still cannot end: it skips the steps before the subscription and exits at once.
    run, state, seconds = scheduled_run(stack, request, "scheduled run 2 (copy still blocked)")
    assert state == "copying", run.output[-3000:]
    steps = [s["name"] for s in report(stack)["steps"]]
    assert "preflight" not in steps and "schema" not in steps and "sync_status" in steps, \
        f"a run in phase copying redid the steps before the subscription: {steps}"
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription").strip() == "1"

    # A backend in pg_sleep does not notice its client go away: end the session on the server.
    stack.psql("target", f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{LOCKER}'")
    locker.wait(timeout=30)
    states = [state]
    for n in range(3, 13):
        run, state, seconds = scheduled_run(stack, request, f"scheduled run {n}")
        states.append(state)
        if state == "streaming_ready":
            break
        assert state in ("copying", "post_data"), run.output[-3000:]
        time.sleep(3)
    assert state == "streaming_ready", f"not streaming-ready after {len(states) + 1} scheduled runs: {states}"
    assert "run pgferry.migrate.cutover when ready" in run.output
    last = report(stack)
    assert last["state"] == "streaming_ready" and "post_data" in [s["name"] for s in last["steps"]], last
    assert "preflight" not in [s["name"] for s in last["steps"]]  # phase copying or streaming: straight to the stream
    assert all(s["seconds"] >= 0 for s in last["steps"]) and last["seconds"] >= sum(s["seconds"] for s in last["steps"]) - 1
    big = [t for t in last["verification"] if (t["schema"], t["name"]) == ("included", "big")]
    assert big and big[0]["status"] in ("equal", "within_changes") and big[0]["target_rows"] == big[0]["source_rows"], \
        last["verification"]
    page = (stack.dir / "reports" / "pgferry-app-migrate-latest.html").read_text()
    assert "<style>" in page and "streaming_ready" in page and "included.big" in page
    assert "<script" not in page and "http://" not in page and "https://" not in page  # self-contained
    assert "pgferry_report" in run.output or "report:" in run.output

    # Streaming, not cut over: one slot and subscription, the source still takes writes; the data is equal.
    assert stack.scalar("source", f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{MIGRATION}'") == "1"
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'") == "0"
    stack.psql("source", "INSERT INTO included.big (payload) VALUES ('after streaming-ready')")
    compared = stack.compare(wait=60)
    assert compared.returncode == 0, compared.stdout[-3000:] + compared.stderr[-3000:]

    # Once streaming-ready, a further scheduled run changes nothing and says so again.
    run, state, seconds = scheduled_run(stack, request, "scheduled run after streaming-ready")
    assert state == "streaming_ready" and run.recap()["failed"] == 0
