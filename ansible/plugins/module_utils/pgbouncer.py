# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PgBouncer for the cutover's switch: its admin console (through psql, which every PgBouncer host has for its
operators) and the database's entry in the [databases] section of its ini file.

How the cutover pauses clients depends on the database's pool mode (docs/design.md, "PgBouncer pool modes"). In
transaction and statement pooling PAUSE waits for the running transactions and queues the rest. In session pooling
PAUSE waits for the clients to disconnect, which a pooled application never does: the cutover then issues PAUSE
without waiting for it (new queries and connections queue), and the fence ends the server connections, so each
client connection gets one error and its reconnect, queued, lands on the target once the database is resumed."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import mask_secrets

# A command on a connection already logged in answers in milliseconds; past this, PgBouncer is taken for hung.
AHEAD_ANSWER_SECONDS = 1.0
_SECTION = re.compile(r'^\s*\[([^\]]*)\]\s*$')
_ENTRY_KEYS = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")


def pgbouncer_options():
    """The suboptions of the `pgbouncer` option; documented in the pgferry.migrate.pgbouncer doc fragment."""
    return dict(
        database=dict(type='str', required=True),
        ini=dict(type='path', required=True),
        source_entry=dict(type='str', required=True, no_log=True),
        target_entry=dict(type='str', required=True, no_log=True),
        admin_host=dict(type='str', default='127.0.0.1'),
        admin_port=dict(type='int', default=6432),
        admin_user=dict(type='str', default='pgbouncer'),
        admin_password=dict(type='str', default='', no_log=True),
        psql=dict(type='str', default='psql'),
        connect_timeout=dict(type='int', default=5),
        pause_timeout=dict(type='float', default=1.0),
        session_pooling=dict(type='str', choices=['disconnect', 'refuse'], default='disconnect'),
        long_transaction=dict(type='float', default=1.0),
        transaction_wait=dict(type='float', default=30.0),
    )


def pgbouncer_argument_spec():
    return dict(pgbouncer=dict(type='dict', options=pgbouncer_options()))


class PgBouncerError(Exception):
    """An admin command or the ini file failed; the message says which and why, with no secret in it."""


class PauseTimedOut(PgBouncerError):
    """PAUSE did not complete within pause_timeout and was taken back (RESUME); the message says what held it."""


SESSION = 'session'
# The admin console prints one result after another; psql's \echo of this line separates them.
_RESULT_SEPARATOR = '-- pgferry: next result --'


def parse_version(text):
    """(1, 18, 0) from SHOW VERSION's 'PgBouncer 1.18.0' (older ones answer in a NOTICE; None when unreadable)."""
    m = re.search(r'(\d+)\.(\d+)(?:\.(\d+))?', text or '')
    return tuple(int(g or 0) for g in m.groups()) if m else None


def entry_pool_mode(entry):
    """The pool_mode a [databases] entry sets, or None."""
    keys = dict((k.lower(), v.strip("'")) for k, v in _ENTRY_KEYS.findall(entry or ''))
    return keys.get('pool_mode') or None


def _admin_failure(where, command, detail, user, connect_timeout=None):
    """The admin console's failure as its real cause, with the fix."""
    low = detail.lower()
    if any(s in low for s in ('connection refused', 'no such file or directory')):
        return ('cannot reach the %s (%s): nothing listens there. Start PgBouncer, or set pgbouncer.admin_host and '
                'admin_port (pgferry_pgbouncer_admin_host/_port) to where it listens' % (where, detail))
    if 'could not translate host name' in low:
        return ('cannot reach the %s (%s): fix pgbouncer.admin_host (pgferry_pgbouncer_admin_host)' % (where, detail))
    if any(s in low for s in ('timeout expired', 'network is unreachable', 'no route to host')):
        return ('the %s did not answer%s (%s): PgBouncer is hung or overloaded, or the network drops the packets'
                % (where, ' within %s s' % connect_timeout if connect_timeout else '', detail))
    if 'authentication failed' in low or 'password' in low:
        return ('the %s refused the login of %s (%s); fix pgbouncer.admin_user and admin_password '
                '(pgferry_pgbouncer_admin_user/_password)' % (where, user, detail))
    if 'admin access needed' in low or 'not allowed' in low:
        return ('%s is not an admin of the %s (%s); add it to admin_users in pgbouncer.ini' % (user, where, detail))
    return '%s: %s failed: %s' % (where, command, detail)


