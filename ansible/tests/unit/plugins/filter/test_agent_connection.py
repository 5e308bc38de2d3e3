# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.pgferry.migrate.plugins.filter.agent_connection import agent_connection


def test_only_the_variables_the_host_sets():
    host = dict(pgferry_agent_url='https://db1:8443', pgferry_agent_token='s3cret', ansible_host='db1')
    assert agent_connection(host) == dict(url='https://db1:8443', token='s3cret')
    host.update(pgferry_agent_ca_path='/etc/ca.pem', pgferry_agent_validate_certs=False)
    assert agent_connection(host) == dict(url='https://db1:8443', token='s3cret', ca_path='/etc/ca.pem',
                                          validate_certs=False)


def test_a_host_without_an_agent_url_is_named_as_the_problem():
    with pytest.raises(AnsibleFilterError, match='pgferry_agent_url'):
        agent_connection(dict(pgferry_agent_token='x'))
    with pytest.raises(AnsibleFilterError, match='host'):
        agent_connection(None)


def test_tokens_of_a_fleet_from_one_mapping_or_its_yaml_text():
    fleet = "db1: tok-one\ndefault: tok-any\n"
    assert agent_connection(dict(inventory_hostname='db1', pgferry_agent_url='https://db1:1',
                                 pgferry_agent_tokens=fleet))['token'] == 'tok-one'
    assert agent_connection(dict(inventory_hostname='db9', pgferry_agent_url='https://db9:1',
                                 pgferry_agent_tokens=fleet))['token'] == 'tok-any'
    # a host's own token wins over the fleet's
    assert agent_connection(dict(inventory_hostname='db1', pgferry_agent_url='https://db1:1', pgferry_agent_token='own',
                                 pgferry_agent_tokens={'db1': 'tok-one'}))['token'] == 'own'
    with pytest.raises(AnsibleFilterError, match='host: token'):
        agent_connection(dict(inventory_hostname='db1', pgferry_agent_url='https://db1:1', pgferry_agent_tokens='[1, 2]'))
