"""Benchmark: where one tick goes, in microseconds, for lines of N sorting stations.

For each N (default 1, 10, 30) the line is generated with ``tools/gen_large.py`` and run as a
scenario (the generated ST program in lockstep, every station started, the trace recorder and
a few checks per station, as ``vcommission run`` does), and each tick is split into phases:

* ``latch``, ``commit``: the process image (:class:`~vcommission.signals.ProcessImage`);
* ``physics``: ``World.step`` (substeps with the driven bodies re-posed);
* ``beams``: ``World.cast_rays`` (one ``rayTestBatch``);
* ``<kind>.update`` / ``<kind>.sense``: every component kind's phases (``sink.sense`` is the
  bin queries);
* ``listeners``, ``recorder``, ``checks``, ``plc scan``: what the simulator calls after commit;
* ``other``: the rest of ``Simulator.step`` and the scenario's own step driver.

All figures are CPU time of the simulating thread (``time.thread_time``), so that other work
on a shared machine does not count; phases are timed on the wall clock and scaled to the
tick's CPU time by their share (see :func:`profile`).

How it measures: by wrapping methods **in this benchmark process only** (class attributes
replaced by timing wrappers before the plant is built; the simulator's monitors, listeners
and controllers wrapped on the first tick). The package carries no instrumentation, so the
measured code is the shipped code and nothing costs anything when not profiling. The
wrappers themselves cost about 0.2 us a call; the ``plain`` row is the same scenario run
without them, for the true total. Ticks of the first ``--warmup`` seconds (the line filling)
are left out.

The **bare** figure steps the same world from the state it ended in with physics only
(``World.step``, no components, image or PLC), per tick; slopes are least-squares lines of
us/tick against N. The issue's target: harness slope <= 1.1 x bare slope.

Usage: ``python3 tools/bench/profile_tick.py [--stations 1 10 30] [--seconds 20]``
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import gen_large  # noqa: E402

from vcommission.plant.component import Component  # noqa: E402
from vcommission.plant.registry import kinds, load  # noqa: E402
from vcommission.plant.world import World  # noqa: E402
from vcommission.scenario.loader import load_scenarios  # noqa: E402
from vcommission.scenario.runner import WorkerCache, run_scenario  # noqa: E402
from vcommission.signals import ProcessImage  # noqa: E402
from vcommission.simulator import Simulator  # noqa: E402

#: Accumulated seconds and calls per phase while ``_ACTIVE[0]`` (after the warm-up).
_TIMES: dict[str, float] = defaultdict(float)
_ACTIVE = [False]
_clock = time.perf_counter
#: CPU time of this thread: what a tick costs, whatever else the machine runs.
_cpu = time.thread_time


def _timed(key: str, function: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        if not _ACTIVE[0]:
            return function(*args, **kwargs)
        started = _clock()
        try:
            return function(*args, **kwargs)
        finally:
            _TIMES[key] += _clock() - started

    timed.__wrapped__ = function  # type: ignore[attr-defined]
    return timed


def _monitor_key(monitor: Any) -> str:
    owner = getattr(monitor, "__self__", monitor)
    name = type(owner).__name__
    if name == "TraceRecorder":
        return "recorder"
    if name == "RunContext":
        return "checks"
    return f"monitor {name}"


def instrument(phases: bool = True) -> Callable[[], None]:
    """Time every tick (and with ``phases`` every phase in it); returns the undo."""
    undo: list[tuple[type, str, Any]] = []

    def wrap(cls: type, method: str, key: str) -> None:
        original = cls.__dict__[method]
        undo.append((cls, method, original))
        setattr(cls, method, _timed(key, original))

    for cls, method, key in (
        (ProcessImage, "latch", "latch"),
        (ProcessImage, "commit", "commit"),
        (World, "step", "physics"),
        (World, "cast_rays", "beams"),
    ):
        if phases:
            wrap(cls, method, key)
    for kind in kinds() if phases else ():
        try:
            cls = load(kind)
        except Exception:  # a third-party kind that does not import: not on this line
            continue
        for phase in ("update", "sense"):
            # Only where the class itself overrides: the plant skips inherited no-ops.
            if phase in cls.__dict__ and cls.__dict__[phase] is not getattr(Component, phase):
                wrap(cls, phase, f"{kind}.{phase}")

    original_step = Simulator.step

    def step(self: Simulator) -> None:
        if phases and not getattr(self, "_profiled", False):
            self._profiled = True
            self.monitors[:] = [_timed(_monitor_key(m), m) for m in self.monitors]
            self.listeners[:] = [_timed("listeners", m) for m in self.listeners]
            for scheduled in self._controllers:
                scheduled.controller.scan = _timed("plc scan", scheduled.controller.scan)
        _ACTIVE[0] = self.now_ns >= _WARMUP_NS[0]
        if not _ACTIVE[0]:
            return original_step(self)
        started, started_cpu = _clock(), _cpu()
        original_step(self)
        _TIMES["tick cpu"] += _cpu() - started_cpu
        _TIMES["tick"] += _clock() - started
        _TIMES["ticks"] += 1

    undo.append((Simulator, "step", original_step))
    Simulator.step = step  # type: ignore[method-assign]

    def restore() -> None:
        for cls, method, original in reversed(undo):
            setattr(cls, method, original)

    return restore


_WARMUP_NS = [0]

SCENARIO = """\
name: profile {stations} stations
model: {model}
duration: {seconds}
steps:
  - hold: 0.3
{presses}
checks:
{checks}
"""


def scenario_for(stations: int, folder: Path, seconds: float, keep: bool) -> Path:
    """The N-station line and a scenario that starts every station and checks R4 on each."""
    made = gen_large.generate("sorting_line", stations, folder, keep_parts=keep)
    names = [gen_large.station_name(k) for k in range(stations)]
    presses = "\n".join(f"  - pulse: {{tag: {s}_start_pb.pressed, for: 0.2}}" for s in names)
    checks = []
    for s in names:
        checks += [
            f"  - name: {s} pusher never extended while its belt runs",
            f"    interlock: {{never: {{all: [{{tag: {s}_pusher_extend}}, "
            f"{{tag: {s}_conveyor_run}}]}}}}",
            f"  - name: {s} no fault",
            f"    interlock: {{never: {{tag: {s}_light_red}}, during: {{tag: {s}_conveyor_run}}}}",
        ]
    path = folder / "profile.yaml"
    path.write_text(
        SCENARIO.format(
            stations=stations,
            model=made.model.parent,
            seconds=seconds,
            presses=presses,
            checks="\n".join(checks),
        )
    )
    return path


def _bare_us(world: World, ticks: int) -> float:
    """Microseconds per tick to step ``world`` with physics only (plates held)."""
    moving = [k for k in world.kinematic if not k.surface]
    for k in moving:
        k.velocity = (0.0, 0.0, 0.0)
    step = World.step
    started = _cpu()
    for _ in range(ticks):
        step(world)
    return (_cpu() - started) / ticks * 1e6


def profile(stations: int, seconds: float, warmup: float, folder: Path) -> dict[str, Any]:
    path = scenario_for(stations, folder, seconds, keep=False)
    (scenario,) = load_scenarios(path)
    _WARMUP_NS[0] = round(warmup * 1e9)
    # Plain run: the true total per tick, only the tick itself timed.
    _TIMES.clear()
    restore = instrument(phases=False)
    cache = WorkerCache()
    try:
        plain = run_scenario(scenario, cache)
    finally:
        _ACTIVE[0] = False
        restore()
    cache.close()
    plain_us = _TIMES["tick cpu"] / _TIMES["ticks"] * 1e6
    # Instrumented run.
    _TIMES.clear()
    restore = instrument()
    cache = WorkerCache()
    try:
        result = run_scenario(scenario, cache)
    finally:
        _ACTIVE[0] = False
        restore()
    plant = next(iter(cache.plants.values()))
    parts = len(plant.parts.alive)
    bare = _bare_us(plant.world, 300)
    cache.close()
    ticks = _TIMES.pop("ticks", 0) or 1
    instrumented_cpu = _TIMES.pop("tick cpu") / ticks * 1e6
    wall = _TIMES.pop("tick")
    # Phases are timed on the wall clock (a CPU-time read costs several microseconds); on a
    # loaded machine preemption lands in phases in proportion to their length, so each
    # phase's share of the wall time, times the tick's CPU time, is its CPU cost.
    per_tick = {key: value / wall * instrumented_cpu for key, value in _TIMES.items()}
    total = instrumented_cpu
    per_tick["other (step)"] = total - sum(per_tick.values())
    return {
        "stations": stations,
        "verdict": result.verdict.value,
        "plain_verdict": plain.verdict.value,
        "plain_us": plain_us,
        "instrumented_us": total,
        "phases": per_tick,
        "bare_us": bare,
        "parts": parts,
    }


def _slope(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, nargs="+", default=[1, 10, 30])
    parser.add_argument("--seconds", type=float, default=20.0, help="virtual s per run")
    parser.add_argument("--warmup", type=float, default=8.0, help="virtual s left out")
    args = parser.parse_args(argv)
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.stations:
            runs.append(profile(n, args.seconds, args.warmup, Path(tmp) / f"n{n}"))
    keys = sorted({k for r in runs for k in r["phases"]}, key=lambda k: -runs[-1]["phases"][k])
    print(f"load average {os.getloadavg()[0]:.1f} (2 cores)")
    print(f"{'us per tick':24}" + "".join(f"{'N=' + str(r['stations']):>10}" for r in runs))
    for key in keys:
        print(f"{key:24}" + "".join(f"{r['phases'].get(key, 0.0):>10.1f}" for r in runs))
    for label, field in (
        ("total (instrumented)", "instrumented_us"),
        ("total (plain run)", "plain_us"),
        ("bare physics", "bare_us"),
        ("parts in the world", "parts"),
    ):
        print(f"{label:24}" + "".join(f"{r[field]:>10.1f}" for r in runs))
    print(f"{'verdict':24}" + "".join(f"{r['plain_verdict']:>10}" for r in runs))
    if len(runs) >= 2:
        xs = [float(r["stations"]) for r in runs]
        harness = _slope(xs, [r["plain_us"] for r in runs])
        bare = _slope(xs, [r["bare_us"] for r in runs])
        physics = _slope(xs, [r["phases"].get("physics", 0.0) for r in runs])
        print(
            f"slope us/tick per station: harness {harness:.1f}, physics in the harness "
            f"{physics:.1f}, bare {bare:.1f}; harness/bare {harness / bare:.2f} (target <= 1.1)"
        )
        rtf = [0.01e6 / r["plain_us"] for r in runs]
        figures = ", ".join(f"N={r['stations']} {f:.1f}x" for r, f in zip(runs, rtf, strict=True))
        print(f"real-time factor of the tick (plain): {figures}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
