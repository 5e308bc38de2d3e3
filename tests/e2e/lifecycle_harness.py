"""What the lifecycle tests (test_lifecycle.py, test_lifecycle_model.py) share: a stack with fixtures/lifecycle.sql and a
PgBouncer in front, pgbench writing through PgBouncer one countable ledger row per transaction, and the invariants
checked after every playbook run.

The ledger: pgbench runs in chunks (a new pgbench every CHUNK_SECONDS, `-D chunk=N`), so each chunk's per-transaction
log (`-l`) is complete once its pgbench has exited; every transaction inserts one row (client, chunk) into
"Sales Ops"."Ledger ü". An acknowledged commit is a line of that log; the database clients reach must hold at least as
many rows for each (client, chunk) - and at most one more (a commit whose answer never arrived).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from stacklib import CACHE, REPO, Run, Stack

SOURCE_MAJOR, TARGET_MAJOR = 14, 18
CHUNK_SECONDS = 20
IDENTITY_FULL = [{"schema": "ünïcode ☃", "name": 'Quote"d Audit'}]
IDENTITY_INDEX = [{"schema": "Sales Ops", "name": "Counters", "index": "Counters Key"}]
# PGFERRY_LIFECYCLE_COPY_METHOD=pgferry runs every lifecycle test's migrations with pgferry's own copy (default: the
# role's default, PostgreSQL's table sync).
EXTRA_VARS = json.dumps({"pgferry_replica_identity_full": IDENTITY_FULL,
                         "pgferry_replica_identity_index": IDENTITY_INDEX,
                         **({"pgferry_copy_method": os.environ["PGFERRY_LIFECYCLE_COPY_METHOD"]}
                            if os.environ.get("PGFERRY_LIFECYCLE_COPY_METHOD") else {})})
LEDGER = '"Sales Ops"."Ledger ü"'
# One ledger row per transaction, and UPDATEs on the key-less (REPLICA IDENTITY FULL) and the unique-index tables:
# each client its own rows, so clients never wait for each other.
WRITES = """\\set amount random(1, 100000)
BEGIN;
INSERT INTO "Sales Ops"."Ledger ü" (client, chunk, amount) VALUES (:client_id, :chunk, :amount / 100.0);
UPDATE "Sales Ops"."Counters" SET value = value + 1 WHERE client = :client_id + 1 AND name = 'tx';
UPDATE "ünïcode ☃"."Quote""d Audit" SET hits = hits + 1 WHERE client = :client_id + 1;
END;
"""
FENCED = ("SELECT count(*) FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = "
          "(SELECT oid FROM pg_database WHERE datname = 'app') AND 'default_transaction_read_only=on' = ANY (setconfig)")
# pgferry's objects on a server (its cluster-wide catalogs and database app): what must be gone after a cleanup.
LEFTOVERS = {
    "slots": "SELECT string_agg(slot_name, ',' ORDER BY slot_name) FROM pg_replication_slots",
    "publications": "SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication",
    "subscriptions": "SELECT string_agg(subname, ',' ORDER BY subname) FROM pg_subscription",
    "origins": "SELECT string_agg(roname, ',' ORDER BY roname) FROM pg_replication_origin",
    "roles": "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname LIKE 'pgferry%'",
    "fence": FENCED,
    "replica identities": ("SELECT string_agg(n.nspname || '.' || c.relname || '=' || c.relreplident::text, ',' "
                           "ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE c.relkind IN ('r', 'p') AND c.relreplident <> 'd' AND n.nspname NOT IN "
                           "('pg_catalog', 'information_schema')"),
}
EMPTY = {"slots": None, "publications": None, "subscriptions": None, "origins": None, "roles": None, "fence": "0",
         "replica identities": None}


def pgbouncer(stack: Stack, cmd: str) -> dict:
    # Without the stack's marker in its environment: Run.kill() ends every process carrying it; PgBouncer is not
    # the playbook's.
    env = {k: v for k, v in stack.env().items() if k != "PGFERRY_STACK_DIR"}
    out = subprocess.run([str(REPO / "tools" / "pgbouncer"), cmd, "--name", stack.name], check=True,
                         capture_output=True, text=True, env=env)
    return json.loads(out.stdout)


def bouncer_admin(stack: Stack, command: str) -> list[dict]:
    b = stack.bouncer
    env = {**os.environ, "PGPASSWORD": Path(b["admin_password_file"]).read_text().strip(), "PGCONNECT_TIMEOUT": "5"}
    r = subprocess.run([str(Path(stack.info["source"]["bin_dir"]) / "psql"), "-X", "-q", "-A", "-F", "\x1f", "-P",
                        "footer=off", "-h", b["host"], "-p", str(b["port"]), "-U", b["admin_user"], "-d", "pgbouncer",
                        "-c", command], capture_output=True, text=True, timeout=30, env=env)
    assert r.returncode == 0, f"PgBouncer {command}: {r.stderr}"
    lines = [line for line in r.stdout.splitlines() if line]
    if not lines:
        return []
    names = lines[0].split("\x1f")
    return [dict(zip(names, line.split("\x1f"))) for line in lines[1:]]


def bouncer_state(stack: Stack) -> dict:
    """Where PgBouncer sends database app (source, target or the port) and whether it holds clients paused."""
    for row in bouncer_admin(stack, "SHOW DATABASES"):
        if row.get("name") == "app":
            port = int(row.get("port") or 0)
            side = next((s for s in ("source", "target") if stack.info[s]["pg_port"] == port), str(port))
            return {"points": side, "paused": row.get("paused") == "1"}
    raise AssertionError("PgBouncer has no database app")


def through_bouncer(stack: Stack, sql: str, timeout: float = 30) -> str:
    b = stack.bouncer
    r = subprocess.run([str(Path(stack.info["target"]["bin_dir"]) / "psql"), "-X", "-q", "-A", "-t", "-v",
                        "ON_ERROR_STOP=1", "-h", b["host"], "-p", str(b["port"]), "-U", "postgres", "-d", "app",
                        "-c", sql], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, "PGPASSFILE": b["pgpass_file"]})
    assert r.returncode == 0, f"through PgBouncer: {r.stderr}"
    return r.stdout.strip()


def make_stack(prefix: str) -> Stack:
    """A 14 -> 18 stack, database app with basic.sql and lifecycle.sql on the source, PgBouncer in front of it, which
    lets clients wait through a long pause (query_wait_timeout = 0: a pause the controller died in lasts until a
    playbook ends it, and the tests check that no client fails meanwhile)."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    st = Stack(name, CACHE / "stacks" / name, {})
    subprocess.run([str(REPO / "tools" / "stack"), "up", "--name", name, "--source-major", str(SOURCE_MAJOR),
                    "--target-major", str(TARGET_MAJOR)], check=True, capture_output=True, text=True, timeout=600)
    st.info = json.loads((st.dir / "stack.json").read_text())
    load_source(st)
    st.bouncer = pgbouncer(st, "up")
    ini = Path(st.bouncer["ini"])
    ini.write_text(re.sub(r"(?m)^query_wait_timeout = \d+$", "query_wait_timeout = 0", ini.read_text()))
    bouncer_admin(st, "RELOAD")
    return st


