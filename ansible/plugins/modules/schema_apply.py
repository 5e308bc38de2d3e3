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
  - Uploads the archive (C(PUT /v1/migrations/{m}/schema-archive) with its sha256 in C(X-Pgferry-Sha256)) and its
    manifest (C(PUT .../schema-archive/manifest)) to the target agent, each only when the agent's copy differs. They
    come from files (O(src), O(manifest)) or, as M(pgferry.migrate.schema_archive) returns a small archive, inline
    (O(content), O(manifest_content)).
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
      - One of O(src) and O(content) is required (in check mode neither is, for when M(pgferry.migrate.schema_archive)
        ran in check mode too and so downloaded nothing).
    type: path
  manifest:
    description:
      - Path of the archive's manifest. Defaults to O(src) with C(.manifest.json) appended.
    type: path
  content:
    description:
      - The archive's bytes, base64-encoded, as RV(pgferry.migrate.schema_archive#module:content) returns them;
        instead of O(src).
      - Kept out of the host's log and of the result's C(invocation) (C(no_log)); not for secrecy, for size.
    type: str
  manifest_content:
    description:
      - The manifest's bytes, base64-encoded, as RV(pgferry.migrate.schema_archive#module:manifest_content) returns
        them. Required with O(content); kept out of the log as it is.
    type: str
  keys:
    description:
      - Restore primary keys and replica-identity indexes with the schema, before the initial copy (what native
        table sync needs). V(false) leaves them to M(pgferry.migrate.copy), which builds them after each table's rows.
    type: bool
    default: true
  stored_sha256:
    description:
      - Check mode only, without O(src) or O(content), when M(pgferry.migrate.schema_archive) ran in check mode too,
        downloaded nothing and found its stored archive current. The sha256 of that archive (V(archive)) and of its
        manifest (V(manifest)), as it returned them.
      - When the agent's copies have them, it is asked what it would apply; otherwise the archive would be uploaded
        first, and that is what is reported.
    type: dict
  archive_sent:
    description:
      - The archive and its manifest are on the agent already - M(pgferry.migrate.schema_archive) sent them there
        with its O(pgferry.migrate.schema_archive#module:target_agent) - so nothing is uploaded.
      - Instead of O(src) or O(content).
    type: bool
    default: false
notes:
  - In check mode nothing is uploaded; the agent is asked what it would apply (with C(check=true)) only when its
    copy of the archive is already the same as O(src) or O(content).
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

- name: Apply an archive pgferry.migrate.schema_archive returned inline (registered as archive)
  pgferry.migrate.schema_apply:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    content: "{{ archive.content }}"
    manifest_content: "{{ archive.manifest_content }}"
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
  description: sha256 of the archive (O(src) or O(content)).
  returned: when the archive was given
  type: str
job:
  description: The agent's job as last seen (C(id), C(step), C(state), C(progress), C(started_at), C(finished_at), C(result)).
  returned: when the agent ran a job
  type: dict
  sample: {"id": "schema-apply:app", "state": "succeeded", "progress": {"done": 3, "total": 3, "message": "keys"}}
'''

import base64
import binascii
import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    check_mode_step,
    migration_argument_spec,
    migration_path,
    privileges_argument_spec,
    step_result,
)


def decoded(module, name):
    try:
        return base64.b64decode(module.params[name], validate=True)
    except (binascii.Error, ValueError, TypeError):
        module.fail_json(msg='%s is not base64 (pass the %s that pgferry.migrate.schema_archive returned, as it is)'
                             % (name, name))


def holds(client, module, stored):
    """Whether the agent's archive and manifest are the ones whose sha256 `stored` gives."""
    if not stored or not stored.get('archive') or not stored.get('manifest'):
        return False
    manifest = client.get_bytes(migration_path(module, 'schema-archive/manifest'))
    return (manifest is not None and hashlib.sha256(manifest).hexdigest() == stored['manifest']
            and client.remote_sha256(migration_path(module, 'schema-archive')) == stored['archive'])


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(job=True))
    argument_spec.update(privileges_argument_spec(switch=True))
    # no_log on the inline archive: megabytes that AnsibleModule would otherwise write to the host's syslog and send
    # back in the result's invocation; it is not secret.
    argument_spec.update(src=dict(type='path'), manifest=dict(type='path'),
                         content=dict(type='str', no_log=True), manifest_content=dict(type='str', no_log=True),
                         keys=dict(type='bool', default=True), archive_sent=dict(type='bool', default=False),
                         stored_sha256=dict(type='dict'))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           mutually_exclusive=[('src', 'content'), ('manifest', 'manifest_content'),
                                               ('src', 'manifest_content'), ('content', 'manifest')],
                           required_together=[('content', 'manifest_content')])
    p = module.params
    client = AgentClient(module)
    would = ('upload the schema archive, then restore in database %s the pre-data and keys that are missing'
             % p['database'])
    data = manifest_data = None
    if p['archive_sent'] and (p['src'] or p['content'] is not None):
        module.fail_json(msg='archive_sent says the agent has the archive already: give neither src nor content')
    if p['archive_sent']:
        pass  # on the agent already: schema_archive sent it there
    elif p['content'] is not None:
        data, manifest_data = decoded(module, 'content'), decoded(module, 'manifest_content')
    elif p['src']:
        src = p['src']
        manifest = p['manifest'] or src + '.manifest.json'
        for path in (src, manifest):
            if not os.path.isfile(path):
                if module.check_mode:  # schema_archive ran in check mode too: nothing was downloaded
                    module.exit_json(changed=True, queries=['-- ' + would])
                module.fail_json(msg='%s does not exist (make it with pgferry.migrate.schema_archive)' % path)
        data, manifest_data = read(src), read(manifest)
    elif module.check_mode:  # schema_archive ran in check mode too: it returned no archive
        if not holds(client, module, p['stored_sha256']):
            module.exit_json(changed=True, queries=['-- ' + would])
    else:
        module.fail_json(msg='give the archive: src (a file pgferry.migrate.schema_archive wrote) or content and '
                             'manifest_content (what it returned inline)')

    archive_path = migration_path(module, 'schema-archive')
    manifest_path = migration_path(module, 'schema-archive/manifest')
    if data is None:
        sha, uploaded = client.remote_sha256(archive_path), dict(archive=False, manifest=False)
        if sha is None:
            module.fail_json(msg='archive_sent, but the agent has no schema archive of migration %s; run '
                                 'pgferry.migrate.schema_archive with target_agent first' % p['migration_id'])
    else:
        sha = hashlib.sha256(data).hexdigest()
        manifest_sha = hashlib.sha256(manifest_data).hexdigest()
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
            client.upload_bytes(archive_path, data, sha)
        if uploaded['manifest']:
            client.upload_bytes(manifest_path, manifest_data, manifest_sha, content_type='application/json')

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
