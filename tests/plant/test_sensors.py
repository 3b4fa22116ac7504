"""Photo-eyes and presence sensors: switching points measured against real part positions."""

from __future__ import annotations

import pytest

from vcommission.errors import ConfigError

# Belt surface at z 0.5 along +x; beams across it at x 1.0, a low and a high one, and a
# light-on eye at x 2.0. The guide rails (frame) cross every beam and must not block it.
LINE = """
components:
  belt:
    kind: belt_conveyor
    start: [0.0, 0.0, 0.5]
    length: 4.0
    width: 0.5
    nominal_speed: 0.4
    guide_height: 0.1
  pe_low: {kind: photo_eye, emitter: [1.0, -0.35, 0.55], receiver: [1.0, 0.35, 0.55]}
  pe_high: {kind: photo_eye, emitter: [1.0, -0.35, 0.65], receiver: [1.0, 0.35, 0.65]}
  pe_light:
    {kind: photo_eye, emitter: [2.0, -0.35, 0.55], receiver: [2.0, 0.35, 0.55], logic: light_on}
  pe_frame: {kind: photo_eye, emitter: [3.0, -0.4, 0.475], receiver: [3.0, 0.4, 0.475]}
"""
Z = 0.5


def params(rig, name: str):
    return next(c for c in rig.plant.model.components if c.name == name).params


def eye(rig, name: str) -> bool:
    return rig.plant.image[f"{name}.detected"]


def start_belt_with(rig, variant: str, x: float = 0.3):
    part = rig.place(variant, (x, 0.0, Z))
    rig.sim.run_for(0.2)
    rig.sim.operate("belt.run", True)
    return part


def test_detected_rises_at_leading_edge_and_falls_after_trailing_edge(rig):
    r = rig(LINE)
    beam_x = params(r, "pe_low").emitter[0]
    half = r.size("box")[0] / 2
    travel = params(r, "belt").nominal_speed * r.tick  # one tick's travel at belt speed
    box = start_belt_with(r, "box")

    # Each reading: (box x after the tick, committed signal after the tick).
    rise = r.record(lambda: (r.pos(box)[0], eye(r, "pe_low")), lambda s: s[1], timeout_s=5.0)
    x_rise = rise[-1][0]
    assert all(not on for _, on in rise[:-1])
    # The first TRUE tick is the one in which the leading edge crossed the beam.
    assert 0.0 <= x_rise + half - beam_x <= travel + 0.001
    assert rise[-2][0] + half < beam_x

    fall = r.record(lambda: (r.pos(box)[0], eye(r, "pe_low")), lambda s: not s[1], timeout_s=5.0)
    x_fall = fall[-1][0]
    assert 0.0 <= x_fall - half - beam_x <= travel + 0.001
    # Blocked for as long as the part takes to pass: its length at belt speed (each edge is
    # quantised to a tick, hence two ticks' travel of tolerance).
    assert len(fall) * travel == pytest.approx(2 * half, abs=2 * travel)


@pytest.mark.parametrize(("variant", "blocks_high_beam"), [("box", False), ("tall", True)])
def test_high_beam_sees_only_tall_parts(rig, variant, blocks_high_beam):
    r = rig(LINE)
    high_z = params(r, "pe_high").emitter[2]
    # The premise of the test, derived from the catalogue rather than assumed.
    assert (Z + r.size(variant)[2] > high_z) is blocks_high_beam
    start_belt_with(r, variant)

    seen_high = []
    r.run_until(lambda: eye(r, "pe_low"), timeout_s=5.0)
    r.run_until(lambda: seen_high.append(eye(r, "pe_high")) or not eye(r, "pe_low"), 5.0)
    assert any(seen_high) is blocks_high_beam


@pytest.mark.parametrize("logic", ["dark_on", "light_on"])
def test_logic_inverts_output(rig, logic):
    r = rig(LINE.replace("logic: light_on", f"logic: {logic}"))
    beam_x = params(r, "pe_light").emitter[0]
    dark_on = logic == "dark_on"
    # Power-on, beam clear: the output is already right before the first tick.
    assert eye(r, "pe_light") is not dark_on
    r.place("box", (beam_x, 0.0, Z))  # at rest in the beam (belt stopped)
    r.sim.step()
    assert eye(r, "pe_light") is dark_on
    r.sim.run_for(0.5)
    assert eye(r, "pe_light") is dark_on


