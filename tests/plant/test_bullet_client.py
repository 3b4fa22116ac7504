"""The physics client wrapper: a client interrupted while it was being made goes quietly.

An interrupted run (Ctrl-C inside ``BulletClient.__init__``) used to print an
AttributeError traceback from the half-made client's finaliser on its way out
(``tests/test_interrupts.py`` caught one in CI).
"""

from __future__ import annotations

import gc
import sys

from vcommission.plant.bullet import new_client


def test_a_client_whose_constructor_never_finished_is_finalised_without_an_error(
    monkeypatch,
) -> None:
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    cls = type(new_client())
    half_made = cls.__new__(cls)  # as if interrupted before __init__ connected
    del half_made
    gc.collect()
    assert unraisable == []


def test_a_made_client_is_connected_and_disconnects_when_dropped() -> None:
    client = new_client()
    assert client._client >= 0
    assert client.getNumBodies() == 0
    number = client._client
    del client
    gc.collect()
    import pybullet

    assert not pybullet.isConnected(physicsClientId=number)
