"""Belt conveyor: parts ride by friction at the setpoint, the drive ramps, parts queue."""

from __future__ import annotations

import itertools
import math

import pytest

from vcommission.config.model import Model

# Belt surface at z 0.5 along +x from the origin; speed and ramp read back from the model.
BELT = """
components:
  belt:
    kind: belt_conveyor
    start: [0.0, 0.0, 0.5]
    length: 4.0
    width: 0.5
    nominal_speed: 0.4
    max_speed: 1.0
    acceleration: 2.0
    yaw_deg: {yaw}
"""
Z = 0.5
#: Speed error allowed for a part riding the belt (friction contact, not a rigid joint).
SPEED_TOL = 0.03


def belt_params(model: Model):
    return next(c for c in model.components if c.name == "belt").params


def settle(rig, seconds: float = 0.3) -> None:
    """Let a freshly placed part come to rest on the belt before anything is measured."""
    rig.sim.run_for(seconds)


def ramp_time(params, speed: float) -> float:
    """Drive ramp to ``speed`` plus slack for the part to stop slipping."""
    return speed / params.acceleration + 0.3


def test_run_moves_box_along_x_at_setpoint(rig):
    r = rig(BELT.format(yaw=0))
    p = belt_params(r.plant.model)
    box = r.place("box", (0.4, 0.0, Z))
    settle(r)
    r.sim.operate("belt.run", True)
    r.sim.run_for(ramp_time(p, p.nominal_speed))

    x0, y0, z0 = r.pos(box)
    duration = 2.0
    r.sim.run_for(duration)
    x1, y1, z1 = r.pos(box)

    assert x1 - x0 == pytest.approx(p.nominal_speed * duration, rel=SPEED_TOL)
    # Straight ahead and still lying on the belt.
    assert abs(y1 - y0) < 0.005
    assert abs(z1 - z0) < 0.002
    assert r.plant.image["belt.speed_actual"] == round(p.nominal_speed * 1000)


def test_reverse_moves_box_back(rig):
    r = rig(BELT.format(yaw=0))
    p = belt_params(r.plant.model)
    box = r.place("box", (3.0, 0.0, Z))
    settle(r)
    r.sim.operate("belt.run", True)
    r.sim.operate("belt.reverse", True)
    r.sim.run_for(ramp_time(p, p.nominal_speed))

    x0 = r.pos(box)[0]
    duration = 2.0
    r.sim.run_for(duration)
    assert r.pos(box)[0] - x0 == pytest.approx(-p.nominal_speed * duration, rel=SPEED_TOL)
    assert r.plant.image["belt.speed_actual"] == -round(p.nominal_speed * 1000)


def test_speed_setpoint_change_changes_box_speed(rig):
    r = rig(BELT.format(yaw=0))
    p = belt_params(r.plant.model)
    box = r.place("box", (0.4, 0.0, Z))
    settle(r)
    r.sim.operate("belt.run", True)

    measured = {}
    for setpoint_mm_s in (300, 600):
        speed = setpoint_mm_s / 1000
        r.sim.operate("belt.speed_setpoint", setpoint_mm_s)
        r.sim.run_for(ramp_time(p, speed))
        x0 = r.pos(box)[0]
        r.sim.run_for(1.5)
        measured[setpoint_mm_s] = (r.pos(box)[0] - x0) / 1.5
        assert measured[setpoint_mm_s] == pytest.approx(speed, rel=SPEED_TOL)
    assert measured[600] / measured[300] == pytest.approx(2.0, rel=2 * SPEED_TOL)


