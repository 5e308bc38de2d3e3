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
    PauseTimedOut,
    PgBouncer,
    PgBouncerError,
    entry_address,
    entry_pool_mode,
    parse_version,
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
             admin_user='admin', admin_password='s3cret-admin', psql='psql', connect_timeout=1, pause_timeout=1,
             session_pooling='disconnect', long_transaction=1.0, transaction_wait=30.0)
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


def test_a_failing_pause_is_taken_back_and_what_held_it_is_named(tmp_path):
    log = tmp_path / 'log'
    psql = tmp_path / 'psql'
    # PAUSE hangs (a long transaction through PgBouncer); the SHOWs after it see one busy server; RESUME answers.
    psql.write_text('#!/bin/sh\nfor a; do last="$a"; done\necho "$last" >> %s\n'
                    'case "$last" in PAUSE*) exec sleep 30;; "SHOW SERVERS") printf "\\n-- pgferry: next result --\\n'
                    'database\\037state\\037remote_pid\\napp\\037active\\0374242\\n"; exit 0;; esac\n'
                    'echo RESUME\n' % log)
    psql.chmod(0o755)
    with pytest.raises(PauseTimedOut, match='PAUSE was taken back|taken back') as e:
        PgBouncer(options(tmp_path, psql=str(psql))).pause()
    assert 'a transaction through PgBouncer ran longer than pause_timeout' in str(e.value)
    assert 'PostgreSQL pid 4242' in str(e.value)
    assert log.read_text().splitlines() == ['PAUSE "app"', 'SHOW SERVERS', 'RESUME "app"']


def test_a_missing_psql_names_the_option(tmp_path):
    with pytest.raises(PgBouncerError, match='pgbouncer.psql'):
        PgBouncer(options(tmp_path, psql=str(tmp_path / 'nope'))).admin('SHOW DATABASES', rows=True)


def test_versions_and_entry_pool_modes():
    assert parse_version('PgBouncer 1.18.0') == (1, 18, 0)
    assert parse_version('PgBouncer 1.21') == (1, 21, 0)
    assert parse_version('') is None
    assert entry_pool_mode('host=h dbname=app pool_mode=transaction') == 'transaction'
    assert entry_pool_mode('host=h dbname=app') is None


def fake_console(answers):
    """A run() standing in for psql: prints, for each -c of the call, the rows given for that command."""
    import subprocess

    def run(argv, **kwargs):
        out = []
        for i, arg in enumerate(argv):
            if argv[i - 1] != '-c':
                continue
            if arg.startswith('\\echo '):
                out.append(arg[len('\\echo '):])
                continue
            rows = answers[arg]
            if rows:
                out.append('\x1f'.join(rows[0].keys()))
                out.extend('\x1f'.join(str(v) for v in r.values()) for r in rows)
        return subprocess.CompletedProcess(argv, 0, '\n'.join(out) + '\n', '')
    return run


def console(global_mode='session', entry_mode='', pool_mode=None, clients=4, users=()):
    return {
        'SHOW VERSION': [dict(version='PgBouncer 1.18.0')],
        'SHOW DATABASES': [dict(name='app', host='127.0.0.1', port='5432', pool_mode=entry_mode, paused='0')],
        'SHOW CONFIG': [dict(key='pool_mode', value=global_mode, default='session', changeable='yes')],
        'SHOW USERS': [dict(name=u, pool_mode=m) for u, m in users],
        'SHOW POOLS': [dict(database='app', user='postgres', cl_active=str(clients), cl_waiting='0',
                            pool_mode=pool_mode or entry_mode or global_mode)] if clients else [],
        'SHOW SERVERS': [dict(database='app', state='active', remote_pid=str(100 + i)) for i in range(clients)],
    }


