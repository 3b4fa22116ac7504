"""The step kinds: what a scenario does, in order, each as a generator of advance requests.

A step kind is a generator function ``step(value, run)`` registered with
:func:`~vcommission.scenario.registry.step_type`. It acts on the run (a
:class:`~vcommission.scenario.context.RunContext`: its simulator, plant, faults, latches
and evidence) and yields an :class:`Advance` whenever virtual time must pass; whoever
drives it (the runner, synchronously or against an external PLC's wall clock, or
:func:`drive` for the pytest ``Harness``) steps the simulator until the request is done
and resumes the step. A step ends when its generator returns; one that finds the PLC or
the plant misbehaving raises :class:`StepFailed` with a failed result (a ``wait`` that
times out), which ends the steps with that verdict.

So a step is written once and runs the same everywhere: ``pulse`` in a scenario file and
``Harness.pulse`` are this module's :func:`pulse`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcommission.clock import ns_to_s, s_to_ns
from vcommission.errors import VcommissionError
from vcommission.plant.capabilities import PartSource
from vcommission.scenario.conditions import describe, unknown_tag
from vcommission.scenario.faults import make_fault, validate_fault
from vcommission.scenario.registry import STEPS, step_type
from vcommission.scenario.results import CheckResult, Verdict
from vcommission.scenario.schema import (
    FaultSpec,
    PulseSpec,
    RemoveSpec,
    ScenarioFile,
    SetSpec,
    SpawnSpec,
    Step,
    WaitSpec,
    _seconds,
    fault_kind_name,
)
from vcommission.signals import Direction

if TYPE_CHECKING:
    from vcommission.config.model import Model
    from vcommission.config.yamlload import YamlPath
    from vcommission.scenario.context import RunContext
    from vcommission.simulator import Simulator

__all__ = [
    "Advance",
    "StepFailed",
    "Steps",
    "describe_step",
    "drive",
    "pulse",
    "run_for",
    "spawn_results",
]

Problems = Iterable[tuple["YamlPath", str]]


@dataclass
class Advance:
    """A request from a step to its driver: step the simulator until ``done()``."""

    done: Callable[[], bool]
    #: Give up after this many virtual seconds (None: no limit).
    limit_s: float | None = None


#: What a step is: a generator of advance requests, driven sync or async.
Steps = Generator[Advance, None, None]


class StepFailed(Exception):
    """A step could not complete because of the PLC or plant behaviour (a failed verdict)."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


def drive(steps: Steps, sim: Simulator) -> None:
    """Run ``steps`` to their end on ``sim``, in this thread (lockstep or fast)."""
    for request in steps:
        sim.run_until(request.done, request.limit_s)


def describe_step(step: Step) -> str:
    """The step as one readable line (its kind's ``describe``, else kind and value)."""
    kind = STEPS.load(step.action)
    if kind.describe is not None:
        return kind.describe(step.spec)
    return f"{step.action}: {_shown(step.spec)}"


def _shown(value: object) -> str:
    """A value as a scenario file writes it: booleans as ``TRUE``/``FALSE``, numbers short."""
    if isinstance(value, bool):
        return str(value).upper()
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, tuple | list):
        return "(" + ", ".join(_shown(v) for v in value) + ")"
    return str(value)


def run_for(run: RunContext, seconds: float) -> Steps:
    """Let ``seconds`` of virtual time pass."""
    sim = run.sim
    end = sim.now_ns + s_to_ns(seconds)
    yield Advance(lambda: sim.now_ns >= end)


# ---- time ---------------------------------------------------------------------------------------


@step_type(
    "hold",
    float,
    check=lambda seconds: _seconds("hold", seconds, zero_ok=True),
    describe=lambda seconds: f"hold {seconds:g} s",
)
def hold(seconds: float, run: RunContext) -> Steps:
    """Run this many seconds."""
    yield from run_for(run, seconds)


@step_type(
    "until",
    float,
    check=lambda seconds: _seconds("until", seconds, zero_ok=True),
    describe=lambda seconds: f"run until t = {seconds:g} s",
)
def until(seconds: float, run: RunContext) -> Steps:
    """Run until this virtual time (seconds since the start), if not past it already."""
    remaining = seconds - ns_to_s(run.sim.now_ns)
    if remaining > 0:
        yield from run_for(run, remaining)


# ---- the operator -------------------------------------------------------------------------------


def _operable(spec: SetSpec | PulseSpec, model: Model, scenario: ScenarioFile) -> Problems:
    table = model.table
    if spec.tag not in table:
        yield ("tag",), unknown_tag(table, spec.tag)
    elif table[spec.tag].direction is Direction.FROM_PLANT:
        yield ("tag",), f"{spec.tag} is a sensor: use a fault to change it"


