"""A fleet on this machine for the fleet tests and tools/bench-fleet: two stacks (tools/stack) whose sources are the
fleet's two source instances and whose first target is the shared target (inventories/fleet-local), small
databases of different schemas on the sources, pgferry.migrate.fleet runs, and a per-table comparison of each
migrated database with its source."""
from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import yaml

from stacklib import CACHE, REPO, VENV_BIN, Stack

INVENTORY = REPO / "inventories" / "fleet-local"

# Tables of database number i; each database gets its own schema names, one with capitals, a space and unicode.
SCHEMA_SQL = """
CREATE SCHEMA {s};
CREATE TABLE {s}.items (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name text NOT NULL, qty int);
CREATE INDEX ON {s}.items (name);
CREATE TABLE {s}."Order Lines €" (id bigserial PRIMARY KEY, item_id bigint REFERENCES {s}.items (id),
                                   "Amount" numeric(12, 2), at timestamptz DEFAULT now());
INSERT INTO {s}.items (name, qty) SELECT 'item ' || g || ' of db {i}', g % 17 FROM generate_series(1, {rows}) g;
INSERT INTO {s}."Order Lines €" (item_id, "Amount") SELECT 1 + g % {rows}, g / 3.0 FROM generate_series(1, {rows} * 2) g;
CREATE SCHEMA scratch;
CREATE TABLE scratch.tmp (id int PRIMARY KEY);
"""

TABLES = """
SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname <> 'scratch'
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' ORDER BY 1
"""


def schema_of(i: int) -> str:
    """The schema (quoted as SQL needs it) of the i-th database that Fleet.load makes from a list of migrations."""
    return f'"Sch {i} Ü"' if i % 4 == 1 else f"s{i}"


def migrations(n: int) -> list[dict]:
    """n migrations alternating between src1 and src2. Every other pair has one database name on both sources
    (shared_<k>): both are renamed on the shared target (shared_<k>_src1, shared_<k>_src2); the rest keep theirs."""
    out = []
    for i in range(n):
        source = "src1" if i % 2 == 0 else "src2"
        pair_shares_name = (i // 2) % 2 == 0
        name = f"shared_{i // 2}" if pair_shares_name else f"db_{i}"
        entry = {"id": f"m{i}", "source": source, "database": name, "target": "shared",
                 "vars": {"pgferry_exclude_schemas": ["scratch"]}}
        if pair_shares_name:
            entry["target_database"] = f"{name}_{source}"
        entry["pgbouncer_database"] = entry.get("target_database", name)
        out.append(entry)
    return out


class Fleet:
    """Stacks a (src1 + shared) and b (src2) and the databases of a list of migrations."""

    def __init__(self, a: Stack, b: Stack, workdir: Path):
        self.a, self.b, self.dir = a, b, workdir
        self.runs: list[subprocess.Popen] = []

    def side(self, host: str) -> tuple[Stack, str]:
        return {"src1": (self.a, "source"), "src2": (self.b, "source"), "shared": (self.a, "target")}[host]

    def load(self, entries: list[dict], rows: int = 2000) -> None:
        made = set()
        for i, m in enumerate(entries):
            stack, side = self.side(m["source"])
            if (m["source"], m["database"]) in made:
                continue
            made.add((m["source"], m["database"]))
            stack.psql(side, f'CREATE DATABASE "{m["database"]}"', db="postgres")
            schema = schema_of(i)
            stack.psql(side, SCHEMA_SQL.format(s=schema, i=i, rows=rows + 37 * i), db=m["database"])

    def write_vars(self, entries: list[dict], max_copies: dict | None = None, name: str = "fleet-vars.yml") -> Path:
        path = self.dir / name
        data: dict = {"pgferry_fleet_local_migrations": entries}
        if max_copies:
            data["pgferry_fleet"] = None  # replaced below: extra vars replace the whole dict
            fleet = yaml.safe_load((INVENTORY / "group_vars" / "all" / "fleet.yml").read_text())["pgferry_fleet"]
            fleet["max_copies"] = max_copies
            data["pgferry_fleet"] = fleet
        path.write_text(yaml.safe_dump(data, allow_unicode=True))
        return path

    def env(self) -> dict[str, str]:
        env = self.a.env()
        env.pop("PGFERRY_STACK_DIR", None)
        env.update({"PGFERRY_FLEET_STACK_A": str(self.a.dir), "PGFERRY_FLEET_STACK_B": str(self.b.dir),
                    # inventories/fleet-local, and the marker that tells this fleet's processes apart
                    "PGFERRY_STACK_DIR": str(self.a.dir)})
        return env

    def playbook(self, playbook: str, *args: str, timeout: float = 900, log: str = "fleet") -> tuple[int, str, float]:
        logfile = self.dir / f"{log}-{len(self.runs) + 1}.log"
        started = time.monotonic()
        with open(logfile, "wb") as out:
            proc = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "-i", str(INVENTORY), playbook,
                                     "-e", f"pgferry_fleet_report_dir={self.dir / 'pgferry-fleet-report'}", *args],
                                    cwd=self.dir, env=self.env(), stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
            self.runs.append(proc)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{playbook} still running after {timeout}s; see {logfile}")
        return rc, logfile.read_text(errors="replace"), time.monotonic() - started

    def checksums(self, host: str, db: str) -> dict[str, str]:
        stack, side = self.side(host)
        tables = [r[0] for r in stack.psql(side, TABLES, db=db)]
        out = {}
        for t in tables:
            out[t] = stack.scalar(side, f"SELECT count(*) || ' ' || coalesce(md5(string_agg(h, '' ORDER BY h)), '-') "
                                        f"FROM (SELECT md5(x::text) AS h FROM {t} x) s", db=db)
        return out

    def differences(self, entries: list[dict], wait: float = 60) -> list[str]:
        """Migrations whose target database differs from its source (table set, counts or checksums)."""
        deadline = time.monotonic() + wait
        while True:
            bad = []
            for m in entries:
                src = self.checksums(m["source"], m["database"])
                dst = self.checksums("shared", m.get("target_database", m["database"]))
                if not src or src != dst:
                    bad.append(f"{m['id']}: {src} != {dst}")
            if not bad or time.monotonic() >= deadline:
                return bad
            time.sleep(1)