def load_source(st: Stack) -> None:
    st.psql("source", "DROP DATABASE IF EXISTS app WITH (FORCE)", db="postgres")
    st.psql("source", "CREATE DATABASE app", db="postgres")
    st.psql("source", (REPO / "fixtures" / "basic.sql").read_text())
    st.psql("source", (REPO / "fixtures" / "lifecycle.sql").read_text())


def tear_down(st: Stack, passed: bool) -> None:
    for child in st.children:
        if hasattr(child, "stop"):
            child.stop()
        elif child.poll() is None:
            child.terminate()
    for run in st.runs:
        if run.proc.poll() is None:
            run.kill()
    subprocess.run([str(REPO / "tools" / "pgbouncer"), "down", "--name", st.name], capture_output=True)
    subprocess.run([str(REPO / "tools" / "stack"), "down", "--name", st.name], capture_output=True, timeout=300)
    if passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
        shutil.rmtree(st.dir, ignore_errors=True)


def fixture_stack(request, prefix: str, fixture: str):
    """A new stack whose source database app holds fixtures/<fixture>; torn down after the test (kept when it failed).
    A generator for a pytest fixture: `yield from fixture_stack(request, "shapes", "shapes.sql")`."""
    name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    st = Stack(name, CACHE / "stacks" / name, {})
    try:
        st.up()
        st.psql("source", "CREATE DATABASE app", db="postgres")
        st.psql("source", (REPO / "fixtures" / fixture).read_text())
        yield st
    finally:
        rep = getattr(request.node, "rep_call", None)
        tear_down(st, passed=rep is not None and rep.passed)


