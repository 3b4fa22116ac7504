"""The scenario file format: dataclasses the strict YAML loader fills, validated on creation.

A scenario names a model and a PLC, then lists **steps** (what happens, in order) and
**checks** (what must hold). Every action, condition and check is a mapping with exactly one
keyword, so a typo is an unknown key with a suggestion, never a silently ignored line::

    name: start within 100 ms
    requirements: [R1]
    model: ../../plant_models/sorting_line
    duration: 5
    steps:
      - hold: 0.5
      - pulse: {tag: start_pb.pressed, for: 0.2}
    checks:
      - reaction:
          trigger: {rising: start_pb}
          expect: {all: [{tag: conveyor_run}, {tag: infeed_enable}]}
          within: 0.1

Conditions are data, never code: no text a user writes is evaluated. Besides conditions on
tags, ``{fault_acted: NAME}`` holds from the first tick the fault injected as ``NAME`` (its
``id``, else its kind) changed what the plant or the PLC saw, so recovery is judged only
after the fault was shown to act::

      - fault: {kind: actuator_stuck, id: valve_stuck, tag: pusher_extend, value: false}
      - wait: {until: {fault_acted: valve_stuck}, timeout: 11}
      - wait: {until: {tag: light_red}, timeout: 2.1}

Every check reports whether it was exercised (``vcommission.scenario.checks``): one that
held without meeting its situation is *vacuous*, and failed under ``--strict``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from vcommission.errors import ConfigError
from vcommission.scenario.registry import CHECKS, FAULTS, STEPS

__all__ = [
    "COMPARATORS",
    "CheckSpec",
    "ClockChoice",
    "ConditionSpec",
    "CycleTimeSpec",
    "ExternalPlc",
    "FaultKind",
    "FaultSpec",
    "FinalStateSpec",
    "InterlockSpec",
    "NoCollisionSpec",
    "NoMissortSpec",
    "PartsArrivedSpec",
    "PlcSpec",
    "PulseSpec",
    "ReactionSpec",
    "RemoveSpec",
    "Scenario",
    "ScenarioFile",
    "SequenceSpec",
    "SetSpec",
    "SpawnSpec",
    "Step",
    "ThroughputSpec",
    "WaitSpec",
    "fault_kind",
    "fault_kind_name",
]

#: Comparison keys of a condition, in the order they are tried.
COMPARATORS = ("eq", "ne", "lt", "le", "gt", "ge")

Scalar = bool | int | float | str


def _seconds(name: str, value: float | None, *, zero_ok: bool = False) -> None:
    if value is None:
        return
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        bound = ">= 0" if zero_ok else "> 0"
        raise ConfigError(f"{name}={value} must be a finite number of seconds {bound}")


def _exactly_one(what: str, values: dict[str, object]) -> str:
    given = [key for key, value in values.items() if value is not None]
    if len(given) != 1:
        choices = ", ".join(values)
        found = ", ".join(given) or "none"
        raise ConfigError(f"{what} needs exactly one of: {choices} (found: {found})")
    return given[0]


# ---- conditions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConditionSpec:
    """A condition on signals, evaluated after every tick.

    Exactly one form: a comparison (``tag`` with one of ``eq ne lt le gt ge``; a BOOL
    ``tag`` alone means TRUE), an edge (``rising``, ``falling``, ``changed``: TRUE in the tick
    the tag changed so), a combination (``all``, ``any``, ``not``), or ``fault_acted`` (a
    fault's name: TRUE from the first tick that fault acted, see
    :mod:`vcommission.scenario.faults`). ``for`` makes any form hold only once it has been
    true for at least that many seconds without a break.
    """

    tag: str | None = None
    eq: Scalar | None = None
    ne: Scalar | None = None
    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None
    rising: str | None = None
    falling: str | None = None
    changed: str | None = None
    all: list[ConditionSpec] | None = None
    any: list[ConditionSpec] | None = None
    not_: ConditionSpec | None = field(default=None, metadata={"yaml": "not"})
    fault_acted: str | None = None
    for_: float | None = field(default=None, metadata={"yaml": "for"})

    def __post_init__(self) -> None:
        comparisons = [c for c in COMPARATORS if getattr(self, c) is not None]
        if len(comparisons) > 1:
            raise ConfigError(f"one comparison per condition, found {', '.join(comparisons)}")
        if comparisons and self.tag is None:
            raise ConfigError(f"{comparisons[0]} compares a tag: add 'tag'")
        _exactly_one(
            "a condition",
            {
                "tag": self.tag,
                "rising": self.rising,
                "falling": self.falling,
                "changed": self.changed,
                "all": self.all,
                "any": self.any,
                "not": self.not_,
                "fault_acted": self.fault_acted,
            },
        )
        for name in ("all", "any"):
            items = getattr(self, name)
            if items is not None and not items:
                raise ConfigError(f"{name} needs at least one condition")
        _seconds("for", self.for_)

    @property
    def comparison(self) -> tuple[str, Scalar] | None:
        """(operator, value) of a comparison, or None."""
        for name in COMPARATORS:
            value = getattr(self, name)
            if value is not None:
                return name, value
        return None


# ---- steps -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SetSpec:
    """Write a value to an operator, internal or PLC-output tag and leave it there."""

    tag: str
    value: Scalar


@dataclass(frozen=True)
class PulseSpec:
    """Write ``value`` for ``for`` seconds, then the tag's previous value (press a button)."""

    tag: str
    for_: float = field(default=0.2, metadata={"yaml": "for"})
    value: Scalar = True

    def __post_init__(self) -> None:
        _seconds("for", self.for_)