# One write transaction of Writer: a new item and a changed order line, both tables in the migration's scope and
# with a primary key (the scratch schema is excluded).
WRITE_SCRIPT = """\\set id random(1, {rows})
BEGIN;
INSERT INTO {s}.items (name, qty) VALUES ('bench write', :id % 17);
UPDATE {s}."Order Lines €" SET "Amount" = "Amount" + 1, at = now() WHERE id = :id;
END;
"""


class Writer(threading.Thread):
    """pgbench (the source cluster's own, a custom script) writing into one source database of a migration at a
    fixed rate, in chunks of CHUNK seconds until stop(): each chunk's pgbench exits normally with its summary, so
    transactions processed and failed are exact. committed() counts the rows it inserted, on the source."""

    CHUNK = 5

    def __init__(self, fleet: "Fleet", m: dict, index: int, rows: int, rate: float, workdir: Path):
        super().__init__(daemon=True)
        self.fleet, self.m, self.schema, self.rate = fleet, m, schema_of(index), rate
        self.script = workdir / f"writes-{m['id']}.pgbench"
        self.script.write_text(WRITE_SCRIPT.format(s=self.schema, rows=rows), encoding="utf-8")
        self.processed = self.failed = self.chunks = 0
        self.errors: list[str] = []
        self.halt = threading.Event()

    def run(self) -> None:
        stack, side = self.fleet.side(self.m["source"])
        c = stack.info[side]
        env = {**os.environ, "PGPASSFILE": c["pgpass_file"], "PGCLIENTENCODING": "UTF8", "PGCONNECT_TIMEOUT": "5"}
        while not self.halt.is_set():
            r = subprocess.run([str(Path(c["bin_dir"]) / "pgbench"), "-n", "-h", c["pg_host"], "-p", str(c["pg_port"]),
                                "-U", "postgres", "-c", "1", "-T", str(self.CHUNK), "-R", str(self.rate),
                                "-f", str(self.script), self.m["database"]],
                               capture_output=True, text=True, env=env, timeout=self.CHUNK + 120)
            self.chunks += 1
            done = re.search(r"number of transactions actually processed: (\d+)", r.stdout)
            failed = re.search(r"number of failed transactions: (\d+)", r.stdout)
            self.processed += int(done.group(1)) if done else 0
            self.failed += int(failed.group(1)) if failed else 0
            if r.returncode != 0:
                self.errors.append(f"pgbench rc {r.returncode}: {r.stderr.strip()[-300:]}")
                self.halt.wait(1)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=self.CHUNK + 150)

    def committed(self) -> int:
        stack, side = self.fleet.side(self.m["source"])
        return int(stack.scalar(side, f"SELECT count(*) FROM {self.schema}.items WHERE name = 'bench write'",
                                db=self.m["database"]))


