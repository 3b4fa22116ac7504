"""Test helpers: the CLI as a process, and the independent peers (mbpoll, libmodbus, ...).

A peer that is missing skips its tests on a developer's machine, but fails them under CI
(``CI`` set), where ``.ci/run`` must have installed it: a skip there would hide a missing
install step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def missing_peer(what: str) -> None:
    """Skip the test (or, under CI, fail it) because the peer ``what`` is not installed."""
    message = f"{what} is not installed (.ci/run installs it)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require_tool(name: str) -> str:
    """Path of the command ``name``; see :func:`missing_peer` when it is not installed."""
    path = shutil.which(name)
    if path is None:
        missing_peer(name)
    return path


ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run ``python -m vcommission ARGS`` as a user would; output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", "vcommission", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
