# -*- coding: utf-8 -*-
"""The switch's PgBouncer helpers: the ini entry edit, entry addresses, and the admin console's failure modes that
need no PgBouncer (a psql that hangs, a psql that is missing). The admin commands themselves run against a real
PgBouncer in tests/e2e/test_cutover.py."""

from __future__ import annotations

import os
import stat
import time

import pytest

from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import (
    PgBouncer,
    PgBouncerError,
    entry_address,
    point_entry,
    quote_name,
)

INI = """;; comment
[databases]
other = host=10.0.0.9 dbname=other
app = host=10.0.0.11 port=5432 dbname=app

[pgbouncer]
listen_port = 6432
app = not a database key
"""


def options(tmp_path, **kw):
    o = dict(database='app', ini=str(tmp_path / 'pgbouncer.ini'), source_entry='host=10.0.0.11 port=5432 dbname=app',
             target_entry='host=10.0.0.12 port=6000 dbname=app', admin_host='127.0.0.1', admin_port=1,
             admin_user='admin', admin_password='s3cret-admin', psql='psql', connect_timeout=1, pause_timeout=1)
    o.update(kw)
    return o


def test_point_entry_replaces_only_the_databases_line():
    text, changed = point_entry(INI, 'app', 'host=10.0.0.12 port=6000 dbname=app')
    assert changed
    assert 'app = host=10.0.0.12 port=6000 dbname=app\n' in text
    assert 'app = not a database key' in text  # the [pgbouncer] section is not touched
    assert text.count('\n') == INI.count('\n')
    assert point_entry(text, 'app', 'host=10.0.0.12 port=6000 dbname=app') == (text, False)


def test_point_entry_adds_a_missing_line_after_the_header():
    text, changed = point_entry(INI, 'shop', 'host=h dbname=shop')
    assert changed
    assert text.splitlines()[2] == 'shop = host=h dbname=shop'


def test_point_entry_does_not_take_a_prefix_for_the_name():
    text, changed = point_entry('[databases]\napp2 = host=x\n', 'app', 'host=y')
    assert changed and 'app2 = host=x' in text and 'app = host=y' in text


def test_point_entry_without_databases_section_names_the_fix():
    with pytest.raises(PgBouncerError, match=r'no \[databases\] section'):
        point_entry('[pgbouncer]\nlisten_port = 6432\n', 'app', 'host=y')


def test_entry_address():
    assert entry_address('host=10.0.0.12 port=6000 dbname=app') == ('10.0.0.12', 6000)
    assert entry_address("dbname=app host='db 1'") == ('db 1', 5432)


def test_quote_name():
    assert quote_name('app') == '"app"'
    assert quote_name('we"ird') == '"we""ird"'


def test_point_writes_atomically_and_keeps_the_mode(tmp_path):
    ini = tmp_path / 'pgbouncer.ini'
    ini.write_text(INI)
    ini.chmod(0o640)
    b = PgBouncer(options(tmp_path))
    assert b.point('target', check=True) is True
    assert ini.read_text() == INI  # check mode writes nothing
    assert b.point('target') is True
    assert 'app = host=10.0.0.12 port=6000 dbname=app' in ini.read_text()
    assert stat.S_IMODE(os.stat(ini).st_mode) == 0o640
    assert b.point('target') is False
    assert [p.name for p in tmp_path.iterdir()] == ['pgbouncer.ini']  # no temporary file left


def test_point_follows_a_symlink(tmp_path):
    real = tmp_path / 'real.ini'
    real.write_text(INI)
    link = tmp_path / 'pgbouncer.ini'
    link.symlink_to(real)
    PgBouncer(options(tmp_path)).point('target')
    assert link.is_symlink() and 'port=6000' in real.read_text()


def test_unreadable_ini_is_a_clear_error(tmp_path):
    with pytest.raises(PgBouncerError, match='cannot read PgBouncer ini'):
        PgBouncer(options(tmp_path, ini=str(tmp_path / 'missing.ini'))).point('source')


def test_a_hung_admin_console_times_out_and_the_password_stays_out_of_argv(tmp_path):
    seen = tmp_path / 'argv'
    psql = tmp_path / 'psql'
    psql.write_text('#!/bin/sh\necho "$@" > %s\nexec sleep 30\n' % seen)
    psql.chmod(0o755)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    t = time.monotonic()
    with pytest.raises(PgBouncerError, match='got no answer within') as e:
        b.admin('RELOAD', timeout=1)
    assert time.monotonic() - t < 10
    assert 's3cret-admin' not in seen.read_text() and 's3cret-admin' not in str(e.value)


def test_a_failing_pause_is_taken_back(tmp_path):
    log = tmp_path / 'log'
    psql = tmp_path / 'psql'
    # PAUSE hangs (a long transaction through PgBouncer); RESUME answers.
    psql.write_text('#!/bin/sh\nfor a; do last="$a"; done\necho "$last" >> %s\n'
                    'case "$last" in PAUSE*) exec sleep 30;; esac\necho RESUME\n' % log)
    psql.chmod(0o755)
    with pytest.raises(PgBouncerError, match='PAUSE was taken back'):
        PgBouncer(options(tmp_path, psql=str(psql))).pause()
    assert log.read_text().splitlines() == ['PAUSE "app"', 'RESUME "app"']


def test_a_missing_psql_names_the_option(tmp_path):
    with pytest.raises(PgBouncerError, match='pgbouncer.psql'):
        PgBouncer(options(tmp_path, psql=str(tmp_path / 'nope'))).admin('SHOW DATABASES', rows=True)
