# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Runs a pgferry module on the controller without starting a Python for it, when the task runs there anyway.

A module task normally costs 0.5-1 s of CPU whatever the module does: Ansible zips the module with every module_utils
it imports, and the new Python compiles all of them from source (zipimport keeps no bytecode) before the module
sends its first request. A migrate run has dozens of such tasks, so that cost - not the agents' work - was most of
its time (tools/bench-small-database). When the task's connection is ``local`` (the controller is the host the task is
delegated to), the module's own code is run instead in a child forked from the worker that runs the task: the same
arguments Ansible would send (check mode, no_log, ...), the same JSON back on stdout, read by Ansible's own parser;
only the interpreter start and the compilation are gone. The fork keeps the module's process-wide effects (exit,
working directory, environment, warnings) out of the worker, as a new process would.

Anything else - another connection, become, async, a task environment, kept remote files, an older ansible-core without
what this needs, or ``pgferry_modules_in_process: false`` - runs the module the usual way.
"""

from __future__ import annotations

import importlib
import json
import os
import pkgutil
import selectors
import sys
import time
import traceback

from ansible import constants as C
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

try:  # ansible-core 2.19+: the module protocol's serialization profiles
    from ansible.module_utils.common.json import Direction, get_module_encoder
except ImportError:  # pragma: no cover - older ansible-core runs modules the usual way
    Direction = get_module_encoder = None

display = Display()
PROFILE = 'legacy'  # what ansible-core 2.19 uses for collection modules that do not ask for another


def _read_both(out_fd, err_fd):
    """Both pipes to their end, whichever the child fills first (a full pipe would block it)."""
    chunks = {out_fd: [], err_fd: []}
    with selectors.DefaultSelector() as sel:
        for fd in chunks:
            sel.register(fd, selectors.EVENT_READ)
        while sel.get_map():
            for key, dummy in sel.select():
                chunk = os.read(key.fd, 65536)
                if chunk:
                    chunks[key.fd].append(chunk)
                else:
                    sel.unregister(key.fd)
    return b''.join(chunks[out_fd]), b''.join(chunks[err_fd])


def _preload_filters():
    """Imports the collection's filter plugins, once a run, in the process that forks the workers.

    A worker asked for one of them loads every filter file of the collection, compiled from source (see below); imported
    here, they are inherited instead.
    """
    package = __name__.rpartition('.plugins.')[0] + '.plugins.filter'
    try:
        for found in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module('%s.%s' % (package, found.name))
    except Exception:  # pylint: disable=broad-exception-caught
        pass  # a filter that cannot be imported is reported by the task that uses it


def _preload_module(action_module_name):
    """Imports the module of an action plugin as the action is imported.

    Ansible's collection loader compiles a collection's Python from source at every import (it keeps no bytecode), and
    each task runs in a worker forked anew from the controller's main process - which imports the task's action plugin
    (the linear strategy asks it for BYPASS_HOST_LOOP) but not its module. Importing the module here, once a run, lets
    every worker and its in-process child inherit it compiled, with agent_client and the standard library it needs:
    about 25 ms less a task (tools/bench-small-database). A module that cannot be imported is left to the task, which
    reports it the usual way.
    """
    head, sep, name = action_module_name.rpartition('.plugins.action.')
    if not sep:
        return
    try:
        importlib.import_module('%s.plugins.modules.%s' % (head, name))
    except Exception:  # pylint: disable=broad-exception-caught
        pass


_preload_filters()


class InProcessAction(ActionBase):
    """An action whose module runs in a forked child of the worker when the task's host is the controller."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _preload_module(cls.__module__)

    SHOW_FAILED = False  # whether a failed task's summary is printed too

    def show(self, result):
        """Lines that tell an operator what the task found or did, printed under it (a module's summary, as a debug task
        after it would, without that task's cost: tools/bench-small-database); none by default."""
        return []

    def shown(self, result):
        """``result``, its summary printed: not for a failed task (Ansible shows why) unless SHOW_FAILED, never for a
        skipped one nor under no_log."""
        if not ((result.get('failed') and not self.SHOW_FAILED) or result.get('skipped') or self._task.no_log):
            try:
                lines = self.show(result)
            except Exception as e:  # pylint: disable=broad-exception-caught
                lines = ['(no summary: %s)' % e]  # a summary never fails the task it describes
            for line in [lines] if isinstance(lines, str) else lines:
                display.display('  %s' % line)
        return result

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        # When the task began (seconds since the epoch): the migrate role's report times its steps from the registered
        # results of their first agent calls, which spares a timing task per step.
        result['started_at'] = time.time()
        return result

    def _in_process(self, task_vars):
        return (get_module_encoder is not None
                and getattr(self._connection, 'transport', None) in ('local', 'ansible.builtin.local')
                and not self._play_context.become
                and not self._task.async_val
                and not any(self._task.environment or [])
                and not C.DEFAULT_KEEP_REMOTE_FILES
                and boolean(self._templar.template((task_vars or {}).get('pgferry_modules_in_process', True)),
                            strict=False))

    def _execute_module(self, module_name=None, module_args=None, tmp=None, task_vars=None, persist_files=False,
                        delete_remote_tmp=None, wrap_async=False, ignore_unknown_opts=False):
        # pylint: disable=too-many-arguments
        task_vars = task_vars if task_vars is not None else {}
        if wrap_async or not self._in_process(task_vars):
            return super()._execute_module(module_name=module_name, module_args=module_args, task_vars=task_vars,
                                           wrap_async=wrap_async, ignore_unknown_opts=ignore_unknown_opts)
        module_name = module_name or self._task.action
        module_args = dict(module_args if module_args is not None else self._task.args)
        self._update_module_args(module_name, module_args, task_vars, ignore_unknown_opts=ignore_unknown_opts)
        payload = json.dumps(dict(ANSIBLE_MODULE_ARGS=module_args),
                             cls=get_module_encoder(PROFILE, Direction.CONTROLLER_TO_MODULE)).encode()
        display.vvv('%s: run in process' % module_name, host=self._play_context.remote_addr)
        res = self._run_forked(module_name, payload)
        data = self._parse_returned_data(res, PROFILE)
        for key in [k for k in data if k.startswith('_ansible_') and k != '_ansible_parsed']:
            data.pop(key)
        return data

    def _run_forked(self, module_name, payload):
        """The module's main() in a child: its stdout and stderr, and its exit code, as a command's result."""
        # The module's collection and name as Ansible finds them (a short name with `collections:`, a redirect).
        found = self._shared_loader_obj.module_loader.find_plugin_with_context(
            module_name, collection_list=self._task.collections)
        python_name = found.plugin_resolved_name  # ansible_collections.<namespace>.<name>.plugins.modules.<module>
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 1
            try:
                os.close(out_r)
                os.close(err_r)
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                sys.stdout = os.fdopen(1, 'w', closefd=False)
                sys.stderr = os.fdopen(2, 'w', closefd=False)
                from ansible.module_utils import basic  # pylint: disable=import-outside-toplevel
                basic._ANSIBLE_ARGS = payload  # pylint: disable=protected-access
                basic._ANSIBLE_PROFILE = PROFILE  # pylint: disable=protected-access
                importlib.import_module(python_name).main()
                code = 0
            except SystemExit as e:
                code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
            except BaseException:  # pylint: disable=broad-exception-caught
                traceback.print_exc()
            finally:
                try:
                    sys.stdout.flush()
                    sys.stderr.flush()
                finally:
                    os._exit(code)  # no atexit handlers or buffers of the worker's
        os.close(out_w)
        os.close(err_w)
        stdout, stderr = _read_both(out_r, err_r)
        os.close(out_r)
        os.close(err_r)
        dummy, status = os.waitpid(pid, 0)
        rc = os.waitstatus_to_exitcode(status)
        return dict(rc=rc, stdout=stdout.decode('utf-8', 'replace'), stderr=stderr.decode('utf-8', 'replace'))


class ModuleAction(InProcessAction):
    """The action of a pgferry module with nothing else to do than run it: plugins/action/<module>.py is this class."""

    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp
        result.update(self._execute_module(module_name=self._task.action, module_args=dict(self._task.args),
                                           task_vars=task_vars))
        return self.shown(result)