@step_type(
    "set",
    SetSpec,
    problems=_operable,
    describe=lambda spec: f"set {spec.tag} to {_shown(spec.value)}",
)
def set_(spec: SetSpec, run: RunContext) -> Steps:
    """Write a value to an operator, internal or PLC-output tag and leave it there."""
    run.sim.operate(spec.tag, spec.value)
    yield from ()


def _describe_pulse(spec: PulseSpec) -> str:
    to = "" if spec.value is True else f" to {_shown(spec.value)}"
    return f"pulse {spec.tag}{to} for {spec.for_:g} s"


@step_type("pulse", PulseSpec, problems=_operable, describe=_describe_pulse)
def pulse(spec: PulseSpec, run: RunContext) -> Steps:
    """Write ``value`` for ``for`` seconds, then the value the tag had before the pulse."""
    image = run.plant.image
    # What the tag holds once writes staged so far land: a `set` just before the pulse is
    # staged, not yet in the working buffer, and is what the pulse must give back.
    before = image.pending(spec.tag)
    run.sim.operate(spec.tag, spec.value)
    yield from run_for(run, spec.for_)
    run.sim.operate(spec.tag, before)


@step_type(
    "wait",
    WaitSpec,
    describe=lambda spec: f"wait until {describe(spec.until)} (at most {spec.timeout:g} s)",
)
def wait(spec: WaitSpec, run: RunContext) -> Steps:
    """Run until ``until`` holds; past ``timeout`` the steps end with a failed verdict."""
    latch = run.latch(spec.until)
    condition = latch.condition
    started = run.sim.now_ns
    yield Advance(lambda: latch.reached, spec.timeout)
    latch.close()
    if latch.reached:
        return
    raise StepFailed(
        CheckResult(
            f"wait: {condition.text}",
            "wait",
            Verdict.FAILED,
            f"waited {spec.timeout:g} s from t={ns_to_s(started):.3f} s for "
            f"{condition.text}: it never happened",
            figures={"timeout_s": spec.timeout},
            evidence=run.evidence(run.sim.now_ns, condition.tags),
        )
    )


# ---- parts --------------------------------------------------------------------------------------


def _spawnable(spec: SpawnSpec, model: Model, scenario: ScenarioFile) -> Problems:
    if spec.variant not in model.variants:
        yield ("variant",), f"unknown part variant {spec.variant!r}"
    spawners = model.having(PartSource)
    wanted = spec.spawner
    if wanted is not None and wanted not in spawners:
        yield ("spawner",), f"no spawner named {wanted!r} ({spawners})"
    elif wanted is None and len(spawners) != 1:
        yield (), f"name the spawner: the model has {len(spawners)} ({spawners})"


def _describe_spawn(spec: SpawnSpec) -> str:
    text = f"spawn {spec.count} {spec.variant} part{'s' if spec.count != 1 else ''}"
    if spec.count > 1:
        text += f" {spec.interval:g} s apart"
    return text + (f" from {spec.spawner}" if spec.spawner else "")


@step_type("spawn", SpawnSpec, problems=_spawnable, describe=_describe_spawn)
def spawn(spec: SpawnSpec, run: RunContext) -> Steps:
    """Drop parts from a spawner, whatever its ``enable`` says; the run goes on meanwhile."""
    plant = run.plant
    spawners = plant.having(PartSource)
    if spec.spawner is not None:
        spawners = [c for c in spawners if c.name == spec.spawner]
    request = spawners[0].request(spec.variant, spec.count, s_to_ns(spec.interval), run.now_ns)
    request.step = _describe_spawn(spec)
    run.spawns.append(request)
    yield from ()


