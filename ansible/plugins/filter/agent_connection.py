# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""agent_connection: an inventory host's pgferry_agent_* variables as the modules' `agent` dict."""

from __future__ import annotations

from collections.abc import Mapping

import yaml

from ansible.errors import AnsibleFilterError

# inventory variable -> key of the modules' agent / target_agent option
_KEYS = (
    ('pgferry_agent_url', 'url'),
    ('pgferry_agent_token', 'token'),
    ('pgferry_agent_ca_path', 'ca_path'),
    ('pgferry_agent_validate_certs', 'validate_certs'),
)


def _token_from_map(host_vars):
    """pgferry_agent_tokens: one mapping (or its YAML text, as an AWX credential injects it) of inventory host name to
    token for a whole fleet, with `default` for the hosts it does not name."""
    tokens = host_vars['pgferry_agent_tokens']
    if isinstance(tokens, str):
        try:
            tokens = yaml.safe_load(tokens)
        except yaml.YAMLError as e:
            raise AnsibleFilterError('pgferry_agent_tokens is not YAML (one "host: token" line per agent host): %s'
                                     % getattr(e, 'problem', 'syntax error'))
    if not isinstance(tokens, Mapping):
        raise AnsibleFilterError('pgferry_agent_tokens must map inventory host names to tokens ("host: token" lines)')
    host = host_vars.get('inventory_hostname')
    return tokens.get(host, tokens.get('default'))


def agent_connection(host_vars):
    """Only the variables the host sets: a module then applies its own defaults to the rest."""
    try:
        found = dict((key, host_vars[var]) for var, key in _KEYS if var in host_vars)
    except TypeError as e:
        raise AnsibleFilterError('agent_connection expects a host\'s variables, e.g. hostvars[pgferry_source_host]: %s'
                                 % e)
    if not found.get('token') and 'pgferry_agent_tokens' in host_vars:
        token = _token_from_map(host_vars)
        if token:
            found['token'] = token
    if not found.get('url'):
        raise AnsibleFilterError('the host has no pgferry_agent_url: set it in the inventory for every source and '
                                 'target host (the URL of the pgferry agent beside its PostgreSQL)')
    return found


class FilterModule:

    def filters(self):
        return {'agent_connection': agent_connection}