@dataclass(frozen=True)
class WaitSpec:
    """Run until ``until`` holds; past ``timeout`` seconds the scenario fails."""

    until: ConditionSpec
    timeout: float

    def __post_init__(self) -> None:
        _seconds("timeout", self.timeout)


@dataclass(frozen=True)
class SpawnSpec:
    """Drop ``count`` parts of ``variant`` from a spawner, ``interval`` seconds apart.

    The spawner drops them whatever its ``enable`` input says (a person putting boxes on
    the belt); the run goes on meanwhile (the step does not wait for the last one).
    """

    variant: str
    count: int = 1
    interval: float = 3.0
    #: Spawner component; may be omitted when the model has exactly one.
    spawner: str | None = None

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"count={self.count} must be at least 1")
        _seconds("interval", self.interval)


@dataclass(frozen=True)
class RemoveSpec:
    """A person takes every part whose bounding box reaches into a zone off the line.

    The zone is a box from ``low`` to ``high`` (x, y, z), metres. A part removed this way
    ends its journey with ``removed`` by ``operator``; it never arrives in a sink.
    """

    low: tuple[float, float, float]
    high: tuple[float, float, float]

    def __post_init__(self) -> None:
        if any(a > b for a, b in zip(self.low, self.high, strict=True)):
            raise ConfigError(f"low {self.low} must not exceed high {self.high} on any axis")


class FaultKind(str, Enum):
    """The built-in fault library (see :mod:`vcommission.scenario.faults`).

    A fault kind registered from elsewhere (:func:`~vcommission.scenario.registry.fault_type`)
    has no member here: ``FaultSpec.kind`` is then its name.
    """

    #: A sensor's output reads ``value`` whatever happens (stuck on or off).
    SENSOR_STUCK = "sensor_stuck"
    #: A sensor's output toggles every ``period`` seconds with ``probability`` (seeded).
    SENSOR_CHATTER = "sensor_chatter"
    #: A signal reads its de-energised value: FALSE or 0 (a broken wire).
    WIRE_BREAK = "wire_break"
    #: An actuator ignores its command and acts as if commanded ``value``.
    ACTUATOR_STUCK = "actuator_stuck"
    #: An actuator moves ``factor`` times slower (stroke time times ``factor``).
    ACTUATOR_SLOW = "actuator_slow"
    #: A belt moves at ``factor`` times its commanded speed.
    BELT_SLIP = "belt_slip"
    #: An obstacle of ``size`` at ``position`` that holds parts (a jam).
    JAM = "jam"
    #: A gripper loses its grip (vacuum or air lost): the held part falls.
    PART_DROPPED = "part_dropped"
    #: The PLC's link is cut: it sees frozen inputs and its writes are lost.
    LOST_CONNECTION = "lost_connection"
    #: The PLC's writes reach the plant ``delay`` seconds late.
    LATENCY = "latency"

    @classmethod
    def from_yaml_scalar(cls, value: object) -> FaultKind | str:
        """A ``kind:`` as written: a built-in kind, or the name of a registered one.

        Raises:
            ValueError: no fault kind of that name is registered.
        """
        text = str(value)
        names = FAULTS.names()
        # As the Enum was matched before kinds were open: exactly, else ignoring case.
        for same in (lambda name: name == text, lambda name: name.casefold() == text.casefold()):
            found = [name for name in names if same(name)]
            if len(found) == 1:
                return fault_kind(found[0])
        raise ValueError(f"{text!r} is not one of: {', '.join(names)}")


