"""The application's own roles, before and after the cutover, through PgBouncer.

A 14 -> 18 stack whose source database app holds fixtures/privileges.sql: an owner role, a read-write and a read-only
login role, default privileges, a SECURITY DEFINER function, column privileges, RLS policies naming roles, database
privileges (CONNECT closed to PUBLIC) and settings. PgBouncer (tools/pgbouncer --app-users) lets clients log in as
those roles themselves, passing their SCRAM proof on to the server: it works on the target only if pgferry moved the
very verifiers. pgbench writes as shop_rw through PgBouncer during pgferry.migrate.migrate and from before the cutover
on (0 failed transactions). Before and after: shop_rw may write, shop_ro may read and is refused writes and the costs column (the
read-write role may read it); after, both land on the target. Owners and exploded ACLs of every object, default privileges, memberships and
database settings are read from both catalogs and compared; the cutover's verify compared them too. A role map naming
a role the database does not need stops the preflight.

Real clusters, agents, PgBouncer and ansible-playbook processes; nothing is mocked.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from conftest import CACHE, REPO, Stack, _down, timing

SOURCE_MAJOR, TARGET_MAJOR = 14, 18
APP_USERS = {"shop_rw": "rw-secret", "shop_ro": "ro-secret"}
WRITES = """\\set cid random(1, 300)
\\set cents random(1, 100000)
BEGIN;
INSERT INTO shop.orders (customer_id, amount, status) VALUES (:cid, :cents / 100.0, 'paid');
UPDATE shop.customers SET email = 'c' || :cid || '.' || :cents || '@example.org' WHERE id = :cid;
END;
"""
# Owners and exploded ACLs of every object of schema shop, default privileges, the database's ACL and settings, the
# application's roles and memberships: one line each, pgferry's own roles and MAINTAIN (18 only) left out.
CATALOG = r"""
WITH objs(cls, oid, sub, owner, acl, t) AS (
  SELECT 'pg_namespace'::regclass, n.oid, 0, n.nspowner, n.nspacl, 'n'::"char" FROM pg_namespace n WHERE nspname = 'shop'
  UNION ALL SELECT 'pg_class'::regclass, c.oid, 0, c.relowner, c.relacl, CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char"
    FROM pg_class c WHERE c.relnamespace = 'shop'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'S')
  UNION ALL SELECT 'pg_class'::regclass, a.attrelid, a.attnum, c.relowner, a.attacl, 'c'::"char"
    FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
   WHERE c.relnamespace = 'shop'::regnamespace AND a.attacl IS NOT NULL
  UNION ALL SELECT 'pg_proc'::regclass, p.oid, 0, p.proowner, p.proacl, 'f'::"char" FROM pg_proc p
   WHERE p.pronamespace = 'shop'::regnamespace
  UNION ALL SELECT 'pg_type'::regclass, t.oid, 0, t.typowner, t.typacl, 'T'::"char" FROM pg_type t
   WHERE t.typnamespace = 'shop'::regnamespace AND t.typtype IN ('e', 'd')
)
SELECT line FROM (
  SELECT 'owner ' || (pg_identify_object(cls, oid, sub)).identity || ' ' || pg_get_userbyid(owner) FROM objs WHERE sub = 0
  UNION ALL
  SELECT 'acl ' || (pg_identify_object(cls, oid, sub)).identity || ' ' || coalesce(nullif(e.grantee, 0)::regrole::text, 'PUBLIC')
         || ' ' || e.grantor::regrole || ' ' || e.privilege_type || ' ' || e.is_grantable
    FROM objs CROSS JOIN LATERAL aclexplode(coalesce(acl, acldefault(t, owner))) e
  UNION ALL
  SELECT 'default ' || d.defaclrole::regrole || ' ' || coalesce(d.defaclnamespace::regnamespace::text, '*') || ' '
         || d.defaclobjtype::text || ' ' || coalesce(nullif(e.grantee, 0)::regrole::text, 'PUBLIC') || ' ' || e.privilege_type
    FROM pg_default_acl d CROSS JOIN LATERAL aclexplode(d.defaclacl) e
  UNION ALL
  SELECT 'database ' || coalesce(nullif(e.grantee, 0)::regrole::text, 'PUBLIC') || ' ' || e.privilege_type
    FROM pg_database d CROSS JOIN LATERAL aclexplode(coalesce(d.datacl, acldefault('d', d.datdba))) e
   WHERE d.datname = current_database()
  UNION ALL
  SELECT 'setting ' || coalesce(nullif(s.setrole, 0)::regrole::text, '*') || ' ' || c
    FROM pg_db_role_setting s CROSS JOIN LATERAL unnest(s.setconfig) c
   WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
     AND c NOT LIKE 'default_transaction_read_only=%'
  UNION ALL
  SELECT 'role ' || rolname || ' ' || concat_ws(' ', rolsuper, rolinherit, rolcreaterole, rolcreatedb, rolcanlogin,
         rolreplication, rolbypassrls, rolconnlimit)
    FROM pg_roles WHERE rolname LIKE 'shop%'
  UNION ALL
  SELECT 'member ' || m.rolname || ' of ' || g.rolname FROM pg_auth_members a JOIN pg_roles m ON m.oid = a.member
    JOIN pg_roles g ON g.oid = a.roleid WHERE m.rolname LIKE 'shop%'
) x(line)
WHERE line NOT LIKE '%pgferry_%' AND line NOT LIKE '% MAINTAIN %'
ORDER BY 1
"""


def bouncer(stack: Stack, cmd: str) -> dict:
    env = {k: v for k, v in stack.env().items() if k != "PGFERRY_STACK_DIR"}
    args = [str(REPO / "tools" / "pgbouncer"), cmd, "--name", stack.name]
    if cmd == "up":
        args += ["--app-users", ",".join(APP_USERS)]
    return json.loads(subprocess.run(args, check=True, capture_output=True, text=True, env=env).stdout or "{}")


def as_role(stack: Stack, role: str, sql: str) -> subprocess.CompletedProcess:
    """psql through PgBouncer as the application's role; its password in the environment, never in argv."""
    psql = Path(stack.info["target"]["bin_dir"]) / "psql"
    b = stack.bouncer
    return subprocess.run([str(psql), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", b["host"], "-p",
                           str(b["port"]), "-U", role, "-d", "app", "-c", sql], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "PGPASSWORD": APP_USERS[role], "PGCONNECT_TIMEOUT": "10"})


