# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx_survey: spec option -> AWX survey question, exact spec errors, committed surveys, undeclared inputs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.sysgenpro.odoo_platform.plugins.module_utils.awx_survey import (
    SpecError,
    survey_question,
    survey_spec,
    validate_spec,
)

ROOT = Path(__file__).resolve().parents[4]
SPECS = sorted((ROOT / "playbooks" / "specs").glob("*.yml"))

# Question types and fields are AWX's survey spec: awx/main/models/mixins.py SurveyJobTemplateMixin
# (types text, textarea, password, integer, float, multiplechoice, multiselect; min/max are text lengths).
QUESTIONS = [
    (
        {"type": "str", "question": "Q", "description": "D.", "default": "x"},
        {"type": "text", "default": "x", "min": 0, "max": 1024, "required": False},
    ),
    (
        {"type": "str", "question": "Q", "description": "D.", "required": True, "min": 1, "max": 64},
        {"type": "text", "default": "", "min": 1, "max": 64, "required": True},
    ),
    (
        {"type": "str", "question": "Q", "description": "D.", "multiline": True},
        {"type": "textarea", "default": "", "min": 0, "max": 1024, "required": False},
    ),
    (
        {"type": "str", "question": "Q", "description": "D.", "secret": True, "required": True},
        {"type": "password", "default": "", "min": 0, "max": 1024, "required": True},
    ),
    (
        {"type": "str", "question": "Q", "description": "D.", "choices": ["status", "break"], "default": "status"},
        {"type": "multiplechoice", "choices": ["status", "break"], "default": "status", "required": False},
    ),
    (
        {"type": "bool", "question": "Q", "description": "D.", "default": True},
        {"type": "multiplechoice", "choices": ["false", "true"], "default": "true", "required": False},
    ),
    (
        {"type": "bool", "question": "Q", "description": "D."},
        {"type": "multiplechoice", "choices": ["false", "true"], "default": "false", "required": False},
    ),
    (
        {"type": "int", "question": "Q", "description": "D.", "default": 3, "min": 1, "max": 9},
        {"type": "integer", "default": 3, "min": 1, "max": 9, "required": False},
    ),
    (
        {"type": "float", "question": "Q", "description": "D."},
        {"type": "float", "required": False},
    ),
    (
        {"type": "list", "question": "Q", "description": "D.", "choices": ["a", "b", "c"], "default": ["a", "c"]},
        {"type": "multiselect", "choices": ["a", "b", "c"], "default": "a\nc", "required": False},
    ),
]


@pytest.mark.parametrize(("option", "expected"), QUESTIONS)
def test_question(option: dict[str, Any], expected: dict[str, Any]):
    question = survey_question("odoo_platform_x", option)
    assert question == {
        "question_name": "Q",
        "question_description": "D.",
        "variable": "odoo_platform_x",
        **expected,
    }


def _spec(**option: Any) -> dict[str, Any]:
    return {"playbook": "x.yml", "job_template": {"name": "X"}, "options": {"v": option}}


ERRORS = [
    ({"playbook": "x.yml"}, "spec: job_template is required"),
    ({"playbook": "x.yml", "job_template": {}}, "spec: job_template needs a name"),
    ({"playbook": "x.yml", "job_template": {"name": "X"}, "extra": 1}, "spec: unknown key(s) extra; valid keys:"),
    (
        {"playbook": "x.yml", "job_template": {"name": "X", "credentials": ["aws"]}},
        "spec: job_template.credentials has 'aws'; valid kinds: vault, machine, s3",
    ),
    (_spec(type="path", description="D.", question="Q"), "spec: options.v: type is 'path'; valid types: str, int"),
    (_spec(type="str", question="Q"), "spec: options.v: description is required"),
    (_spec(type="str", description="D."), "spec: options.v: question (the survey's short label) is required"),
    (_spec(type="dict", description="D.", question="Q"), "spec: options.v: a dict cannot be asked in a survey"),
    (_spec(type="list", description="D.", question="Q"), "spec: options.v: a list is asked only as a multiple"),
    (_spec(type="int", description="D.", question="Q", secret=True), "spec: options.v: secret is only for type str"),
    (
        _spec(type="str", description="D.", question="Q", secret=True, default="pw"),
        "spec: options.v: a secret has no default",
    ),
    (
        _spec(type="str", description="D.", question="Q", choices=["a"], default="b"),
        "spec: options.v: default ['b'] is not among the choices ['a']",
    ),
    (
        _spec(type="bool", description="D.", question="Q", default="yes"),
        "spec: options.v: default 'yes' is not of type bool",
    ),
    (_spec(type="str", description="D.", question="Q", label="L"), "spec: options.v: unknown key(s) label"),
]


