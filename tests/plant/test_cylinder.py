"""Pneumatic cylinder: stroke timing, end switches, position output and pushing parts."""

from __future__ import annotations

import math

import pytest

from vcommission.errors import ConfigError

# Extend and retract times differ so that swapping them would show. The plate face starts
# at the origin, 6 cm up: it meets a 0.1 m box lying on the floor squarely.
CYLINDER = """
components:
  cyl:
    kind: cylinder
    origin: [0.0, 0.0, 0.06]
    direction: {direction}
    stroke: 0.4
    extend_time: 0.5
    retract_time: 0.8
    plate: [0.3, 0.1]
"""


def make(rig, direction=(1, 0, 0), tick=0.01):
    r = rig(f"physics: {{tick: {tick}}}\n" + CYLINDER.format(direction=list(direction)))
    return r, r.plant.component("cyl").params


def switches(r) -> tuple[bool, bool]:
    return r.plant.image["cyl.retracted"], r.plant.image["cyl.extended"]


def test_power_on_retracted(rig):
    r, _ = make(rig)
    assert switches(r) == (True, False)
    assert r.plant.image["cyl.position"] == 0.0


@pytest.mark.parametrize("tick", [0.01, 0.02])
def test_extend_and_retract_take_their_configured_times(rig, tick):
    # Stroke times are virtual seconds, whatever the tick.
    r, p = make(rig, tick=tick)
    r.sim.operate("cyl.extend", True)
    t_extend = r.time_until(lambda: r.plant.image["cyl.extended"], timeout_s=3 * p.extend_time)
    assert t_extend == pytest.approx(p.extend_time, abs=2 * r.tick)
    assert switches(r) == (False, True)
    assert r.plant.image["cyl.position"] == pytest.approx(p.stroke * 1000)

    r.sim.run_for(0.3)  # stays extended while the valve is energised
    assert switches(r) == (False, True)

    r.sim.operate("cyl.extend", False)
    t_retract = r.time_until(lambda: r.plant.image["cyl.retracted"], timeout_s=3 * p.retract_time)
    assert t_retract == pytest.approx(p.retract_time, abs=2 * r.tick)
    assert switches(r) == (True, False)
    # The switch closes within its tolerance of the end; the plate then reaches 0.
    assert r.plant.image["cyl.position"] <= p.switch_tolerance * 1000
    r.sim.run_for(0.1)
    assert r.plant.image["cyl.position"] == pytest.approx(0.0, abs=1e-9)


def test_mid_stroke_both_switches_open_and_position_in_mm(rig):
    r, p = make(rig)
    speed_mm_s = p.stroke * 1000 / p.extend_time
    r.sim.operate("cyl.extend", True)
    readings = r.record(
        lambda: (r.plant.image["cyl.position"], *switches(r)),
        lambda s: s[2],  # until extended
        timeout_s=3 * p.extend_time,
    )
    positions = [pos for pos, _, _ in readings]
    # Constant speed: the position grows by one tick's travel every tick, in millimetres.
    for k, pos in enumerate(positions[:-1], start=1):
        assert pos == pytest.approx(min(k * r.tick * speed_mm_s, p.stroke * 1000))
    tol_mm = p.switch_tolerance * 1000
    for pos, retracted, extended in readings:
        # An end switch is closed exactly within its tolerance of its end, never both.
        assert retracted == (pos <= tol_mm)
        assert extended == (pos >= p.stroke * 1000 - tol_mm)
        assert not (retracted and extended)
    assert any(not retracted and not extended for _, retracted, extended in readings)


def test_reversing_mid_stroke_returns_at_retract_speed(rig):
    r, p = make(rig)
    r.sim.operate("cyl.extend", True)
    r.sim.run_for(p.extend_time / 2)
    half_mm = r.plant.image["cyl.position"]
    assert switches(r) == (False, False)
    r.sim.operate("cyl.extend", False)
    t = r.time_until(lambda: r.plant.image["cyl.retracted"], timeout_s=2 * p.retract_time)
    # Back from mid-stroke at the retract speed, not the extend speed.
    expected = half_mm / 1000 / p.stroke * p.retract_time
    assert t == pytest.approx(expected, abs=2 * r.tick)


@pytest.mark.parametrize("direction", [(1, 0, 0), (0, -2, 0)], ids=["+x", "-y_unnormalised"])
def test_plate_pushes_box_by_stroke_minus_gap(rig, direction):
    r, p = make(rig, direction)
    norm = math.hypot(direction[0], direction[1])
    axis = (direction[0] / norm, direction[1] / norm)
    half = r.size("box")[0] / 2
    gap = 0.1  # air between the plate face and the box
    along = gap + half
    box = r.place("box", (axis[0] * along, axis[1] * along, 0.0))
    r.sim.run_for(0.3)

    def coordinate() -> float:
        x, y, _ = r.pos(box)
        return x * axis[0] + y * axis[1]

    def lateral() -> float:
        x, y, _ = r.pos(box)
        return -x * axis[1] + y * axis[0]

    start = coordinate()
    r.sim.operate("cyl.extend", True)
    r.run_until(lambda: r.plant.image["cyl.extended"], timeout_s=3 * p.extend_time)
    # At the end of the stroke the box lies against the plate face: moved by stroke - gap.
    pushed = coordinate() - start
    assert pushed == pytest.approx(p.stroke - gap, abs=p.switch_tolerance + 0.005)
    assert abs(lateral()) < 0.01  # pushed straight, not sideways

    # Retracting leaves the box where it was pushed (a plate pushes, it does not pull).
    r.sim.run_for(0.5)
    before = coordinate()
    r.sim.operate("cyl.extend", False)
    r.run_until(lambda: r.plant.image["cyl.retracted"], timeout_s=3 * p.retract_time)
    assert coordinate() == pytest.approx(before, abs=0.005)
    assert coordinate() - start >= p.stroke - gap - p.switch_tolerance - 0.005


def test_box_out_of_reach_is_not_touched(rig):
    r, p = make(rig)
    half = r.size("box")[0] / 2
    gap = p.stroke + 0.05  # beyond the full stroke
    box = r.place("box", (gap + half, 0.0, 0.0))
    r.sim.run_for(0.3)
    start = r.pos(box)
    r.sim.operate("cyl.extend", True)
    r.sim.run_for(2 * p.extend_time)
    assert math.dist(r.pos(box), start) < 0.001


def test_vertical_direction_is_a_config_error(load):
    with pytest.raises(ConfigError, match="horizontal"):
        load(CYLINDER.format(direction=[0, 0, 1]))
