"""Benchmark: what keeping poses in traces (format 2, ``render --at``) costs a scenario run.

The bundled sorting-line scenarios run in this process, in rounds; each round runs them once
with the trace recorder following the plant's poses (as every run does) and once with pose
sampling switched off, in alternating order, so machine noise hits both alike. Printed: the
CPU seconds of each per round, the median ratio with / without (the cost of the poses), and
the sampler's own share of the runs' time. Target: the poses cost at most 5% (ratio <= 1.05);
the exit status is 1 if it is missed.

Usage: ``python3 tools/bench/trace_poses.py [--rounds 3] [--scenarios 8]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from vcommission.plant.poses import PoseSampler
from vcommission.scenario.collect import collect
from vcommission.scenario.runner import WorkerCache, run_scenario
from vcommission.scenario.trace import TraceRecorder

ROOT = Path(__file__).resolve().parents[2]
TARGET = 1.05


def _run(scenarios: list, cache: WorkerCache, poses: bool) -> tuple[float, float]:
    """CPU seconds of running ``scenarios``, and of the pose sampler within them."""
    follow = TraceRecorder.follow
    sampled = [0.0]
    call = PoseSampler.__call__

    def timed(self: PoseSampler, now_ns: int) -> None:
        started = time.process_time()
        call(self, now_ns)
        sampled[0] += time.process_time() - started

    if not poses:
        TraceRecorder.follow = lambda self, *args, **kwargs: None  # type: ignore[method-assign]
    PoseSampler.__call__ = timed  # type: ignore[method-assign]
    try:
        started = time.process_time()
        for scenario in scenarios:
            run_scenario(scenario, cache)
        return time.process_time() - started, sampled[0]
    finally:
        TraceRecorder.follow = follow  # type: ignore[method-assign]
        PoseSampler.__call__ = call  # type: ignore[method-assign]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", type=int, default=8)
    args = parser.parse_args()
    scenarios = collect([ROOT / "scenarios" / "sorting_line"]).scenarios[: args.scenarios]
    cache = WorkerCache()
    _run(scenarios[:1], cache, True)  # compile and warm up
    ratios, shares = [], []
    for index in range(args.rounds):
        order = (True, False) if index % 2 == 0 else (False, True)
        times = {}
        for poses in order:
            times[poses], sampler = _run(scenarios, cache, poses)
            if poses:
                shares.append(sampler / times[poses])
        ratios.append(times[True] / times[False])
        print(
            f"round {index + 1}: with poses {times[True]:.2f} s CPU, without {times[False]:.2f} s, "
            f"ratio {ratios[-1]:.3f}"
        )
    ratio = statistics.median(ratios)
    print(
        f"{len(scenarios)} scenarios: with/without poses {ratio:.3f} (target <= {TARGET}), "
        f"sampler {statistics.median(shares):.1%} of the runs' CPU time"
    )
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