@pytest.mark.parametrize(("spec", "message"), ERRORS)
def test_invalid_spec(spec: dict[str, Any], message: str):
    with pytest.raises(SpecError) as error:
        validate_spec(spec)
    assert str(error.value).startswith(message)


def test_options_left_out_of_the_survey():
    spec = _spec(type="dict", description="D.", survey=False)
    assert survey_spec(spec) == {"name": "X", "description": "", "spec": []}


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_committed_survey_equals_its_spec(path: Path):
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    committed = ROOT / "awx" / "surveys" / f"{path.stem}.json"
    assert committed.is_file(), f"{committed} missing: run python scripts/awx_surveys.py write"
    assert json.loads(committed.read_text(encoding="utf-8")) == survey_spec(spec, str(path)), (
        f"{committed.name} drifted from {path.name}: run python scripts/awx_surveys.py write"
    )


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_spec_names_its_playbook(path: Path):
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert spec["playbook"] == f"{path.stem}.yml"
    assert (ROOT / "playbooks" / spec["playbook"]).is_file()


# --- Every input a playbook reads is declared ----------------------------------------------------

_JINJA = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")
# Keys whose value is a bare Jinja expression.
_EXPRESSION_KEYS = {"when", "that", "failed_when", "changed_when", "until"}


def _expressions(node: Any, key: str | None = None):
    """Every Jinja expression in a parsed playbook (string literals inside removed)."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _expressions(v, k)
    elif isinstance(node, list):
        for item in node:
            yield from _expressions(item, key)
    elif isinstance(node, str) and key != "name":
        parts = [node] if key in _EXPRESSION_KEYS else [a or b for a, b in _JINJA.findall(node)]
        for part in parts:
            yield _QUOTED.sub("", part)


def _defined(node: Any) -> set[str]:
    """Variables the playbook defines itself: vars, set_fact keys, registered results."""
    names: set[str] = set()
    if isinstance(node, dict):
        for k, v in node.items():
            if k in ("vars", "ansible.builtin.set_fact", "set_fact") and isinstance(v, dict):
                names |= set(v)
            elif k == "register" and isinstance(v, str):
                names.add(v)
            names |= _defined(v)
    elif isinstance(node, list):
        for item in node:
            names |= _defined(item)
    return names


def _playbook_tree(name: str) -> list[Any]:
    """The parsed playbook and every playbook it imports."""
    plays = yaml.safe_load((ROOT / "playbooks" / name).read_text(encoding="utf-8"))
    tree = [plays]
    for play in plays:
        imported = play.get("ansible.builtin.import_playbook") or play.get("import_playbook")
        if imported:
            tree += _playbook_tree(imported)
    return tree


def _inventory_variables() -> set[str]:
    """Inventory variables: set in the shipped inventories or documented for the inventory."""
    names: set[str] = set()
    for doc in [*(ROOT / "docs").glob("*.md"), *(ROOT / "roles").glob("*/README.md")]:
        names |= set(re.findall(r"\bodoo_platform_[a-z0-9_]+", doc.read_text(encoding="utf-8")))
    for path in (ROOT / "inventories").rglob("*.yml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            names |= set(data)
    return names


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_playbook_reads_only_declared_inputs(path: Path):
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    declared = set(spec.get("options") or {})
    # The collection-wide prefix, and the playbook's own (failover_ for failover.yml).
    prefixes = {"odoo_platform_"} | {name.split("_", 1)[0] + "_" for name in declared}
    pattern = re.compile(r"(?<![\w.])(?:" + "|".join(sorted(prefixes)) + r")[a-z0-9_]+")
    tree = _playbook_tree(spec["playbook"])
    read = {m for t in tree for e in _expressions(t) for m in pattern.findall(e)}
    defined = set().union(*(_defined(t) for t in tree))
    undeclared = sorted(read - declared - defined - _inventory_variables())
    assert undeclared == [], f"{spec['playbook']} reads {undeclared}: declare them in {path.name}"
