# -*- coding: utf-8 -*-
"""large_objects reads the sender's fence first: a fenced source refuses before anything is scanned or copied."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.pgferry.migrate.plugins.modules import large_objects

from conftest import TOKEN


def run(capsys, server, check=False):
    args = {'agent': {'url': server.url, 'token': TOKEN}, 'target_agent': {'url': server.url, 'token': TOKEN},
            'migration_id': 'm1', 'database': 'app', '_ansible_check_mode': check}
    with patch_module_args(args), pytest.raises(SystemExit) as exit_:
        large_objects.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    return exit_.value.code, json.loads(out)


@pytest.mark.parametrize('check', [False, True])
def test_a_fenced_source_is_refused_and_nothing_else_is_asked(agent_server, capsys, check):
    agent_server.fenced = True
    code, result = run(capsys, agent_server, check=check)
    assert code == 1 and result['failed'] and result['changed'] is False and result['queries'] == []
    assert result['msg'].startswith('the source database app is fenced: the migration was cut over')
    assert 'Nothing was copied' in result['msg'] and 'pgferry.migrate.rollback' in result['msg']
    assert [(r['method'], r['path']) for r in agent_server.requests] == [
        ('GET', '/v1/migrations/m1/fence?database=app')]


def test_an_unfenced_source_is_synced(agent_server, capsys):
    code, result = run(capsys, agent_server)
    assert code == 0 and result['changed'] is False and result['large_objects']['objects'] == 0
    assert agent_server.requests[0]['path'] == '/v1/migrations/m1/fence?database=app'
    assert sum(r['path'].startswith('/v1/migrations/m1/large-objects?') for r in agent_server.requests) == 2
