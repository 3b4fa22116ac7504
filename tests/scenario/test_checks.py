"""Checks against real runs of the sorting line: each passes on right behaviour and fails,
with the message, figures and evidence a controls engineer needs, on wrong behaviour.

Runs are driven by :class:`~tests.sorting_script.SortingScript` (a right program), by small
deliberately wrong controllers, or by operating tags directly; timings below follow from
the tick order: a write staged at t is committed at t + 10 ms.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.helpers import SORTING_LINE
from tests.sorting_script import SortingScript
from vcommission.clock import s_to_ns
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.scenario.checks import make_check
from vcommission.scenario.context import RunContext
from vcommission.scenario.results import CheckResult, Verdict
from vcommission.scenario.schema import (
    CheckSpec,
    ConditionSpec,
    CycleTimeSpec,
    FinalStateSpec,
    InterlockSpec,
    NoCollisionSpec,
    NoMissortSpec,
    ReactionSpec,
    SequenceSpec,
    ThroughputSpec,
)
from vcommission.signals import ProcessImage, Value

C = ConditionSpec
PUSH_WHILE_RUNNING = C(all=[C(tag="pusher_extend"), C(tag="conveyor_run")])


@pytest.fixture(scope="module")
def model():
    return load_model(SORTING_LINE)


@pytest.fixture
def run(model) -> Iterator[RunContext]:
    with Plant(model) as plant:
        yield RunContext.start(None, model, plant, None)


def checked(run: RunContext, seconds: float, *specs: CheckSpec) -> list[CheckResult]:
    """Start the checks, run ``seconds`` of virtual time, and give their results."""
    checks = [make_check(spec, run) for spec in specs]
    for check in checks:
        check.start(run)
    run.sim.run_for(seconds)
    return [check.finish(run) for check in checks]


def sorting(run: RunContext, seconds: float, *specs: CheckSpec) -> list[CheckResult]:
    """The same with the right program running the line (first tall box: pe_entry 1.86 s,
    pe_pusher 5.86 s, bin_tall 6.52 s; then small, tall, small... every 3 s)."""
    run.sim.add_controller(SortingScript())
    return checked(run, seconds, *specs)


@dataclass
class Reckless:
    """Wrong program: runs the belt and strokes the pusher from 1.0 s to 1.3 s anyway."""

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value]:
        pushing = s_to_ns(1.0) <= now_ns < s_to_ns(1.3)
        return {"conveyor_run": True, "pusher_extend": pushing}


@dataclass
class Starter:
    """Starts the belt ``delay_s`` after start_pb is pressed (0: on the next scan)."""

    delay_s: float = 0.0
    pressed_at: int | None = None

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value] | None:
        if self.pressed_at is None and image["start_pb"]:
            self.pressed_at = now_ns
        if self.pressed_at is not None and now_ns - self.pressed_at >= s_to_ns(self.delay_s):
            return {"conveyor_run": True}
        return None


def press_start(run: RunContext) -> None:
    """Press start at 0.5 s for 0.2 s: start_pb reads TRUE from 0.51 s."""
    run.sim.run_for(0.5)
    run.sim.operate("start_pb.pressed", True)
    run.sim.run_for(0.2)
    run.sim.operate("start_pb.pressed", False)


# ---- interlock ---------------------------------------------------------------------------------


def test_interlock_holds_for_a_right_program(run):
    (result,) = sorting(run, 8, CheckSpec(interlock=InterlockSpec(never=PUSH_WHILE_RUNNING)))
    assert result.verdict is Verdict.PASSED
    assert result.name == "interlock: NOT (pusher_extend = TRUE AND conveyor_run = TRUE)"
    assert result.figures == {"violations": 0, "tolerated": 0, "longest_violation_s": 0.0}
    assert result.evidence is None


def test_interlock_fails_with_time_duration_and_evidence(run):
    run.sim.add_controller(Reckless())
    spec = CheckSpec(requirement="R5", interlock=InterlockSpec(never=PUSH_WHILE_RUNNING))
    (result,) = checked(run, 2, spec)
    assert result.verdict is Verdict.FAILED
    assert result.requirement == "R5"
    assert result.message == (
        "pusher_extend = TRUE while conveyor_run = TRUE at t=1.010 s for 0.300 s (grace 0 s)"
    )
    assert result.figures["violations"] == 1
    assert result.figures["longest_violation_s"] == pytest.approx(0.3)
    evidence = result.evidence
    assert evidence.time_s == pytest.approx(1.01)
    assert evidence.tags == ["pusher_extend", "conveyor_run"]
    # The window was built after the run: it shows the pusher coming back too.
    assert (pytest.approx(1.01), "pusher_extend", True) in evidence.window
    assert (pytest.approx(1.31), "pusher_extend", False) in evidence.window


@pytest.mark.parametrize(
    ("grace", "after", "verdict"),
    # From 1.5 s on the pusher never extends again: no violation, but not exercised.
    [(0.3, 0.0, Verdict.PASSED), (0.29, 0.0, Verdict.FAILED), (0.0, 1.5, Verdict.VACUOUS)],
)
def test_interlock_grace_and_after(run, grace, after, verdict):
    run.sim.add_controller(Reckless())
    spec = InterlockSpec(never=PUSH_WHILE_RUNNING, grace=grace, after=after)
    (result,) = checked(run, 2, CheckSpec(interlock=spec))
    assert result.verdict is verdict, result.message
    if grace:
        assert result.figures["longest_violation_s"] == pytest.approx(0.3)


def test_interlock_always_reports_the_values_and_an_open_violation(run):
    run.sim.run_for(1.0)
    run.sim.operate("estop.pressed", True)
    (result,) = checked(run, 1.0, CheckSpec(interlock=InterlockSpec(always=C(tag="estop_ok"))))
    assert result.verdict is Verdict.FAILED
    assert result.message.startswith("estop_ok = TRUE did not hold at t=1.010 s")
    assert "until the end of the run" in result.message
    assert "[estop_ok = FALSE]" in result.message


# ---- reaction ----------------------------------------------------------------------------------

START_REACTION = ReactionSpec(
    trigger=C(rising="start_pb"), expect=C(tag="conveyor_run"), within=0.1
)


def test_reaction_within_time(run):
    run.sim.add_controller(Starter())
    checks = [make_check(CheckSpec(reaction=START_REACTION), run)]
    checks[0].start(run)
    press_start(run)
    run.sim.run_for(0.5)
    result = checks[0].finish(run)
    assert result.verdict is Verdict.PASSED, result.message
    # One tick to commit the press, one for the program's write to reach the plant.
    assert result.figures["triggers"] == 1
    assert result.figures["max_reaction_s"] == pytest.approx(0.01)
    assert result.figures["late"] == 0


def test_reaction_too_late(run):
    run.sim.add_controller(Starter(delay_s=0.2))
    check = make_check(CheckSpec(reaction=START_REACTION), run)
    check.start(run)
    press_start(run)
    run.sim.run_for(0.5)
    result = check.finish(run)
    assert result.verdict is Verdict.FAILED
    assert result.message == (
        "conveyor_run = TRUE did not follow rising start_pb at t=0.510 s within 0.1 s "
        "(it took 0.210 s)"
    )
    assert result.figures["late"] == 1
    assert result.figures["max_reaction_s"] == pytest.approx(0.21)
    assert result.evidence.time_s == pytest.approx(0.51)
    assert result.evidence.tags == ["start_pb", "conveyor_run"]


def test_reaction_fails_when_the_trigger_never_happens(run):
    (result,) = checked(run, 1, CheckSpec(reaction=START_REACTION))
    assert result.verdict is Verdict.FAILED
    assert result.message.startswith("trigger never happened: rising start_pb")
    assert result.figures["triggers"] == 0


# ---- sequence ----------------------------------------------------------------------------------


def test_sequence_in_order(run):
    spec = SequenceSpec([C(rising="pe_entry"), C(rising="pe_pusher"), C(rising="pusher_extend")])
    (result,) = sorting(run, 7, CheckSpec(sequence=spec))
    assert result.verdict is Verdict.PASSED, result.message
    assert result.figures["matched"] == 3
    assert result.figures["duration_s"] == pytest.approx(4.01)


@pytest.mark.parametrize(
    ("events", "within", "message", "matched"),
    [
        (
            [C(rising="pusher_extend"), C(rising="pe_pusher")],
            None,
            "event 2 (rising pe_pusher) at t=5.860 s came before event 1 (rising pusher_extend)",
            0,
        ),
        (
            [C(rising="pe_entry"), C(rising="pe_exit")],
            None,
            "event 2 (rising pe_exit) never happened after event 1 (rising pe_entry) at t=1.860 s",
            1,
        ),
        (
            [C(rising="pe_entry"), C(rising="pe_pusher")],
            1.0,
            "sequence took 4.000 s from t=1.860 s to t=5.860 s, limit 1 s",
            2,
        ),
    ],
)
def test_sequence_failures(run, events, within, message, matched):
    (result,) = sorting(run, 7, CheckSpec(sequence=SequenceSpec(events, within)))
    assert result.verdict is Verdict.FAILED
    assert result.message == message
    assert result.evidence is not None
    assert result.figures["matched"] == matched


# ---- cycle time --------------------------------------------------------------------------------


def test_cycle_time_per_part_and_per_station(run):
    per_part = CycleTimeSpec(start="pe_entry", end="bin_tall", variant="tall", max=5.0)
    too_fast = CycleTimeSpec(start="pe_entry", end="bin_tall", variant="tall", max=4.0)
    too_many = CycleTimeSpec(start="spawned", end="bin_tall", max=10.0, min_count=5)
    station = CycleTimeSpec(
        per="station", start=C(rising="pusher_extend"), end=C(rising="pusher_retracted"), p95=2
    )
    slow_mean = CycleTimeSpec(
        per="station", start=C(rising="pusher_extend"), end=C(rising="pusher_retracted"), mean=1
    )
    part, fast, many, push, mean = sorting(
        run,
        15,
        *(
            CheckSpec(cycle_time=spec)
            for spec in (per_part, too_fast, too_many, station, slow_mean)
        ),
    )
    assert part.verdict is Verdict.PASSED, part.message
    assert part.figures["count"] == 2
    assert part.figures["max_s"] == pytest.approx(4.66)
    assert fast.verdict is Verdict.FAILED
    assert fast.message == "part 1 (tall) took 4.660 s from t=1.860 s to t=6.520 s, max 4 s"
    assert fast.evidence.time_s == pytest.approx(6.52)
    assert "pe_entry" in fast.evidence.tags
    assert many.verdict is Verdict.FAILED
    assert many.message.startswith("only 2 cycles measured, at least 5 needed")
    assert push.verdict is Verdict.PASSED, push.message
    assert push.figures["count"] == 2
    assert push.figures["p95_s"] == pytest.approx(1.19)
    assert mean.verdict is Verdict.FAILED
    assert mean.message == "mean 1.190 s over 2 cycles, limit 1 s"


# ---- throughput --------------------------------------------------------------------------------


def test_throughput(run):
    enough = ThroughputSpec(min=5, sink="bin_tall")
    window = ThroughputSpec(min=5, sink="bin_tall", variant="tall", start=10, end=20)
    impossible = ThroughputSpec(min=100)
    ok, windowed, low = sorting(
        run, 20, *(CheckSpec(throughput=spec) for spec in (enough, window, impossible))
    )
    assert ok.verdict is Verdict.PASSED, ok.message
    assert ok.figures == {"parts": 2, "per_minute": pytest.approx(6.0), "window_s": 20.0}
    assert windowed.figures == {"parts": 1, "per_minute": pytest.approx(6.0), "window_s": 10.0}
    assert low.verdict is Verdict.FAILED
    assert low.message == (
        "3 parts into any sink from t=0.000 s to t=20.000 s: 9.00 per minute, "
        "below the minimum 100 per minute"
    )
    assert "bin_small.count" in low.evidence.tags


# ---- no collision ------------------------------------------------------------------------------


def test_no_collision(run):
    clear = NoCollisionSpec(between=["pusher"], and_=["belt"], margin=0.005)
    pushing = NoCollisionSpec(between=["pusher"], and_=["parts"])
    ok, touched = sorting(run, 7, CheckSpec(no_collision=clear), CheckSpec(no_collision=pushing))
    assert ok.verdict is Verdict.PASSED, ok.message
    assert 0.005 < ok.figures["closest_m"] < 0.02
    assert touched.verdict is Verdict.FAILED
    # The pusher strokes into the first (tall) box: it touches it, as pushers do.
    assert touched.message.startswith("pusher and part 1 (tall) ")
    assert touched.figures["contacts"] == 1
    assert touched.figures["closest_m"] < 0
    assert "pusher_extend" in touched.evidence.tags


# ---- final state -------------------------------------------------------------------------------


def test_final_state(run):
    right = FinalStateSpec(
        tags={"conveyor_run": True, "speed_sp": 400},
        bins={"bin_tall": {"tall": 2, "*": 2}, "bin_small": {"small": 1}},
    )
    wrong = FinalStateSpec(
        tags={"conveyor_run": False}, bins={"bin_tall": {"tall": 3}}, max_in_flight=0
    )
    ok, bad = sorting(run, 20, CheckSpec(final_state=right), CheckSpec(final_state=wrong))
    assert ok.verdict is Verdict.PASSED, ok.message
    assert ok.figures["bin_tall.tall"] == 2
    assert ok.figures["conveyor_run"] is True
    assert bad.verdict is Verdict.FAILED
    assert bad.message == (
        "at the end (t=20.000 s): conveyor_run = TRUE, expected FALSE; "
        "bin_tall holds 2 tall parts, expected 3; 4 parts still on the line, at most 0"
    )
    assert bad.figures["in_flight"] == 4


# ---- no missort --------------------------------------------------------------------------------


def test_no_missort(run):
    right = NoMissortSpec({"tall": "bin_tall", "small": "bin_small"})
    swapped = NoMissortSpec({"tall": "bin_small", "small": "bin_tall"})
    ok, bad = sorting(run, 16, CheckSpec(no_missort=right), CheckSpec(no_missort=swapped))
    assert ok.verdict is Verdict.PASSED, ok.message
    assert ok.figures == {"parts": 3, "missorted": 0}
    assert bad.verdict is Verdict.FAILED
    assert bad.message == (
        "part 1 (tall) arrived in bin_tall at t=6.520 s, expected bin_small; 3 of 3 parts missorted"
    )
    assert bad.evidence.time_s == pytest.approx(6.52)
    assert {"pe_entry", "pe_tall", "bin_tall.count"} <= set(bad.evidence.tags)
    assert "infeed_enable" not in bad.evidence.tags


# ---- bad references ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (CheckSpec(interlock=InterlockSpec(never=C(tag="pusher_extnd"))), "pusher_extnd"),
        (CheckSpec(throughput=ThroughputSpec(min=1, sink="bin_large")), "bin_large"),
        (CheckSpec(throughput=ThroughputSpec(min=1, sink="pe_exit")), "not a sink"),
        (CheckSpec(no_missort=NoMissortSpec({"huge": "bin_tall"})), "unknown part variant"),
        (CheckSpec(cycle_time=CycleTimeSpec(start="pe_entri", end="bin_tall", max=1)), "pe_entri"),
        (CheckSpec(no_collision=NoCollisionSpec(["pe_entry"], ["parts"])), "no moving body"),
        (CheckSpec(final_state=FinalStateSpec(tags={"conveyor_run": 1})), "true or false"),
    ],
)
def test_unknown_references_are_config_errors(run, spec, words):
    with pytest.raises(ConfigError, match=words):
        make_check(spec, run)


# ---- evidence of checks about parts (issue 14 item 5) ------------------------------------------


def test_a_short_count_lists_every_part_that_did_not_arrive_and_the_whole_run(run):
    wrong = FinalStateSpec(bins={"bin_tall": {"tall": 3}}, max_in_flight=0)
    (bad,) = sorting(run, 20, CheckSpec(final_state=wrong))
    assert bad.verdict is Verdict.FAILED
    parts = bad.evidence.parts
    assert len(parts) == bad.figures["in_flight"] == 4
    assert {p["status"] for p in parts} == {"travelling"}
    newest = max(parts, key=lambda p: p["id"])
    assert newest["last_event"] in ("spawned", "detected")
    assert newest["position"][2] > 0.8  # on the belt, not on the floor
    # The tags' edges over the whole run, from its start, not a window at the end.
    assert bad.evidence.window[0][0] == 0.0
    assert any(t < 5 for t, _, _ in bad.evidence.window[1:])
    assert any("part 1" in line or "part " in line for line in bad.evidence.lines())


def test_a_part_on_the_floor_is_lost_and_final_state_can_bound_it(run):
    world = run.plant.world
    variant = run.plant.model.variants["small"]
    body = world.add_part(variant, (1.0, 2.0, 0.0))  # beside the machine, on the ground
    run.plant.parts.add("small", body, 0, "test")
    strict = FinalStateSpec(max_lost=0)
    lenient = FinalStateSpec(max_lost=1, max_in_flight=0)
    bad, ok = checked(run, 1, CheckSpec(final_state=strict), CheckSpec(final_state=lenient))
    assert bad.verdict is Verdict.FAILED
    assert bad.message == "at the end (t=1.000 s): 1 part lost (on the floor), at most 0"
    assert bad.figures["lost"] == 1 and bad.figures["in_flight"] == 0
    (part,) = bad.evidence.parts
    assert part["status"] == "lost" and part["position"][:2] == pytest.approx([1.0, 2.0], abs=0.01)
    assert ok.verdict is not Verdict.FAILED  # lost is not in flight


def test_cycle_time_min_fails_a_cycle_that_was_too_fast(run):
    quick = CycleTimeSpec(start="pe_entry", end="bin_tall", variant="tall", min=5.0)
    (fast,) = sorting(run, 15, CheckSpec(cycle_time=quick))
    assert fast.verdict is Verdict.FAILED
    assert fast.message == ("part 1 (tall) took only 4.660 s from t=1.860 s to t=6.520 s, min 5 s")
    assert fast.figures["min_s"] == pytest.approx(4.66)


def test_a_reaction_that_never_came_says_never(run):
    check = make_check(CheckSpec(reaction=START_REACTION), run)
    check.start(run)
    press_start(run)  # nobody starts the belt
    run.sim.run_for(1.0)
    result = check.finish(run)
    assert result.verdict is Verdict.FAILED
    assert "(it never did: still not by the end at t=1.700 s)" in result.message


def test_no_part_lost_on_an_idle_line_proves_nothing(run):
    (idle,) = checked(run, 1, CheckSpec(final_state=FinalStateSpec(max_lost=0)))
    assert idle.verdict is Verdict.VACUOUS
    assert idle.vacuity.startswith("no part was spawned")
