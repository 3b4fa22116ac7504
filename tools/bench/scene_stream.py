"""Benchmark: the cost of one 3D-view pose frame (``PoseStream.frame``) against one plant tick.

The load is tools/bench/plant.py's *stress* sorting line: 50 boxes in the world (a queue
held against an end stop on the running belt, the rest in the bins), the scripted actuators
running. Each repetition alternates ``sim.step()`` and ``stream.frame()`` for a window of
ticks and times them separately, so machine noise hits both alike; the figures printed are
medians over repetitions, and the ratio frame/tick is computed from figures measured in
this run only. A frame after every tick is the worst case: web sends at most 30 frames per
second of wall time, so at real time a frame comes every ~3 ticks of 10 ms. Also printed:
the share of one core that 30 frames a second cost, and :func:`describe` once.

Usage: ``python3 tools/bench/scene_stream.py [--ticks 500] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Measure this checkout, whatever an editable install elsewhere points at.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.plant.scene import PoseStream, describe
from vcommission.simulator import Simulator

ROOT = Path(__file__).resolve().parents[2]


def _plant_bench():
    """tools/bench/plant.py as a module: its stress model and how it fills the line."""
    spec = importlib.util.spec_from_file_location("bench_plant", ROOT / "tools/bench/plant.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=500, help="ticks per window")
    parser.add_argument("--repeat", type=int, default=5, help="windows")
    args = parser.parse_args(argv)
    bench = _plant_bench()
    with tempfile.TemporaryDirectory() as tmp:
        model = load_model(bench.stress_model(Path(tmp) / "stress"))
    with Plant(model) as plant:
        sim = Simulator(plant)
        bench._stress(sim)
        parts = len(plant.parts.alive)
        started = time.perf_counter()
        scene = describe(plant)
        describe_ms = (time.perf_counter() - started) * 1e3
        stream = PoseStream(plant)
        ticks_us, frames_us, sent = [], [], []
        perf = time.perf_counter
        for _ in range(args.repeat):
            tick_s = frame_s = 0.0
            frames = 0
            for _ in range(args.ticks):
                t0 = perf()
                sim.step()
                t1 = perf()
                message = stream.frame(sim.now_ns * 1e-9)
                t2 = perf()
                tick_s += t1 - t0
                frame_s += t2 - t1
                if message is not None:
                    frames += 1
                    sent.append(len(message["bodies"]))
            ticks_us.append(tick_s / args.ticks * 1e6)
            frames_us.append(frame_s / args.ticks * 1e6)
        tick_us = statistics.median(ticks_us)
        frame_us = statistics.median(frames_us)
        print(f"parts in the world: {parts}, bodies in the scene: {len(scene['bodies'])}")
        print(f"describe(): {describe_ms:.1f} ms, {len(json.dumps(scene)) / 1024:.1f} KiB JSON")
        print(f"tick:  {tick_us:8.1f} us (median of {args.repeat} windows of {args.ticks})")
        print(f"frame: {frame_us:8.1f} us, {statistics.mean(sent or [0]):.1f} bodies moved/frame")
        print(f"ratio frame/tick: {frame_us / tick_us:.3f}")
        print(f"30 frames/s: {30 * frame_us / 1e4:.2f} % of one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
