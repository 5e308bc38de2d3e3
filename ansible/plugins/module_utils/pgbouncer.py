# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PgBouncer for the cutover's switch: its admin console (through psql, which every PgBouncer host has for its
operators) and the database's entry in the [databases] section of its ini file."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time

from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import mask_secrets

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
        pause_timeout=dict(type='int', default=30),
    )


def pgbouncer_argument_spec():
    return dict(pgbouncer=dict(type='dict', options=pgbouncer_options()))


class PgBouncerError(Exception):
    """An admin command or the ini file failed; the message says which and why, with no secret in it."""


def quote_name(name):
    """A database name as PgBouncer's admin console reads it."""
    return '"%s"' % name.replace('"', '""')


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


class PgBouncer:
    """One PgBouncer database: pause, point, reload, resume. Every admin command runs through psql with the
    password in its environment (never in argv) and a deadline, so a hung PgBouncer cannot hang the cutover."""

    def __init__(self, options, run=subprocess.run, clock=time.monotonic):
        self.o = options
        self.database = options['database']
        self.commands = []  # what was run, for the module's `queries`
        self._run = run
        self._clock = clock

    def entry(self, side):
        return self.o['%s_entry' % side]

    # ------------------------------------------------------------ admin console

    def admin(self, command, timeout=None, rows=False):
        """Run one admin command; return its rows as dicts (SHOW) or None. Raises PgBouncerError."""
        o = self.o
        argv = [o['psql'], '-X', '-q', '-A', '-F', '\x1f', '-P', 'footer=off', '-v', 'ON_ERROR_STOP=1',
                '-h', o['admin_host'], '-p', str(o['admin_port']), '-U', o['admin_user'], '-d', 'pgbouncer',
                '-c', command]
        env = dict(os.environ, PGPASSWORD=o['admin_password'] or '', PGCONNECT_TIMEOUT=str(o['connect_timeout']),
                   PGAPPNAME='pgferry')
        if not o['admin_password']:
            env.pop('PGPASSWORD')
        limit = timeout or (o['connect_timeout'] + 10)
        where = 'PgBouncer admin console %s:%s' % (o['admin_host'], o['admin_port'])
        try:
            done = self._run(argv, env=env, capture_output=True, text=True, timeout=limit, stdin=subprocess.DEVNULL,
                             check=False)
        except subprocess.TimeoutExpired:
            raise PgBouncerError('%s: %s got no answer within %d s (is PgBouncer up and reachable?)'
                                 % (where, command.split()[0], limit))
        except OSError as e:
            raise PgBouncerError('cannot run %s (%s); set pgbouncer.psql to a psql on the PgBouncer host'
                                 % (o['psql'], e.strerror))
        if not command.upper().startswith('SHOW'):
            self.commands.append(command)
        if done.returncode != 0:
            detail = mask_secrets((done.stderr or done.stdout or '').strip(), [o['admin_password']])
            raise PgBouncerError('%s: %s failed: %s' % (where, command, detail or 'exit %d' % done.returncode))
        if not rows:
            return None
        lines = [line for line in done.stdout.splitlines() if line]
        if not lines:
            return []
        names = lines[0].split('\x1f')
        return [dict(zip(names, line.split('\x1f'))) for line in lines[1:]]

    def state(self):
        """The database as PgBouncer runs it now: dict(paused, host, port), or None when it has no such entry."""
        for row in self.admin('SHOW DATABASES', rows=True):
            if row.get('name') == self.database:
                return dict(paused=row.get('paused') == '1', host=row.get('host') or None,
                            port=int(row.get('port') or 0))
        return None

    def pause(self):
        """PAUSE: waits for the transactions running through PgBouncer to end; new ones queue. A PAUSE that does not
        finish within pause_timeout is taken back (RESUME), so clients never stay queued behind a failed cutover."""
        try:
            self.admin('PAUSE %s' % quote_name(self.database), timeout=self.o['pause_timeout'])
        except PgBouncerError as e:
            if 'got no answer' not in str(e):
                raise  # refused or failed at once: nothing was paused
            try:
                self.resume()
            except PgBouncerError:
                pass
            raise PgBouncerError('%s; the PAUSE was taken back (a transaction through PgBouncer may have run longer '
                                 'than pgbouncer.pause_timeout=%d s)' % (e, self.o['pause_timeout']))

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
