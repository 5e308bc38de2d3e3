# -*- coding: utf-8 -*-
# Copyright: pgferry contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

import pytest

from ansible.errors import AnsibleFilterError
from ansible_collections.pgferry.migrate.plugins.filter.table_list import FilterModule, name_list, table_list


def t(schema, name):
    return dict(schema=schema, name=name)


@pytest.mark.parametrize('given,expected', [
    ('sales.orders, sales.items', [t('sales', 'orders'), t('sales', 'items')]),
    ('  Sales.Orders ', [t('Sales', 'Orders')]),  # as typed, never lower-cased
    ('"my.schema"."Order, Lines"', [t('my.schema', 'Order, Lines')]),
    ('"say ""hi""".t, s."ünï cödé"', [t('say "hi"', 't'), t('s', 'ünï cödé')]),
    ('" padded ".x', [t(' padded ', 'x')]),
    (['sales.orders', t('a b', 'c.d')], [t('sales', 'orders'), t('a b', 'c.d')]),
    ([t('s', 'n')], [t('s', 'n')]),
    ('', []), ('  ', []), (None, []), ([], []),
])
def test_tables(given, expected):
    assert table_list(given) == expected


@pytest.mark.parametrize('given,fragment', [
    ('orders', "'orders' is not schema.name"),
    ('a.b.c', 'is not schema.name'),
    ('a.b,,c.d', 'an empty item'),
    ('a.b,', 'an empty item'),
    ('"open.t', 'unterminated double quote'),
    ('x"y".t', 'a double quote inside a name'),
    ('"s"x.t', 'text after a closing quote'),
    ('.t', 'is not schema.name'),
    ([dict(schema='s')], 'needs exactly schema and name'),
    ([dict(schema='s', name='n', extra=1)], 'needs exactly schema and name'),
    ([3], 'each table is'),
    (dict(schema='s', name='n'), 'must be a list or a comma-separated string'),
])
def test_bad_tables_are_named(given, fragment):
    with pytest.raises(AnsibleFilterError) as err:
        table_list(given)
    assert fragment in str(err.value)


@pytest.mark.parametrize('given,expected', [
    ('sales, billing', ['sales', 'billing']),
    ('Sales,"Odd, Name", "x""y"', ['Sales', 'Odd, Name', 'x"y']),
    (['a', 'B c'], ['a', 'B c']),
    ('', []), (None, []),
])
def test_names(given, expected):
    assert name_list(given) == expected


def test_bad_names():
    with pytest.raises(AnsibleFilterError, match='an empty item'):
        name_list('a,,b')
    with pytest.raises(AnsibleFilterError, match='each name must be a string'):
        name_list([1])


def test_registered():
    assert set(FilterModule().filters()) == {'table_list', 'name_list'}