def test_passing_part_records_one_detected_event_with_eye_name(rig):
    r = rig(LINE)
    box = start_belt_with(r, "box")
    r.run_until(lambda: eye(r, "pe_low"), timeout_s=5.0)
    rise_ns = r.sim.now_ns
    # Past the light-on eye (TRUE again once its beam is clear).
    r.run_until(lambda: eye(r, "pe_light") and r.pos(box)[0] > 2.5, timeout_s=10.0)

    detected = [e for e in box.journey if e.event == "detected"]
    assert [e.where for e in detected] == ["pe_low", "pe_light"]
    # Time-stamped at the end of the tick that first saw the part.
    assert detected[0].time_ns == rise_ns
    assert detected[0].time_ns < detected[1].time_ns
    assert box.journey[0].event == "spawned"


def test_beam_ignores_frame_bodies(rig):
    r = rig(LINE)
    # pe_frame runs through the belt body and both guide rails, yet nothing is "detected".
    r.sim.operate("belt.run", True)
    r.sim.run_for(0.5)
    assert eye(r, "pe_frame") is False
    assert eye(r, "pe_low") is False


def test_beam_is_broken_by_a_machine_body(rig):
    # The beam crosses where the extended plate (a machine body, not a part) stands.
    r = rig("""
        components:
          pusher:
            kind: cylinder
            origin: [0.0, 0.0, 0.1]
            direction: [1, 0, 0]
            stroke: 0.4
            extend_time: 0.4
            retract_time: 0.4
          pe: {kind: photo_eye, emitter: [0.39, -0.3, 0.1], receiver: [0.39, 0.3, 0.1]}
    """)
    cyl = params(r, "pusher")
    beam_x = params(r, "pe").emitter[0]
    assert cyl.stroke - cyl.plate_thickness < beam_x - cyl.origin[0] < cyl.stroke
    assert eye(r, "pe") is False
    r.sim.operate("pusher.extend", True)
    r.run_until(lambda: r.plant.image["pusher.extended"], timeout_s=2 * cyl.extend_time)
    assert eye(r, "pe") is True
    r.sim.operate("pusher.extend", False)
    r.run_until(lambda: r.plant.image["pusher.retracted"], timeout_s=2 * cyl.retract_time)
    assert eye(r, "pe") is False


def test_photo_eye_rejects_identical_emitter_and_receiver(load):
    with pytest.raises(ConfigError, match="different points"):
        load("components:\n  pe: {kind: photo_eye, emitter: [1, 0, 1], receiver: [1, 0, 1]}\n")


# A presence sensor whose volume reaches into the belt body: only parts may trigger it.
PRESENCE = """
components:
  belt: {kind: belt_conveyor, start: [0.0, 0.0, 0.5], length: 4.0, width: 0.5}
  prox: {kind: presence_sensor, center: [1.0, 0.0, 0.5], size: [0.3, 0.3, 0.2]}
"""


def test_presence_sensor_detects_part_inside_not_outside(rig):
    r = rig(PRESENCE)
    center = params(r, "prox").center
    r.sim.step()
    assert r.plant.image["prox.detected"] is False  # the belt itself is in the volume

    # 0.5 m beside the volume: clearly outside.
    r.place("box", (center[0] + 0.5, 0.0, Z))
    r.sim.run_for(0.3)
    assert r.plant.image["prox.detected"] is False

    inside = r.place("box", (center[0], 0.0, Z))
    r.sim.step()
    assert r.plant.image["prox.detected"] is True

    # Carried out of the volume by the belt, the part is no longer present.
    r.sim.operate("belt.run", True)
    r.run_until(lambda: r.pos(inside)[0] > center[0] + 0.8, timeout_s=5.0)
    assert r.plant.image["prox.detected"] is False


def test_presence_sensor_does_not_see_part_just_outside(rig):
    r = rig(PRESENCE)
    p = params(r, "prox")
    half = r.size("box")[0] / 2
    gap = 0.010  # near face of the part 10 mm beyond the volume's +x face
    part = r.place("box", (p.center[0] + p.size[0] / 2 + gap + half, 0.0, Z))
    r.sim.run_for(0.3)
    # The part's exact bounding box really is outside the volume ...
    assert r.world.aabb(part.body)[0][0] > p.center[0] + p.size[0] / 2
    # ... so a sensor "TRUE while a part's bounding box overlaps its volume" stays FALSE.
    assert r.plant.image["prox.detected"] is False
