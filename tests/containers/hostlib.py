"""The container suite's view of a set of hosts (tools/hosts): SQL on either server, ansible-playbook runs over SSH
(inventories/containers), pgbench through PgBouncer with its per-transaction log, and network faults."""
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
PG_BIN = CACHE / "pg" / "18" / "bin"  # this machine's client tools (pgbench, psql), the controller's view
RECAP = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
MIGRATION = "pgferry_app"

# One ledger row per client transaction: counting them on the side clients end on, against pgbench's own log of
# the transactions it saw committed, tells whether an acknowledged commit was lost (or one made twice).
LEDGER_SQL = """
CREATE TABLE included.ledger (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, client int NOT NULL,
                              at timestamptz NOT NULL DEFAULT clock_timestamp());
"""
WRITES = """\\set cid random(1, 1000)
\\set cents random(1, 100000)
BEGIN;
INSERT INTO included.ledger (client) VALUES (:client_id);
INSERT INTO included.orders (customer_id, amount) VALUES (:cid, :cents / 100.0);
UPDATE included.customers SET email = 'c' || :cid || '.' || :cents || '@example.org' WHERE id = :cid;
END;
"""
FENCED = ("SELECT count(*) FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = "
          "(SELECT oid FROM pg_database WHERE datname = 'app') AND 'default_transaction_read_only=on' = ANY (setconfig)")
LEFTOVERS = ("SELECT (SELECT count(*) FROM pg_replication_slots) || ' ' || (SELECT count(*) FROM pg_publication) "
             "|| ' ' || (SELECT count(*) FROM pg_subscription) || ' ' || "
             "(SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%') || ' ' || (" + FENCED + ")")
TABLES = ("SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
          "WHERE schemaname NOT IN ('pg_catalog', 'information_schema', 'excluded') ORDER BY 1")

TIMINGS: list[tuple[str, str, float]] = []


def timing(request: pytest.FixtureRequest, what: str, seconds: float) -> None:
    TIMINGS.append((request.node.name, what, seconds))


def docker(*args: str, check: bool = True, timeout: float = 120, input: str | None = None) -> str:
    r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, input=input)
    if check and r.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {r.stderr.strip()[-2000:]}")
    return r.stdout.strip()


@dataclass
class Run:
    """One ansible-playbook process (own process group), output in a log file."""
    proc: subprocess.Popen
    log: Path
    rc: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def recap(self) -> dict[str, dict[str, int]]:
        out = {}
        for host, ok, changed, unreachable, failed in RECAP.findall(self.output):
            out[host] = {"ok": int(ok), "changed": int(changed), "unreachable": int(unreachable),
                         "failed": int(failed)}
        assert out, f"no PLAY RECAP in {self.log}:\n{self.output[-3000:]}"
        return out

    def wait(self, timeout: float) -> int:
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)
            pytest.fail(f"ansible-playbook still running after {timeout}s; output in {self.log}:\n"
                        f"{self.output[-3000:]}")
        return self.rc


class Bench:
    """pgbench, run until stopped: back-to-back runs of CHUNK seconds (-T), each ending normally, so every run's
    per-transaction log (-l) and summary are complete however long the playbook it spans takes on a loaded machine -
    a pgbench stopped by a signal loses the log lines it had buffered. poll() is None while it writes; wait() lets the
    current run finish and returns 0, or the exit status of the first run that failed."""
    CHUNK = 10

    def __init__(self, argv: list[str], cwd: Path, tag: str, seconds: float, env: dict[str, str]):
        self._argv, self._cwd, self._tag, self._env = argv, cwd, tag, env
        self._deadline = time.monotonic() + seconds
        self._stop = threading.Event()
        self._proc: subprocess.Popen | None = None
        self.rc: int | None = None
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        n, rc = 0, 0
        while not self._stop.is_set() and time.monotonic() < self._deadline:
            prefix = self._cwd / f"{self._tag}-{n}_log"
            with open(self._cwd / f"{self._tag}-{n}.out", "wb") as out:
                self._proc = subprocess.Popen(
                    [*self._argv[:-1], "-T", str(self.CHUNK), "-l", f"--log-prefix={prefix}", self._argv[-1]],
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self._cwd, env=self._env)
            rc = self._proc.wait()
            n += 1
            if rc != 0:
                break
        self.rc = rc

    def poll(self) -> int | None:
        return None if self._thread.is_alive() else self.rc

    def wait(self, timeout: float = 120) -> int | None:
        self._stop.set()
        self._thread.join(timeout)
        return self.poll()

    def terminate(self) -> None:
        self._stop.set()

    def kill(self) -> None:
        self._stop.set()
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()


