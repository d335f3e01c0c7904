#!/usr/bin/env python
# sysgenpro lab Odoo stand-in (NOT Odoo): the official image's database wait, same inputs.
import sys

sys.path.insert(0, "/opt/odoo-standin")
from standin.cli import wait_for_psql

sys.exit(wait_for_psql())
