"""Import the stand-in package from tests/images/odoo-standin (not an installable package)."""

from __future__ import annotations

import sys
from pathlib import Path

_STANDIN = Path(__file__).resolve().parents[3] / "images" / "odoo-standin"
if str(_STANDIN) not in sys.path:
    sys.path.insert(0, str(_STANDIN))
