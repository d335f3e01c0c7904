"""Offline stand-in for the get-pip bootstrap script ansible-test downloads.

ansible-test --venv fetches get-pip.py from a host this lab cannot reach. It runs the cached
copy as ``python get_pip.py <pip options> pip==X.Y``; this stand-in does the same job with the
interpreter's own ``ensurepip`` and then lets pip (from PyPI, which is reachable) install the
requested packages. scripts/sanity.sh copies it to ~/.ansible/test/cache/get_pip_<ver>.py.
"""

from __future__ import annotations

import subprocess
import sys

# get-pip.py options that plain `pip install` does not know.
_GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    """Bootstrap pip with ensurepip, then install what get-pip would have installed."""
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
    args = [a for a in sys.argv[1:] if a not in _GET_PIP_ONLY]
    return subprocess.call([sys.executable, "-m", "pip", "install", *args])


if __name__ == "__main__":
    sys.exit(main())
