#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
module: preflight
short_description: Check the source or the target of a migration before anything changes
version_added: 0.1.0
description:
  - Calls the agent's C(POST /v1/migrations/{m}/preflight) for one side. The agent only reads (read-only
    sessions) and returns findings, each with a stable code (docs/findings.md), a severity, the objects
    concerned, a message and a fix.
  - Fails when any finding is an error, with a message that lists every error's code, objects and fix.
    Warnings are returned and do not fail.
  - Source side, among others - C(wal_level), free replication slots and WAL senders, tables without a
    replica identity, unlogged tables, materialized views, large objects, what the replication role may read,
    a publication or slot of the migration's name with other content.
  - Target side, among others - version against the source, missing extensions, tables in scope that already
    hold rows, a subscription of the migration's name pointing elsewhere, free logical replication and sync
    workers, free disk, and a real connection to the source as the subscription will make it (from the target
    server through dblink when it is installed there, else from the target host).
  - Roles and privileges - the source lists the roles the database needs (C(facts.roles), no verifiers), passwords
    that cannot move, SECURITY DEFINER functions and code owned by non-superusers; the target compares those roles
    with its own through O(role_map) exactly as M(pgferry.migrate.roles) will.
  - Never changes anything, so check mode runs it the same way; C(changed) is always false.
author:
  - pgferry maintainers (@pgferry)
extends_documentation_fragment:
  - pgferry.migrate.source_connection
  - pgferry.migrate.agent
  - pgferry.migrate.migration
  - pgferry.migrate.migration.scope
  - pgferry.migrate.migration.replica_identity
options:
  side:
    description: Which side the agent serves.
    type: str
    required: true
    choices: [source, target]
  skip_large_objects:
    description:
      - Source side. Leave large objects behind (by default the M(pgferry.migrate.large_objects) step moves them); the
        C(large_objects_present) warning says which way it goes.
    type: bool
    default: false
  unlogged_tables:
    description:
      - Source side. V(refuse) - unlogged tables in scope are an error; V(empty) - they move without their rows (a
        warning names them).
    type: str
    choices: [refuse, empty]
    default: refuse
  refresh_materialized_views:
    description: Source side. Whether the cutover will refresh materialized views (said in their warning).
    type: bool
    default: false
  row_security:
    description:
      - Source side. How the replication_role step will let the initial copy read tables whose row-level security would
        hide rows from it (M(pgferry.migrate.replication_role)); such tables it cannot cover are errors.
      - Defaults to V(policy) on the agent.
    type: str
    choices: [policy, bypassrls, none]
  subscription_user:
    description:
      - Source side. The role the subscription will log in as, when not C(pgferry_<migration_id>); the copy reads the
        tables as that role.
    type: str
  allow_older_target:
    description: Target side. Accept a target older than the source (a warning instead of an error).
    type: bool
    default: false
  source_major:
    description: Target side. The source's major version, from the source preflight's C(facts.major).
    type: int
  source_size_bytes:
    description: Target side. The source database's size, from the source preflight's C(facts.database_size_bytes).
    type: int
  expected_extensions:
    description: Target side. Extensions the source database has, from the source preflight's C(facts.extensions).
    type: list
    elements: str
  replication_role_exists:
    description:
      - Target side. Whether the replication role exists on the source yet (source preflight's
        C(facts.replication_role_exists)); when false, a failed login is a warning.
    type: bool
  privileges:
    description:
      - Both sides. Whether owners and privileges move (the default). With V(false), code owned by non-superusers on
        the source is an error (it would belong to the target agent's role).
    type: bool
    default: true
  source_roles:
    description: Target side. The roles the database needs, from the source preflight's C(facts.roles).
    type: list
    elements: dict
  role_map:
    description: Target side. Source role name to target role name (see M(pgferry.migrate.roles)).
    type: dict
  allow_role_rights:
    description: Target side. Target roles that may have rights beyond their source role's.
    type: list
    elements: str
  allow_shared_roles:
    description: Target side. Target roles that may also serve other databases of the target.
    type: list
    elements: str
  source_apply_code:
    description:
      - Target side. The source's code that runs under the subscription (source preflight's C(facts.apply_code));
        on a 14 or 15 target it would run as a superuser.
    type: list
    elements: str
  source_partition_rights:
    description:
      - Target side. Partitions whose root's owner lacks INSERT, UPDATE or DELETE on them (source preflight's
        C(facts.partition_rights)); on a PostgreSQL 16 or newer target the stream would stop at the first row routed
        into one (C(partition_rights_missing)).
    type: list
    elements: str
  source_database_locale:
    description:
      - Target side. The source database's encoding and locale (source preflight's C(facts.database_locale)). An
        existing target database that differs is an error (C(database_locale_differs)); a missing one that this target
        cannot create with them (an ICU or builtin provider it lacks) too (C(database_locale_unsupported)).
    type: dict
  allow_locale_change:
    description: Target side. Accept a target database with another encoding or locale than the source's (a warning).
    type: bool
    default: false
  source_outside_dependencies:
    description:
      - Target side. What the source's objects in scope need from outside it (source preflight's
        C(facts.outside_dependencies)); each needed object is looked up in the target database, and one it lacks is
        an error (C(outside_dependencies_missing)).
    type: list
    elements: dict
  connection:
    description: Target side. How the target server reaches the source, exactly as the subscription step gets it.
    type: dict