_BUILTIN_FAULTS = {kind.value: kind for kind in FaultKind}


def fault_kind(name: FaultKind | str) -> FaultKind | str:
    """The :class:`FaultKind` member of a built-in kind's name; a registered kind's name."""
    return _BUILTIN_FAULTS.get(name, name)


def fault_kind_name(kind: FaultKind | str) -> str:
    """The name of a fault kind as written in YAML."""
    return kind.value if isinstance(kind, FaultKind) else kind


@dataclass(frozen=True)
class FaultSpec:
    """A fault to inject; which keys apply depends on ``kind`` (checked on creation)."""

    #: A built-in kind, or the name (a ``str``) of a kind registered by a third party.
    kind: FaultKind
    #: Name to clear it by (``clear: NAME``); defaults to the kind.
    id: str | None = None
    #: The signal it affects (sensor and wire faults, actuator faults name the command).
    tag: str | None = None
    #: The component it affects (belt slip, actuator slow), when not found from ``tag``.
    component: str | None = None
    value: Scalar | None = None
    factor: float | None = None
    period: float | None = None
    probability: float | None = None
    delay: float | None = None
    #: Jam: centre of the obstacle's bottom face (x, y, z) and its size, metres.
    position: tuple[float, float, float] | None = None
    size: tuple[float, float, float] | None = None
    #: Clear by itself after this many seconds.
    for_: float | None = field(default=None, metadata={"yaml": "for"})

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", fault_kind(self.kind))  # "jam" is FaultKind.JAM
        name = fault_kind_name(self.kind)
        if name not in FAULTS:
            raise ConfigError(f"{name!r} is not one of: {', '.join(FAULTS.names())}")
        what = FAULTS.load(name)
        missing = [name for name in what.needs if getattr(self, name) is None]
        if missing:
            raise ConfigError(f"fault {what.name} needs {', '.join(missing)}")
        if what.check is not None:
            what.check(self)
        if self.factor is not None and not (math.isfinite(self.factor) and self.factor > 0):
            raise ConfigError(f"factor={self.factor} must be > 0")
        if self.probability is not None and not 0 <= self.probability <= 1:
            raise ConfigError(f"probability={self.probability} must be within 0..1")
        for name in ("period", "delay", "for_"):
            _seconds(name.rstrip("_"), getattr(self, name))

    @property
    def name(self) -> str:
        return self.id or fault_kind_name(self.kind)