def pgbench(stack: Stack, name: str, seconds: int) -> subprocess.Popen:
    """pgbench as shop_rw through PgBouncer: the application's own role writing."""
    script = stack.dir / "app-writes.pgbench"
    script.write_text(WRITES)
    b = stack.bouncer
    out = open(stack.dir / f"pgbench-{name}.out", "wb")
    proc = subprocess.Popen([str(Path(stack.info["target"]["bin_dir"]) / "pgbench"), "-h", b["host"], "-p",
                             str(b["port"]), "-U", "shop_rw", "-n", "-c", "2", "-j", "1", "-T", str(seconds), "-R", "20",
                             "-f", str(script), "app"], stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env={**os.environ, "PGPASSWORD": APP_USERS["shop_rw"]})
    out.close()
    stack.children.append(proc)
    return proc


def assert_no_failed(stack: Stack, proc: subprocess.Popen, name: str) -> None:
    text = (stack.dir / f"pgbench-{name}.out")
    assert proc.wait(300) == 0, text.read_text()[-3000:]
    out = text.read_text()
    failed = re.search(r"number of failed transactions: (\d+)", out)
    processed = re.search(r"number of transactions actually processed: (\d+)", out)
    assert failed and failed.group(1) == "0" and processed and int(processed.group(1)) > 50, out[-2000:]


def check_what_each_role_may_do(stack: Stack, expected_port: int) -> None:
    rw = as_role(stack, "shop_rw", "INSERT INTO shop.orders (customer_id, amount) VALUES (1, 2) RETURNING inet_server_port()")
    assert rw.returncode == 0 and rw.stdout.strip() == str(expected_port), rw.stderr
    ro = as_role(stack, "shop_ro", "SELECT inet_server_port(), count(*) > 0, shop.order_total(1) >= 0 FROM shop.orders")
    assert ro.returncode == 0 and ro.stdout.strip().startswith(f"{expected_port}|t|t"), ro.stderr
    for write in ("INSERT INTO shop.orders (customer_id, amount) VALUES (1, 2)", "UPDATE shop.customers SET name = 'x'",
                  "DELETE FROM shop.orders", "CREATE TABLE shop.mine (id int)"):
        refused = as_role(stack, "shop_ro", write)
        assert refused.returncode != 0 and "permission denied" in refused.stderr, (write, refused.stderr)
    # Readers see prices, not costs (column privileges); the read-write role sees both.
    costs = as_role(stack, "shop_ro", 'SELECT cost FROM shop."Price List" LIMIT 1')
    assert costs.returncode != 0 and "permission denied" in costs.stderr, costs.stderr
    prices = as_role(stack, "shop_ro", 'SELECT sku, "Price €" FROM shop."Price List" LIMIT 1')
    assert prices.returncode == 0 and prices.stdout.strip(), prices.stderr
    assert as_role(stack, "shop_rw", 'SELECT cost FROM shop."Price List" LIMIT 1').returncode == 0


