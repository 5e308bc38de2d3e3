# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A run's lease on a migration (the agents' PUT/DELETE /v1/migrations/{m}/lease): while it holds it, another run's
changing requests on the migration are refused (409 migration_leased), so two runs cannot interleave a cutover."""

from __future__ import annotations

import copy
import threading
import time
import uuid

LEASE_HEADER = 'X-Pgferry-Lease'


class LeaseBusy(Exception):
    """Another run holds the lease: nothing was done."""

    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg


class Lease:
    """Taken on every agent given, in their order (two runs taking the same agents in the same order cannot each hold
    one); renewed in the background every ttl/3 seconds; every request of the clients carries it."""

    def __init__(self, clients, path, ttl=15, wait=20, sleep=time.sleep, clock=time.monotonic):
        self.clients, self.path, self.ttl, self.wait = clients, path, ttl, wait
        self.owner = 'run-%s' % uuid.uuid4().hex[:16]
        self.sleep, self.clock = sleep, clock
        self.held = []
        self.lost = None
        self._stop = threading.Event()
        self._renewer = None

    def take(self):
        """Waits at most `wait` seconds for a lease held by another run (one that died lets it lapse within its ttl);
        raises LeaseBusy, holding nothing, when it is still held."""
        deadline = self.clock() + self.wait
        for client in self.clients:
            while True:
                status, answer = client.put(self.path('lease'), dict(owner=self.owner, ttl_seconds=self.ttl),
                                            accept_status=(409,))
                if status != 409:
                    break
                if self.clock() >= deadline:
                    self.release()
                    raise LeaseBusy('another run drives this migration right now [migration_leased]: %s'
                                    % ((answer or {}).get('detail') or 'its lease is held'))
                self.sleep(1.0)
            client.headers[LEASE_HEADER] = self.owner
            self.held.append(client)
        self._renewer = threading.Thread(target=self._renew, name='pgferry-lease', daemon=True)
        self._renewer.start()

    def _renew(self):
        # Own copies: a client keeps the last error body on itself, and the run's own requests go on meanwhile.
        clients = [copy.copy(c) for c in self.held]
        while not self._stop.wait(self.ttl / 3.0):
            for client in clients:
                try:
                    status, answer = client.put(self.path('lease'), dict(owner=self.owner, ttl_seconds=self.ttl),
                                                accept_status=(409,))
                except Exception as e:  # pylint: disable=broad-except
                    # an agent that does not answer now may at the next renewal; its own requests fail meanwhile
                    status, answer = None, dict(detail=str(e))
                if status == 409:
                    self.lost = (answer or {}).get('detail') or 'taken by another run'

    def release(self):
        """Stops renewing and gives the lease back where it is held; a failure here only lets it lapse."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=5)
        for client in self.held:
            try:
                client.request('DELETE', self.path('lease', dict(owner=self.owner)), accept_status=(409,))
            except Exception:  # pylint: disable=broad-except
                pass
            client.headers.pop(LEASE_HEADER, None)
        self.held = []
