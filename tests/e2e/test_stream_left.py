"""A cutover's pause only stops the stream (its subscription disabled, one transaction) and drops the subscription and
its slot after the RESUME. Here that drop fails for real - the publisher refuses the replication role's login, as an
outage or a rotated password would - once after a cutover and once after a rollback, on a 14 -> 18 stack with PgBouncer
in front and pgbench writing through it all along (tests/e2e/lifecycle_harness.py):

- the run fails saying the cutover (rollback) is complete, clients run where they belong, and what is left;
- the lifecycle reads the stopped stream as cut over (rolled back) and names it; clients' writes on the new side reach
  the other one through the reverse stream, and none comes back through the stopped one;
- every acknowledged commit is where clients are (the invariants after each step);
- once the login works again, a rerun of the same playbook drops the subscription and the slot; a rollback straight
  from the stopped forward stream drops it first; cleanup leaves nothing.
"""
from __future__ import annotations

import re

import pytest

from lifecycle_harness import (
    Invariants,
    LedgerBench,
    bouncer_state,
    make_stack,
    phase_of,
    playbook,
    rows_per_session,
    tear_down,
    wait_for,
)
from stacklib import flat


def test_a_stream_stopped_in_the_pause_but_not_dropped_is_finished_by_a_rerun(request: pytest.FixtureRequest):
    st = make_stack("left")
    passed = False
    try:
        _scenario(st)
        passed = True
    finally:
        tear_down(st, passed)


def _login_of(st, side: str, subscription: str) -> str:
    conninfo = st.scalar(side, f"SELECT subconninfo FROM pg_subscription WHERE subname = '{subscription}'")
    return re.search(r"user=(\S+)", conninfo).group(1).strip("'")


def _subscription(st, side: str, name: str) -> str:
    return st.scalar(side, f"SELECT coalesce((SELECT subenabled::text FROM pg_subscription WHERE subname = '{name}'),"
                           " 'none')")


def _slot(st, side: str, name: str) -> str:
    return st.scalar(side, f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{name}'", db="postgres")


def _status(st) -> str:
    run = playbook(st, "status")
    assert run.rc == 0, run.output[-4000:]
    return flat(run)


def _reverse_carries_writes(st) -> None:
    """A chunk's rows on the target reach the old source through the reverse stream."""
    wait_for("the reverse stream carrying the clients' writes",
             lambda: rows_per_session(st, "source") == rows_per_session(st, "target"), timeout=90)


def _scenario(st) -> None:
    run = playbook(st, "migrate")
    assert run.rc == 0, run.output[-5000:]
    bench = LedgerBench(st).start()
    inv = Invariants(st, bench)
    wait_for("a first pgbench chunk", lambda: bench.done, timeout=120)

    # The cutover: its drop after the RESUME cannot log in to the source.
    forward_login = _login_of(st, "target", "pgferry_app")
    st.psql("source", f'ALTER ROLE "{forward_login}" NOLOGIN', db="postgres")
    run = playbook(st, "cutover")
    out = flat(run)
    assert run.rc != 0, out[-4000:]
    assert "The cutover itself is complete and clients run on the target" in out, out[-4000:]
    assert "subscription pgferry_app and its slot on the source" in out, out[-4000:]
    assert bouncer_state(st) == {"points": "target", "paused": False}
    assert _subscription(st, "target", "pgferry_app") == "false"
    assert _slot(st, "source", "pgferry_app") == "1"
    status = _status(st)
    assert "phase cut_over" in status and "forward stream stopped at the fence" in status, status[-3000:]
    assert "STOPPED (disabled)" in status, status[-3000:]
    _reverse_carries_writes(st)
    assert inv.check() == []

    # Login back: the rerun finds the cutover done, and drops what the pause stopped.
    st.psql("source", f'ALTER ROLE "{forward_login}" LOGIN', db="postgres")
    run = playbook(st, "cutover")
    assert run.rc == 0, run.output[-5000:]
    assert "Drop the stream a finished pause stopped" in run.output and "already done" in flat(run), \
        run.output[-5000:]
    assert _subscription(st, "target", "pgferry_app") == "none"
    assert _slot(st, "source", "pgferry_app") == "0"
    assert phase_of(run) == "cut_over" or "phase cut_over" in _status(st)
    assert inv.check() == []

    # The rollback: its drop after the RESUME cannot log in to the target.
    reverse_login = _login_of(st, "source", "pgferry_app_reverse")
    st.psql("target", f'ALTER ROLE "{reverse_login}" NOLOGIN', db="postgres")
    run = playbook(st, "rollback")
    out = flat(run)
    assert run.rc != 0, out[-4000:]
    assert "The rollback itself is complete and clients run on the old source" in out, out[-4000:]
    assert bouncer_state(st) == {"points": "source", "paused": False}
    assert _subscription(st, "source", "pgferry_app_reverse") == "false"
    assert _slot(st, "target", "pgferry_app_reverse") == "1"
    status = _status(st)
    assert "phase rolled_back" in status and "reverse stream stopped at the fence" in status, status[-3000:]
    assert inv.check() == []

    # Login back: cleanup takes it from there - nothing of pgferry is left on either side.
    st.psql("target", f'ALTER ROLE "{reverse_login}" LOGIN', db="postgres")
    run = playbook(st, "cleanup")
    assert run.rc == 0, run.output[-5000:]
    bench.stop()
    assert inv.check(cleaned_up=True) == []
