"""Fixtures of the PLC tests: the awlsim peer, skipped or (under CI) failed when missing."""

from __future__ import annotations

import importlib.util

import pytest

from tests.peers import missing_peer


@pytest.fixture
def awlsim() -> None:
    """Require the awlsim peer PLC (``pip install -e .[dev]``); see :func:`missing_peer`."""
    if importlib.util.find_spec("awlsim") is None:
        missing_peer("awlsim (the peer soft PLC, a dev extra)")
