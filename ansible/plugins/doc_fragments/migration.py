# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options shared by the migration step modules (see migration_argument_spec in module_utils/agent_client.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  migration_id:
    description:
      - Id of the migration, C(^[a-z][a-z0-9_]{0,39}$).
      - Every object pgferry creates is named from it, never from a time; role, publication, subscription and
        replication slot are all C(pgferry_<migration_id>), so a rerun finds them by name.
    type: str
    required: true
  database:
    description:
      - Name of the database on the agent's PostgreSQL server this step works on.
    type: str
    required: true
attributes:
  check_mode:
    support: full
    description: In check mode the agent computes the SQL it would run (returned in RV(queries)) and changes nothing.
  diff_mode:
    support: none
    description: Returns no diff; RV(queries) lists what ran.
'''

    SCOPE = r'''
options:
  include_schemas:
    description:
      - Schemas to move. Empty means every non-system schema of O(database).
      - Unknown schemas are an error (HTTP 422 naming them).
    type: list
    elements: str
    default: []
  exclude_schemas:
    description:
      - Schemas left out, even when listed in O(include_schemas).
    type: list
    elements: str
    default: []
  include_tables:
    description:
      - Only these tables (of the included schemas). Empty means every ordinary and partitioned table.
      - Each table is a dict with its schema and its name, never a dotted string.
    type: list
    elements: dict
    default: []
    suboptions:
      schema:
        description: Schema of the table.
        type: str
        required: true
      name:
        description: Name of the table.
        type: str
        required: true
  exclude_tables:
    description:
      - Tables left out.
    type: list
    elements: dict
    default: []
    suboptions:
      schema:
        description: Schema of the table.
        type: str
        required: true
      name:
        description: Name of the table.
        type: str
        required: true
'''

    JOB = r'''
options:
  wait:
    description:
      - Wait until the agent's job ends. With V(false) the module returns once the job started (RV(job)).
      - The job runs on the agent, so a module that stops waiting does not stop it; rerunning re-attaches to it.
    type: bool
    default: true
  wait_timeout:
    description:
      - Seconds to wait for the job. The module fails when it still runs then; the job goes on on the agent.
    type: int
    default: 3600
  poll_interval:
    description:
      - The longest pause in seconds between two polls of C(GET /v1/jobs/{id}). The first polls come sooner (0.1 s,
        the pause doubling up to this), so a short job is not waited for longer than it runs.
    type: float
    default: 2.0
'''

    PROGRESS = r'''
options:
  progress_interval:
    description:
      - Seconds between two progress lines in the play's output while the module waits (tables and bytes done,
        percent, ETA, lag) - a line per poll, as the job output of AWX shows them.
      - The module's action plugin waits in slices of this length, calling the module again after each (an identical
        call re-attaches to the agent's running job), and prints a line in between. Ansible shows nothing from inside
        one module call, so V(0) waits in a single silent call.
      - A slice that cannot reach the agent (connection refused or reset) is repeated with growing pauses for up to
        O(retry_seconds), so an agent restart does not end a long wait.
    type: float
    default: 30.0
    version_added: 0.1.0
'''

    # The replica identities to set on the source's tables without a primary key (preflight checks them, publication
    # sets them before it publishes).
    REPLICA_IDENTITY = r'''
options:
  replica_identity_full:
    description:
      - Tables without a primary key to publish anyway, with C(REPLICA IDENTITY FULL) (set by
        M(pgferry.migrate.publication), which records what each table had so cleanup puts it back;
        M(pgferry.migrate.preflight) reports these tables as warnings instead of errors).
      - Each is a dict with its schema and name.
    type: list
    elements: dict
    default: []
    suboptions:
      schema:
        description: Schema of the table.
        type: str
        required: true
      name:
        description: Name of the table.
        type: str
        required: true
  replica_identity_index:
    description:
      - Tables without a primary key to publish anyway, identified by one of their unique indexes (on NOT NULL
        columns), with C(REPLICA IDENTITY USING INDEX) (set by M(pgferry.migrate.publication), which records what
        each table had so cleanup puts it back; M(pgferry.migrate.preflight) checks the index).
    type: list
    elements: dict
    default: []
    suboptions:
      schema:
        description: Schema of the table.
        type: str
        required: true
      name:
        description: Name of the table.
        type: str
        required: true
      index:
        description: Name of the unique index, in the table's schema.
        type: str
        required: true
'''
