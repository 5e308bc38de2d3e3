# -*- coding: utf-8 -*-
"""copy in check mode: the agent's plan when the archive is on the target; before it is (the schema steps of a check
run made nothing), what the step would do, not a failure."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.pgferry.migrate.plugins.modules import copy

from conftest import TOKEN

PASSWORD = 'copy-check-secret'


def run(capsys, server):
    args = {'agent': {'url': server.url, 'token': TOKEN}, 'migration_id': 'm1', 'database': 'app',
            'connection': {'host': '127.0.0.1', 'dbname': 'app', 'user': 'pgferry_m1', 'password': PASSWORD},
            '_ansible_check_mode': True}
    with patch_module_args(args), pytest.raises(SystemExit) as exit_:
        copy.main()
    out = capsys.readouterr().out
    assert TOKEN not in out and PASSWORD not in out
    return exit_.value.code, json.loads(out)


def test_before_the_archive_reaches_the_target_check_mode_says_what_it_would_do(agent_server, capsys):
    agent_server.archive = None
    code, result = run(capsys, agent_server)
    assert code == 0 and result['changed'] is True and result['pending'] == 'archive_not_found'
    assert result['queries'][0].startswith("-- would copy the archive's tables under the slot's snapshot")
    assert [(r['method'], r['path']) for r in agent_server.requests] == [('POST', '/v1/migrations/m1/copy')]


def test_with_the_archive_check_mode_returns_the_agents_plan(agent_server, capsys):
    agent_server.archive = b'archive'
    code, result = run(capsys, agent_server)
    assert code == 0 and result['changed'] is True and result['queries'] == ['COPY 2 tables']
