"""Operator devices: push buttons, e-stop, stack light and the guard-locked door switch."""

from __future__ import annotations

import pytest

from vcommission.errors import SignalError
from vcommission.signals import Direction, SignalType

# The PLC-facing tags are wired under signals:, the rest keep their automatic names.
PANEL = """
components:
  start_pb: {kind: push_button, contact: "NO"}
  stop_pb: {kind: push_button, contact: "NC"}
  estop: {kind: emergency_stop}
  lamp: {kind: stack_light, lamps: [red, amber, green, blue]}
  door: {kind: door_switch}
signals:
  start_ok: {port: start_pb.contact, direction: from_plant}
  stop_nc: {port: stop_pb.contact, direction: from_plant}
  estop_ok: {port: estop.healthy, direction: from_plant}
  light_red: {port: lamp.red, direction: to_plant}
  door_closed: {port: door.closed, direction: from_plant}
  door_lock: {port: door.lock, direction: to_plant}
"""


@pytest.fixture
def panel(rig):
    return rig(PANEL)


def read(r, tag: str):
    return r.plant.image[tag]


@pytest.mark.parametrize(
    ("button", "tag", "released", "pressed"),
    [("start_pb", "start_ok", False, True), ("stop_pb", "stop_nc", True, False)],
    ids=["NO", "NC"],
)
def test_push_button_contact(panel, button, tag, released, pressed):
    r = panel
    assert read(r, tag) is released  # power-on, before the first tick
    r.sim.run_for(0.1)
    assert read(r, tag) is released
    r.sim.operate(f"{button}.pressed", True)
    r.sim.step()
    assert read(r, tag) is pressed
    r.sim.run_for(0.1)  # held: the contact stays
    assert read(r, tag) is pressed
    r.sim.operate(f"{button}.pressed", False)
    r.sim.step()
    assert read(r, tag) is released


def test_operator_press_is_visible_after_exactly_one_tick(panel):
    r = panel
    r.sim.operate("start_pb.pressed", True)
    # Staged, not yet latched: the committed image has not changed.
    assert read(r, "start_ok") is False
    assert read(r, "start_pb.pressed") is False
    r.sim.step()
    assert read(r, "start_pb.pressed") is True
    assert read(r, "start_ok") is True


def test_emergency_stop_healthy_false_while_pressed(panel):
    r = panel
    assert read(r, "estop_ok") is True
    r.sim.operate("estop.pressed", True)
    r.sim.step()
    assert read(r, "estop_ok") is False
    r.sim.run_for(1.0)
    assert read(r, "estop_ok") is False  # stays pressed until released
    r.sim.operate("estop.pressed", False)
    r.sim.step()
    assert read(r, "estop_ok") is True


def test_operator_ports_are_operator_signals_not_plc_writable(panel):
    r = panel
    table = r.plant.model.table
    for tag in ("start_pb.pressed", "stop_pb.pressed", "estop.pressed", "door.open"):
        assert table[tag].direction is Direction.OPERATOR
    # A PLC (default stage permissions) cannot press a button or open a door.
    with pytest.raises(SignalError):
        r.plant.image.stage("estop.pressed", True)


def test_stack_light_lamps_are_signals(panel):
    r = panel
    lamps = r.plant.component("lamp").params.lamps
    table = r.plant.model.table
    # The wired lamp takes its tag; the others keep their automatic names.
    assert table["light_red"].direction is Direction.TO_PLANT
    for lamp in lamps[1:]:
        assert table[f"lamp.{lamp}"].type is SignalType.BOOL
        assert table[f"lamp.{lamp}"].direction is Direction.INTERNAL
    assert all(read(r, t) is False for t in ["light_red", *(f"lamp.{x}" for x in lamps[1:])])

    r.plant.image.stage("light_red", True)  # as the PLC writes its output
    r.sim.operate("lamp.blue", True)  # as a scenario forces an internal signal
    r.sim.step()
    assert read(r, "light_red") is True
    assert read(r, "lamp.blue") is True
    assert read(r, "lamp.amber") is False and read(r, "lamp.green") is False


def door(r) -> tuple[bool, bool]:
    return read(r, "door_closed"), read(r, "door.locked")


def test_door_follows_operator_when_unlocked(panel):
    r = panel
    assert door(r) == (True, False)
    r.sim.operate("door.open", True)
    r.sim.step()
    assert door(r) == (False, False)
    r.sim.operate("door.open", False)
    r.sim.step()
    assert door(r) == (True, False)


def test_locked_door_refuses_to_open_until_unlocked(panel):
    r = panel
    r.plant.image.stage("door_lock", True)
    r.sim.step()
    assert door(r) == (True, True)

    r.sim.operate("door.open", True)  # a person pulls the locked door
    r.sim.run_for(0.5)
    assert door(r) == (True, True)

    r.plant.image.stage("door_lock", False)  # released while still pulled: it opens
    r.sim.step()
    assert door(r) == (False, False)


def test_lock_on_open_door_does_not_lock_it(panel):
    r = panel
    r.sim.operate("door.open", True)
    r.sim.step()
    r.plant.image.stage("door_lock", True)
    r.sim.run_for(0.2)
    # Guard locking cannot engage on an open door, and the door can still be closed.
    assert door(r) == (False, False)
    r.sim.operate("door.open", False)
    r.sim.run_for(0.05)
    assert door(r) == (True, True)
    r.sim.operate("door.open", True)  # now it holds
    r.sim.run_for(0.2)
    assert door(r) == (True, True)
