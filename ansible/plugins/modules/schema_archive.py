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
  - Then downloads the archive (C(GET .../schema-archive)) and the manifest (C(GET .../schema-archive/manifest)).
    When together they are at most O(inline_max_bytes), both come back in the result (RV(content),
    RV(manifest_content)) and no file is written; M(pgferry.migrate.schema_apply) takes them as they are, so a small
    archive needs no copy from host to host.
  - Otherwise they are written to O(dest) and O(dest) plus C(.manifest.json), on the host where the module runs; a
    local file is replaced only when it differs. Without O(dest), they go to a new private directory (mode C(0700))
    under the host's temporary directory, returned as RV(tmpdir), which the caller removes.
  - With O(target_agent) neither happens. The archive and its manifest go straight from this agent to that one, with
    the target agent's C(PUT .../schema-archive) and C(PUT .../schema-archive/manifest), each only when the target's
    copy differs; RV(sent) is true and M(pgferry.migrate.schema_apply) runs with
    O(pgferry.migrate.schema_apply#module:archive_sent). This is for a host that reaches both agents (the migrate role
    sends when both sides run on the controller), with no file and nothing large in a result or an argument.
  - Every download is checked against the sha256 the agent announces.
  - The result is changed when the agent made a new archive or a file at O(dest) differed.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.scope
  - pgferry.migrate.peer
options:
  dest:
    description:
      - Local path of the archive when it is written to files. The manifest goes to O(dest) with C(.manifest.json)
        appended.
      - Its directory must exist. Files are written with mode C(0600).
      - Omitted, files (when the archive is not returned inline) go to a new private temporary directory, RV(tmpdir).
    type: path
  inline_max_bytes:
    description:
      - Largest archive plus manifest, in bytes, returned in the result instead of written to files. The size of the
        archive is known from the agent's answer before anything is downloaded; a larger one is downloaded to files
        directly.
      - V(0) always writes files.
    type: int
    default: 0
notes:
  - In check mode the agent dumps the schema and compares it with its stored archive, storing nothing, to report
    whether it would make a new one; nothing is downloaded or written.
  - The archive holds the scope's schema without owners, privileges, publications or subscriptions, and the signed
    manifest the scope's tables, owners and privileges. Neither holds a password, but returned inline both are in
    the task's result, which C(-v) prints.
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

- name: The archive in the result when it is at most 8 MiB (files in a temporary directory otherwise)
  pgferry.migrate.schema_archive:
    agent_url: https://db1.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    inline_max_bytes: 8388608
  register: archive

- name: Upload it to the target agent and apply it
  pgferry.migrate.schema_apply:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    content: "{{ archive.content }}"
    manifest_content: "{{ archive.manifest_content }}"
  when: archive.inline
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
sent:
  description: Whether the archive and its manifest went straight to O(target_agent) (no file written, nothing inline).
  returned: success
  type: bool
uploaded:
  description: With O(target_agent), which of the two the target agent lacked and was sent (C(archive), C(manifest)).
  returned: when RV(sent)
  type: dict
inline:
  description: Whether the archive and its manifest are in RV(content) and RV(manifest_content) (no file written).
  returned: success
  type: bool
  sample: true
content:
  description: The archive's bytes, base64-encoded, for the O(pgferry.migrate.schema_apply#module:content) option.
  returned: when RV(inline)
  type: str
  sample: UEdETVABDgAECAEBAQAAAAAL...
manifest_content:
  description: The manifest's bytes, base64-encoded, for the O(pgferry.migrate.schema_apply#module:manifest_content)
    option.
  returned: when RV(inline)
  type: str
  sample: eyJzaWduYXR1cmUiOiJobWFjLXNoYTI1Njo...
dest:
  description: Local path of the archive.
  returned: when written to files, and in check mode when O(dest) is given
  type: str
  sample: /var/tmp/pgferry/app.dump
manifest:
  description: Local path of the manifest.
  returned: when written to files, and in check mode when O(dest) is given
  type: str
  sample: /var/tmp/pgferry/app.dump.manifest.json
tmpdir:
  description: The private temporary directory the module made for the files when O(dest) was not given; remove it
    when done.
  returned: when written to files without O(dest)
  type: str
  sample: /tmp/pgferry-app-k2j4h1x0