@pytest.mark.parametrize("tick", [0.01, 0.02])
def test_speed_actual_ramps_at_configured_acceleration(rig, tick):
    # acceleration differs from the default 2.0 so a drive ignoring it would show; the ramp
    # is in virtual seconds whatever the tick.
    r = rig(
        f"physics: {{tick: {tick}}}\n"
        + BELT.format(yaw=0).replace("acceleration: 2.0", "acceleration: 1.0")
    )
    p = belt_params(r.plant.model)
    setpoint = 500
    ramp_s = setpoint / 1000 / p.acceleration
    per_tick = p.acceleration * r.tick * 1000  # mm/s gained per tick

    def speed() -> int:
        return r.plant.image["belt.speed_actual"]

    r.sim.operate("belt.speed_setpoint", setpoint)
    r.sim.operate("belt.run", True)
    up = r.record(speed, lambda v: v >= setpoint, timeout_s=2 * ramp_s)
    # Not instant: the first tick gains one tick's worth of acceleration, and so on.
    assert up[0] == pytest.approx(per_tick, abs=1)
    assert all(0 < b - a <= per_tick + 1 for a, b in itertools.pairwise([0, *up]))
    assert len(up) * r.tick == pytest.approx(ramp_s, abs=r.tick)
    r.sim.run_for(0.2)
    assert speed() == setpoint  # and it stays there

    # Reversing while running decelerates through zero; the reported speed is signed.
    r.sim.operate("belt.reverse", True)
    back = r.record(speed, lambda v: v <= -setpoint, timeout_s=4 * ramp_s)
    assert len(back) * r.tick == pytest.approx(2 * ramp_s, abs=r.tick)
    assert all(0 < a - b <= per_tick + 1 for a, b in itertools.pairwise([setpoint, *back]))
    assert min(back) == -setpoint

    # Stopping ramps down to zero, again at the configured rate.
    r.sim.operate("belt.run", False)
    down = r.record(speed, lambda v: v == 0, timeout_s=2 * ramp_s)
    assert down[0] == pytest.approx(-setpoint + per_tick, abs=1)
    assert len(down) * r.tick == pytest.approx(ramp_s, abs=r.tick)


@pytest.mark.parametrize(
    ("setpoint", "expected"),
    [(2000, "max_speed"), (-300, 0)],
    ids=["above_max_clamped", "negative_is_zero"],
)
def test_speed_setpoint_limits(rig, setpoint, expected):
    r = rig(BELT.format(yaw=0))
    p = belt_params(r.plant.model)
    expected_mm_s = round(p.max_speed * 1000) if expected == "max_speed" else expected
    r.sim.operate("belt.speed_setpoint", setpoint)
    r.sim.operate("belt.run", True)
    r.sim.run_for(p.max_speed / p.acceleration + 0.1)
    assert r.plant.image["belt.speed_actual"] == expected_mm_s


@pytest.mark.parametrize("how", ["run_false", "setpoint_zero"])
def test_stopped_belt_box_stays(rig, how):
    r = rig(BELT.format(yaw=0))
    box = r.place("box", (1.0, 0.0, Z))
    settle(r)
    if how == "setpoint_zero":
        r.sim.operate("belt.speed_setpoint", 0)
        r.sim.operate("belt.run", True)
    start = r.pos(box)
    r.sim.run_for(3.0)
    assert math.dist(r.pos(box), start) < 0.001
    assert r.plant.image["belt.speed_actual"] == 0

    # After resting that long (parts may fall asleep in the solver) the belt still carries it.
    r.sim.operate("belt.speed_setpoint", round(belt_params(r.plant.model).nominal_speed * 1000))
    r.sim.operate("belt.run", True)
    r.sim.run_for(1.0)
    assert r.pos(box)[0] - start[0] > belt_params(r.plant.model).nominal_speed / 2


def test_yawed_belt_moves_box_along_y(rig):
    r = rig(BELT.format(yaw=90))
    p = belt_params(r.plant.model)
    # 0.4 m from the infeed end of a belt laid along +y.
    box = r.place("box", (0.0, 0.4, Z))
    settle(r)
    r.sim.operate("belt.run", True)
    r.sim.run_for(ramp_time(p, p.nominal_speed))
    x0, y0, _ = r.pos(box)
    r.sim.run_for(2.0)
    x1, y1, _ = r.pos(box)
    assert y1 - y0 == pytest.approx(p.nominal_speed * 2.0, rel=SPEED_TOL)
    assert abs(x1 - x0) < 0.005


