"""Fixtures of the end-to-end tests: a real stack (tools/stack: two PostgreSQL clusters, an agent beside each), a
database `app` on its source to migrate, and real ansible-playbook runs of pgferry.migrate.migrate against it.

Every stack gets a unique name and is always torn down (`tools/stack down`), pass or fail; its directory under
.cache/stacks/ (agent logs, playbook logs) is removed when the test passed and kept for a post-mortem otherwise.

Environment:
  PGFERRY_E2E_SOURCE_MAJOR / PGFERRY_E2E_TARGET_MAJOR   PostgreSQL majors of the stack (default 14 and 18)
  PGFERRY_E2E_BIG_ROWS                                  rows of included.big, the table whose copy the tests
                                                        interrupt (default 2000000: a copy of a few seconds)
  PGFERRY_E2E_KEEP=1                                    keep the stack directories (logs) of passed tests too
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from stacklib import BIG_ROWS, BIG_TABLE_SQL, CACHE, REPO, TIMINGS, Stack, timing

# A run started in the background (nohup, a shell's &) inherits SIGINT ignored, and an ignored signal stays ignored
# across exec: every pgbench the tests start would then ignore the SIGINT that stops it. A handler of our own is reset
# to the default at exec instead.
signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _down(name: str) -> None:
    # The servers' logs go with the clusters; kept in the stack directory, a failed test can still be read afterwards.
    for side in ("source", "target"):
        log = CACHE / "clusters" / f"{name}-{side}" / "postgres.log"
        if log.is_file() and (CACHE / "stacks" / name).is_dir():
            shutil.copyfile(log, CACHE / "stacks" / name / f"postgres-{side}.log")
    r = subprocess.run([str(REPO / "tools" / "stack"), "down", "--name", name], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, f"tools/stack down --name {name} failed:\n{r.stderr[-2000:]}"


@pytest.fixture
def stack(request: pytest.FixtureRequest):
    """A fresh stack, unique name, with database app on the source: fixtures/basic.sql plus included.big."""
    name = f"e2eres-{uuid.uuid4().hex[:8]}"
    sdir = CACHE / "stacks" / name
    st = Stack(name, sdir, {})
    started = time.monotonic()
    try:
        st.up()
        timing(request, "stack up", time.monotonic() - started)
        t = time.monotonic()
        st.psql("source", "CREATE DATABASE app", db="postgres")
        st.psql("source", (REPO / "fixtures" / "basic.sql").read_text())
        st.psql("source", BIG_TABLE_SQL)
        timing(request, f"load basic.sql + {BIG_ROWS} rows", time.monotonic() - t)
        yield st
    finally:
        try:
            for child in st.children:  # write loads and the like
                if child.poll() is None:
                    child.terminate()
                    try:
                        child.wait(timeout=10)
                    except subprocess.TimeoutExpired:
                        child.kill()
            for run in st.runs:  # the controller, and any worker or module it left behind
                run.kill()
        finally:
            _down(name)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
            shutil.rmtree(sdir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("e2e timings")
    for test, what, seconds in TIMINGS:
        terminalreporter.write_line(f"{test}: {what}: {seconds:.1f}s")
