"""Shapes real databases have (fixtures/shapes.sql) moved through the README's playbooks with pgferry's own copy, then a
shape pgferry must refuse before it changes anything.

Each shape here once broke a migration: a partitioned table of an application role lost its owner on the target (its
partition key's dependency on the table was taken for a column's, whose owner follows the table's) and the schema
apply's grants then failed; a table identified by a unique index (no primary key) was refused by the replica identity
step before the own copy had built that index; a partition partitioned again had its keys built after its own
partitions' attached to them. Writes to every table while it streams must all be on the target, and its owners and
privileges equal to the source's. A stream the target then stops (a row there that the source inserts too) makes a rerun
fail within seconds, naming the apply worker's error, and go on once it is removed. An extension in a schema outside the
scope is refused by the schema apply with the fix, before anything is restored.

Then a partition owned by another role than its root, whose owner may not write it: from PostgreSQL 16 the stream
stops at the first row routed into it ("permission denied"), so the target's preflight (18 here) refuses the migration
and names the fix, changing nothing.
"""
from __future__ import annotations

import json
import re
import subprocess
import time

import pytest

from conftest import REPO, Stack
from lifecycle_harness import fixture_stack
from stacklib import TARGET_MAJOR

OPTIONS = {"pgferry_copy_method": "pgferry", "pgferry_include_schemas": ["we.ird $chema", "parts"],
           "pgferry_exclude_schemas": []}
WRITES = r'''
UPDATE "we.ird $chema"."t.a.b 100%" SET "Välue\n" = "Välue\n" || E' \\upd' WHERE id % 7 = 0;
DELETE FROM "we.ird $chema"."t.a.b 100%" WHERE id % 11 = 0;
UPDATE "we.ird $chema".keyed_by_index SET v = v + 100 WHERE v % 3 = 0;
DELETE FROM "we.ird $chema".keyed_by_index WHERE v = 5;
INSERT INTO "we.ird $chema"."Dog ""good""" VALUES (5, 'bo', 'pug');
UPDATE "we.ird $chema".animal SET name = 'kitty' WHERE id = 1;
INSERT INTO "we.ird $chema".events (at, kind) SELECT '2025-06-01'::date + g, 'a' FROM generate_series(1, 20) g;
UPDATE "we.ird $chema".events SET kind = 'b' WHERE id % 50 = 0;
DELETE FROM "we.ird $chema".events WHERE id % 97 = 0;
INSERT INTO "we.ird $chema".empty VALUES (1);
'''
# Owners, and the grants of others than the owner (the owner's own differ by version: MAINTAIN from 17) and than the
# migration's replication role (the source's only, while the migration lasts).
OWNERS = """SELECT string_agg(n.nspname || '.' || c.relname || '=' || pg_get_userbyid(c.relowner) || ':' || coalesce((
                SELECT string_agg(pg_get_userbyid(e.grantee) || '/' || pg_get_userbyid(e.grantor) || '/'
                                  || e.privilege_type || '/' || e.is_grantable, ',' ORDER BY 1)
                FROM aclexplode(c.relacl) e
                WHERE e.grantee <> c.relowner AND pg_get_userbyid(e.grantee) NOT LIKE 'pgferry%'), '-'),
                ' ' ORDER BY n.nspname, c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('we.ird $chema', 'parts') AND c.relkind IN ('r', 'p', 'S')"""


@pytest.fixture
def shapes_stack(request: pytest.FixtureRequest):
    yield from fixture_stack(request, "shapes", "shapes.sql")