@dataclass(frozen=True, init=False)
class Step:
    """One step: exactly one action. Steps run in order; each starts when the previous ends.

    The actions are the registered step kinds (:mod:`vcommission.scenario.steps`: ``hold``
    seconds, ``until`` a virtual time, ``set``, ``pulse``, ``wait``, ``spawn``, ``remove``,
    ``fault``, ``clear`` a fault by name), one keyword argument each:
    ``Step(pulse=PulseSpec("start_pb.pressed"))``. ``step.pulse`` is then the spec, and
    every other action's name gives None, as if each were a field.
    """

    #: The action's name: a registered step kind.
    action: str
    #: Its value, as the kind's spec type (``PulseSpec``, seconds for ``hold``...).
    spec: Any

    def __init__(self, **action: Any) -> None:
        names = STEPS.names()
        unknown = [name for name in action if name not in names]
        if unknown:
            raise TypeError(f"Step() got an unexpected keyword argument {unknown[0]!r}")
        name = _exactly_one("a step", {kind: action.get(kind) for kind in names})
        check = STEPS.load(name).check
        if check is not None:
            check(action[name])
        object.__setattr__(self, "action", name)
        object.__setattr__(self, "spec", action[name])

    @classmethod
    def yaml_fields(cls) -> dict[str, Any]:
        """YAML key -> type of every action, for the strict loader."""
        return {name: kind.spec | None for name, kind in STEPS.entries()}

    def __getattr__(self, name: str) -> Any:
        # Only called for what is not an attribute: an action's name reads like a field.
        if not name.startswith("_") and name in STEPS:
            return self.spec if self.__dict__.get("action") == name else None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# ---- checks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InterlockSpec:
    """An invariant on every tick: ``never`` must not hold, or ``always`` must.

    A violation shorter than ``grace`` seconds is tolerated. The check is *exercised* only
    if its guarded situation arose: each conjunct of it seen TRUE on some judged tick (see
    :class:`~vcommission.scenario.checks.InterlockCheck`). ``during`` states that situation
    explicitly, for an invariant whose own terms cannot all be seen TRUE without violating
    it (``never: {tag: light_red}`` is exercised ``during: {tag: conveyor_run}``).
    """

    never: ConditionSpec | None = None
    always: ConditionSpec | None = None
    grace: float = 0.0
    #: Only from this time on (seconds), e.g. after start-up.
    after: float = 0.0
    #: The situation the invariant guards, when not its own terms (only for exercising).
    during: ConditionSpec | None = None

    def __post_init__(self) -> None:
        _exactly_one("an interlock", {"never": self.never, "always": self.always})
        _seconds("grace", self.grace, zero_ok=True)
        _seconds("after", self.after, zero_ok=True)


@dataclass(frozen=True)
class ReactionSpec:
    """Each time ``trigger`` becomes true, ``expect`` must hold within ``within`` seconds."""

    trigger: ConditionSpec
    expect: ConditionSpec
    within: float
    #: At least this many triggers must occur (0 allows none; default: at least one).
    min_triggers: int = 1

    def __post_init__(self) -> None:
        _seconds("within", self.within, zero_ok=True)


@dataclass(frozen=True)
class SequenceSpec:
    """The ``events`` (conditions becoming true) happen in this order, optionally in time."""

    events: list[ConditionSpec]
    within: float | None = None

    def __post_init__(self) -> None:
        if len(self.events) < 2:
            raise ConfigError("a sequence needs at least two events")
        _seconds("within", self.within)


@dataclass(frozen=True)
class CycleTimeSpec:
    """Time from ``start`` to ``end`` events: per part (its journey) or per station (tags).

    Per part, ``start`` and ``end`` name where a part is seen: ``spawned``, a sensor
    component (``pe_entry``) or a sink (``bin_tall``). Per station, they are conditions.
    """

    per: str = "part"
    start: str | ConditionSpec | None = None
    end: str | ConditionSpec | None = None
    #: Shortest a cycle may take (a faster one skipped something), seconds.
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    p95: float | None = None
    #: Only parts of this variant (per part).
    variant: str | None = None
    #: At least this many cycles must be measured.
    min_count: int = 1

    def __post_init__(self) -> None:
        if self.per not in ("part", "station"):
            raise ConfigError(f"per={self.per!r} must be 'part' or 'station'")
        if self.start is None or self.end is None:
            raise ConfigError("cycle_time needs start and end")
        words = isinstance(self.start, str) and isinstance(self.end, str)
        conditions = not isinstance(self.start, str) and not isinstance(self.end, str)
        if self.per == "part" and not words:
            raise ConfigError(
                "per part, start and end name where parts are seen (spawned, a sensor or a sink)"
            )
        if self.per == "station" and not conditions:
            raise ConfigError("per station, start and end are conditions")
        if self.per == "station" and self.variant is not None:
            raise ConfigError("variant applies per part only")
        if self.max is None and self.mean is None and self.p95 is None and self.min is None:
            raise ConfigError("cycle_time needs a limit: min, max, mean or p95")
        for name in ("min", "max", "mean", "p95"):
            _seconds(name, getattr(self, name))


