#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: report
short_description: Write the report of a pgferry run - steps with timings, verification table - as JSON and HTML
version_added: 0.1.0
description:
  - Builds the report of one playbook run from what the role recorded - each step and when it started, the phase, the
    state the run left the migration in, the verification table - and writes it to O(dir) as a JSON file and as a
    self-contained HTML page (inline CSS, a timeline of the steps, no script, nothing fetched).
  - Returns the report and a text rendering of it, which the roles print and hand to M(ansible.builtin.set_stats), so
    AWX keeps the report with the job (its Artifacts).
  - Runs where the task runs (the roles run it on the controller); calls no agent. Over a local connection without
    become the module's action plugin runs it in the controller's process, with the same code, rather than execute
    the module - the same files, written by the same user.
  - Files are named C(pgferry-<migration_id>-<playbook>-<UTC time>.json) and C(.html), one pair per run, plus
    C(pgferry-<migration_id>-<playbook>-latest.json) and C(.html), replaced by each run.
author:
  - pgferry maintainers (@pgferry)
options:
  dir:
    description: Directory the files are written to; created when missing.
    type: path
    required: true
  migration_id:
    description: Id of the migration, C(^[a-z][a-z0-9_]{0,39}$).
    type: str
    required: true
  playbook:
    description: The playbook that ran (V(migrate), V(cutover), ...).
    type: str
    default: migrate
  state:
    description: Where the run left the migration (for example V(copying), V(streaming_ready)); empty when it failed.
    type: str
    default: ''
  phase:
    description: The phase the run started in, as the M(pgferry.migrate.lifecycle) module returns it (C(name), C(description)).
    type: dict
    default: {}
  steps:
    description:
      - The steps in the order they started, each a list of the step's name and its start as seconds since the epoch.
        A step ends when the next one starts; the last one at O(finished).
    type: list
    elements: list
    default: []
  finished:
    description: When the run ended, seconds since the epoch; the time the module runs when not given.
    type: float
  failed:
    description: Whether the run failed (in the last step of O(steps)).
    type: bool
    default: false
  verification:
    description:
      - The verification table, one dict per table (C(schema), C(name), C(source_rows), C(target_rows), C(status)),
        as M(pgferry.migrate.sync_status) (C(row_counts.tables)) or M(pgferry.migrate.verify) return it.
    type: list
    elements: dict
    default: []
  details:
    description: Further values shown as they are (for example the copy's percent, the lag).
    type: dict
    default: {}
  note:
    description: A line for the operator - where the run left the migration and what to run next - printed after the
      report's first line and kept in it (C(note)).
    type: str
    default: ''
attributes:
  check_mode:
    support: full
    description: In check mode the report is built and returned, and no file is written.
  diff_mode:
    support: none
    description: Returns no diff.
'''

EXAMPLES = r'''
- name: Report of this run
  pgferry.migrate.report:
    dir: /var/log/pgferry
    migration_id: app
    playbook: migrate
    state: streaming_ready
    steps: [[preflight, 1767225600.0], [subscription, 1767225612.5]]
    verification: "{{ pgferry_migrate_sync_status.row_counts.tables }}"
  register: report

- name: Keep it with the AWX job
  ansible.builtin.set_stats:
    data:
      pgferry_report: "{{ report.report }}"
'''

RETURN = r'''
report:
  description:
    - The report (C(migration_id), C(playbook), C(outcome), C(state), C(phase), C(started_at), C(finished_at),
      C(seconds), C(steps) - each C(name), C(started_at), C(seconds) -, C(verification), C(details), C(note)).
  returned: always
  type: dict
  sample: {"migration_id": "app", "outcome": "succeeded", "state": "streaming_ready", "seconds": 42.1}
text:
  description: The report as lines of text (steps with their times, the verification table).
  returned: always
  type: list
  elements: str
json_path:
  description: The JSON file written (the C(-latest) copy has the same content).
  returned: unless in check mode
  type: str
  sample: /var/log/pgferry/pgferry-app-migrate-20260101T000000Z.json
html_path:
  description: The HTML page written.
  returned: unless in check mode
  type: str
  sample: /var/log/pgferry/pgferry-app-migrate-20260101T000000Z.html
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.report import argument_spec, run


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    result = run(module.params, module.check_mode)
    if result.pop('failed', False):
        module.fail_json(**result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