def quote_name(name):
    """A database name as PgBouncer's admin console reads it."""
    return '"%s"' % name.replace('"', '""')


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def entry_address(entry):
    """(host, port) of a [databases] entry such as 'host=10.0.0.2 port=5432 dbname=app', as SHOW DATABASES shows
    them; the port is 5432 when not given (the host is None for a Unix socket default)."""
    keys = dict((k.lower(), v.strip("'")) for k, v in _ENTRY_KEYS.findall(entry or ''))
    return keys.get('host'), int(keys.get('port') or 5432)


def point_entry(text, database, entry):
    """The ini text with `database = entry` in its [databases] section, and whether that changed anything.

    Only the database's own line is touched (comments, order and every other line stay as they are); a missing line
    is added right after the section header."""
    lines = text.splitlines(True)
    key = re.compile(r'^\s*%s\s*=' % re.escape(database))
    wanted = '%s = %s\n' % (database, entry)
    section, header = None, None
    for i, line in enumerate(lines):
        m = _SECTION.match(line)
        if m:
            section = m.group(1).strip().lower()
            if section == 'databases' and header is None:
                header = i
            continue
        if section == 'databases' and key.match(line):
            if line.rstrip('\r\n') == wanted.rstrip('\n'):
                return text, False
            lines[i] = wanted
            return ''.join(lines), True
    if header is None:
        raise PgBouncerError('the ini file has no [databases] section; add one with the entry of database %s'
                             % database)
    if not lines[header].endswith('\n'):
        lines[header] += '\n'
    lines.insert(header + 1, wanted)
    return ''.join(lines), True


def _end(proc):
    """Ends a psql that is no longer wanted and reaps it."""
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None and not pipe.closed:
            pipe.close()


