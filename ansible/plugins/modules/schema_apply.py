#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: schema_apply
short_description: Upload a schema archive to the target agent and apply its pre-data and keys
version_added: 0.1.0
description:
  - Uploads O(src) (C(PUT /v1/migrations/{m}/schema-archive) with its sha256 in C(X-Pgferry-Sha256)) and its manifest
    (C(PUT .../schema-archive/manifest)) to the target agent, each only when the agent's copy differs.
  - Then calls C(POST /v1/migrations/{m}/schema-apply) and follows the job until it ends. The agent checks that
    every extension the archive needs exists (C(extensions_missing) otherwise), restores pre-data minus existing
    schemas and extensions in one transaction - together with the source's owners and privileges (through
    O(role_map)), so no restored object ever belongs to the agent's role - then creates the primary keys and
    replica-identity indexes that are missing. The roles the owners and grants name must exist (M(pgferry.migrate.roles);
    C(roles_missing) otherwise). When every table of the manifest exists, pre-data is skipped; some but not all is
    C(target_schema_partial).
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.job
  - pgferry.migrate.privileges
  - pgferry.migrate.privileges.SWITCH
options:
  src:
    description:
      - Path of the archive made by M(pgferry.migrate.schema_archive), on the host where the module runs.
    type: path
    required: true
  manifest:
    description:
      - Path of the archive's manifest. Defaults to O(src) with C(.manifest.json) appended.
    type: path
  keys:
    description:
      - Restore primary keys and replica-identity indexes with the schema, before the initial copy (what native
        table sync needs). V(false) leaves them to M(pgferry.migrate.copy), which builds them after each table's rows.
    type: bool
    default: true
notes:
  - In check mode nothing is uploaded; the agent is asked what it would apply (with C(check=true)) only when its
    copy of the archive is already the same as O(src).
'''

EXAMPLES = r'''
- name: Apply the schema on the target
  pgferry.migrate.schema_apply:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    src: /var/tmp/pgferry/app.dump
    wait_timeout: 1800
'''

RETURN = r'''
queries:
  description: What the agent ran (restore steps and SQL), or in check mode would run.
  returned: always
  type: list
  elements: str
  sample: ["pg_restore --use-list (pre-data, 14 entries, single transaction)", "ALTER TABLE ONLY \"included\".\"customers\" ADD CONSTRAINT ..."]
uploaded:
  description: Which files were uploaded (or, in check mode, would be) because the agent's copy differed.
  returned: always
  type: dict
  sample: {"archive": true, "manifest": true}
sha256:
  description: sha256 of O(src).
  returned: always
  type: str
job:
  description: The agent's job as last seen (C(id), C(step), C(state), C(progress), C(started_at), C(finished_at), C(result)).
  returned: when the agent ran a job
  type: dict
  sample: {"id": "schema-apply:app", "state": "succeeded", "progress": {"done": 3, "total": 3, "message": "keys"}}
'''

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    check_mode_step,
    file_sha256,
    migration_argument_spec,
    migration_path,
    privileges_argument_spec,
    step_result,
)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(job=True))
    argument_spec.update(privileges_argument_spec(switch=True))
    argument_spec.update(src=dict(type='path', required=True), manifest=dict(type='path'),
                         keys=dict(type='bool', default=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    src = p['src']
    manifest = p['manifest'] or src + '.manifest.json'
    client = AgentClient(module)
    would = ('upload the schema archive, then restore in database %s the pre-data and keys that are missing'
             % p['database'])
    for path in (src, manifest):
        if not os.path.isfile(path):
            if module.check_mode:  # schema_archive ran in check mode too: nothing was downloaded
                module.exit_json(changed=True, queries=['-- ' + would])
            module.fail_json(msg='%s does not exist (make it with pgferry.migrate.schema_archive)' % path)

    archive_path = migration_path(module, 'schema-archive')
    manifest_path = migration_path(module, 'schema-archive/manifest')
    sha = file_sha256(src)
    manifest_sha = file_sha256(manifest)
    remote_manifest = client.get_bytes(manifest_path)
    uploaded = dict(
        archive=client.remote_sha256(archive_path) != sha,
        manifest=remote_manifest is None or hashlib.sha256(remote_manifest).hexdigest() != manifest_sha,
    )
    changed = uploaded['archive'] or uploaded['manifest']

    if module.check_mode and changed:
        module.exit_json(changed=True, queries=[], uploaded=uploaded, sha256=sha)
    if not module.check_mode:
        if uploaded['archive']:
            client.upload(archive_path, src, sha)
        if uploaded['manifest']:
            client.upload(manifest_path, manifest, manifest_sha, content_type='application/json')

    body = dict(database=p['database'], privileges=p['privileges'], role_map=p['role_map'])
    if not p['keys']:
        body['keys'] = False  # only then: an older agent rejects unknown fields
    if module.check_mode:
        body['check'] = True  # only then: the agent rejects unknown fields
        check_mode_step(module, client, 'POST', migration_path(module, 'schema-apply'), body, would)
    outcome = client.run_job(migration_path(module, 'schema-apply'), body,
                             wait=p['wait'], wait_timeout=p['wait_timeout'], poll_interval=p['poll_interval'])
    result = step_result(outcome['result'], uploaded=uploaded, sha256=sha)
    if outcome['job'] is not None:
        result['job'] = outcome['job']
        if outcome['result'] is None:  # wait=false and still running: something is being done
            result['changed'] = True
    result['changed'] = result['changed'] or changed
    module.exit_json(**result)


if __name__ == '__main__':
    main()