'''

EXAMPLES = r'''
- name: Check the source
  pgferry.migrate.preflight:
    agent_url: https://db1.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    side: source
    exclude_schemas: [scratch]
  register: source_preflight

- name: Check the target, with what the source preflight found
  pgferry.migrate.preflight:
    agent_url: https://db2.example.com:8443
    agent_token: "{{ vault_pgferry_agent_token }}"
    migration_id: app
    database: app
    side: target
    source_major: "{{ source_preflight.facts.major }}"
    source_size_bytes: "{{ source_preflight.facts.database_size_bytes }}"
    expected_extensions: "{{ source_preflight.facts.extensions }}"
    replication_role_exists: "{{ source_preflight.facts.replication_role_exists }}"
    connection:
      host: db1.internal
      dbname: app
      password: "{{ vault_pgferry_replication_password }}"
'''

RETURN = r'''
queries:
  description: SQL run to change something; always empty, the preflight only reads.
  returned: always
  type: list
  elements: str
  sample: []
ok:
  description: False when any finding is an error.
  returned: always
  type: bool
findings:
  description: Every finding, errors and warnings.
  returned: always
  type: list
  elements: dict
  sample: [{"code": "table_without_replica_identity", "severity": "error", "objects": ["\"public\".\"events\""],
            "message": "these tables have no primary key or replica identity ...", "fix": "add a primary key ..."}]
errors:
  description: The findings of severity error.
  returned: always
  type: list
  elements: dict
warnings_found:
  description: The findings of severity warning.
  returned: always
  type: list
  elements: dict
facts:
  description: What the agent read that the next steps use (server version, major, database size, extensions, ...).
  returned: always
  type: dict
notes:
  description: What was not checked, or checked another way, and why.
  returned: always
  type: list
  elements: str
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.pgferry.migrate.plugins.module_utils.agent_client import (
    AgentClient,
    agent_argument_spec,
    mask_value,
    migration_argument_spec,
    migration_path,
    replica_identity_argument_spec,
    replica_identity_body,
    scope_body,
    source_connection_argument_spec,
    source_connection_body,
)


def describe(finding):
    """One line per finding: code, objects, fix."""
    objects = ', '.join(finding.get('objects') or [])
    text = finding.get('code') or '?'
    if objects:
        text += ' [%s]' % objects
    if finding.get('message'):
        text += ': %s' % finding['message']
    if finding.get('fix'):
        text += '. Fix: %s' % finding['fix']
    return text


