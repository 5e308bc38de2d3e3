"""Secrets stay secret during a whole migration: `ansible-playbook -vvv pgferry.migrate.migrate` on a fresh stack while
a sampler reads every process's command line (/proc/*/cmdline, every 50 ms) and both clusters' pg_stat_activity;
then the replication password, both admin passwords, the agent token and the archive key must appear in none of: the
sampled command lines and queries, both agents' logs, both PostgreSQL server logs, both servers' pg_stat_statements and
the -vvv output. Both servers (14 and 18 by default) run with every setting that records statement text on
(LOUDEST: statement, duration and sample logging with bind parameters, the parse/rewrite/plan trees, auto_explain
with parameters, pg_stat_statements with utility statements), so whatever the agent does not hide on purpose lands
in a log or a view; neither may hold a SCRAM verifier of the replication password either.

Real clusters, real agents, a real ansible-playbook run (conftest.py's stack fixture); nothing is mocked.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

from conftest import CACHE, REPO, Stack, timing

# Every setting of PostgreSQL 14-18 that records statement text or bind parameters, at its loudest.
LOUDEST = ["log_statement = 'all'", "log_min_duration_statement = 0", "log_min_duration_sample = 0",
           "log_statement_sample_rate = 1", "log_transaction_sample_rate = 1", "log_duration = on",
           "log_parameter_max_length = -1", "log_parameter_max_length_on_error = -1",
           "log_min_error_statement = 'info'", "log_min_messages = 'info'", "debug_print_parse = on",
           "debug_print_rewritten = on", "debug_print_plan = on", "auto_explain.log_min_duration = 0",
           "auto_explain.log_nested_statements = on", "pg_stat_statements.track = 'all'",
           "pg_stat_statements.track_utility = on"]


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


def loudest(stack: Stack, side: str, cluster: dict) -> None:
    """LOUDEST on one server; pg_stat_statements and auto_explain need a restart (the agents do not)."""
    stack.psql(side, "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', 'auto_explain'",
               db="postgres")
    for cmd in ("stop", "start"):
        subprocess.run([str(REPO / "tools" / "pgbed"), cmd, "--name", cluster["name"]], check=True,
                       capture_output=True, timeout=120)
    settings = LOUDEST + (["auto_explain.log_parameter_max_length = -1"] if cluster["major"] >= 16 else [])
    stack.psql(side, "".join(f"ALTER SYSTEM SET {s};\n" for s in settings) + "SELECT pg_reload_conf();",
               db="postgres")
    stack.psql(side, "CREATE EXTENSION pg_stat_statements", db="postgres")


def test_no_secret_in_argv_logs_activity_or_verbose_output(stack: Stack, request) -> None:
    src, dst = pgbed_cluster(stack.info["source"]["cluster"]), pgbed_cluster(stack.info["target"]["cluster"])
    token = Path(stack.info["token_file"]).read_text().strip()
    replication = Path(stack.info["replication_password_file"]).read_text().strip()
    secrets = {"agent token": token, "replication password": replication,
               "archive key": Path(stack.info["archive_key_file"]).read_text().strip(),
               "source admin password": Path(src["superuser_password_file"]).read_text().strip(),
               "target admin password": Path(dst["superuser_password_file"]).read_text().strip()}
    assert all(len(s) >= 16 for s in secrets.values()), "secrets long enough not to match by chance"
    # Record every statement everywhere: whatever the agent does not hide on purpose lands in a log or a view.
    for side, cluster in (("source", src), ("target", dst)):
        loudest(stack, side, cluster)
    logs = {"source server log": Path(src["log_file"]), "target server log": Path(dst["log_file"]),
            "source agent log": Path(stack.info["source"]["agent_log"]),
            "target agent log": Path(stack.info["target"]["agent_log"])}
    assert all(p.exists() for p in logs.values()), logs

    sampler = Sampler(stack)
    sampler.start()
    started = time.monotonic()
    # Inline, as on hosts reached over SSH: the archive in a result and an argument, where -vvv could show it.
    run = stack.start_playbook("pgferry.migrate.migrate", "-vvv", "-e", "pgferry_schema_archive_direct=false")
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
    # The schema archive and its manifest travel inline, base64 in the output: read them decoded too.
    for name, b64 in re.findall(r'(?<![\w])"?(content|manifest_content)"?: ["\']?([A-Za-z0-9+/=]{100,})', output):
        haystacks[f"the inline {name} (decoded)"] = base64.b64decode(b64).decode(errors="replace")
    assert {"the inline content (decoded)", "the inline manifest_content (decoded)"} <= set(haystacks), \
        "the archive travelled inline"
    haystacks.update({name: path.read_text(errors="replace") for name, path in logs.items()})
    haystacks["process command lines"] = "\n".join(c.replace(b"\0", b" ").decode(errors="replace")
                                                   for c in sampler.cmdlines)
    haystacks["pg_stat_activity"] = "\n".join(sampler.queries)
    for side in ("source", "target"):
        haystacks[f"{side} pg_stat_statements"] = "\n".join(
            "|".join(r) for r in stack.psql(side, "SELECT query FROM pg_stat_statements", db="postgres"))
    # The logs and views did record statements (the checks below are not vacuous).
    for side in ("source", "target"):
        log = haystacks[f"{side} server log"]
        assert "statement:" in log and "duration:" in log and "parse tree" in log, f"LOUDEST took effect, {side}"
        assert "pg_catalog" in haystacks[f"{side} pg_stat_statements"], f"pg_stat_statements recorded, {side}"
    leaks = [f"{what} in {where}" for where, text in haystacks.items() for what, secret in secrets.items()
             if secret in text]
    leaks += [f"a SCRAM verifier in {where}" for where, text in haystacks.items() if "SCRAM-SHA-256$" in text]
    assert not leaks, "secrets leaked: " + ", ".join(leaks)
    # The small schema archive travelled inline: the file tasks were not reached.
    assert "table(s), inline" in output and "Fetch the archive" not in output, output[-4000:]
    # The migration really ran: the subscription exists and streams.
    assert stack.scalar("target", "SELECT count(*) FROM pg_subscription") == "1"
