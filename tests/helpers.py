"""Helpers shared by the test modules: the repository's paths, the bundled model, ports, the CLI.

Import them (``from tests.helpers import SORTING_LINE``); ``tests/conftest.py`` offers the
fixtures built on them. Peers (mbpoll, node-opcua, awlsim) are looked up in ``tests/peers.py``.
Everything here is safe under pytest-xdist: no helper writes outside the folder it is given,
and ports come from the kernel, never from a fixed list.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = [
    "NODE_DIR",
    "PLANT_MODELS",
    "ROOT",
    "SORTING_LINE",
    "SORTING_ST",
    "SORTING_SUITE",
    "free_port",
    "run_cli",
    "serving",
    "sorting_line_text",
    "write_model",
    "write_scenario",
]

#: The repository's root: commands run from here as a user would run them.
ROOT = Path(__file__).resolve().parents[1]
PLANT_MODELS = ROOT / "plant_models"
#: The bundled model the tests drive, and its reference PLC program.
SORTING_LINE = PLANT_MODELS / "sorting_line"
SORTING_ST = SORTING_LINE / "plc" / "sorting.st"
#: The bundled scenario suite of the sorting line.
SORTING_SUITE = ROOT / "scenarios" / "sorting_line"
#: The node-opcua scripts (an independent OPC UA client, ``npm ci`` installs it there).
NODE_DIR = ROOT / "tests" / "adapters" / "node"


def sorting_line_text() -> str:
    """The bundled sorting line's ``model.yaml``, for tests that write a variant of it."""
    return (SORTING_LINE / "model.yaml").read_text()


def write_model(folder: Path, text: str) -> Path:
    """Write ``text`` as ``folder/model.yaml`` (creating the folder); return the file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "model.yaml"
    path.write_text(text)
    return path


def write_scenario(folder: Path, text: str, name: str = "s.yaml") -> Path:
    """Write a scenario file ``folder/name``; return it."""
    path = folder / name
    path.write_text(text)
    return path


def free_port() -> int:
    """A loopback port nothing listens on now (the kernel's pick, closed again at once).

    Only for tests that need a port number before anything binds it (a client pointed at a
    PLC that is not up); servers under test bind port 0 and report the port they got.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


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


@contextlib.contextmanager
def serving(*args: str, **popen: Any) -> Iterator[subprocess.Popen[str]]:
    """``vcommission serve plant_models/sorting_line ARGS`` as a process, killed if still up.

    Output is piped as text unless ``popen`` says otherwise (a pseudo-terminal, say).
    """
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **popen}
    process = subprocess.Popen(
        [sys.executable, "-m", "vcommission", "serve", "plant_models/sorting_line", *args],
        cwd=ROOT,
        **options,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def operator_script_output(process: subprocess.Popen[str], seconds: float) -> str:
    """What ``serve --operator-script`` printed until its script ended (or ``seconds``)."""
    lines = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()  # type: ignore[union-attr]
        if not line:
            break
        lines.append(line)
        if "operator script done" in line or "operator script stopped" in line:
            break
    return "".join(lines)
