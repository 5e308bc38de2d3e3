# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Options of the modules that move owners and privileges (see privileges_argument_spec in module_utils)."""

from __future__ import annotations


class ModuleDocFragment:

    DOCUMENTATION = r'''
options:
  role_map:
    description:
      - Source role name to target role name, for consolidations onto shared instances (two databases that both use
        C(app) land as C(shop_app) and C(blog_app)). Roles not listed keep their names.
      - Names are exact (case, spaces, quotes); C(pg_*) and C(pgferry_*) roles cannot be mapped.
    type: dict
    default: {}
'''

    SWITCH = r'''
options:
  privileges:
    description:
      - Whether owners and privileges move (the default). V(false) leaves every restored object to the target agent's
        role, ungranted (and, in post-data, a materialized view owned on the source by a non-superuser unrefreshed).
    type: bool
    default: true
'''

    ROLES = r'''
options:
  allow_role_rights:
    description:
      - Target roles that may have rights beyond their source role's - a source superuser created as one, an existing
        target role with more attributes or memberships. Each is an explicit opt-in to a finding that otherwise stops.
    type: list
    elements: str
    default: []
  allow_shared_roles:
    description:
      - Target roles that may also serve other databases of the target (owning objects or holding privileges there).
    type: list
    elements: str
    default: []
'''
