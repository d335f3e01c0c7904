"""dbfilter: expected values follow odoo/http.py db_filter (port stripped, one 'www.' stripped,
%h = host, %d = first label of the host, both regex-escaped, re.match from the start)."""

from __future__ import annotations

import pytest
from standin.db import db_filter

DBS = ["erp", "erp_staging", "example", "shop", "www", "erp.example.test", "erpXexampleXtest"]


@pytest.mark.parametrize(
    ("dbfilter", "host", "expected"),
    [
        ("^%d$", "erp.example.test", ["erp"]),
        ("^%d$", "erp.example.test:8069", ["erp"]),
        ("^%d$", "www.erp.example.test", ["erp"]),
        ("^%d$", "www.www.example.test", ["www"]),  # only one leading www. goes
        ("^%d$", "shop.example.test", ["shop"]),
        ("^%d$", "unknown.example.test", []),
        ("^%h$", "erp.example.test:443", ["erp.example.test"]),  # dots escaped: no erpXexampleXtest
        ("%d", "erp.example.test", ["erp", "erp_staging", "erp.example.test", "erpXexampleXtest"]),  # re.match
        ("^%d_staging$", "erp.example.test", ["erp_staging"]),
        ("^(erp|shop)$", "anything", ["erp", "shop"]),
        ("^%d$", "", []),
    ],
)
def test_dbfilter_table(dbfilter, host, expected):
    assert db_filter(DBS, host, dbfilter, False) == expected


def test_db_name_is_the_exposed_list_without_dbfilter():
    assert db_filter(DBS, "erp.example.test", "", "shop, erp,missing") == ["erp", "shop"]


def test_no_filter_lists_everything():
    assert db_filter(DBS, "x", "", False) == DBS