def test_shapes_move_with_the_own_copy_and_a_partition_the_root_cannot_write_is_refused(shapes_stack: Stack):
    st = shapes_stack
    options = json.dumps(OPTIONS)
    run = st.start_playbook("pgferry.migrate.migrate", "-e", options)
    assert run.wait(300) == 0, run.output[-5000:]
    flat = " ".join(run.output.split())
    assert re.search(r"rows equal on both sides \(7 tables", flat), flat[-4000:]
    assert st.scalar("target", OWNERS) == st.scalar("source", OWNERS)
    assert st.scalar("target", "SELECT relreplident FROM pg_class WHERE oid = '\"we.ird $chema\".keyed_by_index'"
                               "::regclass") == "i"

    run = st.start_playbook("pgferry.migrate.migrate", "-e", options)
    assert run.wait(300) == 0, run.output[-5000:]
    assert run.recap()["changed"] == 0, run.output[-5000:]

    st.psql("source", WRITES)
    compared = st.compare(wait=60)
    assert compared.returncode == 0, (compared.stdout + compared.stderr)[-3000:]
    assert "all 7 tables equal" in compared.stderr, compared.stderr

    # The stream stopped by the target (a row there that the source then inserts too): a rerun does not wait out its
    # timeout but says so once the apply worker failed three times, with its error from the server log.
    st.psql("target", "ALTER SYSTEM SET logging_collector = on", db="postgres")
    subprocess.run([str(REPO / "tools" / "pgbed"), "stop", "--name", st.info["target"]["cluster"]], check=True,
                   capture_output=True)
    subprocess.run([str(REPO / "tools" / "pgbed"), "start", "--name", st.info["target"]["cluster"]], check=True,
                   capture_output=True)
    st.psql("target", """INSERT INTO "we.ird $chema".keyed_by_index VALUES ('made on the target', 1)""")
    st.psql("source", """INSERT INTO "we.ird $chema".keyed_by_index VALUES ('made on the target', 2)""")
    run = st.start_playbook("pgferry.migrate.migrate", "-e", options)
    assert run.wait(300) != 0, run.output[-5000:]
    flat = " ".join(run.output.split())
    assert "its workers failed 3 times while this waited" in flat, flat[-4000:]
    # 18 reports the conflict by its kind, earlier versions by the constraint.
    assert re.search(r'Last error of the apply worker: (duplicate key value violates unique constraint '
                     r'"keyed_by_index_code"|conflict detected on relation "we.ird \$chema.keyed_by_index": '
                     r'conflict=insert_exists)', flat), flat[-4000:]
    assert time.monotonic() - run.started < 120, "the rerun waited for its timeout"
    st.psql("target", """DELETE FROM "we.ird $chema".keyed_by_index WHERE code = 'made on the target'""")
    run = st.start_playbook("pgferry.migrate.migrate", "-e", options)
    assert run.wait(300) == 0, run.output[-5000:]
    compared = st.compare(wait=60)
    assert compared.returncode == 0, (compared.stdout + compared.stderr)[-3000:]

    # An extension installed in a schema of its own, outside the scope: the schema apply refuses, naming it and the
    # fix, before restoring anything; with the schema in the scope the migration goes on.
    st.psql("source", "CREATE DATABASE ext", db="postgres")
    st.psql("source", """CREATE SCHEMA "Ext Here"; CREATE EXTENSION pg_trgm SCHEMA "Ext Here"; CREATE SCHEMA s;
        CREATE TABLE s.t (id int PRIMARY KEY, v text);
        CREATE INDEX t_trgm ON s.t USING gin (v "Ext Here".gin_trgm_ops);
        INSERT INTO s.t SELECT g, 'v' || g FROM generate_series(1, 100) g;""", db="ext")
    ext = {"pgferry_migration_id": "ext", "pgferry_source_database": "ext", "pgferry_target_database": "ext",
           "pgferry_include_schemas": ["s"], "pgferry_exclude_schemas": [], "pgferry_copy_method": "pgferry"}
    run = st.start_playbook("pgferry.migrate.migrate", "-e", json.dumps(ext))
    assert run.wait(300) != 0, run.output[-5000:]
    flat = " ".join(run.output.split())
    assert 'source warning extension_schema_outside_scope [\'pg_trgm (in schema "Ext Here")\']' in flat, \
        flat[-4000:]
    assert 'extension_schema_missing]: the schema needs extensions that live, on the source, in schemas the ' \
           "migration's scope leaves out and this database lacks: pg_trgm (in schema \"Ext Here\")" in flat, \
        flat[-4000:]
    assert st.scalar("target", "SELECT count(*) FROM pg_class WHERE relname = 't'", db="ext") == "0"
    run = st.start_playbook("pgferry.migrate.migrate", "-e", json.dumps(dict(ext, pgferry_include_schemas=[
        "s", "Ext Here"])))
    assert run.wait(300) == 0, run.output[-5000:]
    assert st.scalar("target", "SELECT count(*) FROM s.t", db="ext") == "100"

    if TARGET_MAJOR < 16:
        return  # the apply runs as the subscription's owner: such a partition does not stop the stream
    # A second database whose partition belongs to a role its root's owner cannot write for.
    st.psql("source", "CREATE DATABASE other", db="postgres")
    st.psql("source", """CREATE ROLE "part owner" NOLOGIN;
        CREATE SCHEMA s; CREATE TABLE s.root (id int, at int, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
        CREATE TABLE s.p1 PARTITION OF s.root FOR VALUES FROM (0) TO (10);
        ALTER TABLE s.root OWNER TO "app owner"; ALTER TABLE s.p1 OWNER TO "part owner";""", db="other")
    other = json.dumps({"pgferry_migration_id": "other", "pgferry_source_database": "other",
                        "pgferry_target_database": "other", "pgferry_include_schemas": ["s"],
                        "pgferry_exclude_schemas": []})
    run = st.start_playbook("pgferry.migrate.migrate", "-e", other)
    assert run.wait(300) != 0, run.output[-5000:]
    flat = " ".join(run.output.split())
    assert "partition_rights_missing [s.p1 (owner \"part owner\"): \"app owner\", owner of s.root, lacks " \
           "INSERT, UPDATE, DELETE]" in flat, flat[-4000:]
    assert "preflight failed, nothing was changed" in flat, flat[-4000:]
    assert st.scalar("source", "SELECT count(*) FROM pg_publication", db="other") == "0"
    assert st.scalar("target", "SELECT count(*) FROM pg_database WHERE datname = 'other'", db="postgres") == "0"
