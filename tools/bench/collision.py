"""Benchmark: the cost of ``no_collision`` per tick, and the real-time factor with and without it.

The load is a robot cell on the bundled sorting line: the line runs as in
``tools/bench/plant.py`` (scripted actuators, boxes on the belt, in front of the pusher and
in the bins), and beside it stands a 7-axis arm (pybullet_data's ``kuka_iiwa``, 8 links with
mesh collision shapes) sweeping three joints, inside a fence of 8 static panels, with a
static table. Two checks are measured, each alone:

* **arm vs cell**: ``between: [arm]`` and ``and: [fence, table, belt, pusher, bin_tall]``
  (one moving multi-link body against 19 bodies, most of them static);
* **arm vs cell+parts**: the same and every box on the line (the arm must not hit a part
  either).

Windows of simulated time alternate without and with the check, from where the last one
ended, so machine noise hits both alike; the figures are medians of this run only, and the
ratio RTF(with) / RTF(without) must stay above 0.5 ("must not halve the RTF"). The cost per
tick is timed around the check's own per-tick watcher. No snapshot is taken in the windows
(the run keeps no files); the one-off cost of a snapshot (TinyRenderer, 640 x 480) is
printed beside.

Usage: ``python3 tools/bench/collision.py [--seconds 10] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Measure this checkout, whatever an editable install elsewhere points at.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.scenario.collision_kinds import Fixture
from tests.sorting_script import SortingScript
from vcommission.config.model import load_model
from vcommission.demo import BUNDLED_MODEL
from vcommission.plant import registry
from vcommission.plant.component import Component, TickContext
from vcommission.plant.physics import MASKS, CollisionGroup
from vcommission.plant.plant import Plant
from vcommission.scenario.checks import make_check
from vcommission.scenario.context import RunContext
from vcommission.scenario.schema import CheckSpec, NoCollisionSpec

CELL = ["fence", "table", "belt", "pusher", "bin_tall"]
CHECKS = {
    "arm vs cell": NoCollisionSpec(between=["arm"], and_=CELL),
    "arm vs cell+parts": NoCollisionSpec(between=["arm"], and_=[*CELL, "parts"]),
}


@dataclass(frozen=True)
class ArmParams:
    base: tuple[float, float, float]


class SweepingArm(Component):
    """pybullet_data's KUKA iiwa, sweeping joints 1, 2 and 4 slowly; bodies: ``links``."""

    kind = "bench_arm"
    Params = ArmParams
    params: ArmParams

    def build(self, world: Any) -> None:
        super().build(world)
        import pybullet_data

        client = world.client
        urdf = Path(pybullet_data.getDataPath()) / "kuka_iiwa" / "model.urdf"
        self.body = client.loadURDF(str(urdf), list(self.params.base), useFixedBase=True)
        mover = int(CollisionGroup.MOVER)
        for link in range(-1, client.getNumJoints(self.body)):
            client.setCollisionFilterGroupMask(self.body, link, mover, int(MASKS[mover]))
        self.own("links", moving=[self.body])

    def update(self, ctx: TickContext) -> None:
        t = ctx.now_ns * 1e-9
        reset = ctx.world.client.resetJointState
        reset(self.body, 0, 1.2 * math.sin(0.5 * t))
        reset(self.body, 1, 0.6 + 0.3 * math.sin(0.7 * t))
        reset(self.body, 3, -1.0 + 0.4 * math.sin(0.9 * t))


