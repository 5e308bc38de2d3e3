"""Model-based test of the lifecycle: seeded random sequences of migrate, status, preflight, cutover, rollback, cleanup
and cleanup with pgferry_cleanup_abandon - their reruns and their refusals - with the controller (ansible-playbook,
SIGKILL of its process group and every process it started) or an agent (SIGKILL, restarted a few seconds later as
systemd would) killed at random points, on a real stack (14 -> 18, PgBouncer in front, fixtures/lifecycle.sql) with
pgbench writing through PgBouncer all along (tests/e2e/lifecycle_harness.py).

After every step: clients, through PgBouncer, reach a writable database (or wait, paused, while a cutover or rollback is
unfinished) that holds every acknowledged commit (pgbench's own per-transaction log against the ledger's rows, per
client and chunk); a side clients have left is fenced while pgferry's objects exist; a refused playbook changed nothing
(pgferry's objects on both sides, PgBouncer); the phase is never inconsistent; after a cleanup that succeeded no slot,
publication, subscription, replication origin, role, fence or replica-identity change is left on either side. At the
end an interrupted pause is finished (the playbook the lifecycle names) and the ledger is counted once more.

When a migration is cut over and cleaned up, or rolled back and cleaned up without abandon, the harness plays the
operator: a new episode starts from a fresh source database (or the target's stale copy is dropped).

  PGFERRY_MODEL_STEPS (default 6), PGFERRY_MODEL_SEED (default 20251201), PGFERRY_MODEL_KILL (probability of a kill per
  step, default 0.35). The default suite runs the short fixed seed; `PGFERRY_MODEL_STEPS=200 .venv/bin/pytest -s
  tests/e2e/test_lifecycle_model.py` is the long run; it prints every step, its seed and the violations.
"""
from __future__ import annotations

import importlib.util
import json
import os
import random
import re
import signal
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import pytest

from conftest import REPO
from lifecycle_harness import (
    EXTRA_VARS,
    Invariants,
    LedgerBench,
    bouncer_admin,
    bouncer_state,
    load_source,
    make_stack,
    refused,
    snapshot,
    tear_down,
)

STEPS = int(os.environ.get("PGFERRY_MODEL_STEPS", "6"))
SEED = int(os.environ.get("PGFERRY_MODEL_SEED", "20251201"))
KILL = float(os.environ.get("PGFERRY_MODEL_KILL", "0.35"))
ACTIONS = {"migrate": 3, "status": 1, "preflight": 1, "cutover": 3, "rollback": 2, "cleanup": 2, "abandon": 1}
FAULTS = ("controller", "source agent", "target agent")

# module_utils/lifecycle.py imports the collection's agent_client: the collection's own path (collections/ holds
# ansible_collections/pgferry/migrate, a link to ansible/) makes that import work outside Ansible's loader.
sys.path.insert(0, str(REPO / "collections"))
_spec = importlib.util.spec_from_file_location("pgferry_lifecycle",
                                               REPO / "ansible" / "plugins" / "module_utils" / "lifecycle.py")
lifecycle = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lifecycle)