sha256:
  description: sha256 of the archive downloaded (of the agent's archive in check mode).
  returned: success
  type: str
  sample: 9f2c4d0a1b7e3f6c5d8e9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d
manifest_sha256:
  description: sha256 of the manifest downloaded (of the agent's stored manifest in check mode).
  returned: success (in check mode, when the agent has an archive)
  type: str
'''

import base64
import hashlib
import json
import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    migration_argument_spec,
    migration_path,
    peer_argument_spec,
    peer_client,
    scope_body,
    step_result,
    write_if_different,
)

ARCHIVE_NAME = 'schema.dump'


def inline_download(client, module, result, limit):
    """(archive, manifest) downloaded into memory when both fit in limit; else (the archive or None, None)."""
    archive = result.get('archive') or {}
    if limit <= 0:
        return None, None
    size = archive.get('size_bytes')
    if isinstance(size, int) and size > limit:  # known too large: not a byte of it into memory
        return None, None
    got = client.download_bytes(migration_path(module, 'schema-archive'), limit)
    if got is None:
        return None, None
    check_archive_sha256(module, result, got['sha256'])
    got_manifest = client.download_bytes(migration_path(module, 'schema-archive/manifest'), limit - got['size_bytes'])
    return got, got_manifest


# A schema-only archive of 20,000 tables and its manifest are some tens of MiB; held in memory on the way through.
SEND_MAX_BYTES = 512 * 1024 * 1024


def send(client, target, module, result):
    """The archive and manifest from the source agent to the target agent, each only where the target's differs."""
    archive_path = migration_path(module, 'schema-archive')
    manifest_path = migration_path(module, 'schema-archive/manifest')
    got = client.download_bytes(archive_path, SEND_MAX_BYTES)
    manifest = client.download_bytes(manifest_path, SEND_MAX_BYTES)
    if got is None or manifest is None:
        module.fail_json(msg='the schema archive and manifest are over %d bytes, more than they are carried in memory '
                             'between agents; take the file path instead (pgferry_schema_archive_direct=false)'
                             % SEND_MAX_BYTES, **result)
    check_archive_sha256(module, result, got['sha256'])
    theirs = target.get_bytes(manifest_path)
    uploaded = dict(archive=target.remote_sha256(archive_path) != got['sha256'],
                    manifest=theirs is None or hashlib.sha256(theirs).hexdigest() != manifest['sha256'])
    if uploaded['archive']:
        target.upload_bytes(archive_path, got['data'], got['sha256'])
    if uploaded['manifest']:
        target.upload_bytes(manifest_path, manifest['data'], manifest['sha256'], content_type='application/json')
    return dict(sent=True, uploaded=uploaded, sha256=got['sha256'], manifest_sha256=manifest['sha256'])


def check_archive_sha256(module, result, sha):
    archive = result.get('archive') or {}
    if archive.get('sha256') and archive['sha256'].lower() != sha:
        module.fail_json(msg='the archive downloaded has sha256 %s but the agent reported %s for it; another '
                             'schema_archive call for this migration may have run meanwhile, rerun'
                             % (sha, archive['sha256']), **result)


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(scope=True))
    argument_spec.update(peer_argument_spec())
    argument_spec.update(dest=dict(type='path'), inline_max_bytes=dict(type='int', default=0))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    dest = p['dest']
    limit = p['inline_max_bytes']
    if limit < 0:
        module.fail_json(msg='inline_max_bytes must be 0 (always files) or more, got %d' % limit)
    if dest and not os.path.isdir(os.path.dirname(os.path.abspath(dest))):
        module.fail_json(msg='the directory of dest %s does not exist' % dest)
    where = dict(dest=dest, manifest=dest + '.manifest.json') if dest else {}

    client = AgentClient(module)
    body = dict(database=p['database'])
    body.update(scope_body(p))
    if module.check_mode:
        # The agent dumps and compares with its stored archive, and stores nothing (check=true); the stored archive's
        # and manifest's sha256 let schema_apply tell whether the target agent holds them already.
        would = client.post(migration_path(module, 'schema-archive'), dict(body, check=True))['changed']
        stored = client.get_bytes(migration_path(module, 'schema-archive/manifest'))
        archive = json.loads(stored) if stored else {}
        verdict = ('the schema is unchanged: the stored archive is kept' if not would
                   else 'a new archive: the schema differs from the stored one' if stored else 'the first archive')
        module.exit_json(changed=would, archive_changed=would, inline=False,
                         sha256=archive.get('archive_sha256'),
                         manifest_sha256=hashlib.sha256(stored).hexdigest() if stored else None, archive=dict(
                             (k, archive[k]) for k in ('archive_sha256', 'schemas', 'tables') if k in archive),
                         queries=['-- pg_dump --schema-only of the scope in database %s into the agent\'s state '
                                  'directory (%s)' % (p['database'], verdict)], **where)
    result = step_result(client.post(migration_path(module, 'schema-archive'), body))
    result.update(archive_changed=result['changed'], inline=False, sent=False)
    if p['target_agent'] or p['target_agent_url']:
        result.update(send(client, peer_client(module), module, result))
        module.exit_json(**result)

    got, got_manifest = inline_download(client, module, result, limit)
    if got_manifest is not None:
        result.update(inline=True, sha256=got['sha256'], manifest_sha256=got_manifest['sha256'],
                      content=base64.b64encode(got['data']).decode('ascii'),
                      manifest_content=base64.b64encode(got_manifest['data']).decode('ascii'))
        module.exit_json(**result)

    tmpdir = None
    if not dest:
        # The caller's files, not this module's: they outlive it until the caller has carried them on and removes
        # the directory (Ansible's own remote temporary directory goes when the module ends).
        tmpdir = tempfile.mkdtemp(prefix='pgferry-%s-' % p['migration_id'])
        dest = os.path.join(tmpdir, ARCHIVE_NAME)
    manifest = dest + '.manifest.json'
    try:
        if got is not None:  # the archive fitted, the manifest did not: the bytes in memory are the ones checked
            written = dict(sha256=got['sha256'], changed=write_if_different(dest, got['data']))
        else:
            written = client.download(migration_path(module, 'schema-archive'), dest)
            check_archive_sha256(module, result, written['sha256'])
        got_manifest = client.download(migration_path(module, 'schema-archive/manifest'), manifest)
    except BaseException:  # fail_json exits too: a directory nobody is told about would stay behind
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
        raise
    if tmpdir:
        # A new directory always "differs": only a file at a dest the caller keeps is a change of it.
        result.update(tmpdir=tmpdir)
    else:
        result.update(changed=result['changed'] or written['changed'] or got_manifest['changed'])
    result.update(dest=dest, manifest=manifest, sha256=written['sha256'], manifest_sha256=got_manifest['sha256'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
