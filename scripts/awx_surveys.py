"""Generate the AWX surveys (awx/surveys/<playbook>.json) from playbooks/specs/<playbook>.yml.

  python scripts/awx_surveys.py write    regenerate every survey
  python scripts/awx_surveys.py check    exit 1 when a committed survey differs from its spec (or is orphaned)

The conversion is plugins/module_utils/awx_survey.py; the spec format is in docs/awx.md.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "playbooks" / "specs"
SURVEYS = ROOT / "awx" / "surveys"


def _awx_survey():
    # Loaded by path: the generator must not depend on the collection being on sys.path.
    spec = importlib.util.spec_from_file_location("awx_survey", ROOT / "plugins" / "module_utils" / "awx_survey.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_surveys() -> dict[Path, str]:
    """``{survey file: JSON text}`` for every spec."""
    convert = _awx_survey()
    result = {}
    for path in sorted(SPECS.glob("*.yml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        survey = convert.survey_spec(spec, source=str(path.relative_to(ROOT)))
        result[SURVEYS / f"{path.stem}.json"] = json.dumps(survey, indent=2) + "\n"
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["write", "check"])
    args = parser.parse_args(argv)
    expected = expected_surveys()
    if args.command == "write":
        SURVEYS.mkdir(parents=True, exist_ok=True)
        for stale in set(SURVEYS.glob("*.json")) - set(expected):
            stale.unlink()
        for path, text in expected.items():
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
        return 0
    problems = [
        f"{p.relative_to(ROOT)} differs from its spec"
        for p, t in expected.items()
        if not p.is_file() or p.read_text(encoding="utf-8") != t
    ]
    problems += [f"{p.relative_to(ROOT)} has no spec" for p in set(SURVEYS.glob("*.json")) - set(expected)]
    for problem in problems:
        print(f"{problem}: run python scripts/awx_surveys.py write", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
