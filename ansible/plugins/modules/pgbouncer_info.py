#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: pgbouncer_info
short_description: How PgBouncer runs a database, and what a cutover will do to its clients
version_added: 0.1.0
description:
  - Reads PgBouncer's admin console (C(SHOW VERSION), C(DATABASES), C(CONFIG), C(USERS), C(POOLS), C(SERVERS)) - never
    changes anything - and answers the version, the database's pool mode (a C([users]) entry's, else the database
    entry's, else the global C(pool_mode)), the modes its pools run now, its clients, and RV(plan) - in plain words what
    M(pgferry.migrate.cutover_steps) will do to the clients in that mode.
  - The preflight of M(pgferry.migrate.migrate) and the ready check of the cutover role call it, so the pool mode is
    known before anything is touched, never found out inside the pause.
  - Fails, naming the cause and the fix, when PgBouncer cannot be reached or asked, or has no such database. Session
    pooling is reported (RV(session_pooling), RV(plan)), not refused here - M(pgferry.migrate.cutover_steps) and the
    cutover role's ready check refuse it with O(pgbouncer.session_pooling=refuse).
  - Runs on the PgBouncer host (through psql, as the other PgBouncer modules).
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.pgbouncer
'''

EXAMPLES = r'''
- name: How does PgBouncer run the database?
  pgferry.migrate.pgbouncer_info:
    pgbouncer:
      database: app
      ini: /etc/pgbouncer/pgbouncer.ini
      source_entry: host=10.0.0.11 port=5432 dbname=app
      target_entry: host=10.0.0.12 port=5432 dbname=app
      admin_password: "{{ vault_pgbouncer_admin_password }}"
  register: bouncer

- name: Say it
  ansible.builtin.debug:
    msg: "{{ bouncer.plan }}"
'''

RETURN = r'''
queries:
  description: Always empty - this module only reads.
  returned: always
  type: list
  elements: str
version:
  description: PgBouncer's version, for example C(1.18.0).
  returned: success
  type: str
pool_mode:
  description: The pool mode the database's entry or the global setting gives it - V(session), V(transaction), V(statement).
  returned: success
  type: str
pool_mode_from:
  description: Where RV(pool_mode) comes from - the database's entry or the global pool_mode.
  returned: success
  type: str
pool_modes_in_use:
  description: The modes of the database's pools PgBouncer runs now (a C([users]) entry may override the database's).
  returned: success
  type: list
  elements: str
pool_mode_after:
  description: The mode after the cutover - the target entry's C(pool_mode), else the global one.
  returned: success
  type: str
clients:
  description: Client connections to the database now.
  returned: success
  type: int
session_clients:
  description: Of them, those in session-pooled pools - each would get one error at the cutover.
  returned: success
  type: int
session_pooling:
  description: Whether the cutover will end the session-pooled clients' connections (session pooling with clients).
  returned: success
  type: bool
paused:
  description: Whether the database is paused now.
  returned: success
  type: bool
max_prepared_statements:
  description: PgBouncer's max_prepared_statements (1.21+; 0 - protocol-level prepared statements are not carried in
    transaction pooling).
  returned: success
  type: int
plan:
  description: What the cutover will do to the clients in this mode, and how to reach zero errors in session pooling.
  returned: success
  type: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import (
    PgBouncer,
    PgBouncerError,
    pgbouncer_argument_spec,
)


def main():
    module = AnsibleModule(argument_spec=pgbouncer_argument_spec(), supports_check_mode=True)
    if not module.params['pgbouncer']:
        module.fail_json(msg='pgbouncer is required: the database, ini file, entries and admin console to read')
    bouncer = PgBouncer(module.params['pgbouncer'])
    try:
        info = bouncer.info()
    except PgBouncerError as e:
        module.fail_json(msg=str(e), queries=[])
    module.exit_json(changed=False, queries=[], version=info['version'], pool_mode=info['pool_mode'],
                     pool_mode_from=info['pool_mode_from'], pool_modes_in_use=info['pool_modes_in_use'],
                     pool_mode_after=info['pool_mode_after'], clients=info['clients'],
                     session_clients=info['session_clients'], session_pooling=PgBouncer.session_path(info),
                     paused=info['paused'], max_prepared_statements=info['max_prepared_statements'],
                     plan=bouncer.plan(info))


if __name__ == '__main__':
    main()