class Fence(Fixture):
    """Eight static panels on a square around the arm (group ``panels``)."""

    kind = "bench_fence"

    def build(self, world: Any) -> None:
        Component.build(self, world)
        x, y, _ = self.params.position
        side, height = self.params.size[0], self.params.size[2]
        half = side / 2
        panels = []
        for i in range(8):
            along = -half / 2 + (i % 2) * half
            cx, cy = [(along, -half), (half, along), (-along, half), (-half, -along)][i // 2]
            horizontal = i // 2 in (0, 2)
            size = (half / 2, 0.01, height / 2) if horizontal else (0.01, half / 2, height / 2)
            panels.append(world.add_box(size, (x + cx, y + cy, height / 2)))
        self.own("panels", static=panels)


def cell_model(folder: Path) -> Path:
    """The sorting line with the arm, its fence and a table beside the pusher."""
    text = (BUNDLED_MODEL / "model.yaml").read_text()
    extra = (
        "  arm: {kind: bench_arm, base: [1.6, -1.2, 0.0]}\n"
        "  fence: {kind: bench_fence, position: [1.6, -1.2, 0.0], size: [2.6, 2.6, 1.8]}\n"
        "  table: {kind: test_fixture, position: [1.0, -1.9, 0.35], size: [0.6, 0.5, 0.7]}\n"
    )
    text = text.replace("\nsignals:\n", "\n" + extra + "\nsignals:\n", 1)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(text)
    return folder


def _timed(watchers: tuple[Any, ...], spent: list[float]) -> tuple[Any, ...]:
    def wrap(watcher: Any) -> Any:
        def timed(now: int, values: Any, previous: Any) -> None:
            started = time.perf_counter()
            watcher(now, values, previous)
            spent[0] += time.perf_counter() - started

        return timed

    return tuple(wrap(w) for w in watchers)


def measure(model_dir: Path, spec: NoCollisionSpec, seconds: float, repeat: int) -> dict:
    model = load_model(model_dir)
    with Plant(model) as plant:
        run = RunContext.start(None, model, plant, None)
        run.sim.add_controller(SortingScript())
        run.sim.run_for(30)  # the line is full
        before = run._watchers
        check = make_check(CheckSpec(no_collision=spec), run)
        check.start(run)
        spent = [0.0]
        with_check = before + _timed(run._watchers[len(before) :], spent)
        ticks = round(seconds / model.physics.tick)
        without, with_, costs = [], [], []
        for _ in range(repeat):
            run._watchers = before
            started = time.perf_counter()
            run.sim.run_for(seconds)
            without.append(seconds / (time.perf_counter() - started))
            run._watchers = with_check
            spent[0] = 0.0
            started = time.perf_counter()
            run.sim.run_for(seconds)
            with_.append(seconds / (time.perf_counter() - started))
            costs.append(spent[0] / ticks)
        result = check.finish(run)
        pairs = sum(len(side) for side in check._sides)
        parts = len(plant.parts.alive)
        # The one-off price of a picture of this scene (taken at a first contact).
        from vcommission.plant.render import Highlight, snapshot

        started = time.perf_counter()
        snapshot(plant, [Highlight(check._sides[0][0].body, 2, "arm")])
        picture = time.perf_counter() - started
    return {
        "pairs": pairs,
        "parts": parts,
        "without": statistics.median(without),
        "with": statistics.median(with_),
        "cost_us": statistics.median(costs) * 1e6,
        "tick_us": 1e6 * model.physics.tick / statistics.median(without),
        "verdict": result.verdict.value,
        "picture_ms": picture * 1e3,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="virtual s per window")
    parser.add_argument("--repeat", type=int, default=5, help="alternating window pairs")
    args = parser.parse_args(argv)
    for kind in (SweepingArm, Fence, Fixture):
        registry.register(kind.kind, kind, override=True)
    print(
        f"{'check':17} {'bodies':>6} {'parts':>5} {'RTF without':>11} {'RTF with':>9} "
        f"{'ratio':>6} {'check/tick':>11} {'tick':>8}  {'snapshot':>8}"
    )
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = cell_model(Path(tmp) / "cell")
        for name, spec in CHECKS.items():
            r = measure(model_dir, spec, args.seconds, args.repeat)
            ratio = r["with"] / r["without"]
            ok = ratio > 0.5
            failed |= not ok
            print(
                f"{name:17} {r['pairs']:>6} {r['parts']:>5} {r['without']:>10.1f}x "
                f"{r['with']:>8.1f}x {ratio:>6.2f} {r['cost_us']:>8.1f} us "
                f"{r['tick_us']:>5.0f} us  {r['picture_ms']:>5.0f} ms  {'ok' if ok else 'MISSED'}"
            )
    print(
        "target: RTF with the check > 0.5 x RTF without it (it must not halve the RTF).\n"
        "bodies: machine bodies on both sides; parts (alive at the end) come on top.\n"
        "check/tick: the check's own time per tick;\n"
        "tick: the whole tick without the check. snapshot: one render at the first contact."
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