# A 3 m belt with a stopper across its width near the end: parts must queue against it.
# The guides leave 2 cm beside a 0.2 m part, as on a real accumulation line: on a belt much
# wider than the parts a compressed queue buckles sideways, which is physics, not a fault.
QUEUE = """
components:
  belt:
    kind: belt_conveyor
    start: [0.0, 0.0, 0.5]
    length: 3.0
    width: 0.24
    nominal_speed: 0.5
    acceleration: 2.0
  stop:
    kind: obstacle
    position: [2.8, 0.0, 0.56]
    size: [0.04, 0.6, 0.12]
"""


def test_parts_queue_against_obstacle_then_move_on(rig):
    r = rig(QUEUE)
    p = belt_params(r.plant.model)
    length = r.size("box")[0]
    stop = next(c for c in r.plant.model.components if c.name == "stop").params
    stop_face = stop.position[0] - stop.size[0] / 2
    boxes = [r.place("box", (x, 0.0, Z)) for x in (0.3, 0.8, 1.3, 1.8)]
    settle(r)
    r.sim.operate("belt.run", True)

    def all_held() -> bool:
        return r.pos(boxes[0])[0] > 2.0 and all(abs(r.vel(b)[0]) < 0.005 for b in boxes)

    r.run_until(all_held, timeout_s=10.0)
    r.sim.run_for(1.0)  # held, not merely passing through zero velocity

    queue = sorted(boxes, key=lambda b: r.pos(b)[0])
    xs = [r.pos(b)[0] for b in queue]
    # No overlap: centres at least a part length apart.
    assert all(b - a >= length - 0.005 for a, b in itertools.pairwise(xs)), xs
    # In contact: no air between neighbours (bounding boxes, so a slight yaw does not matter).
    extents = [r.world.aabb(b.body) for b in queue]
    air = [front[0][0] - rear[1][0] for rear, front in itertools.pairwise(extents)]
    assert all(-0.005 <= a <= 0.003 for a in air), air
    # The front part rests against the stopper face.
    assert extents[-1][1][0] == pytest.approx(stop_face, abs=0.005)
    # Held while the belt keeps running underneath.
    assert all(abs(r.vel(b)[0]) < 0.01 for b in boxes)
    assert r.plant.image["belt.speed_actual"] == round(p.nominal_speed * 1000)
    held = [r.pos(b)[0] for b in boxes]
    r.sim.run_for(1.0)
    assert all(abs(r.pos(b)[0] - x) < 0.002 for b, x in zip(boxes, held, strict=True))

    # Stopper down: the whole queue is carried on, the front part past the stopper.
    r.sim.operate("stop.raised", False)
    r.sim.run_for(1.0)
    assert all(r.pos(b)[0] - x > length for b, x in zip(boxes, held, strict=True))
    assert r.pos(queue[-1])[0] - length / 2 > stop_face


def test_obstacle_lowered_at_power_on_lets_parts_pass_until_raised(rig):
    r = rig(QUEUE.replace("size: [0.04, 0.6, 0.12]", "size: [0.04, 0.6, 0.12]\n    raised: false"))
    stop = next(c for c in r.plant.model.components if c.name == "stop").params
    stop_face = stop.position[0] - stop.size[0] / 2
    half = r.size("box")[0] / 2
    assert r.plant.image["stop.raised"] is False  # the power-on value follows the parameter
    first = r.place("box", (2.0, 0.0, Z))
    settle(r)
    r.sim.operate("belt.run", True)
    stop_back = stop.position[0] + stop.size[0] / 2
    r.run_until(lambda: r.pos(first)[0] - half > stop_back, timeout_s=3.0)

    # Raised again behind the first part: the next one is held at the face.
    r.sim.operate("stop.raised", True)
    second = r.place("box", (2.0, 0.0, Z))
    r.sim.run_for(2.0)
    assert r.pos(second)[0] + half == pytest.approx(stop_face, abs=0.005)