def request_body(p):
    """The request: scope, then each side's own fields (another side's are sent only when set, so the agent
    refuses them by name instead of the module ignoring them)."""
    body = dict(side=p['side'], database=p['database'])
    body.update(scope_body(p))
    source = p['side'] == 'source'
    for key, value in replica_identity_body(p).items():
        if source or value:
            body[key] = value
    if source or p['skip_large_objects']:
        body['skip_large_objects'] = p['skip_large_objects']
    for key in ('row_security', 'subscription_user'):
        if p[key]:
            body[key] = p[key]
    if source or p['unlogged_tables'] != 'refuse':
        body['unlogged_tables'] = p['unlogged_tables']
    if source or p['refresh_materialized_views']:
        body['refresh_materialized_views'] = p['refresh_materialized_views']
    if not source or p['allow_older_target']:
        body['allow_older_target'] = p['allow_older_target']
    if not source or p['allow_locale_change']:
        body['allow_locale_change'] = p['allow_locale_change']
    body['privileges'] = p['privileges']
    for key in ('source_major', 'source_size_bytes', 'expected_extensions', 'replication_role_exists',
                'source_roles', 'role_map', 'allow_role_rights', 'allow_shared_roles', 'source_apply_code',
                'source_outside_dependencies', 'source_database_locale', 'source_partition_rights'):
        if p[key] is not None:
            body[key] = p[key]
    if p['connection']:
        body['connection'] = source_connection_body(p)
    return body


def main():
    argument_spec = agent_argument_spec()
    argument_spec.update(migration_argument_spec(scope=True))
    argument_spec.update(replica_identity_argument_spec())
    argument_spec.update(source_connection_argument_spec())
    argument_spec.update(
        side=dict(type='str', required=True, choices=['source', 'target']),
        skip_large_objects=dict(type='bool', default=False),
        row_security=dict(type='str', choices=['policy', 'bypassrls', 'none']),
        subscription_user=dict(type='str'),
        unlogged_tables=dict(type='str', choices=['refuse', 'empty'], default='refuse'),
        refresh_materialized_views=dict(type='bool', default=False),
        allow_older_target=dict(type='bool', default=False),
        source_major=dict(type='int'),
        source_size_bytes=dict(type='int'),
        expected_extensions=dict(type='list', elements='str'),
        replication_role_exists=dict(type='bool'),
        privileges=dict(type='bool', default=True),
        source_roles=dict(type='list', elements='dict'),
        role_map=dict(type='dict'),
        allow_role_rights=dict(type='list', elements='str'),
        allow_shared_roles=dict(type='list', elements='str'),
        source_apply_code=dict(type='list', elements='str'),
        source_partition_rights=dict(type='list', elements='str'),
        source_outside_dependencies=dict(type='list', elements='dict'),
        source_database_locale=dict(type='dict'),
        allow_locale_change=dict(type='bool', default=False),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    p = module.params
    client = AgentClient(module)
    secrets = [(p['connection'] or {}).get('password')]

    answer = client.post(migration_path(module, 'preflight'), request_body(p)) or {}
    answer = mask_value(answer, secrets)
    findings = answer.get('findings') or []
    errors = [f for f in findings if f.get('severity') == 'error']
    warnings = [f for f in findings if f.get('severity') != 'error']
    result = dict(changed=False, queries=[], ok=not errors, findings=findings, errors=errors, warnings_found=warnings,
                  facts=answer.get('facts') or {}, notes=answer.get('notes') or [])
    if errors:
        module.fail_json(msg='preflight of the %s (database %s) found %d error%s: %s' % (
            p['side'], p['database'], len(errors), '' if len(errors) == 1 else 's',
            ' | '.join(describe(f) for f in errors)), **result)
    module.exit_json(**result)


if __name__ == '__main__':
    main()
