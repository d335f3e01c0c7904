"""Odoo stand-in for the sysgenpro lab: NOT Odoo.

A small program that behaves like Odoo at the interfaces the collection touches (command line,
odoo.conf, processes, HTTP endpoints, PostgreSQL schema and filestore layout) so that roles can
be tested on machines that cannot download Odoo. See ../README.md.
"""

from __future__ import annotations

import os

SERIE = os.environ.get("ODOO_VERSION", "18.0")
MAJOR = int(SERIE.split(".")[0])
