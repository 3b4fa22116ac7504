"""The independent peers the tests drive vcommission with: mbpoll, libmodbus, node-opcua, awlsim.

A peer that is missing skips its tests on a developer's machine, but fails them under CI
(``CI`` set), where ``.ci/run`` must have installed it: a skip there would hide a missing
install step. Tests using a peer carry the ``peer`` marker.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

# Re-exported: tests import the CLI runner from here since before tests/helpers.py.
from tests.helpers import NODE_DIR, ROOT, run_cli

__all__ = [
    "ROOT",
    "missing_peer",
    "node_opcua_env",
    "require_awlsim",
    "require_node_opcua",
    "require_tool",
    "run_cli",
]


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


def require_node_opcua() -> str:
    """Path of ``node``, with node-opcua installed in :data:`NODE_DIR` (``npm ci``)."""
    node = require_tool("node")
    if not (NODE_DIR / "node_modules" / "node-opcua").is_dir():
        missing_peer("node-opcua")
    return node


def node_opcua_env(config_home: Path) -> dict[str, str]:
    """Environment for the node-opcua scripts, its PKI under ``config_home``.

    node-opcua writes its certificates under ``$XDG_CONFIG_HOME`` on first use: each test
    (or module) gives its own temporary folder, so nothing lands in ``~`` and parallel
    workers never share one.
    """
    require_node_opcua()
    return {**os.environ, "XDG_CONFIG_HOME": str(config_home)}


def require_awlsim() -> None:
    """Require the awlsim peer PLC (``pip install -e .[dev]``); see :func:`missing_peer`."""
    if importlib.util.find_spec("awlsim") is None:
        missing_peer("awlsim (the peer soft PLC, a dev extra)")
