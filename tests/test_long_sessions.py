"""Long sessions in bounded memory: every per-event store stays bounded, summaries exact.

Driven far past the bounds in virtual time, deterministically: the sorting line runs its
reference program with its history bounded (as ``serve`` bounds it) beside the same run
unbounded, and a pacer is fed a million ticks of known lateness through its own clock.
"""

from __future__ import annotations

import random

import numpy as np

from tests.helpers import SORTING_LINE, SORTING_ST
from vcommission.clock import RealTimePacer
from vcommission.config.model import load_model
from vcommission.plant.capabilities import PartSink
from vcommission.plc import compile_program
from vcommission.session import SessionBuilder

#: Far below what the run produces, so that every bound is passed many times over.
LIMIT = 3
SECONDS = 90.0


def run_line(limit: int | None) -> dict[str, object]:
    """The sorting line under sorting.st; what a long session must keep exact, and sizes."""
    model = load_model(SORTING_LINE)
    builder = SessionBuilder(model).plc(compile_program(SORTING_ST, model)).recorder(None)
    with builder.build() as session:
        plant, link, sim = session.plant, session.link, session.sim
        # The bins empty themselves (remove_after: 1 s by default), so parts retire.
        plant.bound_history(limit)
        sim.run_for(0.3)
        link.operate("start_pb.pressed", True)
        sim.run_for(0.2)
        link.operate("start_pb.pressed", False)
        sim.run_for(SECONDS)
        sinks = plant.having(PartSink)
        return {
            "signals": {name: plant.image[name] for name in plant.image.table.names()},
            "arrived": {s.name: s.arrived for s in sinks},
            "made": plant.parts.total,
            "records": len(plant.parts.parts),
            "alive": len(plant.parts.alive),
            "arrivals": {s.name: len(s.arrivals) for s in sinks},
        }


def test_bounded_part_records_stay_bounded_and_every_count_stays_exact():
    bounded, unbounded = run_line(LIMIT), run_line(None)
    made = unbounded["made"]
    assert made > 10 * LIMIT  # the bounds are passed many times over
    # Exact: every signal (bin counts included), parts made and arrivals per bin.
    assert bounded["signals"] == unbounded["signals"]
    assert bounded["made"] == made and bounded["arrived"] == unbounded["arrived"]
    assert all(n > 3 * LIMIT for n in unbounded["arrived"].values())
    # Bounded: the retired parts kept, and each bin's arrival records.
    assert unbounded["records"] == made
    assert bounded["records"] <= bounded["alive"] + 2 * LIMIT
    assert all(n <= LIMIT for n in bounded["arrivals"].values())


def test_a_pacer_fed_a_million_ticks_keeps_bounded_records_and_exact_summaries():
    rng = random.Random(7)
    # Lateness in ns: mostly jitter, some late ticks, a few very late ones.
    lateness = [
        rng.choice([rng.randrange(0, 900_000), rng.randrange(1_000_001, 15_000_000)])
        if rng.random() < 0.999
        else rng.randrange(20_000_000, 3_000_000_000)
        for _ in range(1_000_000)
    ]
    now = [0]
    pacer = RealTimePacer(clock=lambda: now[0])
    pacer.start(0)
    for tick, late in enumerate(lateness):
        due = tick * 1_000_000
        now[0] = due + late
        pacer._record(tick * 1_000_000, due)
    summary = pacer.summary()
    assert summary["ticks"] == len(lateness)
    assert summary["late_ticks"] == sum(1 for late in lateness if late > pacer.tolerance_ns)
    assert summary["lateness_max_ms"] == round(max(lateness) / 1e6, 3)
    exact_p99 = int(np.sort(lateness)[int(0.99 * len(lateness))])
    assert abs(summary["lateness_p99_ms"] * 1e6 - exact_p99) <= 1_000  # to the microsecond
    assert len(pacer.overruns) <= 1_000 and len(pacer.lateness_ns) <= 100_000
    assert pacer.overruns[-1].tick_ns == max(
        t * 1_000_000 for t, late in enumerate(lateness) if late > pacer.tolerance_ns
    )