class Model:
    def __init__(self, st, seed: int):
        self.st, self.seed, self.rng = st, seed, random.Random(seed)
        # How long each playbook took when it ran whole: a kill is drawn inside that, or it would mostly miss.
        self.durations: dict[str, float] = {}
        self.violations: list[str] = []
        self.notes: list[str] = []
        self.outcomes: Counter = Counter()
        self.phases: Counter = Counter()
        self.episode = 0
        self.bench: LedgerBench | None = None
        self.inv: Invariants | None = None
        self.new_episode(first=True)

    # ------------------------------------------------------------ the world

    def facts(self, side: str) -> dict | None:
        info = self.st.info[side]
        token = Path(json.loads((self.st.dir / "stack.json").read_text())["token_file"]).read_text().strip()
        req = urllib.request.Request(f"{info['agent_url']}/v1/migrations/app/lifecycle?database=app",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except OSError:
            return None

    def phase(self):
        return lifecycle.derive(self.facts("source"), self.facts("target"), bouncer_state(self.st))

    def new_episode(self, first: bool = False) -> None:
        """A fresh source database with clients on it (after a finished migration: the operator's part)."""
        if self.bench is not None:
            self.bench.stop()
        if not first:
            self.episode += 1
            ini = Path(self.st.bouncer["ini"])
            entry = Path(self.st.bouncer["source_entry_file"]).read_text().strip()
            ini.write_text(re.sub(r"(?m)^app = .*$", lambda m: f"app = {entry}", ini.read_text()))
            bouncer_admin(self.st, "RELOAD")
            self.st.psql("target", "DROP DATABASE IF EXISTS app WITH (FORCE)", db="postgres")
            load_source(self.st)
        self.bench = LedgerBench(self.st, name=f"ledger-{self.episode}").start()
        self.inv = Invariants(self.st, self.bench)

    def agents_up(self) -> None:
        for side in ("source", "target"):
            try:
                os.kill(self.st.agent_pid(side), 0)
            except (OSError, ValueError):
                self.st.up()
                return

    # ------------------------------------------------------------ one step

    def choose(self, phase) -> str:
        allowed = [a for a in ACTIONS if lifecycle.decide(
            "cleanup" if a == "abandon" else a, phase, "app", abandon="app" if a == "abandon" else None)[0]]
        pool = allowed if allowed and self.rng.random() < 0.7 else list(ACTIONS)
        return self.rng.choices(pool, weights=[ACTIONS[a] for a in pool])[0]

    def step(self, i: int, action: str | None = None, fault: tuple | None = None) -> None:
        before_phase = self.phase()
        action = action or self.choose(before_phase)
        if fault is None and self.rng.random() < KILL:
            # Anywhere in the run: within the longest whole run of this playbook seen so far (a little beyond, so
            # some kills land as it ends), or a guess before it has run once.
            latest = 1.2 * self.durations.get(action, 8 if action in ("status", "preflight") else 20)
            fault = (self.rng.choice(FAULTS), round(self.rng.uniform(0.5, latest), 1),
                     round(self.rng.uniform(0, 4), 1))
        args = ["-e", "pgferry_cleanup_abandon=app"] if action == "abandon" else []
        playbook = "cleanup" if action == "abandon" else action
        before = snapshot(self.st)
        started = time.monotonic()
        run = self.st.start_playbook(f"pgferry.migrate.{playbook}", "-e", EXTRA_VARS, *args)
        struck = threading.Event()
        striker = threading.Thread(target=self.strike, args=(run, fault, struck), daemon=True) if fault else None
        if striker:
            striker.start()
        run.wait(1800)
        if striker:
            striker.join(120)
        self.agents_up()
        killed = fault and struck.is_set()
        if not killed:
            self.durations[action] = max(self.durations.get(action, 0.0), time.monotonic() - started)
        outcome = ("refused" if refused(run) else "ok" if run.rc == 0
                   else "killed" if killed and fault[0] == "controller" else "failed")
        self.outcomes[outcome] += 1
        found = []
        if outcome == "refused" and snapshot(self.st) != before:
            found.append(f"{playbook} was refused but changed something")
        cleaned = playbook == "cleanup" and outcome == "ok"
        found += self.inv.check(cleaned_up=cleaned)
        after = self.phase()
        self.phases[after.name] += 1
        if after.name in ("inconsistent", "unknown"):
            found.append(f"phase {after.name}: {'; '.join(after.reasons)}")
        if outcome == "failed" and not fault:
            # Not a violation by itself (a ready check may time out on a busy machine); the invariants above decide.
            self.notes.append(f"step {i}: {playbook} failed with no fault injected: "
                              + " ".join(run.output.split())[-400:])
        print(f"step {i:3d} (seed {self.seed}, episode {self.episode}): {action}"
              f"{' + kill ' + fault[0] + ' at ' + str(fault[1]) + 's' if fault else ''}"
              f"{' (missed: the run ended first)' if fault and not struck.is_set() else ''} -> {outcome} "
              f"rc={run.rc} {time.monotonic() - started:.0f}s; phase {before_phase.name} -> {after.name}"
              + "".join(f"\n    VIOLATION: {v}" for v in found), flush=True)
        self.violations += [f"step {i} ({action}, {fault}): {v}" for v in found]
        self.operator(after)

    def strike(self, run, fault, struck) -> None:
        what, at, restart_after = fault
        if self._alive_after(run, at):
            if what == "controller":
                run.kill()
            else:
                side = what.split()[0]
                try:
                    os.kill(self.st.agent_pid(side), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
                time.sleep(restart_after)
                self.st.up()
            struck.set()

    @staticmethod
    def _alive_after(run, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if run.proc.poll() is not None:
                return False
            time.sleep(0.1)
        return run.proc.poll() is None

    def operator(self, phase) -> None:
        """What a person does once a migration is over, so the run goes on with a new one."""
        if phase.name == "cleaned_up" or phase.name in ("inconsistent", "unknown"):
            print(f"    operator: new episode ({phase.name})", flush=True)
            self.new_episode()
        elif phase.name == "none" and self.st.scalar(
                "target", "SELECT count(*) FROM pg_database WHERE datname = 'app'", db="postgres") == "1" \
                and self.st.scalar("target", "SELECT count(*) FROM included.customers") != "0":
            print("    operator: drop the target's stale copy (rolled back and cleaned up without abandon)", flush=True)
            self.st.psql("target", "DROP DATABASE app WITH (FORCE)", db="postgres")

    def settle(self) -> None:
        """An interrupted pause is finished by the playbook the lifecycle names (no fault), so clients run again."""
        for n in range(4):
            phase = self.phase()
            if not phase.facts.get("paused") and phase.name not in ("cutting_over", "rolling_back"):
                return
            action = "rollback" if phase.name in ("rolling_back", "rolled_back") else "cutover"
            self.step(STEPS + n, action=action, fault=())
        self.violations.append("an interrupted pause was not finished by 4 runs of the playbook the lifecycle names")


def test_lifecycle_model(request: pytest.FixtureRequest):
    st = make_stack("model")
    passed = False
    model = None
    try:
        model = Model(st, SEED)
        print(f"\nlifecycle model: seed {SEED}, {STEPS} steps, kill probability {KILL}", flush=True)
        for i in range(STEPS):
            model.step(i)
        model.settle()
        model.bench.stop()
        model.violations += [f"final: {v}" for v in model.inv.check()]
        print(f"lifecycle model: seed {SEED}, {STEPS} steps (+ settling), {model.episode + 1} episode(s); outcomes "
              f"{dict(model.outcomes)}; phases after a step {dict(model.phases)}; {len(model.violations)} violation(s)"
              + "".join(f"\n  {v}" for v in model.violations)
              + "".join(f"\n  note: {n}" for n in model.notes), flush=True)
        assert not model.violations, "\n".join(model.violations)
        passed = True
    finally:
        tear_down(st, passed)
