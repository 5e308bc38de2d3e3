"""The end-to-end tests' view of a stack (tools/stack): SQL on either side, ansible-playbook runs, a watch on
the initial copy. conftest.py makes and removes the stacks."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("PGFERRY_CACHE", REPO / ".cache")).resolve()
VENV_BIN = REPO / ".venv" / "bin"
SOURCE_MAJOR = int(os.environ.get("PGFERRY_E2E_SOURCE_MAJOR", "14"))
TARGET_MAJOR = int(os.environ.get("PGFERRY_E2E_TARGET_MAJOR", "18"))
BIG_ROWS = int(os.environ.get("PGFERRY_E2E_BIG_ROWS", "2000000"))
MIGRATION = "pgferry_app"  # publication, slot, subscription and role of migration id "app"

# The one table that makes the initial copy last: identity key, ~120 bytes a row.
BIG_TABLE_SQL = f"""
CREATE TABLE included.big (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text);
INSERT INTO included.big (payload) SELECT md5(g::text) || md5((g * 7)::text) FROM generate_series(1, {BIG_ROWS}) g;
ANALYZE included.big;
"""

RECAP = re.compile(r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)

TIMINGS: list[tuple[str, str, float]] = []  # (test, what, seconds), printed after the run


def timing(request: pytest.FixtureRequest, what: str, seconds: float) -> None:
    TIMINGS.append((request.node.name, what, seconds))


def flat(run: "Run") -> str:
    """The run's output on one line: Ansible wraps long messages."""
    return " ".join(run.output.split())


