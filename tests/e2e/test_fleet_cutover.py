"""Cutover of one group of a fleet (pgferry.migrate.fleet_cutover, inventories/fleet-local): five databases on two
source clusters stream onto one shared target (pgferry.migrate.fleet); a group or an id that matches no migration
is refused with nothing changed; a check run of another group changes nothing; the cutover of group wave1 cuts over
exactly its three migrations (from both source clusters: sources fenced, slots and subscriptions gone, data equal,
writes made just before included) and leaves the other two streaming; a rerun changes nothing. Then two more in one
run, one of which fails (its old source cannot reach the target for the reverse stream): it alone is put back and
reported failed with its step and error, the other is cut over.

One migration of wave1, database app of the first source cluster, has a PgBouncer in front (tools/pgbouncer, its
own entries and admin console in the fleet entry's vars): after the cutover a client through it reaches the shared
target. The others cut over with pgferry_cutover_switch none (the fleet-local inventory's default).
"""
from __future__ import annotations

import json
import subprocess

import pytest

import fleetlib
from fleetlib import Fleet, recaps, report
from stacklib import REPO, timing
from test_fleet import fleet  # noqa: F401  (the two-stack fixture)

GROUPS = {"m0": "wave1", "m1": "wave2", "m3": "wave1", "m4": "wave1"}  # m2 has none; wave1 spans both sources
WAVE1 = ["m0", "m3", "m4"]


def bouncer(fl: Fleet, cmd: str) -> dict:
    """tools/pgbouncer in front of stack a's source (database app), without the stack's marker in its environment
    (PgBouncer is not a playbook's process)."""
    env = {k: v for k, v in fl.a.env().items() if k != "PGFERRY_STACK_DIR"}
    out = subprocess.run([str(REPO / "tools" / "pgbouncer"), cmd, "--name", fl.a.name], check=True,
                         capture_output=True, text=True, env=env, timeout=120)
    return json.loads(out.stdout)


def through_bouncer(fl: Fleet, b: dict, sql: str) -> str:
    """One value of sql run through the PgBouncer, as a client does (its pgpass holds the password)."""
    psql = str(fl.a.info["source"]["bin_dir"]) + "/psql"
    r = subprocess.run([psql, "-XAtq", "-v", "ON_ERROR_STOP=1", "-h", b["host"], "-p", str(b["port"]), "-U", "postgres",
                        "-d", "app", "-c", sql], capture_output=True, text=True, timeout=60,
                       env={"PGPASSFILE": b["pgpass_file"], "PGCONNECT_TIMEOUT": "5", "PATH": "/usr/bin:/bin"})
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def with_bouncer(entry: dict, b: dict, psql: str) -> dict:
    """The fleet entry of database app: its PgBouncer settings in its vars, secrets read from their 0600 files."""
    def file(path: str) -> str:
        return "{{ lookup('ansible.builtin.file', '%s') }}" % path
    return dict(entry, database="app", pgbouncer_database="app", vars=dict(
        entry["vars"], pgferry_cutover_switch="pgbouncer", pgferry_pgbouncer_host="localhost",
        pgferry_pgbouncer_ini=b["ini"], pgferry_pgbouncer_admin_host="127.0.0.1",
        pgferry_pgbouncer_admin_port=b["port"], pgferry_pgbouncer_admin_user=b["admin_user"],
        pgferry_pgbouncer_admin_password=file(b["admin_password_file"]), pgferry_pgbouncer_psql=psql,
        pgferry_pgbouncer_source_entry=file(b["source_entry_file"]),
        pgferry_pgbouncer_target_entry=file(b["target_entry_file"])))


def fenced(fl: Fleet, m: dict) -> bool:
    stack, side = fl.side(m["source"])
    return stack.scalar(side, "SELECT count(*) FROM pg_db_role_setting WHERE setrole = 0 AND setdatabase = "
                              f"(SELECT oid FROM pg_database WHERE datname = '{m['database']}') "
                              "AND 'default_transaction_read_only=on' = ANY (setconfig)", db="postgres") == "1"


