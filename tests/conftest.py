"""Make the checkout importable as ``ansible_collections.sysgenpro.odoo_platform``.

`make venv` links the checkout as .ansible/collections/ansible_collections/sysgenpro/odoo_platform.
"""

from __future__ import annotations

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parent.parent
_COLLECTIONS = _ROOT / ".ansible" / "collections"

if not (_COLLECTIONS / "ansible_collections" / "sysgenpro" / "odoo_platform").exists():
    raise RuntimeError(f"{_COLLECTIONS} does not hold the collection link: run `make venv` first")
if str(_COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(_COLLECTIONS))
