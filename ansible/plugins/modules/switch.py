#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: switch
short_description: Pause, point and resume the clients of one PgBouncer database
version_added: 0.1.0
description:
  - The cutover's switch step through PgBouncer, one action at a time (M(pgferry.migrate.cutover_steps) does the
    whole paused sequence in one call; this module serves the rescue path, a rollback by hand and the user's own
    switch tasks).
  - With O(to), the database's entry in the ini file is pointed at that side and PgBouncer reloaded, unless it
    already runs with that address (C(SHOW DATABASES)).
  - O(state=paused) runs C(PAUSE) first (clients queue; running transactions finish), then the pointing.
    O(state=resumed) points first, then runs C(RESUME). Each is skipped when PgBouncer is already in that state.
  - Runs on the PgBouncer host. In check mode nothing is run; RV(queries) lists the admin commands that would be.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.pgbouncer
options:
  state:
    description: Whether clients end up queued (V(paused)) or served (V(resumed)).
    type: str
    choices: [paused, resumed]
    default: resumed
  to:
    description: The side to point the database at; omitted, the ini file is left alone.
    type: str
    choices: [source, target]
'''

EXAMPLES = r'''
- name: Put clients back on the source after a failed cutover
  pgferry.migrate.switch:
    pgbouncer:
      database: app
      ini: /etc/pgbouncer/pgbouncer.ini
      source_entry: host=10.0.0.11 port=5432 dbname=app
      target_entry: host=10.0.0.12 port=5432 dbname=app
      admin_user: pgbouncer
      admin_password: "{{ vault_pgbouncer_admin_password }}"
    to: source
    state: resumed
'''

RETURN = r'''
queries:
  description: Admin commands run (or, in check mode, that would run); C(WRITE ini) stands for the ini file's edit.
  returned: always
  type: list
  elements: str
  sample: ['WRITE ini', 'RELOAD', 'RESUME "app"']
paused:
  description: Whether the database is paused at the end.
  returned: always
  type: bool
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.pgbouncer import (
    PgBouncer,
    PgBouncerError,
    pgbouncer_argument_spec,
    quote_name,
)


def main():
    argument_spec = pgbouncer_argument_spec()
    argument_spec.update(state=dict(type='str', choices=['paused', 'resumed'], default='resumed'),
                         to=dict(type='str', choices=['source', 'target']))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    if not p['pgbouncer']:
        module.fail_json(msg='pgbouncer is required: the database, ini file, entries and admin console to switch')
    bouncer = PgBouncer(p['pgbouncer'])
    name = quote_name(bouncer.database)
    planned = []
    try:
        state = bouncer.state()
        if state is None and not p['to']:
            module.fail_json(msg='PgBouncer has no database %s; give `to` so its entry is written, or fix '
                                 'pgbouncer.database' % bouncer.database)
        paused = bool(state and state['paused'])

        def pause():
            if not paused:
                planned.append('PAUSE %s' % name)
                if not module.check_mode:
                    bouncer.pause()

        def point():
            if not p['to']:
                return
            written = bouncer.point(p['to'], check=module.check_mode)
            if written:
                planned.append('WRITE ini')
            if written or not bouncer.runs(p['to'], state):
                planned.append('RELOAD')
                if not module.check_mode:
                    bouncer.reload()

        if p['state'] == 'paused':
            pause()
            point()
        else:
            point()
            if paused:
                planned.append('RESUME %s' % name)
                if not module.check_mode:
                    bouncer.resume()
    except PgBouncerError as e:
        module.fail_json(msg=str(e), queries=planned)
    module.exit_json(changed=bool(planned), queries=planned, paused=p['state'] == 'paused')


if __name__ == '__main__':
    main()