def spawn_results(run: RunContext) -> list[CheckResult]:
    """A result of kind ``spawn`` for each ``spawn`` step that did not place all its parts.

    Parts that never came leave the scenario short of the situation it set up: while they
    waited for a clear drop zone (a part in the way) or the run ended before they were due,
    the result is **vacuous** (failed under ``--strict``), with the part in the way as
    evidence; a drop zone inside the machine or below the floor can never take a part, an
    **error** (the scenario or the model is wrong, not the PLC). Steps that placed every part
    add nothing, so a run's results are as before.
    """
    from vcommission.scenario.checks import undelivered

    results = []
    end = run.now_ns
    for request in run.spawns:
        if request.remaining == 0:
            continue
        step = request.step or f"spawn {request.count} {request.variant}"
        placed = f"{request.placed} of {request.count} placed"
        spawner = next(c for c in run.plant.components if c.name == request.spawner)
        where = _shown(tuple(round(float(c), 3) for c in spawner.params.position))
        parts: list[dict] = []
        time_ns = end
        if request.refused is not None:
            verdict = Verdict.ERROR
            inside = _owners(run, request.inside)
            reason = f"the drop zone at {where} m is {request.refused}"
            reason += f" ({', '.join(inside)})" if inside else ""
            message = f"{step}: {placed}: {reason}: no part can be placed there"
        elif request.waiting_since_ns is not None:
            verdict = Verdict.VACUOUS
            time_ns = request.waiting_since_ns
            blocker = request.blocked_by
            parts = [p for p in undelivered(run) if p["id"] == blocker]
            who = f"part {blocker}" if blocker is not None else "a part"
            reason = (
                f"the drop zone at {where} m was occupied by {who} from "
                f"t={ns_to_s(time_ns):.3f} s to the end (t={ns_to_s(end):.3f} s)"
            )
            message = f"{step}: {placed}, {request.remaining} never: {reason}"
        else:
            verdict = Verdict.VACUOUS
            reason = (
                f"the run ended at t={ns_to_s(end):.3f} s, before the next was due at "
                f"t={ns_to_s(request.due_ns):.3f} s"
            )
            message = f"{step}: {placed}, {request.remaining} never: {reason}"
        count = f"{request.spawner}.count"
        evidence = run.evidence(time_ns, [count] if count in run.plant.image.table else [])
        evidence.parts = parts
        results.append(
            CheckResult(
                f"spawn: {step}",
                "spawn",
                verdict,
                message,
                figures={"asked": request.count, "placed": request.placed},
                evidence=evidence,
                exercised=verdict is not Verdict.VACUOUS,
                vacuity=reason if verdict is Verdict.VACUOUS else None,
                criterion=f"{step}: every part placed",
            )
        )
    return results


def _owners(run: RunContext, bodies: Iterable[int]) -> list[str]:
    """The components (``name.group``) that own ``bodies``."""
    wanted = set(bodies)
    return [
        f"{component.name}.{group_name}"
        for component in run.plant.components
        for group_name, group in component.bodies().items()
        if wanted & set(group.all)
    ]


@step_type(
    "remove",
    RemoveSpec,
    describe=lambda spec: f"remove the parts between {_shown(spec.low)} and {_shown(spec.high)} m",
)
def remove(spec: RemoveSpec, run: RunContext) -> Steps:
    """A person takes every part reaching into a zone off the line."""
    plant = run.plant
    world = plant.world
    assert world is not None
    now = run.now_ns
    for body in world.overlapping(spec.low, spec.high, plant.parts.is_part):
        part = plant.parts.by_body(body)
        world.remove_body(body)
        if part is not None:
            plant.parts.retire(part, now, "operator")
    yield from ()


# ---- faults -------------------------------------------------------------------------------------


def _injectable(spec: FaultSpec, model: Model, scenario: ScenarioFile) -> Problems:
    for problem in validate_fault(spec, model):
        yield (), problem


def _describe_fault(spec: FaultSpec) -> str:
    kind = fault_kind_name(spec.kind)
    shown = {"kind", "id", "for_"}
    details = [
        f"{f.metadata.get('yaml', f.name)} {_shown(getattr(spec, f.name))}"
        for f in dataclasses.fields(spec)
        if f.name not in shown and getattr(spec, f.name) is not None
    ]
    text = f"inject fault {spec.name}: {kind}" + (f" ({', '.join(details)})" if details else "")
    return text + (f" for {spec.for_:g} s" if spec.for_ is not None else "")


@step_type("fault", FaultSpec, problems=_injectable, describe=_describe_fault)
def fault(spec: FaultSpec, run: RunContext) -> Steps:
    """Inject a fault (cleared after its ``for``, if given, or by a ``clear`` step)."""
    injected = make_fault(spec, run)
    if injected.name in run.faults:
        raise VcommissionError(f"fault {injected.name!r} is already injected: give it an id")
    run.inject(injected, spec.for_)
    yield from ()


def _injected(name: str, model: Model, scenario: ScenarioFile) -> Problems:
    names = {step.fault.name for step in scenario.steps if step.action == "fault"}
    if name not in names:
        yield (), f"no fault named {name!r} is injected"


@step_type("clear", str, problems=_injected, describe=lambda name: f"clear fault {name}")
def clear(name: str, run: RunContext) -> Steps:
    """Clear the fault of this name."""
    run.clear(name)  # it may have expired already (``for``)
    yield from ()