def stream(fl: Fleet, m: dict) -> tuple[str, str]:
    """(the source's slot pgferry_<id>, the target's subscription pgferry_<id> and whether it is enabled)."""
    stack, side = fl.side(m["source"])
    slot = stack.scalar(side, f"SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgferry_{m['id']}'",
                        db="postgres")
    sub = fl.a.scalar("target", "SELECT coalesce(string_agg(subenabled::text, ','), '-') FROM pg_subscription "
                                f"WHERE subname = 'pgferry_{m['id']}'", db="postgres")
    return slot, sub


def write(fl: Fleet, m: dict, n: int) -> None:
    """n rows more in the migration's items table, on the source."""
    stack, side = fl.side(m["source"])
    items = [t for t in fl.checksums(m["source"], m["database"]) if t.endswith(".items")]
    assert len(items) == 1, items
    stack.psql(side, f"INSERT INTO {items[0]} (name, qty) SELECT 'late ' || g, g FROM generate_series(1, {n}) g",
               db=m["database"])


def states(fl: Fleet, entries: list[dict]) -> dict[str, tuple]:
    return {m["id"]: (fenced(fl, m), *stream(fl, m)) for m in entries}


STREAMING = (False, "1", "true")
CUT_OVER = (True, "0", "-")


def test_one_group_is_cut_over_the_others_stream_on(fleet: Fleet, request: pytest.FixtureRequest):  # noqa: F811
    entries = [dict(m, group=GROUPS[m["id"]]) if m["id"] in GROUPS else m for m in fleetlib.migrations(5)]
    entries[4] = dict(entries[4], database="app", pgbouncer_database="app")
    entries[4].pop("target_database", None)
    fleet.load(entries)
    b = bouncer(fleet, "up")
    try:
        _cut_over_wave1(fleet, request, entries, b)
    finally:
        bouncer(fleet, "down")