@dataclass(frozen=True)
class ThroughputSpec:
    """Parts per minute arriving in ``sink`` (all sinks if omitted) between two times."""

    min: float
    sink: str | None = None
    variant: str | None = None
    #: Measurement window, seconds from the start; the end defaults to the run's end.
    start: float = 0.0
    end: float | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min) and self.min >= 0):
            raise ConfigError(f"min={self.min} must be >= 0 parts per minute")


@dataclass(frozen=True)
class PartsArrivedSpec:
    """At least ``min`` parts arrive in ``sink`` (any sink if omitted) during the run.

    The work a scenario states must happen, so that its other checks cannot hold for an
    idle line.
    """

    min: int
    sink: str | None = None
    variant: str | None = None

    def __post_init__(self) -> None:
        if self.min < 1:
            raise ConfigError(f"min={self.min} must be at least 1 part")


@dataclass(frozen=True)
class NoCollisionSpec:
    """Bodies of ``between`` and ``and`` never come closer than ``margin`` metres.

    Each side names groups of bodies: a component (all its bodies, static and moving),
    ``component.group`` (one of the groups it reports, e.g. ``belt.guides``), ``parts``
    (every live workpiece), ``parts.free`` (those no gripper holds) or ``parts.held``.
    """

    between: list[str]
    and_: list[str] = field(metadata={"yaml": "and"})
    #: Closer than this is a contact (a near miss when they do not touch), metres.
    margin: float = 0.0
    #: The model's ``camera`` to picture the first contact from (default: the model's first
    #: camera, else a view framing the two bodies).
    camera: str | None = None

    def __post_init__(self) -> None:
        if not self.between or not self.and_:
            raise ConfigError("no_collision needs bodies on both sides: between and and")
        if not (math.isfinite(self.margin) and self.margin >= 0):
            raise ConfigError(f"margin={self.margin} must be >= 0 metres")


@dataclass(frozen=True)
class FinalStateSpec:
    """Values at the end of the run: tags (exact) and part counts per sink and variant."""

    tags: dict[str, Scalar] = field(default_factory=dict)
    #: sink -> {variant -> count}; ``"*"`` as variant counts all parts.
    bins: dict[str, dict[str, int]] = field(default_factory=dict)
    #: Parts still on the line (not in a sink) at the end, at most.
    max_in_flight: int | None = None
    #: Parts lost at the end (on the floor, in no sink: fallen off the machine), at most.
    max_lost: int | None = None


@dataclass(frozen=True)
class NoMissortSpec:
    """Each part arrives in the sink named for its variant: ``variant -> sink``."""

    map: dict[str, str]


@dataclass(frozen=True, init=False)
class CheckSpec:
    """One check: exactly one kind, with an optional name and requirement id.

    The kinds are the registered check kinds (:mod:`vcommission.scenario.checks`), one
    keyword argument each: ``CheckSpec(requirement="R4", interlock=InterlockSpec(...))``.
    ``spec.interlock`` is then the kind's spec, and every other kind's name gives None.
    """

    name: str | None
    requirement: str | None
    #: The kind's name: a registered check kind.
    kind: str
    #: Its spec (``InterlockSpec``, ...).
    spec: Any

    def __init__(
        self, name: str | None = None, requirement: str | None = None, **kind: Any
    ) -> None:
        names = CHECKS.names()
        unknown = [key for key in kind if key not in names]
        if unknown:
            raise TypeError(f"CheckSpec() got an unexpected keyword argument {unknown[0]!r}")
        chosen = _exactly_one("a check", {key: kind.get(key) for key in names})
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "requirement", requirement)
        object.__setattr__(self, "kind", chosen)
        object.__setattr__(self, "spec", kind[chosen])

    @classmethod
    def yaml_fields(cls) -> dict[str, Any]:
        """YAML key -> type of the name, the requirement and every kind, for the loader."""
        kinds = {key: kind.spec | None for key, kind in CHECKS.entries()}
        return {"name": str | None, "requirement": str | None, **kinds}

    def __getattr__(self, name: str) -> Any:
        # Only called for what is not an attribute: a kind's name reads like a field.
        if not name.startswith("_") and name in CHECKS:
            return self.spec if self.__dict__.get("kind") == name else None
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


# ---- the scenario ------------------------------------------------------------------------------


