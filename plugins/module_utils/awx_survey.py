# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Playbook input specs and the AWX surveys generated from them.

Ansible has argument specs for roles only. A playbook's inputs (the ``-e`` variables an operator
passes) are declared in ``playbooks/specs/<playbook>.yml``; docs/awx.md describes the format.
This module validates such a spec and turns it into an AWX / Automation Platform survey spec
(``{"name", "description", "spec": [question, ...]}``), one question per option that is not
``survey: false``. Pure Python, no Ansible imports.
"""

from __future__ import annotations

from typing import Any, Mapping

SPEC_KEYS = ("playbook", "job_template", "options")
JOB_TEMPLATE_KEYS = ("name", "description", "limit", "check", "credentials", "hosts")
OPTION_KEYS = (
    "type",
    "question",
    "description",
    "required",
    "default",
    "choices",
    "secret",
    "multiline",
    "min",
    "max",
    "survey",
)
TYPES = ("str", "int", "float", "bool", "list", "dict")
CREDENTIAL_KINDS = ("vault", "machine", "s3")
# AWX's own limit on a text answer (its survey editor's default maximum).
TEXT_MAX = 1024


class SpecError(ValueError):
    """A playbook spec that cannot be turned into a survey; the message names the key and the fix."""


def validate_spec(spec: Mapping[str, Any], source: str = "spec") -> None:
    """Raise :class:`SpecError` naming the first problem in a playbook input spec."""
    if not isinstance(spec, Mapping):
        raise SpecError(f"{source}: must be a mapping with {', '.join(SPEC_KEYS)}")
    _only_keys(spec, SPEC_KEYS, source)
    for key in ("playbook", "job_template"):
        if key not in spec:
            raise SpecError(f"{source}: {key} is required")
    template = spec["job_template"]
    if not isinstance(template, Mapping) or not template.get("name"):
        raise SpecError(f"{source}: job_template needs a name")
    _only_keys(template, JOB_TEMPLATE_KEYS, f"{source}: job_template")
    for kind in template.get("credentials") or []:
        if kind not in CREDENTIAL_KINDS:
            raise SpecError(
                f"{source}: job_template.credentials has {kind!r}; valid kinds: {', '.join(CREDENTIAL_KINDS)}"
            )
    options = spec.get("options") or {}
    if not isinstance(options, Mapping):
        raise SpecError(f"{source}: options must be a mapping of variable name to option")
    for name, option in options.items():
        _validate_option(name, option, f"{source}: options.{name}")


def _only_keys(data: Mapping[str, Any], allowed: tuple, where: str) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise SpecError(f"{where}: unknown key(s) {', '.join(unknown)}; valid keys: {', '.join(allowed)}")


def _validate_option(name: str, option: Any, where: str) -> None:
    if not isinstance(option, Mapping):
        raise SpecError(f"{where}: must be a mapping with at least type and description")
    _only_keys(option, OPTION_KEYS, where)
    kind = option.get("type", "str")
    if kind not in TYPES:
        raise SpecError(f"{where}: type is {kind!r}; valid types: {', '.join(TYPES)}")
    if not option.get("description"):
        raise SpecError(f"{where}: description is required (a full sentence)")
    in_survey = option.get("survey", True)
    if in_survey and not option.get("question"):
        raise SpecError(f"{where}: question (the survey's short label) is required unless survey is false")
    if in_survey and kind == "dict":
        raise SpecError(f"{where}: a dict cannot be asked in a survey; set survey: false (pass it as extra vars)")
    if in_survey and kind == "list" and not option.get("choices"):
        raise SpecError(f"{where}: a list is asked only as a multiple choice; give choices or set survey: false")
    if option.get("secret") and kind != "str":
        raise SpecError(f"{where}: secret is only for type str")
    if option.get("secret") and "default" in option:
        raise SpecError(f"{where}: a secret has no default (it would be stored in the survey)")
    choices = option.get("choices")
    if choices is not None and kind not in ("str", "int", "list"):
        raise SpecError(f"{where}: choices are for str, int or list, not {kind}")
    if "default" in option and choices:
        defaults = option["default"] if kind == "list" else [option["default"]]
        missing = [d for d in defaults if d not in choices]
        if missing:
            raise SpecError(f"{where}: default {missing!r} is not among the choices {choices!r}")
    if "default" in option and not _is_type(option["default"], kind):
        raise SpecError(f"{where}: default {option['default']!r} is not of type {kind}")


def _is_type(value: Any, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "dict":
        return isinstance(value, dict)
    return isinstance(value, str)


def survey_question(name: str, option: Mapping[str, Any]) -> dict[str, Any]:
    """One AWX survey question for a validated option."""
    kind = option.get("type", "str")
    question: dict[str, Any] = {
        "question_name": option["question"],
        "question_description": option["description"],
        "variable": name,
        "required": bool(option.get("required", False)),
    }
    if kind == "bool":
        # AWX has no boolean question: a choice of the strings the playbooks read with `| bool`.
        question["type"] = "multiplechoice"
        question["choices"] = ["false", "true"]
        question["default"] = "true" if option.get("default", False) else "false"
    elif kind == "list":
        question["type"] = "multiselect"
        question["choices"] = [str(c) for c in option["choices"]]
        question["default"] = "\n".join(str(d) for d in option.get("default", []))
    elif option.get("choices"):
        question["type"] = "multiplechoice"
        question["choices"] = [str(c) for c in option["choices"]]
        question["default"] = str(option.get("default", ""))
    elif kind in ("int", "float"):
        question["type"] = "integer" if kind == "int" else "float"
        if "default" in option:
            question["default"] = option["default"]
        for bound in ("min", "max"):
            if bound in option:
                question[bound] = option[bound]
    else:
        question["type"] = "password" if option.get("secret") else ("textarea" if option.get("multiline") else "text")
        question["default"] = "" if option.get("secret") else option.get("default", "")
        question["min"] = option.get("min", 0)
        question["max"] = option.get("max", TEXT_MAX)
    return question


def survey_spec(spec: Mapping[str, Any], source: str = "spec") -> dict[str, Any]:
    """The AWX survey spec of a playbook input spec (validated first), questions in spec order."""
    validate_spec(spec, source)
    template = spec["job_template"]
    questions: list[dict[str, Any]] = [
        survey_question(name, option)
        for name, option in (spec.get("options") or {}).items()
        if option.get("survey", True)
    ]
    return {"name": template["name"], "description": template.get("description", ""), "spec": questions}