class PgBouncer:
    """One PgBouncer database: pause, point, reload, resume. Every admin command runs through psql with the
    password in its environment (never in argv) and a deadline, so a hung PgBouncer cannot hang the cutover."""

    def __init__(self, options, run=subprocess.run, clock=time.monotonic):
        self.o = options
        self.database = options['database']
        self.commands = []  # what was run, for the module's `queries`
        self._run = run
        self._clock = clock
        self._pausing = None  # a PAUSE not waited for (session pooling), see pause_begin
        self._ahead = {}  # command -> a psql logged in for it ahead of time, see log_in_ahead

    def entry(self, side):
        return self.o['%s_entry' % side]

    # ------------------------------------------------------------ admin console

    def _argv(self, commands):
        """psql's argv and environment; without commands psql logs in, then reads them from its stdin."""
        o = self.o
        argv = [o['psql'], '-X', '-q', '-A', '-F', '\x1f', '-P', 'footer=off', '-v', 'ON_ERROR_STOP=1',
                '-h', o['admin_host'], '-p', str(o['admin_port']), '-U', o['admin_user'], '-d', 'pgbouncer']
        for i, command in enumerate(commands):
            if i:
                argv.extend(['-c', '\\echo ' + _RESULT_SEPARATOR])
            argv.extend(['-c', command])
        env = dict(os.environ, PGPASSWORD=o['admin_password'] or '', PGCONNECT_TIMEOUT=str(o['connect_timeout']),
                   PGAPPNAME='pgferry')
        if not o['admin_password']:
            env.pop('PGPASSWORD')
        return argv, env

    @property
    def where(self):
        return 'PgBouncer admin console %s:%s' % (self.o['admin_host'], self.o['admin_port'])

    def admin(self, command, timeout=None, rows=False):
        """Run one admin command; return its rows as dicts (SHOW) or None. Raises PgBouncerError."""
        result = self.admin_many([command], timeout=timeout)
        return result[0] if rows else None

    def admin_many(self, commands, timeout=None):
        """Run admin commands in one psql (one login: a few SHOWs cost one round of process start and auth); return
        the rows of each, as dicts. Raises PgBouncerError naming the cause."""
        o = self.o
        limit = timeout or (o['connect_timeout'] + 10)
        what = commands[0].split()[0] if len(commands) == 1 else ', '.join(commands)
        try:
            done = self._run_ahead(commands, limit)
            if done is None:
                argv, env = self._argv(commands)
                done = self._run(argv, env=env, capture_output=True, text=True, timeout=limit,
                                 stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise PgBouncerError('%s: %s got no answer within %s s: PgBouncer accepts connections but does not answer '
                                 '(hung, stopped, or overloaded)' % (self.where, what, limit))
        except OSError as e:
            raise PgBouncerError('cannot run %s (%s); set pgbouncer.psql to a psql on the PgBouncer host'
                                 % (o['psql'], e.strerror))
        self.commands.extend(c for c in commands if not c.upper().startswith('SHOW'))
        if done.returncode != 0:
            detail = mask_secrets((done.stderr or done.stdout or '').strip(), [o['admin_password']])
            raise PgBouncerError(_admin_failure(self.where, ', '.join(commands), detail or 'exit %d'
                                                % done.returncode, o['admin_user'], o['connect_timeout']))
        results, current = [], []
        for line in done.stdout.split('\n'):  # not splitlines(): it splits on \x1c-\x1e and more
            line = line.rstrip('\r')
            if line == _RESULT_SEPARATOR:
                results.append(current)
                current = []
            elif line:
                current.append(line)
        results.append(current)
        results.extend([] for dummy in range(len(commands) - len(results)))  # a command that printed nothing
        parsed = []
        for lines in results:
            if not lines:
                parsed.append([])
                continue
            names = lines[0].split('\x1f')
            parsed.append([dict(zip(names, line.split('\x1f'))) for line in lines[1:]])
        return parsed

    # ------------------------------------------------------------ logged in ahead, for the pause

    def log_in_ahead(self, *commands):
        """Starts a psql for each command now, logged in and waiting for it on its stdin: inside the cutover's pause
        PAUSE, RELOAD and RESUME then cost their own time, not psql's start and login (about 10 ms each, with clients
        queued). Each is used once; a command without one (or whose psql has ended meanwhile) runs as usual."""
        for command in commands:
            if command in self._ahead:
                continue
            argv, env = self._argv([])
            try:
                self._ahead[command] = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                                        stderr=subprocess.PIPE, text=True)
            except OSError:
                return  # the command's own run says what is wrong

    def _take_ahead(self, command):
        """The psql logged in ahead for the command, given the command and its stdin closed; None when there is none
        or it ended meanwhile (PgBouncer restarted, a login refused): the caller runs the command as usual."""
        proc = self._ahead.pop(command, None)
        if proc is None:
            return None
        if proc.poll() is None:
            try:
                proc.stdin.write(command + ';\n')
                proc.stdin.close()
                return proc
            except (OSError, ValueError):
                pass
        _end(proc)
        return None

    def _run_ahead(self, commands, limit):
        """One command through its psql logged in ahead, as a CompletedProcess; None when it has none. A failure or
        no answer within AHEAD_ANSWER_SECONDS there (its connection lost while it waited, PgBouncer hung) is not
        trusted: the command runs again as usual. Only for commands safe to run twice (RELOAD, RESUME)."""
        if len(commands) != 1:
            return None
        proc = self._take_ahead(commands[0])
        if proc is None:
            return None
        try:
            # RELOAD and RESUME print nothing: the pipes cannot fill while it runs.
            proc.wait(timeout=min(limit, AHEAD_ANSWER_SECONDS))
        except subprocess.TimeoutExpired:
            # PgBouncer hung meanwhile: a new psql's login finds out within connect_timeout, as without this psql.
            _end(proc)
            return None
        out, err = proc.stdout.read(), proc.stderr.read()
        _end(proc)
        if proc.returncode != 0:
            return None
        return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)

    def discard_ahead(self):
        """Ends the psqls logged in ahead and not used (the cutover failed, or did not need them)."""
        ahead, self._ahead = self._ahead, {}
        for proc in ahead.values():
            _end(proc)

    def state(self):
        """The database as PgBouncer runs it now: dict(paused, host, port), or None when it has no such entry."""
        for row in self.admin('SHOW DATABASES', rows=True):
            if row.get('name') == self.database:
                return dict(paused=row.get('paused') == '1', host=row.get('host') or None,
                            port=int(row.get('port') or 0))
        return None

    def pause(self):
        """PAUSE: waits for the transactions running through PgBouncer to end; new ones queue. A PAUSE that does not
        finish within pause_timeout is taken back (RESUME), so clients never stay queued behind a failed cutover: what
        held it (clients of a session-pooled database, a long transaction, or a PgBouncer that does not answer) is
        read before the RESUME and named in the PauseTimedOut raised."""
        try:
            self.admin('PAUSE %s' % quote_name(self.database), timeout=self.o['pause_timeout'])
        except PgBouncerError as e:
            if 'got no answer' not in str(e):
                raise  # refused or failed at once: nothing was paused
            why = self.what_holds_pause()
            try:
                self.resume()
            except PgBouncerError:
                pass
            raise PauseTimedOut('%s: PAUSE %s did not complete within pause_timeout=%s s and was taken back '
                                '(RESUME), nothing else changed: %s'
                                % (self.where, quote_name(self.database), self.o['pause_timeout'], why))

    def what_holds_pause(self):
        """Why a PAUSE of the database is not complete, as a sentence with the fix."""
        try:
            pools, servers = self.admin_many(['SHOW POOLS', 'SHOW SERVERS'])
        except PgBouncerError as e:
            return 'PgBouncer does not answer its admin console either (%s)' % e
        mine = [p for p in pools if p.get('database') == self.database]
        clients = sum(_int(p.get('cl_active')) + _int(p.get('cl_waiting')) for p in mine)
        if any(p.get('pool_mode') == SESSION for p in mine) and clients:
            return ('database %s runs in session pooling with %d client connection(s): PAUSE waits for them to '
                    'disconnect, which a pooled application never does. The cutover handles this itself (it ends the '
                    'server connections at the fence; docs/design.md, "PgBouncer pool modes"); on its own, PAUSE '
                    'cannot complete' % (self.database, clients))
        busy = [r for r in servers if r.get('database') == self.database and r.get('state') == 'active']
        if busy:
            return ('%d server connection(s) of database %s stayed busy (PostgreSQL pid %s): a transaction through '
                    'PgBouncer ran longer than pause_timeout. Let it finish, or end it with SELECT '
                    'pg_terminate_backend(pid) on the server, then retry'
                    % (len(busy), self.database, ', '.join(r.get('remote_pid') or '?' for r in busy)))
        return 'PgBouncer answered, but no client or transaction explains it; look at its log'

    # ------------------------------------------------------------ pool mode

    def info(self):
        """What the cutover needs to know before it touches anything: version, the database's pool mode (configured:
        a [users] entry, else the database's entry, else the global setting; in use: the pools PgBouncer runs now),
        its clients and server connections. Raises PgBouncerError when PgBouncer cannot be asked or has no such
        database."""
        version, databases, config, users, pools, servers = self.admin_many(
            ['SHOW VERSION', 'SHOW DATABASES', 'SHOW CONFIG', 'SHOW USERS', 'SHOW POOLS', 'SHOW SERVERS'])
        row = next((r for r in databases if r.get('name') == self.database), None)
        if row is None:
            raise PgBouncerError('PgBouncer has no database %s; add its entry to the [databases] section of %s (the '
                                 'source entry) and RELOAD, or fix pgbouncer.database (pgferry_pgbouncer_database)'
                                 % (self.database, self.o['ini']))
        settings = dict((r.get('key'), r.get('value')) for r in config)
        global_mode = settings.get('pool_mode') or SESSION  # PgBouncer's own default
        if row.get('pool_mode'):
            mode, source = row['pool_mode'], 'the database\'s entry'
        else:
            mode, source = global_mode, 'the global pool_mode'
        user_modes = dict((u.get('name'), u.get('pool_mode')) for u in users if u.get('pool_mode'))
        mine = [p for p in pools if p.get('database') == self.database]
        in_use = sorted(set(p.get('pool_mode') for p in mine if p.get('pool_mode')))
        clients = sum(_int(p.get('cl_active')) + _int(p.get('cl_waiting')) for p in mine)
        session_clients = sum(_int(p.get('cl_active')) + _int(p.get('cl_waiting')) for p in mine
                              if (p.get('pool_mode') or mode) == SESSION)
        version_text = (version[0].get('version') if version else '') or ''
        after = entry_pool_mode(self.entry('target')) or global_mode
        return dict(
            version=version_text.replace('PgBouncer', '').strip() or None,
            version_tuple=parse_version(version_text),
            database=self.database, pool_mode=mode, pool_mode_from=source, pool_modes_in_use=in_use,
            user_pool_modes=user_modes, pool_mode_after=after, paused=row.get('paused') == '1',
            host=row.get('host') or None, port=_int(row.get('port')), clients=clients, session_clients=session_clients,
            server_pids=[_int(r.get('remote_pid')) for r in servers
                         if r.get('database') == self.database and r.get('remote_pid')],
            max_prepared_statements=_int(settings.get('max_prepared_statements')),
        )

    @staticmethod
    def session_path(info):
        """Whether PAUSE cannot simply be waited for: clients are connected to session-pooled pools of the database.
        Without such clients a PAUSE completes at once, whatever the mode."""
        return info['session_clients'] > 0

    @staticmethod
    def session_configured(info):
        """Whether any pool of the database runs, or would run, session pooling."""
        return SESSION in [info['pool_mode']] + info['pool_modes_in_use'] + list(info['user_pool_modes'].values())

    def plan(self, info):
        """What the cutover will do to clients in this mode, in plain words (the ready check and preflight say it)."""
        head = 'PgBouncer %s, database %s: pool_mode=%s (from %s)' % (
            info['version'] or '(version unknown)', self.database, info['pool_mode'], info['pool_mode_from'])
        others = sorted(set(v for v in info['user_pool_modes'].values() if v != info['pool_mode']))
        if others:
            head += '; [users] entries set %s' % ', '.join(others)
        if not self.session_configured(info):
            return ('%s, %d client connection(s). The cutover PAUSEs the database (running transactions finish, new '
                    'ones queue), switches it to the target and RESUMEs it; clients wait for the pause (about half a '
                    'second) and see no error.' % (head, info['clients']))
        text = ('%s, %d client connection(s) in session pooling now. In session pooling PAUSE waits for clients to disconnect, which a pooled '
                'application never does, so the cutover PAUSEs without waiting (new connections and queries queue) '
                'and the fence ends the database\'s server connections: each connected client gets ONE error - '
                'SQLSTATE 57P01 "terminating connection due to administrator command", a transaction in progress is '
                'rolled back - and its reconnect waits for the switch and runs on the target.'
                % (head, info['session_clients']))
        if self.o['session_pooling'] == 'refuse':
            text += (' pgbouncer.session_pooling=refuse (pgferry_pgbouncer_session_pooling): the cutover refuses to '
                     'do that.')
        text += (' For no error at all, when the application keeps no session state (SET, temporary tables, advisory '
                 'locks, LISTEN, prepared statements - or PgBouncer 1.21+ with max_prepared_statements for protocol-'
                 'level ones), put pool_mode=transaction in the database\'s entry (and in '
                 'pgferry_pgbouncer_source_entry and _target_entry) and RELOAD ahead of the cutover: connected clients '
                 'switch to transaction pooling at their next transaction.')
        return text

    def refuse_session(self, info):
        """Raise when the database needs the session path and pgbouncer.session_pooling says refuse."""
        if self.o['session_pooling'] == 'refuse' and self.session_path(info):
            raise PgBouncerError('not cutting over, nothing was changed: %s' % self.plan(info))

    # ------------------------------------------------------------ session pooling: PAUSE without waiting

    def pause_begin(self, completes_soon=True):
        """PAUSE, not waited for: new queries and connections queue at once, while PAUSE itself completes only once
        no server connection of the database is in use - after the running transactions (transaction pooling), or
        once the fence has ended the server connections (session pooling). Returns when PgBouncer shows the database
        paused (or the PAUSE already completed); the wait for completion is pause_end's, so pause_timeout measures
        only that wait, not psql's start. With completes_soon (no session-pooled clients) the PAUSE is given a moment
        to complete before PgBouncer is asked whether it shows the database paused: that question costs another
        psql, while clients queue. On a failure here the PAUSE is taken back."""
        command = 'PAUSE %s' % quote_name(self.database)
        argv, env = self._argv([command])

        def start():
            try:
                return subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
            except OSError as e:
                raise PgBouncerError('cannot run %s (%s); set pgbouncer.psql to a psql on the PgBouncer host'
                                     % (self.o['psql'], e.strerror))

        self._pausing = self._take_ahead(command)
        ahead = self._pausing is not None
        if not ahead:
            self._pausing = start()
        self.commands.append('PAUSE %s' % quote_name(self.database))
        started = self._clock()
        deadline = started + self.o['connect_timeout'] + 5
        while True:
            code = self._pausing.poll()
            if code == 0:
                return  # completed already
            if code is not None and ahead:
                # Its connection may have ended while it waited (client_idle_timeout): a new psql asks once more.
                # PAUSE twice is harmless: a database already paused is refused, and that refusal is raised.
                _end(self._pausing)
                self._pausing, ahead = start(), False
                continue
            if code is not None:
                err = mask_secrets((self._pausing.stderr.read() or '').strip(), [self.o['admin_password']])
                self._pausing = None
                raise PgBouncerError(_admin_failure(self.where, 'PAUSE', err or 'exit %d' % code,
                                                    self.o['admin_user']))
            if completes_soon and self._clock() - started < 0.3:
                time.sleep(0.005)
                continue
            state = self.state()
            if state and state['paused']:
                return
            if self._clock() >= deadline:
                self.abort_pause()
                try:
                    self.resume()
                except PgBouncerError:
                    pass
                raise PgBouncerError('%s: the database was not shown paused within %d s of PAUSE; taken back'
                                     % (self.where, self.o['connect_timeout'] + 5))
            time.sleep(0.005)

    def pause_end(self):
        """Waits (pause_timeout) for the PAUSE begun by pause_begin to complete: no server connection of the database
        is in use any more, so every client's next query runs wherever the database points when it is resumed. On a
        timeout the database stays paused (the caller takes it back or goes on undoing) and PauseTimedOut names what
        held it."""
        pausing, self._pausing = self._pausing, None
        if pausing is None:
            return
        try:
            pausing.wait(self.o['pause_timeout'])
        except subprocess.TimeoutExpired:
            why = self.what_holds_pause()
            pausing.kill()
            pausing.wait()
            raise PauseTimedOut('%s: PAUSE %s did not complete within pause_timeout=%s s: %s'
                                % (self.where, quote_name(self.database), self.o['pause_timeout'], why))
        if pausing.returncode != 0:
            err = mask_secrets((pausing.stderr.read() or '').strip(), [self.o['admin_password']])
            raise PgBouncerError(_admin_failure(self.where, 'PAUSE', err, self.o['admin_user']))

    def abort_pause(self):
        """Stops waiting for a PAUSE begun by pause_begin (the database stays paused until RESUME)."""
        pausing, self._pausing = self._pausing, None
        if pausing is not None and pausing.poll() is None:
            pausing.kill()
            pausing.wait()

    def resume(self):
        """RESUME; a database that is not paused is fine."""
        try:
            self.admin('RESUME %s' % quote_name(self.database))
        except PgBouncerError as e:
            if 'is not paused' not in str(e):
                raise

    def reload(self):
        self.admin('RELOAD')

    def within(self, seconds, call, sleep=time.sleep):
        """call(), retried every second until it works or `seconds` have passed; the last error is raised. For
        the commands that must get through after a failure (PgBouncer restarting, a network blip)."""
        deadline = self._clock() + seconds
        while True:
            try:
                return call()
            except PgBouncerError:
                if self._clock() >= deadline:
                    raise
                sleep(1)

    # ------------------------------------------------------------ ini file

    def point(self, side, check=False):
        """Write the entry of `side` (source or target) into the ini file; True when the file changed. The file is
        replaced atomically, keeping its mode and owner, so PgBouncer never reads half of it."""
        path = os.path.realpath(self.o['ini'])
        try:
            with open(path) as f:
                text = f.read()
        except OSError as e:
            raise PgBouncerError('cannot read PgBouncer ini %s: %s' % (self.o['ini'], e.strerror))
        new, changed = point_entry(text, self.database, self.entry(side))
        if not changed or check:
            return changed
        try:
            st = os.stat(path)
            fd, tmp = tempfile.mkstemp(prefix='.pgferry-', dir=os.path.dirname(path))
        except OSError as e:
            raise PgBouncerError('cannot write PgBouncer ini %s: %s' % (self.o['ini'], e.strerror))
        try:
            with os.fdopen(fd, 'w') as f:
                f.write(new)
            os.chmod(tmp, st.st_mode & 0o7777)
            if os.geteuid() == 0:
                os.chown(tmp, st.st_uid, st.st_gid)
            os.replace(tmp, path)
            tmp = None
        except OSError as e:
            raise PgBouncerError('cannot write PgBouncer ini %s: %s' % (self.o['ini'], e.strerror))
        finally:
            if tmp and os.path.exists(tmp):
                os.unlink(tmp)
        return True

    def runs(self, side, state):
        """Whether PgBouncer already sends the database to `side`'s address (as of its last RELOAD)."""
        if state is None:
            return False
        host, port = entry_address(self.entry(side))
        return (state['host'] or None) == host and state['port'] == port
