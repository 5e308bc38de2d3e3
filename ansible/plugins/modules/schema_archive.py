#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: schema_archive
short_description: Dump the schema of a migration's scope on the source server and download it
version_added: 0.1.0
description:
  - Calls the source agent's C(POST /v1/migrations/{m}/schema-archive), which runs C(pg_dump -Fc --schema-only) of
    the scope and keeps the archive and its manifest in its state directory. The agent keeps the previous archive
    when the schema did not change.
  - Then downloads the archive (C(GET .../schema-archive)) to O(dest) and the manifest
    (C(GET .../schema-archive/manifest)) to O(dest) plus C(.manifest.json), on the host where the module runs.
    The download is checked against the sha256 the agent announces, and a local file is replaced only when it differs.
  - The result is changed when the agent made a new archive or a local file differed.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.scope
options:
  dest:
    description:
      - Local path of the archive. The manifest goes to O(dest) with C(.manifest.json) appended.
      - Its directory must exist. Files are written with mode C(0600).
    type: path
    required: true
notes:
  - In check mode the agent reports whether it would make a new archive and nothing is downloaded.
'''

EXAMPLES = r'''
- name: Dump the schema of "app" on the source and download it
  pgferry.migrate.schema_archive:
    agent_url: https://db1.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    exclude_schemas: [excluded]
    dest: /var/tmp/pgferry/app.dump
  register: archive

- name: Show the archive's digest
  ansible.builtin.debug:
    msg: "{{ archive.sha256 }} {{ archive.manifest }}"
'''

RETURN = r'''
queries:
  description: What the agent ran (the C(pg_dump) command line), or in check mode would run.
  returned: always
  type: list
  elements: str
  sample: ["pg_dump -Fc --schema-only -n '\"included\"' app"]
archive:
  description: The agent's archive.
  returned: success
  type: dict
  contains:
    sha256:
      description: sha256 of the archive bytes.
      type: str
    size_bytes:
      description: Size of the archive.
      type: int
    entries:
      description: Number of TOC entries.
      type: int
    pg_dump_version:
      description: Version of the C(pg_dump) that made it.
      type: str
    tables:
      description: Tables in the archive.
      type: list
      elements: dict
  sample: {"sha256": "9f2c...", "size_bytes": 8113, "entries": 17, "pg_dump_version": "14.19", "tables": [{"schema": "included", "name": "customers"}]}
archive_changed:
  description: Whether the agent made a new archive (as opposed to only a local file being replaced).
  returned: success
  type: bool
dest:
  description: Local path of the archive.
  returned: success
  type: str
  sample: /var/tmp/pgferry/app.dump
manifest:
  description: Local path of the manifest.
  returned: success
  type: str
  sample: /var/tmp/pgferry/app.dump.manifest.json
sha256:
  description: sha256 of the local archive (of the agent's archive in check mode).
  returned: success
  type: str
  sample: 9f2c4d0a1b7e3f6c5d8e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d
manifest_sha256:
  description: sha256 of the local manifest; absent in check mode.
  returned: success and not in check mode
  type: str
'''

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    file_sha256,
    migration_argument_spec,
    migration_path,
    scope_body,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(scope=True))
    argument_spec.update(dest=dict(type='path', required=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    dest = p['dest']
    manifest = dest + '.manifest.json'
    if not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg='the directory of dest %s does not exist' % dest)

    client = AgentClient(module)
    if module.check_mode:
        # Making an archive writes the agent's state: in check mode only what is there is read.
        stored = client.get_bytes(migration_path(module, 'schema-archive/manifest'))
        archive = json.loads(stored) if stored else {}
        module.exit_json(changed=True, archive_changed=True, dest=dest, manifest=manifest,
                         sha256=archive.get('archive_sha256'), archive=dict(
                             (k, archive[k]) for k in ('archive_sha256', 'schemas', 'tables') if k in archive),
                         queries=['-- pg_dump --schema-only of the scope in database %s into the agent\'s state '
                                  'directory (kept when the schema is unchanged%s)' % (
                                      p['database'], '; one is there now' if stored else '')])
    body = dict(database=p['database'])
    body.update(scope_body(p))
    result = step_result(client.post(migration_path(module, 'schema-archive'), body))
    archive = result.get('archive') or {}
    result.update(archive_changed=result['changed'], dest=dest, manifest=manifest)

    if module.check_mode:
        remote = (archive.get('sha256') or '').lower() or None
        local_differs = remote is None or file_sha256(dest) != remote
        result.update(changed=result['changed'] or local_differs, sha256=remote)
        module.exit_json(**result)

    got = client.download(migration_path(module, 'schema-archive'), dest)
    if archive.get('sha256') and archive['sha256'].lower() != got['sha256']:
        module.fail_json(msg='the archive downloaded has sha256 %s but the agent reported %s for it; another '
                             'schema_archive call for this migration may have run meanwhile, rerun'
                             % (got['sha256'], archive['sha256']), **result)
    got_manifest = client.download(migration_path(module, 'schema-archive/manifest'), manifest)
    result.update(changed=result['changed'] or got['changed'] or got_manifest['changed'],
                  sha256=got['sha256'], manifest_sha256=got_manifest['sha256'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
