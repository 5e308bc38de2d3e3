"""Fixtures of the container suite: hosts made by tools/hosts (containers of the images tools/images builds), reached
over SSH by real ansible-playbook runs. Skipped, saying why, when no Docker engine answers or the images are missing
(tools/test runs `tools/engine ensure` and `tools/images build` first and prints which test bed ran).

Every set of hosts gets a unique name and is always removed (`tools/hosts down`), pass or fail; its directory under
.cache/hosts/ (playbook logs, pgbench logs) is removed when the test passed and kept for a post-mortem otherwise.

Environment:
  PGFERRY_CONTAINERS=0      skip this suite
  PGFERRY_FAULTS=1          the rest of the network fault matrix (default: the lifecycle's cutover fault only)
  PGFERRY_HOSTS_KEEP=1      keep the hosts' directories of passed tests too
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid

import pytest

from hostlib import CACHE, REPO, TIMINGS, Hosts, timing


def _engine_problem() -> str | None:
    if os.environ.get("PGFERRY_CONTAINERS") == "0":
        return "PGFERRY_CONTAINERS=0"
    if shutil.which("docker") is None:
        return "no docker command"
    if subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode != 0:
        return "no Docker engine answers (tools/engine ensure)"
    if not (CACHE / "images.json").exists():
        return "no images (tools/images build)"
    return None


def pytest_collection_modifyitems(config, items):
    problem = _engine_problem()
    if problem:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=f"container test bed unavailable: {problem}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def make_hosts(request: pytest.FixtureRequest):
    """make_hosts(layout, source_major, target_major) -> Hosts, removed after the test."""
    made: list[Hosts] = []

    def make(layout: str = "lifecycle", source_major: int = 16, target_major: int = 18) -> Hosts:
        name = f"{layout[:4]}{uuid.uuid4().hex[:6]}"
        started = time.monotonic()
        r = subprocess.run([str(REPO / "tools" / "hosts"), "up", "--name", name, "--layout", layout,
                            "--source-major", str(source_major), "--target-major", str(target_major)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"tools/hosts up failed:\n{r.stderr[-3000:]}"
        hosts = Hosts(name, json.loads(r.stdout))
        made.append(hosts)
        timing(request, f"hosts up ({layout}, {source_major} -> {target_major})", time.monotonic() - started)
        return hosts

    yield make
    for hosts in made:
        for bench in hosts.children:
            if bench.wait(timeout=20) is None:
                bench.kill()
        for run in hosts.runs:
            if run.proc.poll() is None:
                os.killpg(run.proc.pid, 9)
        subprocess.run(["docker", "unpause", *hosts.info["containers"].values()], capture_output=True)
        subprocess.run([str(REPO / "tools" / "hosts"), "down", "--name", hosts.name], capture_output=True, timeout=180)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_HOSTS_KEEP") != "1":
            shutil.rmtree(hosts.dir, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if not TIMINGS:
        return
    terminalreporter.section("container suite timings")
    for test, what, seconds in TIMINGS:
        terminalreporter.write_line(f"{test}: {what}: {seconds:.1f}s")