def playbook(st: Stack, name: str, *args: str, timeout: float = 600) -> Run:
    run = st.start_playbook(f"pgferry.migrate.{name}", "-e", EXTRA_VARS, *args)
    run.wait(timeout)
    return run


# ---------------------------------------------------------------- the ledger pgbench


class LedgerBench:
    """pgbench through PgBouncer in chunks of CHUNK_SECONDS, each with its own complete per-transaction log."""

    def __init__(self, st: Stack, clients: int = 3, rate: int = 15, name: str = "ledger"):
        self.st, self.clients, self.rate = st, clients, rate
        self.dir = st.dir / name
        self.dir.mkdir(exist_ok=True)
        (self.dir / "writes.pgbench").write_text(WRITES)
        self.chunk = 0
        self.done: list[int] = []  # chunks whose pgbench exited (complete logs)
        self.errors: list[str] = []
        self._halt = threading.Event()
        self._proc: subprocess.Popen | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)
        st.children.append(self)

    def start(self) -> "LedgerBench":
        self._thread.start()
        return self

    def _loop(self) -> None:
        b = self.st.bouncer
        bench = Path(self.st.info["target"]["bin_dir"]) / "pgbench"
        while not self._halt.is_set():
            self.chunk += 1
            n = self.chunk
            out = self.dir / f"chunk-{n}.out"
            with open(out, "wb") as f:
                self._proc = subprocess.Popen(
                    [str(bench), "-h", b["host"], "-p", str(b["port"]), "-U", "postgres", "-n", "-c",
                     str(self.clients), "-j", "1", "-T", str(CHUNK_SECONDS), "-R", str(self.rate), "-l",
                     f"--log-prefix={self.dir / f'chunk-{n}'}", "-D", f"chunk={n}", "-f",
                     str(self.dir / "writes.pgbench"), "app"],
                    stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.dir,
                    env={**os.environ, "PGPASSFILE": b["pgpass_file"]})
                rc = self._proc.wait()
            text = out.read_text(errors="replace")
            if rc != 0 or "aborted" in text or re.search(r"number of failed transactions: [1-9]", text):
                self.errors.append(f"chunk {n}: pgbench rc {rc}: " + " | ".join(
                    line for line in text.splitlines() if "error" in line.lower() or "abort" in line.lower())[:600])
            self.done.append(n)

    def stop(self) -> None:
        """Ends the chunk running now normally (SIGINT is not clean: pgbench would lose its log's tail): waits for it."""
        self._halt.set()
        self._thread.join(timeout=CHUNK_SECONDS + 120)

    def acked(self) -> dict[tuple[int, int], int]:
        """Acknowledged commits per (client, chunk), from the complete logs of the chunks that ended."""
        out: dict[tuple[int, int], int] = {}
        for n in list(self.done):
            for log in self.dir.glob(f"chunk-{n}.*"):
                if log.suffix == ".out":
                    continue
                for line in log.read_text(errors="replace").splitlines():
                    fields = line.split()
                    if len(fields) >= 6 and fields[2].isdigit():
                        key = (int(fields[0]), n)
                        out[key] = out.get(key, 0) + 1
        return out


