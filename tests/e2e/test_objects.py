"""Catalog objects and column types the other fixtures lack (fixtures/objects.sql) moved through every playbook with
PostgreSQL's table sync (the default), 14 -> 18: migrate, writes while it streams, cutover, writes on the target carried
back by the reverse stream, rollback, cleanup.

What each object must keep on the target is read from the catalogs on both sides and compared: constraints still NOT
VALID (a restore that validated them would fail on real data, one that dropped the flag would lie), NO INHERIT, the
deferrable unique constraint's timing, the exclusion constraint, statistics objects, collations, storage parameters
and EXTERNAL storage, a table with no columns identified by all of them, and both sequences' options and values after
the cutover and after the rollback. Rows are compared by checksum after each side's writes (a deferrable key updated
as a whole, rows moved between hash partitions, out-of-line values rewritten, the column-less table's rows deleted and
added), and the source is left with no slot, publication or role of the migration.
"""
from __future__ import annotations

import json

import pytest

from conftest import Stack
from lifecycle_harness import fixture_stack

OPTIONS = json.dumps({"pgferry_exclude_schemas": [], "pgferry_cutover_switch": "none"})
SCHEMAS = "('Ünï Schema', 'select')"
# Facts that must be equal on both sides, in forms PostgreSQL 14 and 18 both give (18 adds NOT NULL constraints of
# its own to pg_constraint: left out by contype; NO INHERIT means something for CHECK only, and 18 sets it on keys).
FACTS = f"""
SELECT fact FROM (
  SELECT format('constraint %s.%s %s type=%s validated=%s noinherit=%s deferrable=%s deferred=%s %s', n.nspname,
                c.relname, k.conname, k.contype, k.convalidated,
                CASE WHEN k.contype = 'c' THEN k.connoinherit END, k.condeferrable, k.condeferred,
                pg_get_constraintdef(k.oid)) AS fact
  FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN {SCHEMAS} AND k.contype IN ('c', 'f', 'u', 'p', 'x')
  UNION ALL
  SELECT format('statistics %s.%s kinds=%s', n.nspname, s.stxname, s.stxkind)
  FROM pg_statistic_ext s JOIN pg_namespace n ON n.oid = s.stxnamespace WHERE n.nspname IN {SCHEMAS}
  UNION ALL
  SELECT format('collation %s.%s %s', n.nspname, l.collname, l.collcollate)
  FROM pg_collation l JOIN pg_namespace n ON n.oid = l.collnamespace WHERE n.nspname IN {SCHEMAS}
  UNION ALL
  SELECT format('table %s.%s options=%s identity=%s kind=%s', n.nspname, c.relname, c.reloptions, c.relreplident,
                c.relkind)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN {SCHEMAS} AND c.relkind IN ('r', 'p')
  UNION ALL
  SELECT format('column %s.%s storage=%s collation=%s', a.attrelid::regclass, a.attname, a.attstorage,
                a.attcollation::regcollation)
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'Ünï Schema' AND c.relname = 'order' AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
  SELECT format('sequence %s increment=%s min=%s max=%s cycle=%s cache=%s', s.seqrelid::regclass, s.seqincrement,
                s.seqmin, s.seqmax, s.seqcycle, s.seqcache)
  FROM pg_sequence s JOIN pg_class c ON c.oid = s.seqrelid JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname IN {SCHEMAS}
) facts ORDER BY fact
"""
STATS = """SELECT (SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'Ünï Schema' AND tablename = 'order') || ' '
                || (SELECT count(*) > 0 FROM pg_stats WHERE schemaname = 'select' AND tablename = 'hashed' AND inherited)"""
SEQUENCES = """SELECT (SELECT last_value || '/' || is_called FROM "select"."down seq") || ' '
                   || (SELECT last_value || '/' || is_called FROM "Ünï Schema".order_id_seq)"""
WRITES = r'''
UPDATE "Ünï Schema"."order" SET big = repeat('z', 300000), price = price + 1::money WHERE id % 5 = 0;
UPDATE "Ünï Schema"."order" SET "user" = 'renamed' WHERE id % 3 = 0;
DELETE FROM "Ünï Schema"."order" o WHERE id % 11 = 0 AND NOT EXISTS (SELECT FROM "select".child c WHERE c.order_id = o.id);
INSERT INTO "Ünï Schema"."order" ("user", doc, price) VALUES ('new', '<b a="1"/>', 2.5);
DELETE FROM "Ünï Schema".nothing WHERE ctid = (SELECT min(ctid) FROM "Ünï Schema".nothing);
INSERT INTO "Ünï Schema".nothing DEFAULT VALUES;
UPDATE "select"."table" SET "column" = "column" + 1000;
INSERT INTO "select"."table" ("column") SELECT max("column") + 1 FROM "select"."table";
UPDATE "select".hashed SET id = id + 100000 WHERE id % 10 = 0;
SELECT nextval('"select"."down seq"') FROM generate_series(1, 5);
INSERT INTO "select".leaf SELECT max(id) + 1, 'l', 7, 'x' FROM "select".base;
UPDATE "select".mid SET extra = extra + 1;
'''


@pytest.fixture
def objects_stack(request: pytest.FixtureRequest):
    yield from fixture_stack(request, "objects", "objects.sql")


def playbook(st: Stack, name: str) -> str:
    run = st.start_playbook(f"pgferry.migrate.{name}", "-e", OPTIONS)
    assert run.wait(300) == 0, f"{name}: " + run.output[-5000:]
    return " ".join(run.output.split())


def equal_rows(st: Stack, when: str) -> None:
    compared = st.compare(wait=60)
    assert compared.returncode == 0, f"{when}: " + (compared.stdout + compared.stderr)[-3000:]
    assert "all 9 tables equal" in compared.stderr, compared.stderr


def test_objects_keep_their_definitions_and_rows_through_every_playbook(objects_stack: Stack):
    st = objects_stack
    flat = playbook(st, "migrate")
    assert "rows equal on both sides (9 tables" in flat, flat[-4000:]
    facts = st.psql("source", FACTS)
    text = "\n".join(f[0] for f in facts)
    assert "price positive type=c validated=f" in text and "child_order_fk type=f validated=f" in text, text
    assert "NO INHERIT" in text and "deferred=t" in text and "type=x" in text and "kinds={f}" in text, text
    assert "storage=e" in text and "fillfactor=80" in text and "identity=f" in text, text
    assert st.psql("target", FACTS) == facts
    # Statistics made by post-data before any client arrives: autovacuum never analyzes a partitioned root, and is off
    # for "order"; the root's are over its partitions (inherited).
    assert st.scalar("target", STATS) == "true true", "statistics missing on the target"
    assert "changed=0" in playbook(st, "migrate"), "a rerun of migrate changed something"

    st.psql("source", WRITES)
    equal_rows(st, "after the source's writes")

    playbook(st, "cutover")
    assert st.scalar("target", SEQUENCES) == st.scalar("source", SEQUENCES) != "100/f 1000/f"

    st.psql("target", WRITES)
    equal_rows(st, "after the target's writes, carried back by the reverse stream")

    playbook(st, "rollback")
    assert st.scalar("source", SEQUENCES) == st.scalar("target", SEQUENCES)
    assert st.psql("target", FACTS) == facts

    playbook(st, "cleanup")
    left = """SELECT (SELECT count(*) FROM pg_replication_slots) || ' ' || (SELECT count(*) FROM pg_publication)
                     || ' ' || (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%')"""
    assert st.scalar("source", left) == "0 0 0"
    assert st.scalar("target", "SELECT count(*) FROM pg_subscription") == "0"