@pytest.fixture
def shop_stack(request: pytest.FixtureRequest):
    """A fresh 14 -> 18 stack, database app with fixtures/basic.sql and privileges.sql, PgBouncer for the app roles."""
    name = f"priv-{uuid.uuid4().hex[:8]}"
    st = Stack(name, CACHE / "stacks" / name, {})
    try:
        subprocess.run([str(REPO / "tools" / "stack"), "up", "--name", name, "--source-major", str(SOURCE_MAJOR),
                        "--target-major", str(TARGET_MAJOR)], check=True, capture_output=True, text=True)
        st.info = json.loads((st.dir / "stack.json").read_text())
        st.psql("source", "CREATE DATABASE app", db="postgres")
        st.psql("source", (REPO / "fixtures" / "basic.sql").read_text())
        st.psql("source", (REPO / "fixtures" / "privileges.sql").read_text())
        st.bouncer = bouncer(st, "up")
        yield st
    finally:
        for child in st.children:
            if child.poll() is None:
                child.terminate()
                try:
                    child.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    child.kill()
        for run in st.runs:
            if run.proc.poll() is None:
                run.kill()
        subprocess.run([str(REPO / "tools" / "pgbouncer"), "down", "--name", name], capture_output=True)
        _down(name)
        rep = getattr(request.node, "rep_call", None)
        if rep is not None and rep.passed and os.environ.get("PGFERRY_E2E_KEEP") != "1":
            import shutil
            shutil.rmtree(st.dir, ignore_errors=True)


def test_application_roles_before_and_after_cutover(shop_stack: Stack, request: pytest.FixtureRequest):
    st = shop_stack
    source_port, target_port = st.info["source"]["pg_port"], st.info["target"]["pg_port"]
    check_what_each_role_may_do(st, source_port)

    # A role map naming a role the database does not need is refused before anything changes.
    run = st.start_playbook("pgferry.migrate.preflight", "-e", json.dumps({"pgferry_role_map": {"shop_rx": "x"}}))
    assert run.wait(180) != 0 and "role_map_unknown" in run.output, run.output[-3000:]
    assert st.scalar("target", "SELECT count(*) FROM pg_database WHERE datname = 'app'", db="postgres") == "0"

    during_migrate = pgbench(st, "migrate", 30)
    t = time.monotonic()
    run = st.start_playbook("pgferry.migrate.migrate")
    assert run.wait(400) == 0, run.output[-5000:]
    # Both sides' tasks run on the controller: the archive went agent to agent, no file and nothing inline.
    flat = " ".join(run.output.split())
    assert "table(s), sent to the target agent" in flat and "Fetch the archive" not in flat, flat[-4000:]
    timing(request, "migrate (privileges moved, shop_rw writing through PgBouncer)", time.monotonic() - t)
    for verifier in re.findall(r"SCRAM-SHA-256\$\S+", st.psql("source", "SELECT string_agg(rolpassword, ' ') "
                                                                  "FROM pg_authid WHERE rolname LIKE 'shop%'")[0][0]):
        assert verifier not in run.output, "a password verifier in the playbook's output"
    assert_no_failed(st, during_migrate, "migrate")

    # A target agent that cannot reach the source over the subscription's connection (here a port nothing listens
    # on): the source agent's answer is carried instead, and the privileges are found equal.
    run = st.start_playbook("pgferry.migrate.migrate", "--tags", "privileges", "-e", "pgferry_subscription_port=1")
    assert run.wait(300) == 0, run.output[-5000:]
    flat = " ".join(run.output.split())
    assert re.search(r"Privileges read on the source, the target agent could not reach it - database app\] \**\s*ok:",
                     run.output), flat[-4000:]
    assert re.search(r"Privileges on the target, made the source's as its agent read them\] \**\s*ok:", run.output), \
        run.output[-4000:]

    during_cutover = pgbench(st, "cutover", 40)
    time.sleep(2)
    assert during_cutover.poll() is None, "pgbench writes while the cutover starts"
    t = time.monotonic()
    run = st.start_playbook("pgferry.migrate.cutover")
    assert run.wait(300) == 0, run.output[-5000:]
    timing(request, "cutover (verify compared privileges too)", time.monotonic() - t)
    check_what_each_role_may_do(st, target_port)
    assert_no_failed(st, during_cutover, "cutover")

    source = [r[0] for r in st.psql("source", CATALOG)]
    target = [r[0] for r in st.psql("target", CATALOG)]
    assert len(source) > 50
    assert source == target, {"lacking": sorted(set(source) - set(target)), "extra": sorted(set(target) - set(source))}
