"""Secrets stay secret during a whole migration: `ansible-playbook -vvv pgferry.migrate.migrate` on a fresh stack while
a sampler reads every process's command line (/proc/*/cmdline, every 50 ms) and both clusters' pg_stat_activity;
then the replication password, both admin passwords and the agent token must appear in none of: the sampled command
lines and queries, both agents' logs, both PostgreSQL server logs (with log_statement = all, so every statement that
is not deliberately hidden is logged), and the -vvv output.

Real clusters, real agents, a real ansible-playbook run (conftest.py's stack fixture); nothing is mocked.
"""
from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

from conftest import CACHE, Stack, timing


class Sampler(threading.Thread):
    """Every command line of every process, and every query text PostgreSQL shows, while the playbook runs."""

    def __init__(self, stack: Stack, interval: float = 0.05):
        super().__init__(daemon=True)
        self.stack, self.interval = stack, interval
        self.cmdlines: set[bytes] = set()
        self.queries: set[str] = set()
        self.rounds = 0
        self._halt = threading.Event()

    def run(self) -> None:
        last_sql = 0.0
        while not self._halt.is_set():
            for entry in os.scandir("/proc"):
                if entry.name.isdigit():
                    try:
                        with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                            self.cmdlines.add(f.read())
                    except OSError:
                        pass  # the process ended meanwhile
            if time.monotonic() - last_sql > 0.2:
                last_sql = time.monotonic()
                for side in ("source", "target"):
                    for row in self.stack.psql(side, "SELECT query FROM pg_stat_activity WHERE query <> ''",
                                               db="postgres", check=False):
                        self.queries.add("|".join(row))
            self.rounds += 1
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)


def pgbed_cluster(name: str) -> dict:
    """tools/pgbed's record of a cluster: ports, password files, server log."""
    return json.loads((CACHE / "clusters" / name / "cluster.json").read_text())


def test_no_secret_in_argv_logs_activity_or_verbose_output(stack: Stack, request) -> None:
    src, dst = pgbed_cluster(stack.info["source"]["cluster"]), pgbed_cluster(stack.info["target"]["cluster"])
    token = Path(stack.info["token_file"]).read_text().strip()
    replication = Path(stack.info["replication_password_file"]).read_text().strip()
    secrets = {"agent token": token, "replication password": replication,
               "source admin password": Path(src["superuser_password_file"]).read_text().strip(),
               "target admin password": Path(dst["superuser_password_file"]).read_text().strip()}
    assert all(len(s) >= 16 for s in secrets.values()), "secrets long enough not to match by chance"
    # Log every statement: whatever the agent does not hide on purpose lands in the server log.
    for side in ("source", "target"):
        stack.psql(side, "ALTER SYSTEM SET log_statement = 'all'", db="postgres")
        stack.psql(side, "SELECT pg_reload_conf()", db="postgres")
    logs = {"source server log": Path(src["log_file"]), "target server log": Path(dst["log_file"]),
            "source agent log": Path(stack.info["source"]["agent_log"]),
            "target agent log": Path(stack.info["target"]["agent_log"])}
    assert all(p.exists() for p in logs.values()), logs

    sampler = Sampler(stack)
    sampler.start()
    started = time.monotonic()
    run = stack.start_playbook("pgferry.migrate.migrate", "-vvv")
    rc = run.wait(600)
    sampler.stop()
    timing(request, "migrate.yml -vvv", time.monotonic() - started)
    output = run.output
    assert rc == 0, f"the migration failed:\n{output[-4000:]}"
    assert run.recap()["failed"] == 0
    assert sampler.rounds > 20 and len(sampler.cmdlines) > 20, (sampler.rounds, len(sampler.cmdlines))
    assert any(b"ansible-playbook" in c for c in sampler.cmdlines), "the sampler saw the playbook run"
    assert any("CREATE SUBSCRIPTION" in q or "pg_stat" in q for q in sampler.queries) or sampler.queries

    haystacks = {"-vvv output": output}
    haystacks.update({name: path.read_text(errors="replace") for name, path in logs.items()})
    haystacks["process command lines"] = "\n".join(c.replace(b"\0", b" ").decode(errors="replace")
                                                   for c in sampler.cmdlines)
    haystacks["pg_stat_activity"] = "\n".join(sampler.queries)
    # The server logs did log statements (the check above is not vacuous).
    assert "statement:" in haystacks["source server log"], "log_statement = all took effect on the source"
    leaks = [f"{what} in {where}" for where, text in haystacks.items() for what, secret in secrets.items()
             if secret in text]
    assert not leaks, "secrets leaked: " + ", ".join(leaks)
    # The migration really ran: the subscription exists and streams.
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription") == "1"
