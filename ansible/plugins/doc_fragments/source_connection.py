# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The source as the target server reaches it (see source_connection_argument_spec in module_utils/agent_client.py).

A module says what it does with the connection in its own description of O(connection), which this one's keys extend.
"""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  connection:
    description:
      - How the target server reaches the source, with the migration's replication role, exactly as the subscription
        gets it.
    type: dict
    suboptions:
      host:
        description: Source host name or address, as seen from the target host.
        type: str
        required: true
      port:
        description: Source port.
        type: int
        default: 5432
      dbname:
        description: Source database.
        type: str
        required: true
      user:
        description: Role to log in as. Defaults to C(pgferry_<migration_id>), the migration's replication role.
        type: str
      password:
        description: Password of O(connection.user). Never logged nor returned; masked wherever a result would show it.
        type: str
        required: true
      sslmode:
        description: libpq C(sslmode).
        type: str
        choices: [disable, allow, prefer, require, verify-ca, verify-full]
        default: prefer
'''
