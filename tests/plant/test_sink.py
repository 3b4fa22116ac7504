"""Sink (bin): parts dropped in are counted once, by variant, and removed after a delay."""

from __future__ import annotations

import pytest

from vcommission.clock import s_to_ns

# A bin on the floor; parts are dropped from above its rim.
BIN = """
components:
  bin:
    kind: sink
    position: [1.0, 0.0, 0.0]
    size: [0.6, 0.6, 0.3]
    wall: {wall}
    remove_after: {remove_after}
"""


def make(rig, remove_after="null", wall=0.02):
    r = rig(BIN.format(remove_after=remove_after, wall=wall))
    return r, r.plant.component("bin")


def drop_into(r, sink, variant="box"):
    x, y, z = sink.params.position
    # Bottom face 0.1 m above the rim: the part falls in.
    return r.place(variant, (x, y, z + sink.params.size[2] + 0.1))


def counts(r) -> tuple[int, int, int]:
    image = r.plant.image
    return image["bin.count"], image["bin.count_box"], image["bin.count_tall"]


def test_dropped_box_is_counted_once(rig):
    r, sink = make(rig)
    assert counts(r) == (0, 0, 0)
    box = drop_into(r, sink)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=1.0)
    arrived_at = r.sim.now_ns

    # It keeps lying in the bin: still one arrival, not one per tick.
    r.sim.run_for(1.0)
    assert counts(r) == (1, 1, 0)
    (arrival,) = sink.arrivals
    assert (arrival.part_id, arrival.variant, arrival.time_ns) == (box.id, "box", arrived_at)
    assert box.destination == "bin"
    assert [e.event for e in box.journey] == ["spawned", "arrived"]
    assert box.journey[-1].where == "bin" and box.journey[-1].time_ns == arrived_at

    # Physically inside: on the floor between the walls.
    (x, y, z), (sx, sy, _) = sink.params.position, sink.params.size
    bx, by, bz = r.pos(box)
    assert abs(bx - x) < sx / 2 and abs(by - y) < sy / 2
    assert bz - r.size("box")[2] / 2 == pytest.approx(z, abs=0.003)


def test_counts_by_variant(rig):
    r, sink = make(rig)
    drop_into(r, sink, "tall")
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=1.0)
    r.sim.run_for(0.5)
    drop_into(r, sink, "box")
    r.run_until(lambda: r.plant.image["bin.count"] == 2, timeout_s=1.0)
    r.sim.run_for(0.5)
    assert counts(r) == (2, 1, 1)
    assert [a.variant for a in sink.arrivals] == ["tall", "box"]


def test_part_beside_the_bin_is_not_counted(rig):
    r, sink = make(rig)
    x, y, z = sink.params.position
    # On the floor, 0.3 m clear of the outer wall.
    outside = x + sink.params.size[0] / 2 + sink.params.wall + 0.3 + r.size("box")[0] / 2
    part = r.place("box", (outside, y, z))
    r.sim.run_for(1.0)
    assert counts(r) == (0, 0, 0)
    assert part.destination is None


def test_remove_after_removes_body_and_keeps_count(rig):
    r, sink = make(rig, remove_after=0.5)
    bodies_before = r.world.client.getNumBodies()
    box = drop_into(r, sink)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=1.0)
    assert box.alive
    r.run_until(lambda: not box.alive, timeout_s=2 * sink.params.remove_after)

    arrived, removed = box.journey[-2], box.journey[-1]
    assert (arrived.event, removed.event, removed.where) == ("arrived", "removed", "bin")
    assert removed.time_ns - arrived.time_ns == s_to_ns(sink.params.remove_after)
    # The body is really gone from the world, and the tracker no longer maps it.
    assert r.world.client.getNumBodies() == bodies_before
    assert r.plant.parts.by_body(box.body) is None
    # The record stays: still counted, still destined to the bin.
    r.sim.run_for(0.5)
    assert counts(r) == (1, 1, 0)
    assert box.destination == "bin"
    assert r.plant.parts.alive == []


def test_remove_after_null_keeps_body(rig):
    r, sink = make(rig, remove_after="null")
    bodies_before = r.world.client.getNumBodies()
    box = drop_into(r, sink)
    r.sim.run_for(3.0)
    assert box.alive
    assert r.world.client.getNumBodies() == bodies_before + 1
    assert abs(r.pos(box)[0] - sink.params.position[0]) < sink.params.size[0] / 2
    assert counts(r) == (1, 1, 0)


def test_reset_empties_the_bin(rig):
    r, sink = make(rig)
    drop_into(r, sink)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=1.0)
    r.sim.reset()
    sink = r.plant.component("bin")  # power-on builds fresh components
    assert counts(r) == (0, 0, 0)
    assert sink.arrivals == []
    assert len(r.plant.parts) == 0
    # And it counts again from zero.
    drop_into(r, sink)
    r.run_until(lambda: r.plant.image["bin.count"] == 1, timeout_s=1.0)
    assert [a.part_id for a in sink.arrivals] == [1]


def test_part_against_outer_wall_is_not_counted(rig):
    # Region queries are broadphase AABBs, which Bullet inflates by its contact threshold
    # (~20 mm); a thin wall must still separate "beside the bin" from "in the bin".
    r, sink = make(rig, wall=0.01)
    x, y, z = sink.params.position
    # On the floor, touching the outside of the +x wall: 10 mm (the wall) from the inside.
    outside = x + sink.params.size[0] / 2 + sink.params.wall + 0.001 + r.size("box")[0] / 2
    part = r.place("box", (outside, y, z))
    r.sim.run_for(0.5)
    assert r.world.aabb(part.body)[0][0] > x + sink.params.size[0] / 2  # truly outside
    assert counts(r) == (0, 0, 0)
    assert part.destination is None
