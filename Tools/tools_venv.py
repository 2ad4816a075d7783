"""Makes a Tools/ script run under Tools/.venv's python (created or brought up to date by Tools/setup-venv.sh).

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # Tools/
    import tools_venv; tools_venv.ensure()                        # before importing torch

A script started with any other python (`./script`, `python3 script`) re-executes itself under the venv's, with the
same arguments; under the venv's own python `ensure` does nothing.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOOLS = Path(__file__).resolve().parent


def ensure() -> None:
    if Path(sys.prefix).resolve() == (TOOLS / ".venv").resolve():
        return
    venv = subprocess.run([str(TOOLS / "setup-venv.sh")], check=True, stdout=subprocess.PIPE, text=True).stdout.strip()
    python = str(Path(venv) / "bin/python")
    os.execv(python, [python, *sys.argv])
