# -*- coding: utf-8 -*-
"""agent_info through the real AnsibleModule plumbing, against the test HTTP server from conftest.py."""

from __future__ import annotations

import json

import pytest

from ansible.module_utils.testing import patch_module_args

from ansible_collections.pgferry.migrate.plugins.modules import agent_info

from conftest import INFO, TOKEN


def run(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit) as exit_:
        agent_info.main()
    out = capsys.readouterr().out
    assert TOKEN not in out
    return exit_.value.code, json.loads(out)


def test_info(agent_server, capsys):
    code, result = run(capsys, {'agent_url': agent_server.url, 'agent_token': TOKEN, '_ansible_check_mode': True})
    assert code == 0 and result['changed'] is False
    assert result['info'] == INFO and 'health' not in result


def test_info_with_unhealthy_agent_reports_health(agent_server, capsys, monkeypatch):
    monkeypatch.setenv('PGFERRY_AGENT_TOKEN', TOKEN)  # the token comes from the environment here
    agent_server.healthy = False
    code, result = run(capsys, {'agent_url': agent_server.url, 'health': True})
    assert code == 0 and result['healthy'] is False and result['health']['code'] == 'PG_DOWN'
    assert agent_server.requests[0]['headers']['Authorization'] == 'Bearer ' + TOKEN


def test_wrong_token_fails(agent_server, capsys):
    code, result = run(capsys, {'agent_url': agent_server.url, 'agent_token': 'nope-' + TOKEN})
    assert code == 1 and result['failed'] is True
    assert result['status'] == 401 and result['code'] == 'UNAUTHORIZED'