def _cut_over_wave1(fleet: Fleet, request: pytest.FixtureRequest, entries: list[dict], b: dict) -> None:
    entries[4] = with_bouncer(entries[4], b, str(fleet.a.info["source"]["bin_dir"]) + "/psql")
    extra = fleet.write_vars(entries)
    source_port, target_port = str(fleet.a.info["source"]["pg_port"]), str(fleet.a.info["target"]["pg_port"])
    assert through_bouncer(fleet, b, "SELECT inet_server_port()") == source_port
    rc, out, seconds = fleet.playbook("pgferry.migrate.fleet", "-e", f"@{extra}", "--forks", "7")
    timing(request, "fleet of 5 to streaming", seconds)
    assert rc == 0, out[-6000:]
    assert states(fleet, entries) == {m["id"]: STREAMING for m in entries}

    # Refused before anything runs: a group or an id that matches nothing, or no selection at all.
    for args, expected in ((["-e", "pgferry_fleet_cutover_group=wave9"],
                            "group 'wave9' matches no migration of pgferry_fleet (its groups: wave1, wave2)"),
                           (["-e", "pgferry_fleet_cutover_ids=m0,m7"], "migration id 'm7' is not in pgferry_fleet"),
                           ([], "Say which migrations to cut over")):
        rc, out, _ = fleet.playbook("pgferry.migrate.fleet_cutover", "-e", f"@{extra}", *args, log="refused")
        assert rc != 0, args
        assert expected in out, f"{args}: {out[-3000:]}"
        assert "nothing was cut over or changed" in out.lower(), out[-3000:]
        assert "PLAY [Cut over every selected migration]" not in out, "the cutover play started"
    assert states(fleet, entries) == {m["id"]: STREAMING for m in entries}

    # A check run of group wave2 changes nothing.
    rc, out, _ = fleet.playbook("pgferry.migrate.fleet_cutover", "-e", f"@{extra}", "-e",
                                "pgferry_fleet_cutover_group=wave2", "--check", log="check")
    assert rc == 0, out[-6000:]
    assert states(fleet, entries) == {m["id"]: STREAMING for m in entries}

    # Rows written just before the cutover, on every source: wave1 must carry them over, the others stream them.
    for m in entries:
        write(fleet, m, 50)
    rc, out, seconds = fleet.playbook("pgferry.migrate.fleet_cutover", "-e", f"@{extra}", "-e",
                                      "pgferry_fleet_cutover_group=wave1", "--forks", "7", log="cutover")
    timing(request, "cutover of wave1 (3 migrations, one behind PgBouncer)", seconds)
    assert rc == 0, out[-8000:]
    assert states(fleet, entries) == {m["id"]: CUT_OVER if m["id"] in WAVE1 else STREAMING for m in entries}
    assert fleet.differences(entries) == []
    rows = {r["id"]: r for r in report(fleet.dir)["migrations"]}
    assert {i: r["outcome"] for i, r in rows.items()} == {"m0": "cut over", "m1": "streaming", "m2": "streaming",
                                                          "m3": "cut over", "m4": "cut over"}, rows
    # m4's clients, through its PgBouncer entry, now reach the shared target, and can write there.
    assert through_bouncer(fleet, b, "SELECT inet_server_port()") == target_port
    assert through_bouncer(fleet, b, "SELECT current_setting('default_transaction_read_only')") == "off"
    # Only wave1's hosts ran the cutover role (the report's play then reads every migration).
    play = out[out.index("PLAY [Cut over every selected migration]"):out.index("PLAY [Read both sides")]
    assert all(f"[pgferry_fleet_{i}" in play for i in WAVE1), play[-3000:]
    assert "pgferry_fleet_m1" not in play and "pgferry_fleet_m2" not in play, play[-3000:]

    # The others still stream: a write on their sources arrives on the target; wave1's sources refuse writes.
    for m in entries:
        if m["id"] not in WAVE1:
            write(fleet, m, 7)
    assert fleet.differences(entries) == []
    stack, side = fleet.side("src1")
    refused = stack.psql(side, "INSERT INTO s0.items (name, qty) VALUES ('after', 1) RETURNING id",
                         db=entries[0]["database"], check=False)
    assert refused == [], f"the fenced source took a write: {refused}"
    assert fleet.differences([entries[0]]) == []  # the refused row is on neither side

    # A rerun changes nothing.
    rc, out, _ = fleet.playbook("pgferry.migrate.fleet_cutover", "-e", f"@{extra}", "-e",
                                "pgferry_fleet_cutover_group=wave1", "--forks", "7", log="rerun")
    assert rc == 0, out[-6000:]
    changed = {h: r["changed"] for h, r in recaps(out).items() if r.get("changed")}
    assert changed == {}, f"a rerun changed something: {changed}"
    assert out.count("already done earlier") == len(WAVE1), out[-6000:]
    assert through_bouncer(fleet, b, "SELECT inet_server_port()") == target_port
    assert states(fleet, entries) == {m["id"]: CUT_OVER if m["id"] in WAVE1 else STREAMING for m in entries}

    # A failing cutover stops only its own migration: m1's old source cannot reach the target for the reverse
    # stream (port 1). m1 is put back - its source unfenced, its stream in place - and reported failed with its
    # step and error; m2, cut over in the same run, is not held back; the run fails naming m1.
    bad = [dict(m, vars=dict(m["vars"], pgferry_reverse_subscription_port=1)) if m["id"] == "m1" else m
           for m in entries]
    extra_bad = fleet.write_vars(bad, name="fleet-vars-m1-unreachable.yml")
    rc, out, seconds = fleet.playbook("pgferry.migrate.fleet_cutover", "-e", f"@{extra_bad}", "-e",
                                      "pgferry_fleet_cutover_ids=m1,m2", "--forks", "7", log="one-fails")
    timing(request, "cutover of m1 (fails) and m2", seconds)
    assert rc != 0, out[-6000:]
    assert "1 of 5 migrations failed: m1;" in out, out[-6000:]
    rows = {r["id"]: r for r in report(fleet.dir)["migrations"]}
    assert rows["m1"]["outcome"] == "failed" and rows["m1"]["failed_step"], rows["m1"]
    assert "cutover failed at" in rows["m1"]["error"] and "Clients are back on the source" in rows["m1"]["error"], \
        rows["m1"]
    assert rows["m2"]["outcome"] == "cut over", rows["m2"]
    # wave1, cut over by the run before, is reported so (its lifecycle phase), not as in progress.
    assert {i: (rows[i]["outcome"], rows[i]["phase"]) for i in WAVE1} == {
        i: ("cut over", "cut_over") for i in WAVE1}, rows
    assert states(fleet, entries) == {m["id"]: STREAMING if m["id"] == "m1" else CUT_OVER for m in entries}
    write(fleet, entries[1], 3)  # m1 still streams
    assert fleet.differences(entries) == []
