"""Fixtures shared by every test module, and the one-time set-up of a test session.

Paths and plain helpers (``SORTING_LINE``, ``run_cli``, ``serving``, ``free_port``, ...) live
in ``tests/helpers.py``, imported where a module needs them; peers in ``tests/peers.py``.
Markers (``realtime``, ``wire``, ``peer``) are registered in ``pyproject.toml``;
``-m "not realtime"`` leaves out everything that runs against the wall clock.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.peers import node_opcua_env


def pytest_sessionstart(session: pytest.Session) -> None:
    """Build asyncua's standard address-space cache once, before any xdist worker starts.

    A cold build takes seconds; every OPC UA server start after it (in-process or in a
    ``serve`` child process) takes about 0.1 s. Workers find it in place, so they never
    build it side by side. (``.ci/run`` builds it ahead too; then this is a folder check.)
    """
    if hasattr(session.config, "workerinput"):
        return  # an xdist worker: the controller has built it already
    from vcommission.adapters.opcua import prepare_address_space_cache

    asyncio.run(prepare_address_space_cache())


#: Modules whose tests allow a tick 1 ms late at most: last in the wall-clock group, when the
#: other workers have long finished.
STRICT_REALTIME = {"tests/test_simulator.py"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the wall-clock tests last, one after another, on one xdist worker.

    Each paces a plant against the wall clock, and many start ``serve`` and PLC processes
    besides. Beside busy workers on a small machine they are made late, so they form one
    ``loadgroup`` (one worker, in order), scheduled after every other test
    (``--no-loadscope-reorder`` keeps this order), with the strict pacing tests at its very
    end. Two groups side by side saved nothing in CI and once made a pacing test late;
    running them first, beside the rest, made the pacing tests fail.
    """
    rest, timed, strict = [], [], []
    for item in items:
        if not item.get_closest_marker("realtime"):
            rest.append(item)
            continue
        item.add_marker(pytest.mark.xdist_group("realtime"))
        strict_module = item.nodeid.split("::", 1)[0] in STRICT_REALTIME
        (strict if strict_module else timed).append(item)
    items[:] = rest + timed + strict


@pytest.fixture
def node_opcua(tmp_path: Path) -> dict[str, str]:
    """Environment for a node-opcua script, its PKI in this test's own temporary folder."""
    return node_opcua_env(tmp_path / "node-opcua-config")
