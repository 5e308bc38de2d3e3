"""Triggers set to fire on replicated rows (ENABLE ALWAYS, ENABLE REPLICA) fire once, end to end.

The source fires them; its stream carries what they wrote. Fired again by an apply worker they write it twice: an
audit row twice, a value changed twice, or a duplicate key that stops the stream for good. The fixture has an ALWAYS
trigger writing an audit row (its id from a sequence the target only gets at the cutover: a second firing is a duplicate
key), a REPLICA trigger changing the row it fires on, a disabled one, an ALWAYS trigger on a partitioned table (its
partitions' clones), and an ALWAYS rule (the apply worker never runs the rewriter: it stays as it is), in a schema whose
name needs quoting. Through the README's playbooks (14 -> 18, PgBouncer): while the target applies the stream the
triggers are tempered there (ALWAYS -> ENABLE, REPLICA -> DISABLE) and writes on the source arrive once; the cutover
gives the target the source's states and tempers the old source, which then applies the reverse stream, and writes on
the target arrive there once; the rollback gives the old source its own states back, and cleanup leaves no record.

Real clusters, agents, PgBouncer and ansible-playbook processes; nothing is mocked.
"""
from __future__ import annotations

import os
import subprocess
import time
import uuid

import pytest

from conftest import CACHE, REPO, Stack, _down, timing
from test_cutover import pgbouncer

S = '"Trig ""Q"" ü"'
FIXTURE = f"""
CREATE SCHEMA {S};
CREATE TABLE {S}.audit_log (id bigserial PRIMARY KEY, what text NOT NULL);
CREATE FUNCTION {S}.audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO {S}.audit_log (what)
    VALUES (TG_TABLE_NAME || ' ' || TG_OP || ' ' || CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END);
  RETURN NEW;
END $$;
CREATE FUNCTION {S}.bang() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v || '!'; RETURN NEW; END $$;
CREATE TABLE {S}."Audited" (id int PRIMARY KEY, v text);
CREATE TRIGGER "always audit" AFTER INSERT OR UPDATE ON {S}."Audited"
  FOR EACH ROW EXECUTE FUNCTION {S}.audit();
ALTER TABLE {S}."Audited" ENABLE ALWAYS TRIGGER "always audit";
CREATE TRIGGER "replica bang" BEFORE INSERT OR UPDATE ON {S}."Audited" FOR EACH ROW EXECUTE FUNCTION {S}.bang();
ALTER TABLE {S}."Audited" ENABLE REPLICA TRIGGER "replica bang";
CREATE TRIGGER "disabled audit" AFTER DELETE ON {S}."Audited" FOR EACH ROW EXECUTE FUNCTION {S}.audit();
ALTER TABLE {S}."Audited" DISABLE TRIGGER "disabled audit";
CREATE TRIGGER "origin audit" AFTER DELETE ON {S}."Audited" FOR EACH ROW EXECUTE FUNCTION {S}.audit();
CREATE TABLE {S}.events (id int NOT NULL, region text NOT NULL, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE {S}.events_eu PARTITION OF {S}.events FOR VALUES IN ('eu');
CREATE TABLE {S}.events_us PARTITION OF {S}.events FOR VALUES IN ('us');
CREATE TRIGGER "events audit" AFTER INSERT ON {S}.events FOR EACH ROW EXECUTE FUNCTION {S}.audit();
ALTER TABLE {S}.events ENABLE ALWAYS TRIGGER "events audit";
CREATE TABLE {S}.notes (id int PRIMARY KEY, v text);
CREATE RULE "notes rule" AS ON INSERT TO {S}.notes
  DO ALSO INSERT INTO {S}.audit_log (what) VALUES ('notes rule ' || NEW.id);
ALTER TABLE {S}.notes ENABLE ALWAYS RULE "notes rule";
INSERT INTO {S}."Audited" SELECT g, 'v' || g FROM generate_series(1, 50) g;
INSERT INTO {S}.events SELECT g, CASE WHEN g % 2 = 0 THEN 'eu' ELSE 'us' END FROM generate_series(1, 40) g;
INSERT INTO {S}.notes SELECT g, 'n' FROM generate_series(1, 10) g;
"""
# Every trigger (partition clones too: internal before 15) and rule of the schema, with its state.
STATES = """
SELECT 'T ' || c.relname || ' ' || t.tgname || ' ' || t.tgenabled::text
  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'Trig "Q" ü' AND (NOT t.tgisinternal OR t.tgparentid <> 0)
UNION ALL
SELECT 'R ' || c.relname || ' ' || r.rulename || ' ' || r.ev_enabled::text
  FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = 'Trig "Q" ü' AND r.rulename <> '_RETURN'
ORDER BY 1
"""


