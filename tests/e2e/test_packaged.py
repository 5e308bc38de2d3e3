"""The collection as users install it: built tarball, a clean directory, an inventory and a vault - and as AWX runs it.

1. `ansible-galaxy collection build` of ansible/, installed into an empty directory that then holds only that
   collection, an ansible.cfg, an inventory and an ansible-vault file (agent token, replication password, PgBouncer
   admin password and entries). From there, with no variable or path of this repository in the environment:
   `ansible-playbook pgferry.migrate.preflight`, `.migrate`, `.cutover`, `.cleanup` move database app of a real stack
   (PostgreSQL 16 -> 18, PgBouncer in front) and `ansible-doc -t role -l pgferry.migrate` lists the roles.
2. The same collection driven the way AWX drives a job: ansible-runner with a private data directory (inventory,
   env/extravars, env/envvars), the secrets injected exactly as the `pgferry` credential type's injectors
   (ansible/extensions/awx/credential_types.yml) render them - tokens as pgferry_agent_tokens, passwords as
   environment variables - moving a second database, app2, through preflight, migrate, cutover (no switch) and cleanup.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jinja2
import pytest
import yaml

from conftest import REPO, Stack
from stacklib import VENV_BIN
from test_cutover import cut_stack  # noqa: F401  (fixture: 16 -> 18 stack, basic.sql, PgBouncer)

pytestmark = pytest.mark.usefixtures("cut_stack")


def clean_env(home: Path) -> dict[str, str]:
    """An environment with nothing of this repository in it: no ANSIBLE_*, no PGFERRY_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANSIBLE_", "PGFERRY_", "MOLECULE_"))}
    env.update(PATH=f"{VENV_BIN}:/usr/bin:/bin", HOME=str(home), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(home / "ansible-tmp"), ANSIBLE_REMOTE_TEMP=str(home / "ansible-tmp"))
    return env


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 420) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def installed_collection(tmp: Path, env: dict[str, str]) -> Path:
    """The tarball built from ansible/, installed under tmp/job/collections; returns the job directory."""
    built = run([str(VENV_BIN / "ansible-galaxy"), "collection", "build", str(REPO / "ansible"), "--output-path",
                 str(tmp / "dist")], tmp, env)
    assert built.returncode == 0, built.stdout + built.stderr
    tarball = next((tmp / "dist").glob("pgferry-migrate-*.tar.gz"))
    job = tmp / "job"
    job.mkdir()
    (job / "ansible.cfg").write_text("[defaults]\ncollections_path = collections\ninventory = inventory\n"
                                     "interpreter_python = auto_silent\n")
    inst = run([str(VENV_BIN / "ansible-galaxy"), "collection", "install", str(tarball), "-p", "collections"], job, env)
    assert inst.returncode == 0, inst.stdout + inst.stderr
    assert (job / "collections" / "ansible_collections" / "pgferry" / "migrate" / "roles" / "migrate").is_dir()
    return job


def hosts(st: Stack) -> dict:
    """Source and target hosts of the stack, each with its agent's URL (no token: that comes from the vault)."""
    return {"all": {"vars": {"ansible_connection": "local", "ansible_python_interpreter": str(VENV_BIN / "python")},
                    "hosts": {"localhost": None},
                    "children": {"pgferry_source": {"hosts": {"source": {"pgferry_agent_url": st.info["source"]["agent_url"]}}},
                                 "pgferry_target": {"hosts": {"target": {"pgferry_agent_url": st.info["target"]["agent_url"]}}}}}}


def migration_vars(st: Stack, db: str) -> dict:
    return {"pgferry_migration_id": db, "pgferry_source_host": "source", "pgferry_target_host": "target",
            "pgferry_source_database": db, "pgferry_target_database": db, "pgferry_exclude_schemas": ["excluded"],
            "pgferry_subscription_host": "127.0.0.1", "pgferry_subscription_port": st.info["source"]["pg_port"],
            "pgferry_subscription_sslmode": "disable", "pgferry_reverse_subscription_host": "127.0.0.1",
            "pgferry_reverse_subscription_port": st.info["target"]["pg_port"],
            "pgferry_reverse_subscription_sslmode": "disable", "pgferry_job_poll_interval": 0.5,
            "pgferry_sync_poll_interval": 1}


