# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The PgBouncer in front of the clients (see pgbouncer_argument_spec in module_utils/pgbouncer.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  pgbouncer:
    description:
      - The PgBouncer the clients go through, on the host the module runs on (its ini file is edited in place).
        Required by M(pgferry.migrate.switch).
      - V(source) and V(target) are the module's own sides - the side clients leave and the side they go to (for a
        rollback, the migration's target and source).
    type: dict
    suboptions:
      database:
        description: The database name clients use, a key of the ini file's C([databases]) section.
        type: str
        required: true
      ini:
        description: The ini file holding that key (replaced atomically, mode and owner kept).
        type: path
        required: true
      source_entry:
        description: The key's value pointing at the source, for example C(host=10.0.0.11 port=5432 dbname=app).
        type: str
        required: true
      target_entry:
        description: The key's value pointing at the target.
        type: str
        required: true
      admin_host:
        description: Host of PgBouncer's admin console.
        type: str
        default: 127.0.0.1
      admin_port:
        description: Its port.
        type: int
        default: 6432
      admin_user:
        description: A user in PgBouncer's C(admin_users).
        type: str
        default: pgbouncer
      admin_password:
        description: Its password, passed to psql in the environment, never on the command line.
        type: str
        default: ''
      psql:
        description: The psql that talks to the admin console.
        type: str
        default: psql
      connect_timeout:
        description: Seconds to wait for the admin console to answer a connection.
        type: int
        default: 5
      pause_timeout:
        description:
          - Seconds C(PAUSE) may wait for the transactions running through PgBouncer (counted from the moment PgBouncer
            shows the database paused). Clients queue meanwhile, so this bounds the latency a transaction that slipped
            past the long-transaction check can add; past it the pause is taken back (C(RESUME)) -
            M(pgferry.migrate.cutover_steps) then waits for that transaction with nobody paused and tries again.
          - Not used for the wait in session pooling, where the fence ends the server connections.
        type: float
        default: 1.0
      session_pooling:
        description:
          - What the cutover does when the database runs session pooling with clients connected (C(PAUSE) would wait
            for them to disconnect, which pooled applications never do).
          - V(disconnect) - pause without waiting and end the server connections at the fence; each client
            connection gets one error (SQLSTATE 57P01) and its reconnect lands on the target.
          - V(refuse) - fail before anything changes, saying so.
        type: str
        choices: [disconnect, refuse]
        default: disconnect
      long_transaction:
        description:
          - Seconds after which a client transaction open on the database counts as long - one that would hold
            C(PAUSE), and every client with it, or that the fence would end.
        type: float
        default: 1.0
      transaction_wait:
        description:
          - Seconds M(pgferry.migrate.cutover_steps) waits, before pausing anyone, for long transactions to end; past
            it the cutover fails with nothing changed, naming them.
        type: float
        default: 30.0
'''