def caught_up(fleet: "Fleet", m: dict, timeout: float = 300) -> float:
    """Seconds until migration m's slot has confirmed the source's WAL position of now (its subscriber applied
    everything written so far); fails after timeout."""
    stack, side = fleet.side(m["source"])
    lsn = stack.scalar(side, "SELECT pg_current_wal_lsn()", db="postgres")
    started = time.monotonic()
    while True:
        rows = stack.psql(side, f"SELECT confirmed_flush_lsn >= '{lsn}'::pg_lsn FROM pg_replication_slots "
                                f"WHERE slot_name = 'pgferry_{m['id']}'", db="postgres")
        if rows and rows[0][0] == "t":
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{m['id']}: slot pgferry_{m['id']} has not confirmed {lsn} after {timeout}s: {rows}")
        time.sleep(0.5)


def raise_limits(fleet: "Fleet", n: int) -> None:
    """Room for n migrations. Every streaming subscription holds, for good, an apply worker and a replication origin
    on the target (PostgreSQL 18: max_active_replication_origins, default 10; before 18 max_replication_slots counts
    them) and a slot and a WAL sender on its source; each table copy borrows one more of each for a while. pgbed's
    clusters allow 10 origins, 12 workers and 20 slots."""
    if n <= 4:
        return
    room = n + 12
    target_settings = {"max_logical_replication_workers": room, "max_worker_processes": room + 8,
                       "max_replication_slots": room}
    if int(fleet.a.info["target"]["major"]) >= 18:
        target_settings["max_active_replication_origins"] = room
    for stack, side, settings in ((fleet.a, "target", target_settings),
                                  (fleet.a, "source", {"max_replication_slots": room, "max_wal_senders": room}),
                                  (fleet.b, "source", {"max_replication_slots": room, "max_wal_senders": room})):
        configure(stack, side, settings)


def configure(stack: Stack, side: str, settings: dict) -> None:
    """ALTER SYSTEM SET (a value of None: RESET) each setting, then a restart of that cluster."""
    for key, value in settings.items():
        stack.psql(side, f"ALTER SYSTEM RESET {key}" if value is None else f"ALTER SYSTEM SET {key} = {value}",
                   db="postgres")
    cluster = stack.info[side]["cluster"]
    for verb in ("stop", "start"):
        subprocess.run([str(REPO / "tools" / "pgbed"), verb, "--name", cluster], check=True,
                       capture_output=True, timeout=120)


def recaps(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counts per host of the last recap in output."""
    block = output[output.rindex("PLAY RECAP"):]
    out = {}
    for line in block.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 3 or parts[1] != ":":
            continue
        out[parts[0]] = {k: int(v) for k, v in (p.split("=") for p in parts[2:] if "=" in p)}
    return out


def report(workdir: Path) -> dict:
    return json.loads((workdir / "pgferry-fleet-report" / "report.json").read_text())


def up(a: Stack, b: Stack) -> None:
    """Both stacks up, b's agents with a's archive key: a schema archive made by src2's agent is applied by
    shared's (stack a's target), and agents check archives with the key they share (docs/security.md). tools/stack
    keeps an archive.key it finds."""
    a.up()
    b.dir.mkdir(parents=True, exist_ok=True)
    key = b.dir / "archive.key"
    if not key.exists():
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(Path(a.info["archive_key_file"]).read_text())
    b.up()


def stacks(prefix: str) -> tuple[Stack, Stack]:
    return (Stack(f"{prefix}-a", CACHE / "stacks" / f"{prefix}-a", {}),
            Stack(f"{prefix}-b", CACHE / "stacks" / f"{prefix}-b", {}))
