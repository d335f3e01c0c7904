# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""`ansible-galaxy collection build` ships the collection, not the lab or the test harness."""

from __future__ import annotations

import subprocess
import tarfile
from pathlib import Path

from .harness import ROOT, VENV_BIN, ansible_env


def test_build_leaves_out_lab_and_test_clutter(tmp_path: Path):
    subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "build", "--output-path", str(tmp_path), str(ROOT)],
        env=ansible_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    (tarball,) = tmp_path.glob("sysgenpro-odoo_platform-*.tar.gz")
    with tarfile.open(tarball) as tar:
        names = tar.getnames()
    for wanted in (
        "MANIFEST.json",
        "FILES.json",
        "README.md",
        "LICENSE",
        "meta/runtime.yml",
        "plugins/filter/estate.py",
        "plugins/module_utils/estate.py",
        "playbooks/site.yml",
    ):
        assert wanted in names, f"{wanted} missing from {tarball.name}"
    clutter = [
        n
        for n in names
        if n.split("/")[0] in {".venv", ".ansible", ".cache", ".ci", "build", "scripts", "benchmarks"}
        or n.startswith(("tests/integration", "tests/images", "tests/output", "inventories/demo"))
        or "__pycache__" in n
    ]
    assert clutter == []