def test_session_pooling_with_clients_takes_the_disconnect_path_and_says_so(tmp_path):
    b = PgBouncer(options(tmp_path), run=fake_console(console()))
    info = b.info()
    assert (info['version'], info['pool_mode'], info['pool_mode_from']) == ('1.18.0', 'session', 'the global pool_mode')
    assert info['session_clients'] == 4 and info['server_pids'] == [100, 101, 102, 103]
    assert PgBouncer.session_path(info)
    plan = b.plan(info)
    assert 'each connected client gets ONE error' in plan and '57P01' in plan and 'pool_mode=transaction' in plan
    b.refuse_session(info)  # disconnect (the default) goes ahead
    with pytest.raises(PgBouncerError, match='not cutting over, nothing was changed'):
        PgBouncer(options(tmp_path, session_pooling='refuse'), run=fake_console(console())).refuse_session(info)


def test_the_database_entry_beats_the_global_mode(tmp_path):
    b = PgBouncer(options(tmp_path), run=fake_console(console(global_mode='session', entry_mode='transaction')))
    info = b.info()
    assert info['pool_mode'] == 'transaction' and info['pool_mode_from'] == "the database's entry"
    assert not PgBouncer.session_path(info)
    assert 'see no error' in b.plan(info)


def test_session_pooling_without_clients_pauses_like_transaction_pooling(tmp_path):
    b = PgBouncer(options(tmp_path), run=fake_console(console(clients=0)))
    info = b.info()
    assert not PgBouncer.session_path(info)
    assert 'session pooling' in b.plan(info)  # still said: clients that connect before the cutover get the error


def test_a_users_session_override_is_seen(tmp_path):
    b = PgBouncer(options(tmp_path), run=fake_console(console(global_mode='transaction', pool_mode='session',
                                                              users=[('postgres', 'session')])))
    info = b.info()
    assert info['pool_mode'] == 'transaction' and info['pool_modes_in_use'] == ['session']
    assert PgBouncer.session_path(info)
    assert '[users] entries set session' in b.plan(info)


def test_a_database_pgbouncer_lacks_is_named(tmp_path):
    answers = console()
    answers['SHOW DATABASES'] = [dict(name='other', host='h', port='5432', pool_mode='', paused='0')]
    with pytest.raises(PgBouncerError, match='PgBouncer has no database app'):
        PgBouncer(options(tmp_path), run=fake_console(answers)).info()


@pytest.mark.parametrize('stderr, says', [
    ('psql: error: connection to server at "127.0.0.1", port 1 failed: Connection refused', 'nothing listens there'),
    ('psql: error: connection to server at "127.0.0.1", port 1 failed: timeout expired', 'did not answer within 1 s'),
    ('psql: error: FATAL:  password authentication failed for user "admin"', 'refused the login of admin'),
    ('psql: error: FATAL:  admin access needed', 'is not an admin'),
])
def test_admin_failures_name_their_cause(tmp_path, stderr, says):
    import subprocess

    def run(argv, **kwargs):
        return subprocess.CompletedProcess(argv, 2, '', stderr)
    with pytest.raises(PgBouncerError, match=says):
        PgBouncer(options(tmp_path), run=run).admin('SHOW DATABASES', rows=True)


def test_a_pause_not_waited_for_is_seen_in_effect_then_bounded_by_pause_timeout(tmp_path):
    log = tmp_path / 'log'
    psql = tmp_path / 'psql'
    # PAUSE never completes (a busy server connection); SHOW DATABASES already shows the database paused.
    psql.write_text('#!/bin/sh\nfor a; do last="$a"; done\necho "$last" >> %s\n'
                    'case "$last" in PAUSE*) exec sleep 30;;\n'
                    '"SHOW DATABASES") printf "name\\037paused\\napp\\0371\\n";;\n'
                    '"SHOW SERVERS") printf "\\n-- pgferry: next result --\\n'
                    'database\\037state\\037remote_pid\\napp\\037active\\0377\\n";;\nesac\n' % log)
    psql.chmod(0o755)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    t = time.monotonic()
    b.pause_begin(completes_soon=False)
    assert time.monotonic() - t < 5
    with pytest.raises(PauseTimedOut, match='did not complete within pause_timeout=1 s: .*PostgreSQL pid 7'):
        b.pause_end()
    assert b._pausing is None
    b.abort_pause()  # nothing left to stop
    # PAUSE runs in the background: its psql may log after the SHOW DATABASES that follows it.
    assert sorted(log.read_text().splitlines()[:2]) == ['PAUSE "app"', 'SHOW DATABASES']


