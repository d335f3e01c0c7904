# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The execution environment: its build context, and that its requirements are enough.

`ansible-builder build` needs the base image's registry (not reachable here), so this test runs
what the build would run, stage by stage, on this machine: `ansible-builder create`, then the
galaxy stage's `ansible-galaxy collection install --offline` from the staged tarballs, then the
builder stage's introspection (merged requirements, exclusions applied), then a clean venv
built from ONLY the EE's Python requirements (+ ansible-core) in which every plugin of the
installed collection is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import ROOT, VENV_BIN, ansible_env

sys.path.insert(0, str(ROOT / "scripts"))
import awx_ee

# Run in the clean venv: import every plugin as the EE holds it, every third-party module the
# code imports anywhere (also inside functions and try blocks), and check the import flags.
_IMPORT_CHECK = r"""
import importlib, json, sys
from pathlib import Path
root, third_party = Path(sys.argv[1]), json.loads(sys.argv[2])
problems = []
for name in third_party:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        problems.append(f"{name}: {exc}")
for path in sorted((root / "plugins").rglob("*.py")):
    dotted = "ansible_collections.sysgenpro.odoo_platform." + ".".join(path.relative_to(root).with_suffix("").parts)
    try:
        module = importlib.import_module(dotted)
    except Exception as exc:
        problems.append(f"{dotted}: {exc!r}")
        continue
    for attr, value in vars(module).items():
        if attr.startswith("HAS_") and value is False:
            problems.append(f"{dotted}.{attr} is False")
        if attr.endswith("_IMPORT_ERROR") and value is not None:
            problems.append(f"{dotted}.{attr}: {value}")
print(json.dumps(problems))
"""


def _requirements_into(collections: Path) -> list[str]:
    return ["-r", "requirements.yml", "-p", str(collections)]


def _third_party_json() -> str:
    return json.dumps(sorted(awx_ee.third_party_imports()))


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The build context `scripts/awx_ee.py context` writes (collections staged, ansible-builder create)."""
    output = tmp_path_factory.mktemp("awx-ee") / "context"
    subprocess.run(
        [str(VENV_BIN / "python"), str(ROOT / "scripts" / "awx_ee.py"), "context", "--output", str(output)],
        env=ansible_env(),
        check=True,
        capture_output=True,
        text=True,
    )
    return output


def test_committed_requirements_match_the_code():
    run = subprocess.run(
        [str(VENV_BIN / "python"), str(ROOT / "scripts" / "awx_ee.py"), "check"],
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_create_writes_a_build_context_with_what_the_code_imports(context: Path):
    assert (context / "Dockerfile").is_file() or (context / "Containerfile").is_file()
    requirements = (context / "_build" / "requirements.txt").read_text(encoding="utf-8")
    pins = awx_ee.constraint_pins()
    for module in awx_ee.third_party_imports():
        distribution = awx_ee.IMPORT_TO_DISTRIBUTION[module]
        if distribution is not None:
            assert f"{distribution}=={pins[distribution]}" in requirements, module
    staged = {p.name for p in (context / "_build" / "collections").glob("*.tar.gz")}
    galaxy = (context / "_build" / "requirements.yml").read_text(encoding="utf-8")
    for name in staged:
        assert f"collections/{name}" in galaxy
    assert any(n.startswith("sysgenpro-odoo_platform-") for n in staged)


def test_collections_and_python_requirements_are_enough(context: Path, tmp_path: Path):
    build = context / "_build"
    collections = tmp_path / "collections"
    # The galaxy stage of the Containerfile, offline.
    galaxy = subprocess.run(
        [str(VENV_BIN / "ansible-galaxy"), "collection", "install", "--offline", *_requirements_into(collections)],
        cwd=build,
        # Only the target on the collections path, as in the image: nothing counts as already installed.
        env={
            "PATH": f"{VENV_BIN}:{os.environ['PATH']}",
            "HOME": str(tmp_path),
            "ANSIBLE_COLLECTIONS_PATH": str(collections),
            "ANSIBLE_GALAXY_DISABLE_GPG_VERIFY": "1",
        },
        check=False,
        capture_output=True,
        text=True,
    )
    assert galaxy.returncode == 0, galaxy.stdout + galaxy.stderr
    installed = collections / "ansible_collections" / "sysgenpro" / "odoo_platform"
    assert (installed / "MANIFEST.json").is_file()

    # The builder stage: ansible-builder's introspection merges every installed collection's
    # requirements with ours, minus the exclusions.
    merged = tmp_path / "merged-requirements.txt"
    subprocess.run(
        [
            str(VENV_BIN / "python"),
            str(build / "scripts" / "introspect.py"),
            "introspect",
            "--user-pip=requirements.txt",
            "--exclude-pip-reqs=exclude-requirements.txt",
            "--user-bindep=bindep.txt",
            "--exclude-bindep-reqs=exclude-bindep.txt",
            f"--write-pip={merged}",
            f"--write-bindep={tmp_path / 'merged-bindep.txt'}",
            str(collections),
        ],
        cwd=build,
        check=True,
        capture_output=True,
        text=True,
    )
    pip_lines = merged.read_text(encoding="utf-8").splitlines()
    assert "boto3==1.44.8  # from collection sysgenpro.odoo_platform" in pip_lines
    assert any(line.startswith("kubernetes") for line in pip_lines)  # kubernetes.core, for k8s apply
    assert not [line for line in pip_lines if line.split()[0] in ("pytest", "pytest-mock", "awxkit")]

    # A clean venv from ONLY the EE's own Python requirements and ansible-core (at the venv's pins).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    core = f"ansible-core=={awx_ee.constraint_pins()['ansible-core']}"
    subprocess.run(
        [
            str(venv / "bin" / "pip"),
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "-c",
            str(ROOT / "constraints.txt"),
            core,
            "-r",
            str(build / "requirements.txt"),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    check = subprocess.run(
        [str(venv / "bin" / "python"), "-c", _IMPORT_CHECK, str(installed), _third_party_json()],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(collections)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout) == []