@dataclass
class Run:
    """One ansible-playbook process: started in its own process group, output in a log file."""
    proc: subprocess.Popen
    log: Path
    started: float
    marker: str  # NAME=value in the environment of the playbook and of every process it starts
    rc: int | None = None

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def recap(self) -> dict[str, int]:
        m = RECAP.findall(self.output)
        assert m, f"no PLAY RECAP in {self.log}:\n{self.output[-3000:]}"
        ok, changed, unreachable, failed = (int(x) for x in m[-1])
        return {"ok": ok, "changed": changed, "unreachable": unreachable, "failed": failed}

    def wait(self, timeout: float) -> int:
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail(f"ansible-playbook still running after {timeout}s; output in {self.log}:\n"
                        f"{self.output[-3000:]}")
        return self.rc

    def kill(self) -> None:
        """SIGKILL the whole playbook: the controller's process group, then every process it started. The second
        part matters: ansible-core's workers call setsid(), so a module in flight sits in a session of its own and
        outlives a SIGKILL of the controller's group (what a CI job cancelled by killing its process group does)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.rc = self.proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while (left := processes_with_env(self.marker)) and time.monotonic() < deadline:
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)


@dataclass
class Stack:
    name: str
    dir: Path
    info: dict
    runs: list[Run] = field(default_factory=list)
    children: list[subprocess.Popen] = field(default_factory=list)

    # ------------------------------------------------------------ the stack itself

    def up(self) -> None:
        """tools/stack up: starts what is missing (a dead agent is restarted on its port)."""
        r = subprocess.run([str(REPO / "tools" / "stack"), "up", "--name", self.name,
                            "--source-major", str(SOURCE_MAJOR), "--target-major", str(TARGET_MAJOR)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"tools/stack up --name {self.name} failed:\n{r.stderr[-2000:]}"
        self.info = json.loads((self.dir / "stack.json").read_text())

    def agent_pid(self, side: str) -> int:
        return int((self.dir / side / "agent.pid").read_text())

    # ------------------------------------------------------------ SQL

    def psql(self, side: str, sql: str, db: str = "app", check: bool = True) -> list[list[str]]:
        """Rows (fields split on |) of SQL run as the superuser over TCP, with the cluster's own psql."""
        c = self.info[side]
        r = subprocess.run([str(Path(c["bin_dir"]) / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                            "-h", c["pg_host"], "-p", str(c["pg_port"]), "-U", "postgres", "-d", db],
                           input=sql, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PGPASSFILE": c["pgpass_file"], "PGCONNECT_TIMEOUT": "5"})
        if check and r.returncode != 0:
            raise AssertionError(f"psql on the {side} ({db}) failed: {r.stderr.strip()}\nSQL: {sql}")
        return [line.split("|") for line in r.stdout.splitlines() if line] if r.returncode == 0 else []

    def scalar(self, side: str, sql: str, db: str = "app") -> str:
        rows = self.psql(side, sql, db)
        assert len(rows) == 1 and len(rows[0]) == 1, f"expected one value from {sql!r}, got {rows}"
        return rows[0][0]

    # ------------------------------------------------------------ ansible-playbook

    def env(self) -> dict[str, str]:
        """What tools/lib.sh exports, plus this stack's directory for inventories/local."""
        env = dict(os.environ)
        env.update({
            "PGFERRY_CACHE": str(CACHE),
            "PGFERRY_STACK_DIR": str(self.dir),
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(self.dir / "ansible-tmp"),
            "ANSIBLE_REMOTE_TEMP": str(self.dir / "ansible-tmp"),
            "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        })
        return env

    def start_playbook(self, playbook: str = "pgferry.migrate.migrate", *args: str) -> Run:
        log = self.dir / f"playbook-{len(self.runs) + 1}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), playbook, *args], cwd=REPO, env=self.env(),
                                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)  # own process group: killed as a whole
        run = Run(proc, log, time.monotonic(), f"PGFERRY_STACK_DIR={self.dir}")
        self.runs.append(run)
        return run

    def playbook(self, *args: str, timeout: float = 300) -> Run:
        run = self.start_playbook("pgferry.migrate.migrate", *args)
        run.wait(timeout)
        return run

    def compare(self, wait: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([str(REPO / "tools" / "compare"), "--source", self.info["source"]["cluster"],
                               "--target", self.info["target"]["cluster"], "--db", "app",
                               "--exclude-schema", "excluded", "--wait", str(wait)],
                              capture_output=True, text=True, timeout=wait + 120)


class CopyWatch(threading.Thread):
    """Polls the target's catalogs: when the initial copy was first seen in progress and when every table was first
    seen ready. In progress means rows are moving: with native table sync, the subscription exists, some table is not
    ready and some table's data is being copied (srsubstate 'd'), not merely registered by a CREATE SUBSCRIPTION whose
    answer may still be on its way back to the playbook; with pgferry's own copy (the copy step), there is no
    subscription yet and a COPY into database app runs on the target."""

    IN_PROGRESS = (f"SELECT (SELECT count(*) FROM pg_subscription WHERE subname = '{MIGRATION}'), "
                   f"(SELECT count(*) FROM pg_subscription_rel WHERE srsubstate <> 'r'), "
                   f"(SELECT count(*) FROM pg_subscription_rel), "
                   f"(SELECT count(*) FROM pg_subscription_rel WHERE srsubstate = 'd'), "
                   f"(SELECT count(*) FROM pg_stat_progress_copy p JOIN pg_database d ON d.oid = p.datid "
                   f"WHERE d.datname = 'app' AND p.command = 'COPY FROM')")

    def __init__(self, stack: Stack, interval: float = 0.1):
        super().__init__(daemon=True)
        self.stack, self.interval = stack, interval
        self.copying = threading.Event()
        self.ready = threading.Event()
        self.first_copying: float | None = None
        self.first_ready: float | None = None
        self._halt = threading.Event()

    def state(self) -> tuple[int, ...] | None:
        """(subscriptions, tables not ready, tables, tables copying, COPYs into app) on the target; None while
        database app is not there."""
        rows = self.stack.psql("target", self.IN_PROGRESS, check=False)
        return tuple(int(x) for x in rows[0]) if rows else None

    def run(self) -> None:
        while not self._halt.is_set():
            s = self.state()
            now = time.monotonic()
            native = s and s[0] == 1 and s[1] > 0 and s[3] > 0
            own = s and s[0] == 0 and s[4] > 0
            if (native or own) and not self.copying.is_set():
                self.first_copying = now
                self.copying.set()
            if s and s[0] == 1 and s[2] > 0 and s[1] == 0 and self.copying.is_set():
                self.first_ready = now
                self.ready.set()
                return
            self._halt.wait(self.interval)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=10)

    @property
    def copy_seconds(self) -> float | None:
        if self.first_copying is None or self.first_ready is None:
            return None
        return self.first_ready - self.first_copying


def processes_with_env(marker: str) -> list[int]:
    """Live (not zombie) processes whose environment holds marker ("NAME=value"), this one excepted."""
    wanted = marker.encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            environ = Path(f"/proc/{entry}/environ").read_bytes()
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        if wanted in environ.split(b"\0") and stat[stat.rindex(")") + 2] != "Z":
            found.append(int(entry))
    return found


def processes_of(stack: Stack) -> list[int]:
    """Live processes started for this stack's playbook runs: each carries PGFERRY_STACK_DIR=<its dir> in its
    environment (the controller, its workers, the modules), whatever process group or session it moved to."""
    return processes_with_env(f"PGFERRY_STACK_DIR={stack.dir}")
