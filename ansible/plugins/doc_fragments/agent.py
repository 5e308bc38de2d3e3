# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options shared by every module that calls a pgferry agent (see module_utils/agent_client.py)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  agent:
    description:
      - The agent to call, as one dict. The roles pass the one the P(pgferry.migrate.agent_connection#filter) filter
        builds from the inventory host's C(pgferry_agent_url), C(pgferry_agent_token), C(pgferry_agent_ca_path) and
        C(pgferry_agent_validate_certs).
      - Either this or O(agent_url) is required. Its keys take precedence over O(agent_url), O(agent_token),
        O(ca_path) and O(validate_certs).
    type: dict
    suboptions:
      url:
        description: Base URL of the agent.
        type: str
        required: true
      token:
        description: Bearer token of the agent; falls back to O(agent_token), then E(PGFERRY_AGENT_TOKEN). Never logged.
        type: str
      ca_path:
        description: PEM file with the CA certificate(s) that signed the agent's certificate.
        type: path
      validate_certs:
        description: Whether to verify the agent's TLS certificate (default V(true)).
        type: bool
  agent_url:
    description:
      - Base URL of the pgferry agent, for example V(https://db1.example.com:8443).
      - Set it for all agent modules at once with C(module_defaults) and the C(group/pgferry.migrate.agent) action group.
      - Either this or O(agent) is required.
    type: str
  agent_token:
    description:
      - Bearer token the agent expects in the C(Authorization) header.
      - Falls back to the E(PGFERRY_AGENT_TOKEN) environment variable on the host that runs the module.
      - Never logged nor returned.
    type: str
  validate_certs:
    description:
      - Whether to verify the agent's TLS certificate. Turn off only for testing.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) that signed the agent's certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for the agent to connect and to answer each request.
    type: int
    default: 30
  retry_seconds:
    description:
      - How long a read (C(GET)) is repeated, with growing pauses of 1, 2, 4, 8, then 15 seconds, when it fails before
        the agent answered - connection refused or reset, no answer within O(timeout) - so an agent restart or a network
        blip does not end a long wait. V(0) fails at once.
      - Calls that change something (C(POST), C(PUT), C(DELETE)) are never repeated by the module; rerun the task
        (every step is idempotent). TLS and name-resolution failures are not retried either.
    type: int
    default: 60
    version_added: 0.1.0
notes:
  - The agent answers errors as C(application/problem+json); modules fail with its C(title), C(detail), C(status) and C(code).
'''
