# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The second agent of two-sided modules (see peer_argument_spec in module_utils/agent_client.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  target_agent:
    description:
      - The other side's agent as one dict (same keys as O(agent)); either this or O(target_agent_url) is required.
      - Its token defaults to the first agent's.
    type: dict
    suboptions:
      url:
        description: Base URL of the agent.
        type: str
        required: true
      token:
        description: Bearer token of the agent. Never logged.
        type: str
      ca_path:
        description: PEM file with the CA certificate(s) of that agent.
        type: path
      validate_certs:
        description: Whether to verify that agent's TLS certificate (default V(true)).
        type: bool
  target_agent_url:
    description:
      - Base URL of the other side's agent (the target of the migration; for a rollback, the side the values come from
        is O(agent_url)).
      - Either this or O(target_agent) is required.
    type: str
  target_agent_token:
    description:
      - Bearer token of that agent. Defaults to O(agent_token).
    type: str
  target_ca_path:
    description:
      - PEM file with the CA certificate(s) of that agent.
    type: path
  target_validate_certs:
    description:
      - Whether to verify that agent's TLS certificate.
    type: bool
    default: true
'''
