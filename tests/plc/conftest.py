"""Fixtures of the PLC tests: the awlsim peer, skipped or (under CI) failed when missing."""

from __future__ import annotations

import pytest

from tests.peers import require_awlsim


@pytest.fixture
def awlsim() -> None:
    """Require the awlsim peer PLC (``pip install -e .[dev]``); see :func:`missing_peer`."""
    require_awlsim()