def writes(first: int) -> str:
    return f"""
INSERT INTO {S}."Audited" VALUES ({first}, 'w'), ({first + 1}, 'w');
UPDATE {S}."Audited" SET v = 'u{first}' WHERE id = 3;
DELETE FROM {S}."Audited" WHERE id = {first + 1};
INSERT INTO {S}.events VALUES ({first}, 'eu'), ({first + 1}, 'us');
INSERT INTO {S}.notes VALUES ({first}, 'n');
"""


def tempered(states: list[str]) -> list[str]:
    """What an apply worker's side holds: triggers ALWAYS -> ENABLE (O), REPLICA -> DISABLE (D); rules as they are (the
    apply worker never runs the rewriter)."""
    out = []
    for s in states:
        head, _, state = s.rpartition(" ")
        out.append(f"{head} {dict(A='O', R='D').get(state, state)}" if s.startswith("T ") else s)
    return out


def states(st: Stack, side: str) -> list[str]:
    return [r[0] for r in st.psql(side, STATES)]


def records(st: Stack) -> list[str]:
    return sorted(str(p) for side in ("source", "target") for p in (st.dir / side / "state").rglob("apply_triggers-*"))


@pytest.fixture
def trig_stack(request: pytest.FixtureRequest):
    name = f"trig-{uuid.uuid4().hex[:8]}"
    st = Stack(name, CACHE / "stacks" / name, {})
    try:
        st.up()
        st.psql("source", "CREATE DATABASE app", db="postgres")
        st.psql("source", (REPO / "fixtures" / "basic.sql").read_text())
        st.psql("source", FIXTURE)
        st.bouncer = pgbouncer(st, "up")
        yield st
    finally:
        for run in st.runs:
            if run.proc.poll() is None:
                run.kill()
        subprocess.run([str(REPO / "tools" / "pgbouncer"), "down", "--name", name], capture_output=True)
        _down(name)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
            import shutil
            shutil.rmtree(st.dir, ignore_errors=True)


def equal(st: Stack, what: str) -> None:
    r = st.compare(wait=60)
    assert r.returncode == 0, f"{what}:\n{r.stdout[-3000:]}{r.stderr[-2000:]}"


def test_triggers_that_fire_on_replicated_rows_fire_once_on_each_side(trig_stack: Stack,
                                                                      request: pytest.FixtureRequest):
    st = trig_stack
    original = states(st, "source")
    assert {"T Audited always audit A", "T Audited replica bang R", "T Audited disabled audit D",
            "T Audited origin audit O", "T events events audit A", "T events_eu events audit A",
            "R notes notes rule A"} <= set(original), original

    t = time.monotonic()
    run = st.start_playbook("pgferry.migrate.migrate")
    assert run.wait(300) == 0, run.output[-5000:]
    timing(request, "migrate", time.monotonic() - t)
    assert states(st, "target") == tempered(original), "tempered on the target while it applies the stream"
    assert states(st, "source") == original
    st.psql("source", writes(1000))
    equal(st, "writes on the source arrive once on the target")
    assert st.scalar("target", f"SELECT v FROM {S}.\"Audited\" WHERE id = 3") == "u1000"

    rerun = st.start_playbook("pgferry.migrate.migrate")
    assert rerun.wait(300) == 0, rerun.output[-5000:]
    assert rerun.recap()["changed"] == 0, rerun.output[-5000:]

    run = st.start_playbook("pgferry.migrate.cutover")
    assert run.wait(300) == 0, run.output[-5000:]
    assert states(st, "target") == original, "the new primary's triggers fire as the source's did"
    assert states(st, "source") == tempered(original), "tempered on the old source while it applies the reverse stream"
    st.psql("target", writes(2000))
    assert st.scalar("target", f"SELECT count(*) FROM {S}.audit_log WHERE what LIKE '%2000'") == "3", \
        "the target's own triggers and rule fired for its clients"
    equal(st, "writes on the new primary arrive once on the old source")

    run = st.start_playbook("pgferry.migrate.rollback")
    assert run.wait(300) == 0, run.output[-5000:]
    assert states(st, "source") == original, "the old source's own states are back once it is the primary again"
    run = st.start_playbook("pgferry.migrate.cleanup")
    assert run.wait(300) == 0, run.output[-5000:]
    assert states(st, "source") == original and states(st, "target") == original
    assert records(st) == [], "no record of tempered triggers is left"