def _stdin_psql(tmp_path, ahead_exit=0):
    """A psql that logs each call: `-c COMMAND` for a command in argv; `stdin COMMAND` for one read from stdin by a
    psql started without a command (logged in ahead), which then exits with ahead_exit."""
    log = tmp_path / 'log'
    psql = tmp_path / 'psql'
    psql.write_text('#!/bin/sh\nfor a; do last="$a"; done\ncase " $* " in\n'
                    '  *" -c "*) echo "-c $last" >> %s;;\n'
                    '  *) read -r line; echo "stdin $line" >> %s; exit %d;;\nesac\n' % (log, log, ahead_exit))
    psql.chmod(0o755)
    return psql, log


def test_commands_logged_in_ahead_run_through_their_waiting_psql_once(tmp_path):
    psql, log = _stdin_psql(tmp_path)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    b.log_in_ahead('RELOAD', 'RESUME "app"')
    b.reload()
    b.resume()
    b.reload()  # its psql was used: a new one runs it
    assert log.read_text().splitlines() == ['stdin RELOAD;', 'stdin RESUME "app";', '-c RELOAD']
    assert b.commands == ['RELOAD', 'RESUME "app"', 'RELOAD']


def test_a_command_whose_waiting_psql_failed_runs_again_as_usual(tmp_path):
    # Its connection lost while it waited (PgBouncer restarted): the answer of a fresh psql is the one that counts.
    psql, log = _stdin_psql(tmp_path, ahead_exit=2)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    b.log_in_ahead('RELOAD')
    b.reload()
    assert log.read_text().splitlines() == ['stdin RELOAD;', '-c RELOAD']


def test_a_pause_runs_through_its_waiting_psql_and_unused_ones_are_ended(tmp_path):
    psql, log = _stdin_psql(tmp_path)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    b.log_in_ahead('PAUSE "app"', 'RESUME "app"')
    waiting = b._ahead['RESUME "app"']
    b.pause_begin()
    b.pause_end()
    b.discard_ahead()
    assert waiting.returncode is not None and b._ahead == {}
    assert log.read_text().splitlines() == ['stdin PAUSE "app";']


def test_a_waiting_psql_that_gets_no_answer_gives_way_to_a_new_one(tmp_path):
    # PgBouncer hung after the login: the command does not wait out the command timeout on the old connection; a new
    # psql's login finds out within connect_timeout, as without a psql logged in ahead.
    log = tmp_path / 'log'
    psql = tmp_path / 'psql'
    psql.write_text('#!/bin/sh\nfor a; do last="$a"; done\ncase " $* " in\n'
                    '  *" -c "*) echo "-c $last" >> %s;;\n'
                    '  *) read -r line; echo "stdin $line" >> %s; exec sleep 30;;\nesac\n' % (log, log))
    psql.chmod(0o755)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    b.log_in_ahead('RELOAD')
    t = time.monotonic()
    b.reload()
    assert time.monotonic() - t < 5
    assert log.read_text().splitlines() == ['stdin RELOAD;', '-c RELOAD']


def test_a_pause_whose_waiting_psql_failed_is_asked_again_by_a_new_one(tmp_path):
    # PgBouncer ended the idle connection (client_idle_timeout) while the psql waited for its PAUSE.
    psql, log = _stdin_psql(tmp_path, ahead_exit=2)
    b = PgBouncer(options(tmp_path, psql=str(psql)))
    b.log_in_ahead('PAUSE "app"')
    b.pause_begin()
    b.pause_end()
    assert log.read_text().splitlines() == ['stdin PAUSE "app";', '-c PAUSE "app"']