def secret(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_installed_tarball_runs_from_a_clean_directory_and_through_ansible_runner(cut_stack: Stack, tmp_path: Path):
    st = cut_stack
    env = clean_env(tmp_path)
    token = Path(st.info["token_file"]).read_text().strip()
    repl_password = Path(st.info["replication_password_file"]).read_text().strip()
    bouncer = st.bouncer
    job = installed_collection(tmp_path, env)

    # --- 1. ansible-playbook from the clean directory: an inventory and a vault, nothing else.
    inv = job / "inventory"
    (inv / "group_vars" / "all").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts(st)))
    (inv / "group_vars" / "all" / "migration.yml").write_text(yaml.safe_dump({
        **migration_vars(st, "app"), "pgferry_cutover_switch": "pgbouncer", "pgferry_pgbouncer_host": "localhost",
        "pgferry_pgbouncer_ini": bouncer["ini"], "pgferry_pgbouncer_database": "app",
        "pgferry_pgbouncer_admin_host": "127.0.0.1", "pgferry_pgbouncer_admin_port": bouncer["port"],
        "pgferry_pgbouncer_admin_user": bouncer["admin_user"],
        "pgferry_pgbouncer_psql": str(Path(st.info["source"]["bin_dir"]) / "psql")}))
    vault = inv / "group_vars" / "all" / "vault.yml"
    vault.write_text(yaml.safe_dump({
        "pgferry_agent_token": token, "pgferry_replication_password": repl_password,
        "pgferry_pgbouncer_admin_password": Path(bouncer["admin_password_file"]).read_text().strip(),
        "pgferry_pgbouncer_source_entry": Path(bouncer["source_entry_file"]).read_text().strip(),
        "pgferry_pgbouncer_target_entry": Path(bouncer["target_entry_file"]).read_text().strip()}))
    vault_pass = secret(job / "vault-password", "not-a-real-secret-only-for-this-test\n")
    enc = run([str(VENV_BIN / "ansible-vault"), "encrypt", str(vault), "--vault-password-file", str(vault_pass)], job,
              env)
    assert enc.returncode == 0 and vault.read_text().startswith("$ANSIBLE_VAULT;"), enc.stderr

    roles = run([str(VENV_BIN / "ansible-doc"), "-t", "role", "-l", "pgferry.migrate"], job, env)
    assert roles.returncode == 0, roles.stderr
    for role in ("pgferry.migrate.agent", "pgferry.migrate.migrate", "pgferry.migrate.cutover"):
        assert role in roles.stdout, roles.stdout

    for playbook in ("preflight", "migrate", "cutover", "cleanup"):
        done = run([str(VENV_BIN / "ansible-playbook"), f"pgferry.migrate.{playbook}", "--vault-password-file",
                    str(vault_pass)], job, env)
        assert done.returncode == 0, f"{playbook}:\n{done.stdout[-4000:]}{done.stderr[-2000:]}"
        for s in (token, repl_password):
            assert s not in done.stdout + done.stderr, f"a secret in the output of {playbook}"
        if playbook == "cutover":
            assert "tables equal" in done.stdout, done.stdout[-3000:]
    assert st.scalar("target", "SELECT count(*) FROM included.customers") == \
        st.scalar("source", "SELECT count(*) FROM included.customers")

    # --- 2. The way AWX runs a job: ansible-runner, a private data dir, the credential type's injectors.
    st.psql("source", "CREATE DATABASE app2", db="postgres")
    st.psql("source", (REPO / "fixtures" / "basic.sql").read_text(), db="app2")
    types = yaml.safe_load((REPO / "ansible" / "extensions" / "awx" / "credential_types.yml").read_text())
    ctype = next(t for t in types["credential_types"] if t["name"] == "pgferry")
    inputs = {"agent_tokens": f"default: {token}\n", "replication_password": repl_password,
              "pgbouncer_admin_password": ""}
    render = lambda value: jinja2.Template(value).render(**inputs)  # what AWX does with an injector's template
    injected_vars = {k: render(v) for k, v in ctype["injectors"]["extra_vars"].items()}
    injected_env = {k: render(v) for k, v in ctype["injectors"]["env"].items()}

    pdd = tmp_path / "awx-job"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    (pdd / "env").mkdir()
    (pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(hosts(st)))
    secret(pdd / "env" / "extravars", yaml.safe_dump({**migration_vars(st, "app2"), "pgferry_cutover_switch": "none",
                                                      **injected_vars}))
    # In an execution environment the collection is installed in the image; here it is the tarball's install.
    secret(pdd / "env" / "envvars", yaml.safe_dump({**injected_env, "ANSIBLE_COLLECTIONS_PATH": str(job / "collections"),
                                                    "ANSIBLE_NOCOLOR": "1"}))
    for playbook in ("preflight", "migrate", "cutover", "cleanup"):
        ident = f"{playbook}-app2"
        done = run([str(VENV_BIN / "ansible-runner"), "run", str(pdd), "-p", f"pgferry.migrate.{playbook}",
                    "--ident", ident], tmp_path, env)
        artifacts = pdd / "artifacts" / ident
        stdout = (artifacts / "stdout").read_text(errors="replace") if (artifacts / "stdout").exists() else ""
        status = (artifacts / "status").read_text().strip() if (artifacts / "status").exists() else "?"
        assert done.returncode == 0 and status == "successful", \
            f"ansible-runner {playbook}: rc={done.returncode} status={status}\n{stdout[-4000:]}{done.stderr[-2000:]}"
        for s in (token, repl_password):
            assert s not in stdout, f"a secret in the job output of {playbook}"
        events = [json.loads(p.read_text()) for p in (artifacts / "job_events").glob("*.json")]
        assert any(e.get("event") == "playbook_on_stats" for e in events), "no job events, as AWX would read them"
    assert st.scalar("target", "SELECT count(*) FROM included.customers", db="app2") == \
        st.scalar("source", "SELECT count(*) FROM included.customers", db="app2")
    assert st.scalar("source", "SELECT count(*) FROM pg_replication_slots") == "0"
    shutil.rmtree(pdd / "artifacts", ignore_errors=True)