@dataclass
class Hosts:
    """A set of container hosts made by tools/hosts, and what the tests do with them."""
    name: str
    info: dict
    runs: list[Run] = field(default_factory=list)
    children: list["Bench"] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return Path(self.info["dir"])

    def container(self, host: str) -> str:
        return self.info["containers"][host]

    # ------------------------------------------------------------ SQL, inside the server's container

    def psql(self, host: str, sql: str, db: str = "app", check: bool = True, timeout: float = 120) -> list[list[str]]:
        """Rows of SQL run as the superuser over the server's own socket (docker exec: works while its networks
        are cut)."""
        r = subprocess.run(["docker", "exec", "-i", "-u", "postgres", self.container(host), "psql", "-X", "-q", "-A",
                            "-t", "-v", "ON_ERROR_STOP=1", "-h", "/var/run/postgresql", "-d", db],
                           input=sql, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"psql on {host} ({db}) failed: {r.stderr.strip()}\nSQL: {sql}")
        return [line.split("|") for line in r.stdout.splitlines() if line] if r.returncode == 0 else []

    def scalar(self, host: str, sql: str, db: str = "app") -> str:
        rows = self.psql(host, sql, db)
        assert len(rows) == 1 and len(rows[0]) == 1, f"expected one value from {sql!r}, got {rows}"
        return rows[0][0]

    def load(self, big_rows: int = 0) -> None:
        """Database app on src, owned by the admin role of the layout: fixtures/basic.sql, the ledger, and
        included.big with big_rows rows (a copy that lasts)."""
        owner = self.info.get("admin_user") or "postgres"
        self.psql("src", f"CREATE DATABASE app OWNER {owner}", db="postgres")
        sql = (REPO / "fixtures" / "basic.sql").read_text() + LEDGER_SQL
        if big_rows:
            sql += ("CREATE TABLE included.big (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload text);"
                    f"INSERT INTO included.big (payload) SELECT md5(g::text) || md5((g * 7)::text) "
                    f"FROM generate_series(1, {big_rows}) g; ANALYZE included.big;")
        if owner != "postgres":  # as on a managed service, the objects belong to its admin role
            sql = f"SET ROLE {owner};\n{sql}"
        self.psql("src", sql)

    def checksums(self, host: str) -> list[list[str]]:
        """Per table: name, row count and an order-free checksum, computed by the server itself."""
        tables = [r[0] for r in self.psql(host, TABLES)]
        return self.psql(host, timeout=900, sql=" UNION ALL ".join(
            f"SELECT '{t}', count(*), coalesce(md5(string_agg(h, '' ORDER BY h)), '-') "
            f"FROM (SELECT md5(x::text) AS h FROM {t} x) s" for t in tables) + " ORDER BY 1")

    def await_equal(self, timeout: float = 90) -> list[list[str]]:
        deadline = time.monotonic() + timeout
        while True:
            a, b = self.checksums("src"), self.checksums("dst")
            if a == b or time.monotonic() > deadline:
                assert a == b, f"source and target differ:\n{a}\n{b}"
                return a
            time.sleep(1)

    # ------------------------------------------------------------ ansible-playbook over SSH

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PGFERRY_CACHE": str(CACHE), "PGFERRY_HOSTS_DIR": str(self.dir),
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
            "ANSIBLE_PIPELINING": "1", "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_LOCAL_TEMP": str(self.dir / "ansible-tmp"),
            # one SSH connection per host, kept for the run (short path: sockets have a 107-byte limit)
            "ANSIBLE_SSH_CONTROL_PATH_DIR": f"/tmp/pgf-cp-{self.name}",
            "PATH": f"{VENV_BIN}:{env.get('PATH', '')}",
        })
        return env

    def start_playbook(self, playbook: str, *args: str, inventory: str = "inventories/containers") -> Run:
        short = playbook.rsplit("/", 1)[-1].removesuffix(".yml").split(".")[-1]  # pgferry.migrate.agent: agent
        log = self.dir / f"playbook-{len(self.runs) + 1}-{short}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "-i", inventory, playbook, *args], cwd=REPO,
                                    env=self.env(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True)
        run = Run(proc, log)
        self.runs.append(run)
        return run

    def playbook(self, playbook: str, *args: str, timeout: float = 600) -> Run:
        run = self.start_playbook(playbook, *args)
        run.wait(timeout)
        return run

    def install_agents(self) -> Run:
        run = self.playbook("pgferry.migrate.agent", timeout=900)
        assert run.rc == 0, run.output[-4000:]
        return run

    # ------------------------------------------------------------ clients: pgbench through PgBouncer

    def start_pgbench(self, seconds: int = 1800, tag: str = "bench", rate: int = 40, clients: int = 4) -> "Bench":
        """pgbench on the controller through PgBouncer until stopped (Bench.wait), at most seconds; -l: a log line per
        committed transaction."""
        script = self.dir / "writes.pgbench"
        script.write_text(WRITES)
        b = self.info["pgbouncer"]
        argv = [str(PG_BIN / "pgbench"), "-h", b["host"], "-p", str(b["port"]), "-U", b["user"], "-n", "-c",
                str(clients), "-j", "2", "-R", str(rate), "-P", "5", "-f", str(script), "app"]
        bench = Bench(argv, self.dir, tag, seconds,
                      {**os.environ, "PGPASSFILE": b["pgpass_file"], "PGCONNECT_TIMEOUT": "10"})
        self.children.append(bench)
        return bench

    def pgbench_figures(self, tag: str = "bench") -> dict:
        """pgbench's summaries, and the transactions its per-transaction logs (-l) show committed: one line each."""
        outs = sorted(self.dir.glob(f"{tag}-*.out"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))
        text = "".join(o.read_text(errors="replace") for o in outs)
        logged = 0
        for log in self.dir.glob(f"{tag}-*_log*"):
            for line in log.read_text().splitlines():
                fields = line.split()  # client, transaction, latency (us) or "failed", script, epoch s, us
                if len(fields) >= 6 and fields[2].isdigit():
                    logged += 1
        failed = re.findall(r"number of failed transactions: (\d+)", text)
        processed = re.findall(r"number of transactions actually processed: (\d+)", text)
        return {"failed": sum(map(int, failed)) if failed else None,
                "processed": sum(map(int, processed)) if processed else None,
                "aborted_clients": len(re.findall(r"client \d+ aborted", text)), "logged_commits": logged,
                "text": text}

    def assert_nothing_lost(self, host: str, *figures: dict) -> int:
        """Every commit pgbench logged (in all the runs given) is in the ledger on host; at most one unacknowledged
        commit more per client pgbench aborted (its last transaction may have committed without the answer reaching
        it). Returns the ledger's row count."""
        rows = int(self.scalar(host, "SELECT count(*) FROM included.ledger"))
        logged = sum(f["logged_commits"] for f in figures)
        aborted = sum(f["aborted_clients"] for f in figures)
        assert logged > 0, figures[-1]["text"][-2000:]
        assert logged <= rows <= logged + aborted, (
            f"ledger on {host} has {rows} rows, pgbench logged {logged} commits ({aborted} clients aborted)")
        return rows

    def through_bouncer(self, sql: str) -> str:
        b = self.info["pgbouncer"]
        r = subprocess.run([str(PG_BIN / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", b["host"],
                            "-p", str(b["port"]), "-U", b["user"], "-d", "app", "-c", sql],
                           capture_output=True, text=True, timeout=60,
                           env={**os.environ, "PGPASSFILE": b["pgpass_file"]})
        assert r.returncode == 0, f"through PgBouncer: {r.stderr}"
        return r.stdout.strip()

    def server_behind_bouncer(self) -> str:
        """'src' or 'dst': the server PgBouncer sends clients to (by the server's own system identifier)."""
        ident = self.through_bouncer("SELECT system_identifier FROM pg_control_system()")
        for host in ("src", "dst"):
            if self.scalar(host, "SELECT system_identifier FROM pg_control_system()", db="postgres") == ident:
                return host
        raise AssertionError(f"PgBouncer reaches neither server (system identifier {ident})")

    # ------------------------------------------------------------ faults

    def disconnect(self, host: str, net: str) -> None:
        docker("network", "disconnect", "--force", self.info["networks"][net], self.container(host))

    def reconnect(self, host: str, net: str) -> None:
        docker("network", "connect", "--alias", f"{host}.{net}", self.info["networks"][net], self.container(host))

    def pause(self, host: str) -> None:
        docker("pause", self.container(host))

    def unpause(self, host: str) -> None:
        docker("unpause", self.container(host), check=False)


def when(probe, action, timeout: float = 900, interval: float = 0.1) -> threading.Event:
    """Runs action() in a thread as soon as probe() is true; the event is set once it ran."""
    done = threading.Event()

    def watch():
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if probe():
                    action()
                    done.set()
                    return
            except AssertionError:
                pass
            time.sleep(interval)

    threading.Thread(target=watch, daemon=True).start()
    return done


def copying(hosts: Hosts) -> bool:
    """The initial copy is under way on the target: a table in state 'd' (data being copied)."""
    rows = hosts.psql("dst", "SELECT count(*) FROM pg_subscription_rel WHERE srsubstate = 'd'", check=False)
    return bool(rows) and int(rows[0][0]) > 0


def fenced(hosts: Hosts, host: str = "src") -> bool:
    return hosts.psql(host, FENCED, check=False) == [["1"]]


def hold_apply(hosts: Hosts, host: str = "dst", table: str = "included.customers", seconds: int = 60):
    """Holds the subscriber's apply back from the cutover's first step on (cutover_steps sets the subscription to
    commit synchronously, after the ready check, a few hundred ms before the fence) until the returned release() is
    called: the catch-up then waits inside the pause, so a fault the fence sets off from here lands in it. The pause
    itself lasts about a tenth of a second, less than seeing the fence from here takes (psql through docker exec).
    Watched inside the server (a loop every 5 ms), so the lock is in place within milliseconds of that step. Row locks
    (every client transaction updates a customer), not a table lock: the reverse stream's publication, made right
    after, takes a SHARE UPDATE EXCLUSIVE lock on each table and would wait for a table lock."""
    sql = f"""SET application_name = 'pgferry-test-hold';
DO $$ BEGIN
  FOR i IN 1..24000 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM pg_subscription WHERE subname = '{MIGRATION}' AND subsynccommit = 'on');
    PERFORM pg_sleep(0.005);
  END LOOP;
END $$;
BEGIN;
SELECT count(*) FROM (SELECT FROM {table} FOR UPDATE) AS locked;
SELECT pg_sleep({seconds});
COMMIT;
"""
    proc = subprocess.Popen(["docker", "exec", "-i", "-u", "postgres", hosts.container(host), "psql", "-X", "-q",
                             "-h", "/var/run/postgresql", "-d", "app"], stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    proc.stdin.write(sql)
    proc.stdin.close()

    def release() -> None:
        hosts.psql(host, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = 'pgferry-test-hold'", check=False)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return release


def writing_when_fenced(hosts: Hosts, bench, host: str = "src") -> list[bool]:
    """Whether pgbench was still writing when host was fenced: filled in (one value) once the fence is seen. How long
    the rest of the cutover takes depends on the machine's load, so this, not pgbench outlasting it, is what a test
    needs to know that clients were queued at the switch."""
    seen: list[bool] = []
    when(lambda: fenced(hosts, host), lambda: seen.append(bench.poll() is None), interval=0.05)
    return seen


# ------------------------------------------------------------ fault outcomes

def outcome(case: str, text: str) -> None:
    """A fault case's outcome, printed as "fault: <case>: <what happened>" (the issue's closing note lists them)."""
    print(f"\nfault: {case}: {text}")


def failure_reason(output: str) -> str:
    m = re.search(r"cutover failed at '([^']*)': (.*?)(?:\n\S|\Z)", output, re.S)
    return " ".join(m.group(0).split())[:400] if m else "?"


def cutover_with_link_cut_in_the_pause(hosts: Hosts, request: pytest.FixtureRequest) -> Run:
    """The target loses the source right after the fence: the catch-up cannot finish, cutover_steps undoes
    everything (fence lifted, PgBouncer resumed on the source, the forward stream kept); the link comes back, a rerun
    cuts over. Returns the rerun.

    The pause is held open by hold_apply until the run ends: it lasts about a tenth of a second otherwise, less than
    seeing the fence from here takes, and a catch-up done before the link went would make the cutover succeed."""
    release = hold_apply(hosts)
    cut = when(lambda: fenced(hosts), lambda: hosts.disconnect("src", "repl"), interval=0.05)
    t = time.monotonic()
    try:
        # The catch-up cannot finish with the link cut: a short wait for it (the inventory's 30 s proves nothing more).
        run = hosts.playbook("pgferry.migrate.cutover", "-e", "pgferry_cutover_catch_up_timeout=8")
    finally:
        release()
    failed_s = time.monotonic() - t
    assert cut.is_set(), "the fence was never seen"
    hosts.reconnect("src", "repl")
    assert run.rc != 0 and "cutover failed at" in run.output, run.output[-4000:]
    assert "COULD NOT UNDO" not in run.output, run.output[-4000:]
    assert hosts.scalar("src", FENCED) == "0", "the fence is lifted"
    assert hosts.server_behind_bouncer() == "src", "clients are back on the source"
    assert hosts.scalar("dst", "SELECT count(*) FROM pg_subscription") == "1", "the forward stream is kept"
    outcome("target loses source inside the cutover pause",
            f"cutover failed after {failed_s:.0f}s and undid itself ({failure_reason(run.output)}); "
            f"clients back on the source, unfenced")
    timing(request, "cutover with the link cut in the pause (failed, undone)", failed_s)
    run = hosts.playbook("pgferry.migrate.cutover")
    assert run.rc == 0, run.output[-5000:]
    outcome("target loses source inside the cutover pause", "rerun after the link came back: cut over")
    return run
