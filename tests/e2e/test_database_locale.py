"""The target database sorts and compares text as the source does: same encoding, locales and locale provider.

A source database in LATIN1 with the C locale, moved (14 -> 18) onto a server whose default is UTF8 and C.UTF-8, through
the README's playbook: a target database made beforehand with the server's defaults is refused by the preflight with
nothing changed on either side; once it is gone the database step creates it as the source's, the rows arrive equal
and sort the same, and a rerun takes it as it is; a run that skips the preflight (--tags database) reads the source's
settings from its agent; and cleanup, through the local inventory without PgBouncer, abandons it, leaving
nothing of pgferry on the source.

Real clusters, agents and ansible-playbook processes; nothing is mocked.
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from conftest import CACHE, Stack, _down

FIXTURE = """
SET client_encoding = 'UTF8';
CREATE SCHEMA "Wörter";
CREATE TABLE "Wörter".names (id int PRIMARY KEY, name text NOT NULL);
INSERT INTO "Wörter".names VALUES (1, 'Zoë'), (2, 'apple'), (3, 'Äpfel'), (4, 'Banana'), (5, 'éclair'), (6, 'zebra');
"""
LOCALE = ("SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype FROM pg_database "
          "WHERE datname = '{db}'")
ORDER = "SET client_encoding = 'UTF8'; SELECT string_agg(name, ',' ORDER BY name) FROM \"Wörter\".names"
PGFERRY_OBJECTS = ("SELECT (SELECT count(*) FROM pg_publication) + (SELECT count(*) FROM pg_replication_slots) "
                   "+ (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%')")


@pytest.fixture
def locale_stack(request: pytest.FixtureRequest):
    name = f"loc-{uuid.uuid4().hex[:8]}"
    st = Stack(name, CACHE / "stacks" / name, {})
    try:
        st.up()
        st.psql("source", "CREATE DATABASE app TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'",
                db="postgres")
        st.psql("source", FIXTURE)
        yield st
    finally:
        for run in st.runs:
            if run.proc.poll() is None:
                run.kill()
        _down(name)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
            shutil.rmtree(st.dir, ignore_errors=True)


def test_target_database_gets_the_sources_encoding_and_locale(locale_stack: Stack):
    st = locale_stack
    scope = '{"pgferry_exclude_schemas": []}'
    assert st.scalar("target", LOCALE.format(db="postgres"), db="postgres") == "UTF8 C.UTF-8 C.UTF-8"

    st.psql("target", "CREATE DATABASE app", db="postgres")
    refused = st.playbook("-e", scope)
    assert refused.wait(1) != 0
    assert "database_locale_differs" in refused.output, refused.output[-4000:]
    assert "encoding UTF8 (wanted LATIN1)" in refused.output, refused.output[-4000:]
    assert st.scalar("source", PGFERRY_OBJECTS) == "0", "a refused preflight changed the source"

    st.psql("target", "DROP DATABASE app", db="postgres")
    run = st.playbook("-e", scope)
    assert run.wait(1) == 0, run.output[-5000:]
    assert st.scalar("target", LOCALE.format(db="app"), db="postgres") == "LATIN1 C C"
    r = st.compare(wait=60)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert st.scalar("target", ORDER) == st.scalar("source", ORDER) == "Banana,Zoë,apple,zebra,Äpfel,éclair"

    # A rerun finds the target database as the source's: no refusal, nothing made again.
    rerun = st.playbook("-e", scope)
    assert rerun.wait(1) == 0, rerun.output[-5000:]
    assert st.scalar("target", LOCALE.format(db="app"), db="postgres") == "LATIN1 C C"

    tagged = st.playbook("--tags", "database", "-e", '{"pgferry_exclude_schemas": [], '
                         '"pgferry_target_database": "by tags"}')
    assert tagged.wait(1) == 0, tagged.output[-5000:]
    assert st.scalar("target", LOCALE.format(db="by tags"), db="postgres") == "LATIN1 C C"

    # The README's local inventory without tools/pgbouncer: cleanup touches no PgBouncer (its variables fall back to
    # the role's defaults) and abandons the migration, leaving nothing of pgferry on the source.
    cleanup = st.start_playbook("pgferry.migrate.cleanup", "-e", scope, "-e", "pgferry_cleanup_abandon=app")
    assert cleanup.wait(300) == 0, cleanup.output[-5000:]
    assert st.scalar("source", PGFERRY_OBJECTS) == "0", "cleanup left pgferry's objects on the source"