def rows_per_session(st: Stack, side: str) -> dict[tuple[int, int], int]:
    rows = st.psql(side, f"SELECT client, chunk, count(*) FROM {LEDGER} GROUP BY 1, 2")
    return {(int(c), int(k)): int(n) for c, k, n in rows}


# ---------------------------------------------------------------- invariants


def pgferry_objects(st: Stack) -> dict[str, dict[str, str | None]]:
    out = {}
    for side in ("source", "target"):
        has_app = st.scalar(side, "SELECT count(*) FROM pg_database WHERE datname = 'app'", db="postgres") == "1"
        found = {}
        for what, sql in LEFTOVERS.items():
            if what in ("publications", "replica identities") and not has_app:
                found[what] = EMPTY[what]
                continue
            rows = st.psql(side, sql, db="app" if has_app else "postgres")
            found[what] = rows[0][0] if rows and rows[0] and rows[0][0] else EMPTY[what]
        out[side] = found
    return out


def snapshot(st: Stack) -> dict:
    """Everything a refused playbook must leave as it was: pgferry's objects on both sides and PgBouncer."""
    return {"objects": pgferry_objects(st), "pgbouncer": bouncer_state(st)}


@dataclass
class Invariants:
    """Checked after every step; `served` remembers which sides clients have been sent to."""
    st: Stack
    bench: LedgerBench
    served: set = field(default_factory=lambda: {"source"})

    def check(self, cleaned_up: bool = False) -> list[str]:
        violations = []
        b = bouncer_state(self.st)
        side = b["points"]
        if side not in ("source", "target"):
            return [f"PgBouncer sends clients to port {side}, neither side"]
        if not b["paused"]:
            self.served.add(side)
            read_only = through_bouncer(self.st, "SHOW transaction_read_only")
            if read_only != "off":
                violations.append(f"clients reach the {side} through PgBouncer and it is read-only")
        acked = self.bench.acked()
        rows = rows_per_session(self.st, side)
        missing = {k: (n, rows.get(k, 0)) for k, n in acked.items() if rows.get(k, 0) < n}
        if missing:
            violations.append(f"the {side} (where clients are) misses acknowledged commits: (client, chunk) -> "
                              f"(acked, rows) {dict(list(missing.items())[:5])}")
        extra = {k: (n, acked.get(k, 0)) for k, n in rows.items() if k in acked and n > acked[k] + 1}
        if extra:
            violations.append(f"the {side} has rows no client committed: {dict(list(extra.items())[:5])}")
        other = "target" if side == "source" else "source"
        objects = pgferry_objects(self.st)
        anything = any(v not in (None, "0") for s in objects.values() for v in s.values())
        if not anything and not b["paused"]:
            self.served = {side}  # the migration is over: a new one starts from where clients are
        if other in self.served and anything and objects[other]["fence"] != "1" and not b["paused"]:
            violations.append(f"the {other} served clients before, misses the writes made on the {side} since, and "
                              f"is not fenced while pgferry's objects are still there")
        if cleaned_up:
            for s in ("source", "target"):
                left = {k: v for k, v in objects[s].items() if v != EMPTY[k]}
                if left:
                    violations.append(f"after cleanup the {s} still has pgferry's {left}")
        violations.extend(self.bench.errors)
        self.bench.errors.clear()
        return violations


def refused(run: Run) -> bool:
    return run.rc != 0 and re.search(r"pgferry\.migrate\.\w+ refused: migration \w+ is in phase",
                                     " ".join(run.output.split())) is not None


def phase_of(run: Run) -> str | None:
    m = re.findall(r"migration \w+: phase (\w+) -", " ".join(run.output.split()))
    return m[-1] if m else None


def wait_for(what, check, timeout: float = 120, interval: float = 1) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} not within {timeout}s"
        time.sleep(interval)
