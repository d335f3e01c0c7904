# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result of a tuning calculation, the input error, and small input readers.

Pure Python, no Ansible imports; runs on the controller and on targets (Python 3.8+).
Every calculation returns a :class:`Result`: the settings, one explanation per setting
("formula with the numbers used", plus any clamp that was hit) and warnings. Bad input raises
:class:`InputError`, which names the key, the value and what is accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence


class InputError(ValueError):
    """A bad input: which key, which value, why, and what is accepted instead."""

    def __init__(self, key: str, value: Any, reason: str, accepted: str) -> None:
        self.key = key
        self.value = value
        self.reason = reason
        self.accepted = accepted
        super().__init__(f"{key}={value!r}: {reason}; accepted: {accepted}")


@dataclass
class Result:
    """Settings with their explanations and warnings; ``inputs`` are the normalised inputs used."""

    settings: dict[str, Any] = field(default_factory=dict)
    explain: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)

    def set(self, key: str, value: Any, formula: str) -> None:
        """Record one setting and how it was computed."""
        self.settings[key] = value
        self.explain[key] = formula

    def note(self, key: str, formula: str) -> None:
        """Record an explanation that is not a setting (an intermediate value, an input note)."""
        self.explain[key] = formula

    def warn(self, message: str) -> None:
        """Record a warning once."""
        if message not in self.warnings:
            self.warnings.append(message)

    def as_dict(self) -> dict[str, Any]:
        """The explained form returned by the filters with ``explain=true``."""
        return {
            "settings": self.settings,
            "explain": self.explain,
            "warnings": self.warnings,
            "inputs": self.inputs,
        }


def check_keys(inputs: Any, name: str, allowed: Sequence[str], required: Iterable[str] = ()) -> Mapping[str, Any]:
    """Refuse a non-mapping input, unknown keys and missing required keys."""
    accepted = ", ".join(allowed)
    if not isinstance(inputs, Mapping):
        raise InputError(name, inputs, f"must be a dict of inputs, got {type(inputs).__name__}", accepted)
    for key in inputs:
        if key not in allowed:
            raise InputError(str(key), inputs[key], f"unknown key for {name}", accepted)
    for key in required:
        if inputs.get(key) is None:
            raise InputError(key, None, f"is required by {name}", _describe(key, accepted))
    return inputs


def _describe(key: str, accepted: str) -> str:
    return f"a value for {key} (keys: {accepted})"


def read_choice(inputs: Mapping[str, Any], key: str, choices: Sequence[str], default: str) -> str:
    """A value from a fixed list (``default`` when absent or null)."""
    value = inputs.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or value not in choices:
        raise InputError(key, value, "unknown value", ", ".join(choices))
    return value


def read_int(
    inputs: Mapping[str, Any], key: str, default: int | None, minimum: int = 0, maximum: int | None = None
) -> int | None:
    """A whole number (int or a string of digits) within ``[minimum, maximum]``."""
    value = inputs.get(key)
    if value is None:
        return default
    accepted = f"a whole number >= {minimum}" + (f" and <= {maximum}" if maximum is not None else "")
    number = to_int(key, value, accepted)
    if number < minimum or (maximum is not None and number > maximum):
        raise InputError(key, value, "out of range", accepted)
    return number


def to_int(key: str, value: Any, accepted: str) -> int:
    """Convert an int, an integral float or a string of digits; refuse booleans and the rest."""
    if isinstance(value, bool):
        raise InputError(key, value, "is a boolean, not a number", accepted)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    raise InputError(key, value, "is not a whole number", accepted)


def read_bool(inputs: Mapping[str, Any], key: str, default: bool) -> bool:
    """A boolean (true/false, or the strings Ansible commonly passes)."""
    value = inputs.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "yes", "on", "1", "false", "no", "off", "0"):
        return value.lower() in ("true", "yes", "on", "1")
    raise InputError(key, value, "is not a boolean", "true or false")
