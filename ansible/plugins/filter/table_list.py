# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""table_list and name_list: what a person types in an AWX survey ("sales.orders, sales.items") as the lists of
tables ({schema, name}) and of schema names the modules take. Names are taken as typed - never lower-cased - and a
name with a dot, a comma, a quote or spaces at its ends is written in double quotes, "" for a quote, as in SQL."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError


def _split(text, sep, what):
    """Split on sep outside double quotes; each part unquoted ("" -> ") and, when unquoted, stripped."""
    parts, buf, quoted, was_quoted, i = [], [], False, False, 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"' and text[i + 1:i + 2] == '"':
                buf.append('"')
                i += 1
            elif ch == '"':
                quoted = False
            else:
                buf.append(ch)
        elif ch == '"':
            if ''.join(buf).strip():
                raise AnsibleFilterError('%s: a double quote inside a name (%r); quote the whole name, "" for a quote'
                                         % (what, text))
            buf, quoted, was_quoted = [], True, True
        elif ch == sep:
            parts.append((''.join(buf) if was_quoted else ''.join(buf).strip(), was_quoted))
            buf, was_quoted = [], False
        elif was_quoted and not ch.isspace():
            raise AnsibleFilterError('%s: text after a closing quote in %r' % (what, text))
        else:
            buf.append(ch)
        i += 1
    if quoted:
        raise AnsibleFilterError('%s: unterminated double quote in %r' % (what, text))
    parts.append((''.join(buf) if was_quoted else ''.join(buf).strip(), was_quoted))
    return parts


def _split_raw(text, sep):
    """Split on sep outside double quotes, keeping each part as typed (stripped)."""
    parts, buf, quoted = [], [], False
    for ch in text:
        if ch == '"':
            quoted = not quoted  # "" inside quotes toggles twice: still inside
        if ch == sep and not quoted:
            parts.append(''.join(buf).strip())
            buf = []
        else:
            buf.append(ch)
    parts.append(''.join(buf).strip())
    return parts


def _items(value, what):
    """A list as given, or the items of a comma string; None and '' are the empty list."""
    if value is None:
        return []
    if isinstance(value, str):
        if not value.strip():
            return []
        items = _split_raw(value, ',')
        if any(not item for item in items):
            raise AnsibleFilterError('%s: an empty item in %r (two commas, or one at an end)' % (what, value))
        return items
    if isinstance(value, Mapping) or not hasattr(value, '__iter__'):
        raise AnsibleFilterError('%s must be a list or a comma-separated string, got %s' % (what, type(value).__name__))
    return list(value)


def _one_name(text, what):
    parts = _split(text, '\x00', what)  # no separator: only unquoting
    name, quoted = parts[0]
    if not name and not quoted:
        raise AnsibleFilterError('%s: an empty name' % what)
    return name


def name_list(value, what='schema list'):
    """Schema (or other) names: a list, or "a, b, \\"Odd, Name\\"" -> ['a', 'b', 'Odd, Name']."""
    out = []
    for item in _items(value, what):
        if not isinstance(item, str):
            raise AnsibleFilterError('%s: each name must be a string, got %r' % (what, item))
        out.append(_one_name(item, what))
    return out


def table_list(value, what='table list'):
    """Tables: a list of {schema, name} dicts, of "schema.name" strings, or one comma string of them."""
    out = []
    for item in _items(value, what):
        if isinstance(item, Mapping):
            if not item.get('schema') or not item.get('name') or set(item) - {'schema', 'name'}:
                raise AnsibleFilterError('%s: a table given as a dict needs exactly schema and name, got %r'
                                         % (what, dict(item)))
            out.append(dict(schema=str(item['schema']), name=str(item['name'])))
            continue
        if not isinstance(item, str):
            raise AnsibleFilterError('%s: each table is "schema.name" or {schema, name}, got %r' % (what, item))
        parts = _split(item, '.', what)
        if len(parts) != 2 or any(not name and not quoted for name, quoted in parts):
            raise AnsibleFilterError('%s: %r is not schema.name - name a table with its schema (public.orders), and '
                                     'quote a name that holds a dot ("my.schema".orders)' % (what, item.strip()))
        out.append(dict(schema=parts[0][0], name=parts[1][0]))
    return out


class FilterModule:
    def filters(self):
        return dict(table_list=table_list, name_list=name_list)
