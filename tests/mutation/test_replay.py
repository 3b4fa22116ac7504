"""Tapes: a mutant replayed against what the original read passes only where a real run would."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vcommission.executors.portable import pack
from vcommission.mutation.engine import run_program
from vcommission.mutation.operators import make_mutant, sites
from vcommission.mutation.replay import Tape, record, replay, replayable
from vcommission.plc import compile_source
from vcommission.scenario.collect import collect
from vcommission.scenario.runner import WorkerCache, run_scenario
from vcommission.scenario.schema import FaultSpec, Step
from vcommission.scenario.trace import Trace

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "scenarios" / "sorting_line"
SORTING = ROOT / "plant_models" / "sorting_line" / "plc" / "sorting.st"


@pytest.fixture(scope="module")
def start(tmp_path_factory):
    """R1's scenario run once against the original: the scenario, its cache, trace and tape."""
    (scenario,) = collect([SUITE / "r1_start.yaml"]).scenarios
    cache = WorkerCache()
    traces = tmp_path_factory.mktemp("traces")
    result = run_scenario(scenario, cache, traces, strict=True)
    assert result.verdict.value == "passed"
    model = cache.model(scenario.model_path)
    program = cache.program(scenario.program_path, scenario.model_path)
    trace = Trace.load(result.trace_file)
    tape = record(scenario, program, model.table, model.physics.tick_ns, trace, "digest")
    yield scenario, cache, trace, tape
    cache.close()


def _mutant(cache: WorkerCache, scenario, original: str, mutated: str):
    """The compiled mutant whose site changes ``original`` into ``mutated`` (first match)."""
    source = SORTING.read_text()
    site = next(s for s in sites(source) if s.original == original and s.mutated == mutated)
    text = make_mutant(source, site).source
    return compile_source(text, cache.model(scenario.model_path), file="mutant.st")


def test_the_original_replays_its_own_tape_without_diverging(start):
    scenario, cache, trace, tape = start
    assert isinstance(tape, Tape) and tape.trace_sha256 == "digest"
    assert tape.end_ns == trace.end_ns and tape.inputs and tape.writes
    program = cache.program(scenario.program_path, scenario.model_path)
    assert replay(program, cache.model(scenario.model_path).table, tape) is None


def test_a_mutant_diverges_at_the_scan_it_writes_something_else(start):
    scenario, cache, _, tape = start
    table = cache.model(scenario.model_path).table
    # The amber lamp off when stopped: written at the very first scan (10 ms).
    amber = _mutant(cache, scenario, "state = STOPPED", "state <> STOPPED")
    assert replay(amber, table, tape) == 10_000_000
    # A longer height filter changes nothing R1 shows (no box): no divergence, no real run.
    longer = _mutant(
        cache, scenario, "T_TALL_FILTER := T#50ms", "T_TALL_FILTER := T#100ms (doubled)"
    )
    assert replay(longer, table, tape) is None
    # Start ignored (the start condition forced FALSE): diverges at the start press, 0.5 s
    # into the run (committed at the first tick after the step, scanned in that tick).
    frozen = _mutant(
        cache,
        scenario,
        "start_edge.Q AND stop_pb_nc AND NOT jam_fault AND NOT pusher_fault",
        "FALSE",
    )
    diverged = replay(frozen, table, tape)
    assert diverged is not None and 0.5e9 < diverged <= 0.52e9


def test_a_tape_that_does_not_reproduce_the_trace_is_refused(start):
    scenario, cache, trace, _ = start
    model = cache.model(scenario.model_path)
    program = cache.program(scenario.program_path, scenario.model_path)
    # The trace with conveyor_run committed one tick late: the writes no longer match it.
    belt = trace.index("conveyor_run")
    late = [(t + 10_000_000, i, v) if i == belt else (t, i, v) for t, i, v in trace.changes]
    shifted = dataclasses.replace(trace, changes=sorted(late, key=lambda c: c[0]))
    assert record(scenario, program, model.table, model.physics.tick_ns, shifted, None) is None


def test_a_fault_on_the_link_or_an_external_plc_gets_no_tape(start):
    scenario = start[0]
    assert replayable(scenario)
    cut = Step(fault=FaultSpec(kind="lost_connection", id="cut"))
    linked = dataclasses.replace(scenario, spec=dataclasses.replace(scenario.spec, steps=[cut]))
    assert not replayable(linked)


def test_the_mutant_unit_replays_where_it_can_and_runs_where_it_diverges(start):
    scenario, _, _, tape = start
    source = SORTING.read_text()
    chosen = {
        (s.original, s.mutated): s
        for s in sites(source)
        if s.mutated in ("T_TALL_FILTER := T#100ms (doubled)", "FALSE")
    }
    longer = chosen[("T_TALL_FILTER := T#50ms", "T_TALL_FILTER := T#100ms (doubled)")]
    frozen = chosen[("start_edge.Q AND stop_pb_nc AND NOT jam_fault AND NOT pusher_fault", "FALSE")]
    state: dict = {}
    try:
        for site, replayed, verdict in ((longer, True, "passed"), (frozen, False, "failed")):
            payload = {
                "source": make_mutant(source, site).source,
                "name": f"mutant_{site.index}.st",
                "scenarios": [pack(scenario)],
                "stop_at_kill": True,
                "tapes": {scenario.name: tape},
            }
            (run,) = run_program(payload, state)["runs"]
            assert (run["replayed"], run["verdict"]) == (replayed, verdict), run
            if replayed:  # no plant: the original's trace stands for it
                assert run["trace_sha256"] == "digest" and run["diverged_s"] is None
            else:  # the real run, from the scan it diverged at
                assert 0.5 < run["diverged_s"] <= 0.52 and run["check_kind"] == "reaction"
    finally:
        for closable in state.values():
            closable.close()