class ClockChoice(str, Enum):
    """How a scenario's time runs."""

    #: Virtual time, as fast as the machine allows (the default).
    FAST = "fast"
    #: Paced against the wall clock (an external PLC, a person watching).
    REALTIME = "realtime"


class ExternalLink(str, Enum):
    MODBUS = "modbus"
    OPCUA = "opcua"


@dataclass(frozen=True)
class ExternalPlc:
    """A PLC connecting from outside: the plant is served on a free loopback port.

    ``command`` (optional) starts it, in the scenario file's directory (relative paths in
    it resolve as ``model:`` does); ``{host}``, ``{port}`` and ``{url}`` in its words are
    replaced by where the plant listens. Without a command the PLC must already be set up
    to find the plant (``--modbus-port`` / ``--opcua-port`` of ``vcommission run``).
    """

    link: ExternalLink
    command: list[str] = field(default_factory=list)
    #: Seconds to wait for the PLC's first write before the scenario starts.
    connect_timeout: float = 10.0


@dataclass(frozen=True)
class PlcSpec:
    """The PLC under test: an ST program run in-process (default) or an external one."""

    #: ST program, relative to the scenario file. Default: ``--plc``, else the one ``.st``
    #: file in the model's ``plc/`` folder.
    st: str | None = None
    external: ExternalPlc | None = None

    def __post_init__(self) -> None:
        if self.st is not None and self.external is not None:
            raise ConfigError("plc: give st or external, not both")


@dataclass(frozen=True)
class ScenarioFile:
    """A scenario file as written (see the module docstring)."""

    name: str
    #: The model folder or ``model.yaml``, relative to the scenario file.
    model: str
    description: str = ""
    #: Requirement ids the scenario verifies, e.g. ``[R4]``.
    requirements: list[str] = field(default_factory=list)
    plc: PlcSpec = field(default_factory=PlcSpec)
    clock: ClockChoice = ClockChoice.FAST
    #: Real-time speed factor (``clock: realtime`` only).
    speed: float = 1.0
    #: Plant seed; default the model's.
    seed: int | None = None
    #: Virtual seconds to run in all (the steps always finish: a run lasts the longer of its
    #: steps and its duration); with ``end``, the most to wait for it.
    duration: float | None = None
    #: Stop as soon as this holds (after the steps).
    end: ConditionSpec | None = None
    steps: list[Step] = field(default_factory=list)
    checks: list[CheckSpec] = field(default_factory=list)
    #: Parameter name -> values: one run per combination. ``seed`` sets the seed; other names
    #: replace scalars written ``$name`` anywhere in the file.
    matrix: dict[str, list[Scalar]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.duration is None and self.end is None:
            raise ConfigError("give duration (seconds) or end (a condition), or both")
        _seconds("duration", self.duration)
        if not (math.isfinite(self.speed) and self.speed > 0):
            raise ConfigError(f"speed={self.speed} must be > 0")
        if self.seed is not None and self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")
        for name, values in self.matrix.items():
            if not values:
                raise ConfigError(f"matrix.{name} needs at least one value")
        if not self.checks:
            raise ConfigError("a scenario needs at least one check (what would it verify?)")


@dataclass(frozen=True)
class Scenario:
    """One runnable scenario: a file's spec with one matrix case applied, paths resolved."""

    file: str
    spec: ScenarioFile
    model_path: Path
    #: The ST program, or None for an external PLC.
    program_path: Path | None
    seed: int | None
    #: Matrix values of this case (empty without a matrix).
    params: dict[str, Any] = field(default_factory=dict)
    #: The suite's requirements file its ids were checked against, if one applies.
    requirements_file: Path | None = None
    #: File name (without suffix) of its trace and evidence in a trace folder; None: from the
    #: name. Set by :func:`~vcommission.scenario.runner.with_trace_stems` for a suite, so two
    #: runs of one name (one file against two programs) do not overwrite each other's trace.
    trace_stem: str | None = None

    @property
    def case(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.params.items())

    @property
    def name(self) -> str:
        return f"{self.spec.name} [{self.case}]" if self.params else self.spec.name

    @property
    def id(self) -> str:
        """Unique in a suite: ``file::name``."""
        return f"{self.file}::{self.name}"
