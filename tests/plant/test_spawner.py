"""Part spawner: enable, interval, seeded variant mix and waiting for a clear drop zone."""

from __future__ import annotations

import itertools
import math

import pytest

from vcommission.clock import s_to_ns
from vcommission.config.model import load_model
from vcommission.errors import ConfigError

# A belt carries parts away from the drop point; a bin at the end removes them at once so
# long runs stay cheap.
LINE = """
components:
  belt:
    kind: belt_conveyor
    start: [0.0, 0.0, 0.5]
    length: 3.0
    width: 0.5
    nominal_speed: 0.8
  drop:
    kind: spawner
    position: [0.3, 0.0, 0.5]
    interval: {interval}
    mix: {mix}
  bin:
    kind: sink
    position: [3.45, 0.0, 0.0]
    size: [0.8, 0.8, 0.4]
    remove_after: 0
"""


def line(rig, interval=3.0, mix="{box: 1}", seed=None):
    r = rig(LINE.format(interval=interval, mix=mix), seed=seed)
    return r, r.plant.component("drop")


def count(r) -> int:
    return r.plant.image["drop.count"]


def test_nothing_while_disabled_then_first_part_at_once(rig):
    r, drop = line(rig)
    r.sim.operate("belt.run", True)
    r.sim.run_for(2 * drop.params.interval)
    assert count(r) == 0
    assert len(r.plant.parts) == 0

    r.sim.operate("drop.enable", True)
    enabled_at = r.sim.now_ns
    r.sim.step()
    assert count(r) == 1
    (part,) = r.plant.parts.parts
    assert part.spawned_ns == enabled_at
    assert part.journey[0].event == "spawned" and part.journey[0].where == "drop"

    # It lands at the drop point: bottom face centre on the configured position.
    r.sim.run_for(0.05)
    x, y, z = r.pos(part)
    px, py, pz = drop.params.position
    height = r.size(part.variant)[2]
    assert z - height / 2 == pytest.approx(pz, abs=0.003)
    assert math.hypot(x - px, y - py) < 0.05  # already riding off on the belt


def test_at_most_one_part_per_interval(rig):
    r, drop = line(rig, interval=3.0)
    interval = drop.params.interval
    duration = 10.0
    r.sim.operate("belt.run", True)
    r.sim.operate("drop.enable", True)
    r.sim.run_for(duration)
    # The first at once, then one per full interval (the zone clears long before).
    assert count(r) == math.floor(duration / interval) + 1
    assert count(r) == len(r.plant.parts)
    times = [p.spawned_ns for p in r.plant.parts.parts]
    assert all(b - a == s_to_ns(interval) for a, b in itertools.pairwise(times))


def spawned_variants(r, n: int) -> list[str]:
    r.sim.operate("belt.run", True)
    r.sim.operate("drop.enable", True)
    r.run_until(lambda: count(r) >= n, timeout_s=n * 1.0)
    return [p.variant for p in r.plant.parts.parts[:n]]


def test_seeded_mix_same_seed_same_sequence(rig):
    mix = "{box: 1, tall: 1}"
    n = 20
    first = spawned_variants(line(rig, interval=0.5, mix=mix, seed=1)[0], n)
    again = spawned_variants(line(rig, interval=0.5, mix=mix, seed=1)[0], n)
    other = spawned_variants(line(rig, interval=0.5, mix=mix, seed=2)[0], n)
    assert first == again
    assert first != other
    assert set(first) == {"box", "tall"}  # both variants of a 50/50 mix appear in 20 draws


def test_reset_restarts_the_variant_sequence(rig):
    r, _ = line(rig, interval=0.5, mix="{box: 1, tall: 1}", seed=7)
    first = spawned_variants(r, 12)
    r.sim.reset()
    assert count(r) == 0 and len(r.plant.parts) == 0
    assert spawned_variants(r, 12) == first


def test_zero_weight_variant_never_spawned(rig):
    r, _ = line(rig, interval=0.5, mix="{box: 1, tall: 0}")
    assert set(spawned_variants(r, 10)) == {"box"}


def test_waits_while_drop_zone_occupied(rig):
    r, drop = line(rig, interval=0.5)
    interval = drop.params.interval
    r.sim.operate("drop.enable", True)
    # Belt stopped: the first part stays in the drop zone, so no second part is dropped onto it.
    r.sim.run_for(6 * interval)
    assert count(r) == 1
    first = r.plant.parts.parts[0]

    r.sim.operate("belt.run", True)
    r.run_until(lambda: count(r) == 2, timeout_s=4 * interval)
    second = r.plant.parts.parts[1]
    # The next part came only once the first had left the zone: they do not overlap.
    assert r.pos(first)[0] - r.pos(second)[0] >= r.size("box")[0]


def test_unknown_variant_in_mix_is_a_config_error(model_file):
    path = model_file(LINE.format(interval=1.0, mix="{box: 1, ghost: 2}"))
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    message = str(exc.value)
    assert "ghost" in message
    # Located at the spawner, in this file.
    assert f"{path}:" in message
    assert "components.drop" in message
