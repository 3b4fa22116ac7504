"""The scenario's extension points: check, fault and step kinds, registered by name.

A kind is written in one place: its implementation, with a decorator naming it and the
dataclass its YAML mapping is loaded into (defined next to it, or imported)::

    @dataclass(frozen=True)
    class MaxSpeedSpec:
        tag: str
        limit: float

    @check_type("max_speed", MaxSpeedSpec)
    class MaxSpeedCheck:
        def __init__(self, spec: CheckSpec, run: RunContext) -> None: ...
        def start(self, run: RunContext) -> None: ...
        def finish(self, run: RunContext) -> CheckResult: ...

The scenario schema asks these registries which keys a step or a check may have, so a
registered kind is a key of the strict YAML loader at once: ``checks: [{max_sped: ...}]``
is a located ``unknown key 'max_sped' (did you mean 'max_speed'?)``. Third parties list
their modules in the entry-point groups ``vcommission.checks``, ``vcommission.faults`` and
``vcommission.steps`` (``max_speed = "my_pkg.checks:MaxSpeedCheck"``); the built-in kinds
are registered by :mod:`~vcommission.scenario.checks`, :mod:`~vcommission.scenario.faults`
and :mod:`~vcommission.scenario.steps`, imported on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from vcommission.registry import Registry

if TYPE_CHECKING:
    from vcommission.config.model import Model
    from vcommission.config.yamlload import YamlPath
    from vcommission.plant.component import Component
    from vcommission.signals import SignalTable

# The schema asks this module for its keys, and the run context is built from the schema:
# both sit above it, so their types are named here, not imported, keeping imports acyclic.
#: :class:`~vcommission.scenario.context.RunContext`
_RunContext = Any
#: :class:`~vcommission.scenario.schema.CheckSpec`
_CheckSpec = Any
#: :class:`~vcommission.scenario.schema.FaultSpec`
_FaultSpec = Any
#: :class:`~vcommission.scenario.schema.ScenarioFile`
_ScenarioFile = Any

__all__ = [
    "CHECKS",
    "FAULTS",
    "STEPS",
    "CheckType",
    "FaultType",
    "StepType",
    "check_type",
    "fault_type",
    "step_type",
]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class StepType:
    """A step kind: the key of a step mapping, what its value is, and how it runs."""

    name: str
    #: Type of the value under the key: a dataclass (a mapping), ``float``, ``str``...
    spec: Any
    #: ``run(value, run_context)``: a generator of advance requests (see ``steps``).
    run: Callable[[Any, _RunContext], Generator[Any, None, None]]
    #: Validates the value when the step is created; raises ConfigError (scalar values
    #: have no ``__post_init__`` of their own).
    check: Callable[[Any], None] | None = None
    #: ``problems(value, model, scenario)``: (YAML path below the key, message) of every
    #: reference the model does not have, found when the file is loaded.
    problems: Callable[[Any, Model, _ScenarioFile], Iterable[tuple[YamlPath, str]]] | None = None
    #: ``describe(value)``: the step as one readable line for reports (``pulse
    #: start_pb.pressed for 0.2 s``); without it, the kind's name and its value.
    describe: Callable[[Any], str] | None = None


@dataclass(frozen=True)
class CheckType:
    """A check kind: the key of a check mapping, its spec dataclass, and its class."""

    name: str
    spec: type
    #: Builds the check: ``make(check_spec, run_context)`` (usually the class itself).
    make: Callable[[_CheckSpec, _RunContext], Any]


def _no_problem(spec: _FaultSpec, table: SignalTable, components: Sequence[Component]) -> None:
    """Nothing on the plant's side to check (link faults)."""


@dataclass(frozen=True)
class FaultType:
    """A fault kind: the value of ``kind:``, the keys it needs, and how it is built."""

    name: str
    #: Builds the fault against a run, not injected yet: ``make(spec, run_context)``.
    make: Callable[[_FaultSpec, _RunContext], Any]
    #: Keys of the fault mapping it cannot do without.
    needs: tuple[str, ...] = ()
    #: Raises ConfigError for the first static problem against the model's signals and
    #: components (found when the file is loaded).
    validate: Callable[[_FaultSpec, SignalTable, Sequence[Component]], object] = _no_problem
    #: Further checks of the spec on its own, when it is created (raises ConfigError).
    check: Callable[[_FaultSpec], None] | None = None


def _kinds(what: str, group: str, module: str, kind: type, decorator: str) -> Registry[Any]:
    """A registry of one family of scenario kinds, built-ins in ``module``."""
    return Registry(
        what,
        group,
        modules=(module,),
        accept=lambda entry: isinstance(entry, kind),
        expected=f"a {kind.__name__} (register it with @{decorator})",
    )


#: Step kinds by key (``hold``, ``pulse``, ...).
STEPS: Registry[StepType] = _kinds(
    "step kind", "vcommission.steps", "vcommission.scenario.steps", StepType, "step_type"
)
#: Check kinds by key (``interlock``, ``reaction``, ...).
CHECKS: Registry[CheckType] = _kinds(
    "check kind", "vcommission.checks", "vcommission.scenario.checks", CheckType, "check_type"
)
#: Fault kinds by ``kind:`` value (``sensor_stuck``, ``jam``, ...).
FAULTS: Registry[FaultType] = _kinds(
    "fault kind", "vcommission.faults", "vcommission.scenario.faults", FaultType, "fault_type"
)


def step_type(
    name: str,
    spec: Any,
    *,
    check: Callable[[Any], None] | None = None,
    problems: Callable[[Any, Model, _ScenarioFile], Iterable[tuple[YamlPath, str]]] | None = None,
    describe: Callable[[Any], str] | None = None,
) -> Callable[[F], F]:
    """Register the decorated generator function as the step kind ``name`` (see StepType)."""

    def decorate(run: F) -> F:
        STEPS.register(name, StepType(name, spec, run, check, problems, describe))
        return run

    return decorate


def check_type(name: str, spec: type) -> Callable[[F], F]:
    """Register the decorated class as the check kind ``name``, its mapping a ``spec``."""

    def decorate(cls: F) -> F:
        CHECKS.register(name, CheckType(name, spec, cls))
        return cls

    return decorate


def fault_type(
    name: str,
    *,
    needs: tuple[str, ...] = (),
    validate: Callable[[_FaultSpec, SignalTable, Sequence[Component]], object] | None = None,
    check: Callable[[_FaultSpec], None] | None = None,
) -> Callable[[F], F]:
    """Register the decorated factory ``make(spec, run)`` as the fault kind ``name``."""

    def decorate(make: F) -> F:
        kind = FaultType(name, make, needs, validate or _no_problem, check)
        FAULTS.register(name, kind)
        return make

    return decorate
