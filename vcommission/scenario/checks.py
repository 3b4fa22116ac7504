"""Checks: what must hold in a scenario, each giving a verdict with measured figures.

:func:`make_check` turns one :class:`~vcommission.scenario.schema.CheckSpec` into a
:class:`Check` of its registered kind (the table at the end registers the built-in ones;
:mod:`vcommission.scenario.registry` tells how to add one): the runner calls
:meth:`Check.start` once before the first tick (signal checks register a per-tick watcher
there) and :meth:`Check.finish` once after the run.
Part checks (``cycle_time`` per part, ``throughput``, ``final_state``, ``no_missort``) read
the parts' journeys at the end instead of watching: the journey is already recorded with
virtual timestamps, so watching would only duplicate it.

Every check also says whether it was **exercised**: whether the situation it judges arose
at all (each class docstring defines it for its kind). A check that held without being
exercised is :attr:`~vcommission.scenario.results.Verdict.VACUOUS`, with the reason in
``vacuity`` (the runner makes it FAILED under strict mode); every result carries its
acceptance ``criterion`` in words and the ``tags`` it reads.

A violated check is a :attr:`~vcommission.scenario.results.Verdict.FAILED` result whose
message says what happened in a controls engineer's words (which condition, when, for how
long, the values) and whose evidence is the trace around the first violation. Evidence is
built in :meth:`Check.finish`, not when the violation happens, so its window also shows
what came after. A reference to something the model does not have is a
:class:`~vcommission.errors.ConfigError` from :func:`make_check`, before the run starts.

Time is integer nanoseconds inside; seconds appear only in messages and figures.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

from vcommission.clock import s_to_ns
from vcommission.errors import ConfigError
from vcommission.plant.camera import ViewpointSource
from vcommission.plant.capabilities import PartHolder, PartSink
from vcommission.plant.parts import Part
from vcommission.scenario.conditions import Condition, ConditionError, describe
from vcommission.scenario.context import RunContext
from vcommission.scenario.registry import CHECKS, check_type
from vcommission.scenario.results import CheckResult, Evidence, Verdict
from vcommission.scenario.schema import (
    CheckSpec,
    ConditionSpec,
    CycleTimeSpec,
    FinalStateSpec,
    InterlockSpec,
    NoCollisionSpec,
    NoMissortSpec,
    PartsArrivedSpec,
    ReactionSpec,
    SequenceSpec,
    ThroughputSpec,
)
from vcommission.signals import SignalError, Value

__all__ = ["CHECKS", "Check", "make_check"]

Values = Sequence[Value]
Vec3 = tuple[float, float, float]

#: The journey point of ``cycle_time`` per part that means "when the part was created".
SPAWNED = "spawned"
#: The group name of ``no_collision`` that means "every part alive at that tick".
PARTS = "parts"
#: ... "every part alive at that tick that no holder holds", and "... that a holder holds".
PARTS_FREE = "parts.free"
PARTS_HELD = "parts.held"
#: ``no_collision`` measures distances up to this far beyond the margin, for ``closest_m``.
_COLLISION_HORIZON_M = 0.1
#: ``no_collision`` counts a body as moved once it is this far from its power-on position.
_MOVED_M = 0.001


class Check(Protocol):
    """One check of a scenario run."""

    name: str
    kind: str
    requirement: str | None

    def start(self, run: RunContext) -> None:
        """Called once before the first tick: register watchers with ``run.watch``."""

    def finish(self, run: RunContext) -> CheckResult:
        """Called once after the run ended (``run.now_ns`` is the end time)."""


def make_check(spec: CheckSpec, run: RunContext) -> Check:
    """Build the check ``spec`` describes, validated against the run's model.

    Raises:
        ConfigError: the check names a tag, component, sink or part variant the model
            does not have, or compares a tag with a value of the wrong kind.
    """
    return CHECKS.load(spec.kind).make(spec, run)


# ---- words ------------------------------------------------------------------------------------


def _at(time_ns: int) -> str:
    return f"t={time_ns / 1e9:.3f} s"


def _secs(duration_ns: int) -> str:
    return f"{duration_ns / 1e9:.3f} s"


def _shown(value: Value) -> str:
    return str(value).upper() if isinstance(value, bool) else f"{value:g}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _self_evident(spec: ConditionSpec) -> bool:
    """True if the condition's text already tells every tag's value when it holds."""
    if spec.tag is not None:
        comparison = spec.comparison
        return comparison is None or (comparison[0] == "eq" and isinstance(comparison[1], bool))
    if spec.all is not None:
        return all(_self_evident(item) for item in spec.all)
    return False


def _as_text(spec: ConditionSpec) -> str:
    """A condition as a statement of what was seen: ``a = TRUE while b = TRUE``."""
    if spec.all is not None and spec.for_ is None:
        return " while ".join(describe(item) for item in spec.all)
    return describe(spec)


# ---- the common part --------------------------------------------------------------------------


class _Check:
    """What every check shares: its identity, the run's table, and how results are made."""

    kind: ClassVar[str] = ""

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        self.requirement = spec.requirement
        self.spec: Any = spec.spec
        self.name = spec.name or f"{self.kind}: {self.describe()}"
        self.table = run.plant.image.table
        self.tick_ns = run.sim.tick_ns

    def describe(self) -> str:
        """The default name after ``kind:``."""
        raise NotImplementedError

    def start(self, run: RunContext) -> None:
        """Most checks read the parts' journeys at the end and watch nothing."""

    def finish(self, run: RunContext) -> CheckResult:
        raise NotImplementedError

    # -- helpers for subclasses

    def _where(self) -> str:
        return f"check {self.name!r}"

    def _condition(self, run: RunContext, spec: ConditionSpec, what: str) -> Condition:
        try:
            return run.condition(spec)
        except ConditionError as exc:
            raise ConfigError(f"{self._where()}: {what}: {exc}") from None

    def _component(self, run: RunContext, name: str, what: str) -> Any:
        component = run.plant.by_name.get(name)
        if component is None:
            known = ", ".join(sorted(run.plant.by_name))
            raise ConfigError(f"{self._where()}: {what}: unknown component {name!r} ({known})")
        return component

    def _sink(self, run: RunContext, name: str, what: str) -> PartSink:
        self._component(run, name, what)
        sink = run.plant.find(name, PartSink)
        if sink is None:
            sinks = ", ".join(_sink_names(run))
            raise ConfigError(f"{self._where()}: {what}: {name!r} is not a sink ({sinks})")
        return sink

    def _variant(self, run: RunContext, name: str, what: str) -> None:
        if name not in run.model.variants:
            known = ", ".join(sorted(run.model.variants))
            raise ConfigError(f"{self._where()}: {what}: unknown part variant {name!r} ({known})")

    def _tag(self, name: str, what: str) -> None:
        try:
            self.table.index(name)
        except SignalError as exc:  # its message names the close matches
            raise ConfigError(f"{self._where()}: {what}: {exc}") from None

    def criterion(self) -> str:
        """The acceptance criterion in words, with its figures."""
        raise NotImplementedError

    def _result(
        self,
        passed: bool,
        message: str,
        figures: dict[str, Any],
        evidence: Callable[[], Evidence] | None = None,
        *,
        vacuity: str | None = None,
        tags: Sequence[str] = (),
        conjuncts: list[dict[str, Any]] | None = None,
    ) -> CheckResult:
        """A result; ``vacuity`` (why not) says the check was not exercised."""
        exercised = vacuity is None
        verdict = Verdict.FAILED
        if passed:
            verdict = Verdict.PASSED if exercised else Verdict.VACUOUS
        return CheckResult(
            name=self.name,
            kind=self.kind,
            verdict=verdict,
            message=message,
            requirement=self.requirement,
            figures=figures,
            evidence=None if passed or evidence is None else evidence(),
            exercised=exercised,
            vacuity=vacuity,
            criterion=self.criterion(),
            tags=list(dict.fromkeys(tags)),
            conjuncts=conjuncts or [],
        )


def _sink_names(run: RunContext) -> list[str]:
    return [c.name for c in run.plant.having(PartSink)]


def _component_tags(run: RunContext, names: Iterable[str]) -> list[str]:
    """The signals wired to the ports of these components, for evidence."""
    signals = run.plant.image.table.signals
    tags: list[str] = []
    for name in names:
        component = run.plant.by_name.get(name)
        if component is not None:
            tags.extend(signals[p.index].name for p in component.ports.values() if p.index >= 0)
    return list(dict.fromkeys(tags))


def _arrival(part: Part) -> int | None:
    return next((e.time_ns for e in part.journey if e.event == "arrived"), None)


# ---- interlock --------------------------------------------------------------------------------


def _terms(spec: ConditionSpec) -> list[ConditionSpec]:
    """The conjuncts of a condition: its ``all:`` terms, or the condition itself."""
    if spec.all is not None and spec.for_ is None:
        return list(spec.all)
    return [spec]


def _negated_terms(spec: ConditionSpec) -> list[ConditionSpec]:
    """The conjuncts of NOT ``spec`` (De Morgan: NOT (a OR b) is NOT a AND NOT b)."""
    if spec.any is not None and spec.for_ is None:
        return [ConditionSpec(not_=item) for item in spec.any]
    return [ConditionSpec(not_=spec)]


class InterlockCheck(_Check):
    """An invariant on every tick, from ``after`` on; violations up to ``grace`` tolerated.

    A violation lasts from the first tick it is seen to the first tick it is gone: each
    committed sample stands for one tick. One still going at the end counts if it already
    outlasted the grace.

    **Exercised** when the guarded situation arose: every one of its conjuncts was seen TRUE
    on some judged tick (from ``after`` on), each on its own. The guarded situation of
    ``never: C`` is C, its conjuncts C's ``all:`` terms (or C itself when it is not an
    ``all:``): ``never: {all: [pusher_extend, conveyor_run]}`` is exercised once the pusher
    was extended and the belt ran, which is the line coming close to breaking the rule.
    ``always: C`` guards NOT C, the situation C must prevent, so its conjuncts are the
    negated ``any:`` terms of C (or NOT C). A single condition can only be seen TRUE by
    violating it (``never: {tag: light_red}``): such a check needs ``during``, which then is
    the guarded situation (its conjuncts alone decide). The coverage of each conjunct
    (``seen_true``, ``first_true_s``) is in the result's ``conjuncts``.
    """

    kind = "interlock"
    spec: InterlockSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        s = self.spec
        self.never = s.never is not None
        self.condition = self._condition(
            run, s.never if self.never else s.always, "never" if self.never else "always"
        )
        self.grace_ns = s_to_ns(s.grace)
        self.after_ns = s_to_ns(s.after)
        self._indices = {tag: self.table.index(tag) for tag in self.condition.tags}
        if s.during is not None:
            terms = _terms(s.during)
        elif s.never is not None:
            terms = _terms(s.never)
        else:
            assert s.always is not None
            terms = _negated_terms(s.always)
        self.terms = terms
        # Each conjunct its own instance: its ``for`` timer must not share the invariant's.
        self._conjuncts = [self._condition(run, term, "during") for term in terms]

    def describe(self) -> str:
        s = self.spec
        return f"NOT {describe(s.never)}" if s.never is not None else describe(s.always)

    def criterion(self) -> str:
        s = self.spec
        if s.never is not None:
            rule = f"{describe(s.never)} never holds"
        else:
            rule = f"{describe(s.always)} holds"
        grace = f"violations up to {s.grace:g} s tolerated" if s.grace else "no grace"
        text = f"{rule} on every tick from t={s.after:g} s ({grace})"
        if s.during is not None:
            text += f"; exercised only if {describe(s.during)} arose"
        return text

    def start(self, run: RunContext) -> None:
        #: Closed or still open violations: [start ns, duration ns or None, tag values].
        self.episodes: list[list[Any]] = []
        self._since: int | None = None
        #: First judged tick each conjunct was seen TRUE.
        self.first_true: list[int | None] = [None] * len(self._conjuncts)
        run.watch(self._tick)

    def _tick(self, now: int, values: Values, previous: Values) -> None:
        holds = self.condition(now, values, previous)  # every tick: ``for`` timers count
        judged = now >= self.after_ns
        first_true = self.first_true
        for i, conjunct in enumerate(self._conjuncts):
            if conjunct(now, values, previous) and judged and first_true[i] is None:
                first_true[i] = now
        violated = holds == self.never and judged
        if violated and self._since is None:
            self._since = now
            seen = {tag: values[i] for tag, i in self._indices.items()}
            self.episodes.append([now, None, seen])
        elif not violated and self._since is not None:
            self.episodes[-1][1] = now - self._since
            self._since = None

    def _coverage(self, run: RunContext) -> tuple[list[dict[str, Any]], str | None]:
        conjuncts = [
            {
                "condition": describe(term),
                "seen_true": first is not None,
                "first_true_s": None if first is None else first / 1e9,
            }
            for term, first in zip(self.terms, self.first_true, strict=True)
        ]
        never_seen = [c["condition"] for c in conjuncts if not c["seen_true"]]
        if not never_seen:
            return conjuncts, None
        what = "the guarded situation" if self.spec.during is None else "the during situation"
        vacuity = (
            f"{' and '.join(never_seen)} never TRUE from {_at(self.after_ns)} to "
            f"{_at(run.now_ns)}: {what} never arose"
        )
        return conjuncts, vacuity

    def finish(self, run: RunContext) -> CheckResult:
        open_end = False
        if self._since is not None:
            self.episodes[-1][1] = run.now_ns - self._since + self.tick_ns
            open_end = True
        durations = [d for _, d, _ in self.episodes]
        failing = [e for e in self.episodes if e[1] > self.grace_ns]
        figures = {
            "violations": len(failing),
            "tolerated": len(self.episodes) - len(failing),
            "longest_violation_s": max(durations, default=0) / 1e9,
        }
        conjuncts, vacuity = self._coverage(run)
        tags = [*self.condition.tags, *(t for c in self._conjuncts for t in c.tags)]
        extra = {"vacuity": vacuity, "tags": tags, "conjuncts": conjuncts}
        grace = f"grace {self.spec.grace:g} s"
        if not failing:
            if self.episodes:
                message = (
                    f"{_plural(len(self.episodes), 'violation')} within {grace}, "
                    f"longest {_secs(max(durations))}"
                )
            else:
                message = f"held on every tick from {_at(self.after_ns)} to {_at(run.now_ns)}"
            return self._result(True, message, figures, **extra)
        start, duration, seen = failing[0]
        spec = self.spec.never if self.never else self.spec.always
        what = _as_text(spec) if self.never else f"{describe(spec)} did not hold"
        until = " until the end of the run" if failing[0] is self.episodes[-1] and open_end else ""
        message = f"{what} at {_at(start)} for {_secs(duration)}{until} ({grace})"
        if not (self.never and _self_evident(spec)):
            message += " [" + ", ".join(f"{tag} = {_shown(v)}" for tag, v in seen.items()) + "]"
        if len(failing) > 1:
            message += (
                f"; {len(failing)} violations in all, longest {_secs(max(e[1] for e in failing))}"
            )
        evidence_tags = list(self.condition.tags)
        return self._result(
            False, message, figures, lambda: run.evidence(start, evidence_tags), **extra
        )


# ---- reaction ---------------------------------------------------------------------------------


class ReactionCheck(_Check):
    """After each rising of ``trigger``, ``expect`` must hold within ``within`` seconds.

    Both conditions are evaluated every tick. The reaction time is from the trigger's tick
    to the first tick ``expect`` holds (0 if it already holds then). A trigger still waiting
    at the end counts as late only if ``within`` has already passed.

    **Exercised** when the trigger rose at least once: with zero triggers no reaction was
    timed (a failure while ``min_triggers`` >= 1, the default; vacuous with
    ``min_triggers: 0``).
    """

    kind = "reaction"
    spec: ReactionSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        self.trigger = self._condition(run, self.spec.trigger, "trigger")
        self.expect = self._condition(run, self.spec.expect, "expect")
        self.within_ns = s_to_ns(self.spec.within)

    def describe(self) -> str:
        s = self.spec
        return f"{describe(s.trigger)} -> {describe(s.expect)} within {s.within:g} s"

    def criterion(self) -> str:
        s = self.spec
        text = f"{describe(s.expect)} within {s.within:g} s of each {describe(s.trigger)}"
        if s.min_triggers:
            text += f", at least {_plural(s.min_triggers, 'trigger')}"
        return text

    def start(self, run: RunContext) -> None:
        #: (trigger ns, reaction ns) of the triggers that got their reaction.
        self.reactions: list[tuple[int, int]] = []
        self.pending: list[int] = []
        self.triggers = 0
        committed = run.plant.image.committed
        # A trigger already true at power-on has not "become" true: seed the edge with it.
        self._was = self.trigger(run.now_ns, committed, committed)
        self.expect(run.now_ns, committed, committed)
        run.watch(self._tick)

    def _tick(self, now: int, values: Values, previous: Values) -> None:
        triggered = self.trigger(now, values, previous)
        expected = self.expect(now, values, previous)
        if triggered and not self._was:
            self.triggers += 1
            self.pending.append(now)
        self._was = triggered
        if expected and self.pending:
            self.reactions.extend((t, now - t) for t in self.pending)
            self.pending.clear()

    def finish(self, run: RunContext) -> CheckResult:
        end = run.now_ns
        times = [r for _, r in self.reactions]
        late = [(t, r) for t, r in self.reactions if r > self.within_ns]
        # Never answered: late if the allowed time ran out before the end.
        late += [(t, None) for t in self.pending if end - t > self.within_ns]
        late.sort(key=lambda item: item[0])
        figures = {
            "triggers": self.triggers,
            "late": len(late),
            "max_reaction_s": max(times, default=0) / 1e9,
            "mean_reaction_s": (sum(times) / len(times) / 1e9) if times else 0.0,
        }
        s = self.spec
        trigger, expect = describe(s.trigger), describe(s.expect)
        tags = list(dict.fromkeys(self.trigger.tags + self.expect.tags))
        vacuity = (
            f"{trigger} never happened (run ended at {_at(end)}): no reaction was timed"
            if self.triggers == 0
            else None
        )
        extra = {"vacuity": vacuity, "tags": tags}
        if self.triggers < s.min_triggers:
            if self.triggers == 0:
                message = f"trigger never happened: {trigger} (run ended at {_at(end)})"
            else:
                message = (
                    f"trigger {trigger} happened {_plural(self.triggers, 'time')}, "
                    f"at least {s.min_triggers} needed"
                )
            return self._result(False, message, figures, lambda: run.evidence(end, tags), **extra)
        if late:
            t, reaction = late[0]
            took = (
                f"it took {_secs(reaction)}"
                if reaction is not None
                else f"it never did: still not by the end at {_at(end)}"
            )
            message = (
                f"{expect} did not follow {trigger} at {_at(t)} within {s.within:g} s ({took})"
            )
            if self.triggers > 1:
                message += f"; {len(late)} of {self.triggers} triggers late"
            return self._result(False, message, figures, lambda: run.evidence(t, tags), **extra)
        message = (
            f"{_plural(self.triggers, 'trigger')}, max reaction {_secs(max(times, default=0))} "
            f"(limit {s.within:g} s)"
        )
        return self._result(True, message, figures, **extra)


# ---- sequence ---------------------------------------------------------------------------------


class SequenceCheck(_Check):
    """The events (conditions becoming true) happen in the given order, once.

    While waiting for event k, event k rising advances the sequence (several may in one
    tick, in order); a later event rising first is out of order, and matching stops there.
    Events already matched may happen again: a line repeats what it did. Optionally, first
    to last within ``within``.

    **Exercised** once the first event happened (the sequence began). A sequence passes
    only when every event was matched, so one never begun is failed, with
    ``exercised=False``.
    """

    kind = "sequence"
    spec: SequenceSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        self.events = [
            self._condition(run, event, f"events[{i}]") for i, event in enumerate(self.spec.events)
        ]

    def describe(self) -> str:
        return " -> ".join(describe(event) for event in self.spec.events)

    def criterion(self) -> str:
        text = " then ".join(describe(event) for event in self.spec.events) + ", in this order"
        if self.spec.within is not None:
            text += f", first to last within {self.spec.within:g} s"
        return text

    def start(self, run: RunContext) -> None:
        committed = run.plant.image.committed
        self._was = [event(run.now_ns, committed, committed) for event in self.events]
        #: When each event was matched, in order.
        self.times: list[int] = []
        #: First out-of-order event: (its index, time, the index that was awaited).
        self.disorder: tuple[int, int, int] | None = None
        run.watch(self._tick)

    def _tick(self, now: int, values: Values, previous: Values) -> None:
        states = [event(now, values, previous) for event in self.events]
        rose = [s and not w for s, w in zip(states, self._was, strict=True)]
        self._was = states
        if self.disorder is not None:
            return  # matching on after a disorder would report a later, unrelated run
        while len(self.times) < len(self.events) and rose[len(self.times)]:
            self.times.append(now)
        k = len(self.times)
        if self.disorder is None and k < len(self.events):
            early = next((j for j in range(k + 1, len(self.events)) if rose[j]), None)
            if early is not None:
                self.disorder = (early, now, k)

    def _event(self, i: int) -> str:
        return f"event {i + 1} ({describe(self.spec.events[i])})"

    def finish(self, run: RunContext) -> CheckResult:
        n = len(self.events)
        figures: dict[str, Any] = {"matched": len(self.times), "events": n}
        if len(self.times) == n:
            figures["duration_s"] = (self.times[-1] - self.times[0]) / 1e9
        tags = list(dict.fromkeys(tag for event in self.events for tag in event.tags))
        vacuity = (
            None
            if self.times
            else f"{self._event(0)} never happened (run ended at {_at(run.now_ns)}): "
            "the sequence never began"
        )
        extra = {"vacuity": vacuity, "tags": tags}
        if self.disorder is not None:
            j, t, k = self.disorder
            message = f"{self._event(j)} at {_at(t)} came before {self._event(k)}"
            if k > 0:
                message += f" (after {self._event(k - 1)} at {_at(self.times[k - 1])})"
            return self._result(False, message, figures, lambda: run.evidence(t, tags), **extra)
        if len(self.times) < n:
            k = len(self.times)
            if k == 0:
                message = f"{self._event(0)} never happened (run ended at {_at(run.now_ns)})"
                moment = run.now_ns
            else:
                moment = self.times[-1]
                message = (
                    f"{self._event(k)} never happened after {self._event(k - 1)} at {_at(moment)}"
                )
            return self._result(
                False, message, figures, lambda: run.evidence(moment, tags), **extra
            )
        took = self.times[-1] - self.times[0]
        within = self.spec.within
        if within is not None and took > s_to_ns(within):
            first, last = self.times[0], self.times[-1]
            message = (
                f"sequence took {_secs(took)} from {_at(first)} to {_at(last)}, limit {within:g} s"
            )
            return self._result(False, message, figures, lambda: run.evidence(last, tags), **extra)
        return self._result(True, f"all {n} events in order in {_secs(took)}", figures, **extra)


# ---- cycle time -------------------------------------------------------------------------------


def _p95(values: list[int]) -> int:
    """Nearest-rank 95th percentile: a value that was actually measured."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class CycleTimeCheck(_Check):
    """Times from ``start`` to ``end``: per part from its journey, per station from conditions.

    Per part, a journey point is ``spawned`` or a component that saw the part (a sensor it
    passed, the sink it arrived in, its spawner); the end is the first such event after the
    start. Per station, each rising of ``start`` opens a cycle (while one is open, further
    starts belong to it) and the next rising of ``end`` closes it.

    **Exercised** when at least one cycle was measured: limits over zero cycles judge
    nothing (a failure while ``min_count`` >= 1, the default; vacuous with
    ``min_count: 0``).
    """

    kind = "cycle_time"
    spec: CycleTimeSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        s = self.spec
        if s.per == "part":
            for what, point in (("start", s.start), ("end", s.end)):
                if not isinstance(point, str):
                    raise ConfigError(
                        f"{self._where()}: {what}: per part names a journey point "
                        f"({SPAWNED!r}, a sensor or a sink), not a condition"
                    )
                if point != SPAWNED:
                    self._component(run, point, what)
            if s.variant is not None:
                self._variant(run, s.variant, "variant")
        else:
            if isinstance(s.start, str) or isinstance(s.end, str):
                raise ConfigError(
                    f"{self._where()}: per station, start and end are conditions "
                    "(e.g. {rising: pusher_extend}), not names"
                )
            if s.variant is not None:
                raise ConfigError(f"{self._where()}: variant applies to per: part only")
            self.start_condition = self._condition(run, s.start, "start")
            self.end_condition = self._condition(run, s.end, "end")

    def describe(self) -> str:
        s = self.spec
        start = s.start if isinstance(s.start, str) else describe(s.start)
        end = s.end if isinstance(s.end, str) else describe(s.end)
        variant = f" ({s.variant})" if s.variant else ""
        return f"{start} -> {end}{variant}"

    def criterion(self) -> str:
        s = self.spec
        limits = [
            f"{label} {limit:g} s"
            for label, limit in (("max", s.max), ("mean", s.mean), ("p95", s.p95))
            if limit is not None
        ]
        per = "per part" if s.per == "part" else "per station"
        text = f"{self.describe()} {per}: {', '.join(limits)}"
        if s.min_count:
            text += f", at least {_plural(s.min_count, 'cycle')} measured"
        return text

    def start(self, run: RunContext) -> None:
        #: (start ns, end ns, what) of each measured cycle.
        self.cycles: list[tuple[int, int, str]] = []
        if self.spec.per == "part":
            return
        committed = run.plant.image.committed
        self._was_start = self.start_condition(run.now_ns, committed, committed)
        self._was_end = self.end_condition(run.now_ns, committed, committed)
        self._open: int | None = None
        run.watch(self._tick)

    def _tick(self, now: int, values: Values, previous: Values) -> None:
        started = self.start_condition(now, values, previous)
        ended = self.end_condition(now, values, previous)
        # The end first: back to back, one cycle's end is the same tick as the next's start.
        if ended and not self._was_end and self._open is not None:
            self.cycles.append((self._open, now, f"cycle {len(self.cycles) + 1}"))
            self._open = None
        if started and not self._was_start and self._open is None:
            self._open = now
        self._was_start, self._was_end = started, ended

    @staticmethod
    def _seen(part: Part, point: str, after: int = -1) -> int | None:
        for event in part.journey:
            if event.time_ns < after or event.event == "removed":
                continue
            if (point == SPAWNED and event.event == SPAWNED) or event.where == point:
                return event.time_ns
        return None

    def _part_cycles(self, run: RunContext) -> None:
        s = self.spec
        for part in run.plant.parts.parts:
            if s.variant is not None and part.variant != s.variant:
                continue
            begin = self._seen(part, s.start)
            if begin is None:
                continue
            end = self._seen(part, s.end, begin)
            if end is not None:
                self.cycles.append((begin, end, f"part {part.id} ({part.variant})"))

    def finish(self, run: RunContext) -> CheckResult:
        s = self.spec
        if s.per == "part":
            self._part_cycles(run)
        times = [end - begin for begin, end, _ in self.cycles]
        figures: dict[str, Any] = {"count": len(times)}
        if times:
            figures.update(
                min_s=min(times) / 1e9,
                max_s=max(times) / 1e9,
                mean_s=sum(times) / len(times) / 1e9,
                p95_s=_p95(times) / 1e9,
            )
        if s.per == "part":
            tags = _component_tags(
                run, [p for p in (s.start, s.end) if p != SPAWNED] or _spawners(run)
            )
        else:
            tags = list(dict.fromkeys(self.start_condition.tags + self.end_condition.tags))
        vacuity = None if times else f"no cycle measured: {self._none_seen()}"
        extra = {"vacuity": vacuity, "tags": tags}
        if len(times) < s.min_count:
            message = (
                f"only {_plural(len(times), 'cycle')} measured, at least {s.min_count} needed: "
                f"{self._none_seen()}"
            )
            return self._result(False, message, figures, _about_parts(run, tags), **extra)
        problems = []
        worst = max(self.cycles, key=lambda c: c[1] - c[0]) if self.cycles else None
        if s.min is not None and times and min(times) < s_to_ns(s.min):
            # Too fast is wrong too: a skipped station step, a timer that never ran.
            first = next(c for c in self.cycles if c[1] - c[0] < s_to_ns(s.min))
            problems.append(
                (
                    first[1],
                    f"{first[2]} took only {_secs(first[1] - first[0])} from {_at(first[0])} "
                    f"to {_at(first[1])}, min {s.min:g} s",
                )
            )
        if s.max is not None and times and max(times) > s_to_ns(s.max):
            # The first cycle over the limit, not the worst: that is where it went wrong.
            first = next(c for c in self.cycles if c[1] - c[0] > s_to_ns(s.max))
            problems.append(
                (
                    first[1],
                    f"{first[2]} took {_secs(first[1] - first[0])} from {_at(first[0])} "
                    f"to {_at(first[1])}, max {s.max:g} s",
                )
            )
        for limit, figure in ((s.mean, "mean_s"), (s.p95, "p95_s")):
            if limit is not None and figures.get(figure, 0.0) > limit:
                label = figure.removesuffix("_s")
                problems.append(
                    (
                        worst[1],
                        f"{label} {figures[figure]:.3f} s over {len(times)} cycles, "
                        f"limit {limit:g} s",
                    )
                )
        if problems:
            moment = problems[0][0]
            message = "; ".join(text for _, text in problems)
            return self._result(
                False, message, figures, lambda: run.evidence(moment, tags), **extra
            )
        message = (
            f"{_plural(len(times), 'cycle')}: max {figures['max_s']:.3f} s, "
            f"mean {figures['mean_s']:.3f} s, p95 {figures['p95_s']:.3f} s"
            if times
            else "no cycles measured (none required)"
        )
        return self._result(True, message, figures, **extra)

    def _none_seen(self) -> str:
        s = self.spec
        if s.per == "part":
            variant = f"{s.variant} " if s.variant else ""
            return f"too few {variant}parts passed {s.start} then {s.end}"
        return f"too few {describe(s.start)} followed by {describe(s.end)}"


def _spawners(run: RunContext) -> list[str]:
    return list(dict.fromkeys(p.journey[0].where for p in run.plant.parts.parts if p.journey))


# ---- parts that did not arrive -----------------------------------------------------------------

#: A part whose bottom is this close to the ground (z = 0), in no sink, has left the machine.
_ON_THE_FLOOR_M = 0.05


def part_status(run: RunContext, part: Part) -> str:
    """Where a part is at the end.

    ``arrived`` (in a sink), ``removed`` (taken off by a person), ``held`` (by a gripper),
    ``lost`` (on the floor, in no sink: it fell off the machine) or ``travelling``.
    """
    if part.destination is not None:
        return "arrived"
    if not part.alive:
        return "removed"
    if getattr(part, "held_by", None):
        return "held"
    world = run.plant.world
    if world is not None and world.aabb(part.body)[0][2] < _ON_THE_FLOOR_M:
        return "lost"
    return "travelling"


def undelivered(run: RunContext) -> list[dict[str, Any]]:
    """Every part still in the machine, held or lost: where it was last seen, and where now."""
    world = run.plant.world
    found = []
    for part in run.plant.parts.parts:
        status = part_status(run, part)
        if status in ("arrived", "removed"):
            continue
        last = part.journey[-1] if part.journey else None
        position = None
        if world is not None:
            position = [round(float(v), 4) for v in world.pose(part.body)[0]]
        found.append(
            {
                "id": part.id,
                "variant": part.variant,
                "status": status,
                "last_event": last.event if last else "",
                "where": last.where if last else "",
                "last_s": last.time_ns / 1e9 if last else 0.0,
                "position": position,
            }
        )
    return found


def _about_parts(run: RunContext, tags: list[str]) -> Callable[[], Evidence]:
    """Evidence of a check about parts: the tags' edges and the parts that did not arrive.

    Over the whole run: the moment a count fell short is the end, which says nothing.
    """

    def evidence() -> Evidence:
        found = run.history(tags)
        found.parts = undelivered(run)
        return found

    return evidence


# ---- throughput -------------------------------------------------------------------------------


class _PartsIntoSinks(_Check):
    """A check on parts arriving in ``spec.sink`` (or any sink), of ``spec.variant`` (or any)."""

    spec: ThroughputSpec | PartsArrivedSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        s = self.spec
        if s.sink is not None:
            self._sink(run, s.sink, "sink")
        if s.variant is not None:
            self._variant(run, s.variant, "variant")

    def _sinks(self, run: RunContext) -> list[str]:
        return [self.spec.sink] if self.spec.sink is not None else _sink_names(run)

    def _parts(self) -> str:
        """``tall parts``, or ``parts`` for any variant."""
        return f"{self.spec.variant} parts" if self.spec.variant else "parts"


class ThroughputCheck(_PartsIntoSinks):
    """Parts per minute arriving in a sink (or any) within [start, end or the run's end].

    **Exercised** when at least one part arrived in the window: a rate over zero parts
    judges nothing (a failure for any ``min`` > 0; vacuous with ``min: 0``).
    """

    kind = "throughput"
    spec: ThroughputSpec

    def describe(self) -> str:
        s = self.spec
        return f"{self._parts()} into {s.sink or 'any sink'} >= {s.min:g}/min"

    def criterion(self) -> str:
        s = self.spec
        until = "the end" if s.end is None else f"t={s.end:g} s"
        return (
            f"at least {s.min:g} {self._parts()} per minute into {s.sink or 'any sink'} "
            f"from t={s.start:g} s to {until}"
        )

    def finish(self, run: RunContext) -> CheckResult:
        s = self.spec
        start = s_to_ns(s.start)
        end = run.now_ns if s.end is None else min(s_to_ns(s.end), run.now_ns)
        sinks = self._sinks(run)
        parts = 0
        for part in run.plant.parts.parts:
            if s.variant is not None and part.variant != s.variant:
                continue
            parts += any(
                e.event == "arrived" and e.where in sinks and start <= e.time_ns <= end
                for e in part.journey
            )
        window = end - start
        per_minute = parts / window * 60e9 if window > 0 else 0.0
        figures = {"parts": parts, "per_minute": per_minute, "window_s": max(window, 0) / 1e9}
        where = s.sink or "any sink"
        measured = (
            f"{_plural(parts, 'part')} into {where} from {_at(start)} to {_at(end)}: "
            f"{per_minute:.2f} per minute"
        )
        tags = _component_tags(run, sinks)
        vacuity = (
            None
            if parts
            else f"no {s.variant + ' ' if s.variant else ''}part arrived in {where} from "
            f"{_at(start)} to {_at(end)}: no rate was measured"
        )
        extra = {"vacuity": vacuity, "tags": tags}
        if window <= 0:
            message = f"empty window: the run ended at {_at(run.now_ns)}, before {_at(start)}"
            return self._result(False, message, figures, **extra)
        if per_minute < s.min:
            return self._result(
                False,
                f"{measured}, below the minimum {s.min:g} per minute",
                figures,
                _about_parts(run, tags),
                **extra,
            )
        return self._result(True, f"{measured} (minimum {s.min:g})", figures, **extra)


# ---- no collision -----------------------------------------------------------------------------

#: ``no_collision`` names for the workpieces: every live part, those no holder holds, those
#: a holder (a gripper) holds now.
_PART_SETS = (PARTS, PARTS_FREE, PARTS_HELD)


@dataclass(frozen=True)
class _Body:
    """A machine body on one side of a ``no_collision`` check."""

    body: int
    #: ``component`` when the component reports one group, else ``component.group``.
    name: str
    component: str
    moving: bool
    #: Links besides the base (a URDF arm's joints; 0 for a box).
    links: int


def _body_name(component: Any, group: str) -> str:
    return component.name if len(component.bodies()) == 1 else f"{component.name}.{group}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "check"


def _gap_words(distance: float) -> str:
    """How close two bodies came, in words: "were 3.0 mm apart", "touched", "interpenetrated"."""
    if distance >= 0:
        return f"were {distance * 1000:.1f} mm apart"
    if distance > -5e-5:  # would read "by 0.0 mm"
        return "touched"
    return f"interpenetrated by {-distance * 1000:.1f} mm"


class NoCollisionCheck(_Check):
    """Bodies of ``between`` and ``and`` stay at least ``margin`` metres apart on every tick.

    Each side names groups of bodies: a component (every body it reports with
    ``Component.bodies()``, static and moving), ``component.group`` (one of those groups),
    ``parts`` (the workpieces alive at that tick), ``parts.free`` (those no
    :class:`~vcommission.plant.capabilities.PartHolder` holds) or ``parts.held``. Distances
    are the world's closest distances between surfaces (negative when bodies interpenetrate),
    one query per pair of bodies a tick, and only for pairs the broadphase finds within the
    horizon around a moving body or part: two static bodies never come closer, and bodies
    farther apart cost one bounding-box query per mover, not one per pair.
    ``closest_m`` is the smallest distance seen, measured up to 0.1 m beyond the margin
    (farther apart reads as that).

    A part a holder holds touches the holder by design: its contacts with the holder's
    ``holding_bodies()`` (the cup or fingers and the link they are mounted on) are not
    collisions; the same part hitting anything else is.

    The first contact is named by time, the two bodies (``component[.group]``, plus
    ``:link`` for a body with links, a URDF arm) and its deepest penetration while it
    lasted (``depth_m``). When the run keeps files (``--trace-dir``), the scene at that
    moment is rendered from the check's ``camera`` (or the model's first camera, or a view
    framing the two bodies), the two highlighted, and written as a PNG beside the trace;
    the evidence names the file.

    **Exercised** when something on either side moved: a moving body (any of its links)
    left its power-on position by more than 1 mm, or a part of a side's part set was alive
    on some tick. Bodies that never moved cannot have come closer than they started.
    """

    kind = "no_collision"
    spec: NoCollisionSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        s = self.spec
        if not (math.isfinite(s.margin) and s.margin >= 0):
            raise ConfigError(f"{self._where()}: margin={s.margin} must be >= 0 metres")
        movable = False
        for what, names in (("between", s.between), ("and", s.and_)):
            if not names:
                raise ConfigError(f"{self._where()}: {what} needs a component or {PARTS!r}")
            for name in names:
                if name in _PART_SETS:
                    movable = True
                    continue
                movable |= any(body.moving for body in self._resolve(run, name, what))
        if not movable:
            raise ConfigError(
                f"{self._where()}: every body of {self.describe()} is static: nothing can "
                "come closer than it started (name a moving body or parts)"
            )
        if s.camera is not None:
            self._camera(run)

    def _resolve(self, run: RunContext, name: str, what: str) -> list[_Body]:
        """The machine bodies ``name`` (``component`` or ``component.group``) stands for."""
        component_name, _, group_name = name.partition(".")
        component = self._component(run, component_name, what)
        groups = component.bodies()
        if group_name:
            if group_name not in groups:
                known = ", ".join(groups) or "none"
                raise ConfigError(
                    f"{self._where()}: {what}: {component_name} ({component.kind}) has no body "
                    f"group {group_name!r} (its groups: {known})"
                )
            groups = {group_name: groups[group_name]}
        elif not any(len(group) for group in groups.values()):
            raise ConfigError(
                f"{self._where()}: {what}: {name} ({component.kind}) has no body to measure: "
                "no moving body and no static one"
            )
        world = run.plant.world
        assert world is not None
        links = world.link_count
        return [
            _Body(body, _body_name(component, group), component.name, moving, links(body))
            for group, bodies in groups.items()
            for moving, ids in ((False, bodies.static), (True, bodies.moving))
            for body in ids
        ]

    def _camera(self, run: RunContext) -> ViewpointSource | None:
        """The camera to picture the first contact from (None: a view framing the bodies)."""
        name = self.spec.camera
        if name is None:
            cameras = run.plant.having(ViewpointSource)
            return cameras[0] if cameras else None
        camera = run.plant.find(name, ViewpointSource)
        if camera is None:
            self._component(run, name, "camera")
            known = ", ".join(c.name for c in run.plant.having(ViewpointSource)) or "none"
            raise ConfigError(
                f"{self._where()}: camera: {name!r} is not a camera (the model's cameras: {known})"
            )
        return camera

    def describe(self) -> str:
        s = self.spec
        return f"{', '.join(s.between)} vs {', '.join(s.and_)}"

    def criterion(self) -> str:
        s = self.spec
        return (
            f"{', '.join(s.between)} and {', '.join(s.and_)} at least {s.margin * 1000:g} mm "
            "apart on every tick"
        )

    def start(self, run: RunContext) -> None:
        # Bodies are looked up now, not at make_check: a plant reset makes new ones.
        world = run.plant.world
        assert world is not None
        self._world = world
        self._horizon = self.spec.margin + _COLLISION_HORIZON_M
        sides: list[list[_Body]] = []
        self._part_sets: list[list[str]] = []
        for what, names in (("between", self.spec.between), ("and", self.spec.and_)):
            found: dict[int, _Body] = {}
            for name in names:
                if name not in _PART_SETS:
                    for body in self._resolve(run, name, what):
                        found.setdefault(body.body, body)
            sides.append(list(found.values()))
            self._part_sets.append([name for name in names if name in _PART_SETS])
        self._sides = sides
        #: Per side, its machine bodies by id: who is on the other side of a neighbour.
        self._members = [{body.body: body for body in side} for side in sides]
        #: Per side, its static bodies by id, and its moving ones (id, links, body): only
        #: what moves looks for neighbours (two static bodies never come closer).
        self._statics = [{b.body: b for b in side if not b.moving} for side in sides]
        self._movers = [[(b.body, b.links, b) for b in side if b.moving] for side in sides]
        self._holders = run.plant.having(PartHolder)
        self._camera_source = self._camera(run)
        self._stem = run.evidence_stem
        # On the wall clock a render (a few hundred ms) would stall the plant a PLC is
        # talking to: there the poses are kept at the contact and pictured after the run.
        self._deferred = run.sim.pacer is not None
        self._pending: tuple[Any, ...] | None = None
        self.closest = self._horizon
        self.contacts = 0
        #: Pairs closer than the margin at the last tick: a new one is a new contact.
        self._touching: set[tuple[int, int]] = set()
        #: First contact: (time, name a, name b, distance at first sight).
        self.first: tuple[int, str, str, float] | None = None
        self._first_pair: tuple[int, int] | None = None
        #: Deepest penetration of the first contact while it lasted, metres (>= 0).
        self.depth = 0.0
        self._snapshot: Any = None
        #: When something on either side first moved (None: nothing did yet).
        self.moved_ns: int | None = None
        self._starts = {
            body.body: (body.links, world.link_positions(body.body, body.links))
            for side in sides
            for body in side
            if body.moving
        }
        run.watch(lambda now, values, previous: self._tick(run, now))

    def _moved(self) -> bool:
        positions = self._world.link_positions
        for body, (links, start) in self._starts.items():
            now = positions(body, links)
            if any(math.dist(a, b) > _MOVED_M for a, b in zip(now, start, strict=True)):
                return True
        return False

    def _parts(self, run: RunContext, sets: list[str], held: dict[int, set[int]]) -> list[Any]:
        if not sets:
            return []
        alive = run.plant.parts.alive
        if PARTS in sets or (PARTS_FREE in sets and PARTS_HELD in sets):
            return alive
        if PARTS_FREE in sets:
            return [p for p in alive if p.body not in held]
        return [p for p in alive if p.body in held]

    def _tick(self, run: RunContext, now: int) -> None:
        world = self._world
        # Part -> the bodies whose contact with it is its grip (asked every tick: grips change).
        held: dict[int, set[int]] = {}
        for holder in self._holders:
            holding = set(holder.holding_bodies())
            for part in holder.held_parts():
                held.setdefault(part, set()).update(holding)
        parts = [self._parts(run, sets, held) for sets in self._part_sets]
        if self.moved_ns is None and (parts[0] or parts[1] or self._moved()):
            self.moved_ns = now
        members = self._members
        movers = self._movers
        if parts[0] or parts[1]:
            members = [dict(side) for side in members]
            movers = [list(side) for side in movers]
            for index, side_parts in enumerate(parts):
                for part in side_parts:
                    members[index][part.body] = part
                    movers[index].append((part.body, 0, part))
        # Each pair with a mover in it must be found by one broadphase query: the movers of
        # the side with fewer of them look for anything of the other side near them, the
        # other side's movers only for this side's static bodies (none: no query at all).
        lead = 0 if len(movers[0]) <= len(movers[1]) else 1
        statics = self._statics[lead]
        searches = [(lead, what, members[1 - lead]) for what in movers[lead]]
        if statics:
            searches += [(1 - lead, what, statics) for what in movers[1 - lead]]
        horizon = self._horizon
        nearest, neighbours = world.nearest, world.neighbours
        seen: set[tuple[int, int]] = set()
        touching: set[tuple[int, int]] = set()
        for side, (body, links, what), other in searches:
            for near in sorted(neighbours(body, horizon, links)):
                partner = other.get(near)
                if partner is None:
                    continue
                key = (body, near) if body < near else (near, body)
                if key in seen:
                    continue
                seen.add(key)
                if side == 0:
                    a, b, what_a, what_b = body, near, what, partner
                else:
                    a, b, what_a, what_b = near, body, partner, what
                if (a in held and b in held[a]) or (b in held and a in held[b]):
                    continue  # a held part against its holder: the grip, not a collision
                self._measure(run, now, nearest(a, b, horizon), key, what_a, what_b, touching)
        if self._first_pair is not None and self._first_pair not in touching:
            self._first_pair = None  # the first contact ended: its depth is final
        self._touching = touching

    def _measure(
        self,
        run: RunContext,
        now: int,
        point: Any,
        key: tuple[int, int],
        what_a: Any,
        what_b: Any,
        touching: set[tuple[int, int]],
    ) -> None:
        """Count one pair's closest points of this tick (None: beyond the horizon)."""
        if point is None:
            return
        distance = point.distance
        self.closest = min(self.closest, distance)
        if distance >= self.spec.margin:
            return
        touching.add(key)
        if key == self._first_pair:
            self.depth = max(self.depth, -distance)
        if key in self._touching:
            return
        self.contacts += 1
        if self.first is None:
            name_a = self._name(what_a, point.link_a)
            name_b = self._name(what_b, point.link_b)
            self.first = (now, name_a, name_b, distance)
            self._first_pair = key
            self.depth = max(0.0, -distance)
            if self._stem is not None:
                self._picture(run, now, point, (what_a, name_a), (what_b, name_b))

    def _name(self, what: Any, link: int) -> str:
        if isinstance(what, _Body):
            if what.links:
                return f"{what.name}:{self._world.link_name(what.body, link)}"
            return what.name
        return f"part {what.id} ({what.variant})"

    def _picture(self, run: RunContext, now: int, point: Any, *named: tuple[Any, str]) -> None:
        """Render the scene now, while the world exists; written at :meth:`finish`.

        In real time only the poses are kept now (:func:`~vcommission.plant.render.capture`)
        and the scene is rendered at :meth:`finish`, the bodies put back where they were.
        """
        from vcommission.plant.render import capture, posed

        if self._deferred and self._pending is None:
            self._pending = (now, point, named, capture(run.plant))
            return
        if self._pending is not None:
            _, _, _, poses = self._pending
            if not all(what.body in poses.bodies for what, _ in named):
                return  # a body of the contact is gone (a part removed): nothing to show
            with posed(run.plant, poses) as made_since:
                self._render(run, now, point, named, made_since)
            return
        self._render(run, now, point, named, ())

    def _render(
        self,
        run: RunContext,
        now: int,
        point: Any,
        named: tuple[tuple[Any, str], ...],
        hide: Sequence[int],
    ) -> None:
        from vcommission.plant.render import Highlight, snapshot

        links = (point.link_a, point.link_b)
        highlights = [
            Highlight(what.body, link if getattr(what, "links", 0) else -1, name)
            for (what, name), link in zip(named, links, strict=True)
        ]
        middle = [(a + b) / 2 for a, b in zip(point.position_a, point.position_b, strict=True)]
        camera = self._camera_source
        self._snapshot = snapshot(
            run.plant,
            highlights,
            viewpoint=camera.viewpoint() if camera is not None else None,
            camera=camera.name if camera is not None else "auto",
            point=middle,
            title=f"{_at(now)}: {named[0][1]} and {named[1][1]} {_gap_words(point.distance)}",
            hide=hide,
        )

    def finish(self, run: RunContext) -> CheckResult:
        figures: dict[str, Any] = {"closest_m": self.closest, "contacts": self.contacts}
        margin = self.spec.margin
        names = [n.partition(".")[0] for n in (*self.spec.between, *self.spec.and_)]
        tags = _component_tags(run, [n for n in names if n != PARTS])
        vacuity = (
            None
            if self.moved_ns is not None
            else f"no body of {self.describe()} moved (run ended at {_at(run.now_ns)})"
        )
        extra = {"vacuity": vacuity, "tags": tags}
        if self.first is None:
            return self._result(
                True,
                f"closest {self.closest * 1000:.1f} mm (margin {margin * 1000:g} mm)",
                figures,
                **extra,
            )
        t, a, b, distance = self.first
        figures.update(first_s=t / 1e9, depth_m=self.depth)
        message = f"{a} and {b} {_gap_words(distance)} at {_at(t)} (margin {margin * 1000:g} mm)"
        if self.depth > max(0.0, -distance) + 5e-4:
            message += f", {self.depth * 1000:.1f} mm deep at most"
        if self.contacts > 1:
            message += f"; {self.contacts} contacts in all, closest {self.closest * 1000:.1f} mm"
        images = self._write_picture(run, a, b, t)

        def evidence() -> Evidence:
            found = run.evidence(t, tags)
            found.images = images
            return found

        return self._result(False, message, figures, evidence, **extra)

    def _write_picture(self, run: RunContext, a: str, b: str, t: int) -> list[dict[str, str]]:
        if self._pending is not None and self._snapshot is None and run.plant.world is not None:
            now, point, named, _ = self._pending
            self._picture(run, now, point, *named)
        if self._snapshot is None or self._stem is None:
            return []
        from vcommission.plant.render import write_snapshot_png

        path = f"{self._stem}.{_slug(self.name)}.png"
        write_snapshot_png(self._snapshot, path)
        camera = self._snapshot.camera
        seen = f"camera {camera}" if camera != "auto" else "a view framing them"
        caption = f"{a} and {b} at {_at(t)}, highlighted; seen from {seen}"
        if self._snapshot.hidden:
            caption += f"; not drawn, in front of them: {', '.join(self._snapshot.hidden)}"
        return [{"path": path, "caption": caption}]


# ---- final state ------------------------------------------------------------------------------


class FinalStateCheck(_Check):
    """Tag values, part counts per sink and variant, and parts still travelling, at the end.

    **Exercised** when something it states happened on the line: for ``tags``, at least one
    of them changed during the run (an end state the line never left is no result); for
    ``bins`` and ``max_in_flight``, at least one part was spawned (empty bins and an empty
    belt hold for an idle line). A check stating both needs both; one stating nothing is
    never exercised.
    """

    kind = "final_state"
    spec: FinalStateSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        s = self.spec
        for tag, value in s.tags.items():
            self._tag(tag, f"tags.{tag}")
            is_bool = self.table[tag].type.is_bool
            if is_bool != isinstance(value, bool) or isinstance(value, str):
                kind = "true or false" if is_bool else "a number"
                raise ConfigError(
                    f"{self._where()}: tags.{tag}: {tag} is {self.table[tag].type.value}, "
                    f"compare it with {kind}, not {value!r}"
                )
        for sink, counts in s.bins.items():
            self._sink(run, sink, f"bins.{sink}")
            for variant in counts:
                if variant != "*":
                    self._variant(run, variant, f"bins.{sink}.{variant}")

    def describe(self) -> str:
        s = self.spec
        names = [*s.tags, *s.bins]
        if s.max_in_flight is not None:
            names.append("in flight")
        return ", ".join(names) or "nothing"

    def criterion(self) -> str:
        s = self.spec
        said = [f"{tag} = {_shown(value)}" for tag, value in s.tags.items()]
        for sink, counts in s.bins.items():
            for variant, count in counts.items():
                which = "parts" if variant == "*" else f"{variant} parts"
                said.append(f"{sink} holds {count} {which}")
        if s.max_in_flight is not None:
            said.append(f"at most {_plural(s.max_in_flight, 'part')} still on the line")
        return "at the end of the run: " + ("; ".join(said) or "nothing stated")

    def start(self, run: RunContext) -> None:
        committed = run.plant.image.committed
        self._initial = {self.table.index(tag): committed[self.table.index(tag)] for tag in
                         self.spec.tags}  # fmt: skip
        #: The first tag that changed from its power-on value, and when.
        self.changed: tuple[str, int] | None = None
        if self._initial:
            self._undo = run.watch(self._tick)

    def _tick(self, now: int, values: Values, previous: Values) -> None:
        for index, value in self._initial.items():
            if values[index] != value:
                self.changed = (self.table.signals[index].name, now)
                self._undo()  # one change is enough: stop watching
                return

    def _states_parts(self) -> bool:
        """Whether the check says something about parts (bins, in flight, lost)."""
        s = self.spec
        return bool(s.bins) or s.max_in_flight is not None or s.max_lost is not None

    def _vacuity(self, run: RunContext) -> str | None:
        s = self.spec
        reasons = []
        about_parts = self._states_parts()
        if not (s.tags or about_parts):
            return "it states nothing to hold at the end"
        if s.tags and self.changed is None:
            reasons.append(f"none of {', '.join(s.tags)} ever changed")
        if about_parts and not run.plant.parts.parts:
            reasons.append("no part was spawned")
        if not reasons:
            return None
        return " and ".join(reasons) + f" (run ended at {_at(run.now_ns)}): nothing happened"

    def finish(self, run: RunContext) -> CheckResult:
        s = self.spec
        values = run.plant.image.committed
        figures: dict[str, Any] = {}
        wrong: list[str] = []
        for tag, expected in s.tags.items():
            actual = values[self.table.index(tag)]
            figures[tag] = actual
            if actual != expected:
                wrong.append(f"{tag} = {_shown(actual)}, expected {_shown(expected)}")
        parts = run.plant.parts.parts
        for sink, counts in s.bins.items():
            for variant, expected in counts.items():
                actual = sum(
                    1
                    for p in parts
                    if p.destination == sink and (variant == "*" or p.variant == variant)
                )
                figures[f"{sink}.{variant}"] = actual
                if actual != expected:
                    which = "parts" if variant == "*" else f"{variant} parts"
                    wrong.append(f"{sink} holds {actual} {which}, expected {expected}")
        # Parts a person took off the line (removed, never arrived) are not in flight; parts
        # on the floor are lost, not in flight.
        statuses = [part_status(run, p) for p in parts]
        in_flight = sum(1 for status in statuses if status in ("travelling", "held"))
        lost = statuses.count("lost")
        figures["in_flight"] = in_flight
        figures["lost"] = lost
        if s.max_in_flight is not None and in_flight > s.max_in_flight:
            wrong.append(
                f"{_plural(in_flight, 'part')} still on the line, at most {s.max_in_flight}"
            )
        if s.max_lost is not None and lost > s.max_lost:
            wrong.append(f"{_plural(lost, 'part')} lost (on the floor), at most {s.max_lost}")
        tags = [*s.tags, *_component_tags(run, s.bins)]
        extra = {"vacuity": self._vacuity(run), "tags": tags}
        if wrong:
            end = run.now_ns
            message = f"at the end ({_at(end)}): " + "; ".join(wrong)
            evidence = (
                _about_parts(run, tags) if self._states_parts() else lambda: run.evidence(end, tags)
            )
            return self._result(False, message, figures, evidence, **extra)
        return self._result(True, f"as expected at {_at(run.now_ns)}", figures, **extra)


# ---- no missort -------------------------------------------------------------------------------


class NoMissortCheck(_Check):
    """Each part that arrived in a sink arrived in the one mapped to its variant.

    Parts of variants the map does not name are not judged; parts still travelling neither.

    **Exercised** when every variant of the map was judged: at least one part of each
    arrived in a sink. A mapping no part put to the test (``small -> bin_small`` on a run
    with tall boxes only) is not shown to hold.
    """

    kind = "no_missort"
    spec: NoMissortSpec

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        super().__init__(spec, run)
        for variant, sink in self.spec.map.items():
            self._variant(run, variant, f"map.{variant}")
            self._sink(run, sink, f"map.{variant}")

    def describe(self) -> str:
        return ", ".join(f"{variant} -> {sink}" for variant, sink in self.spec.map.items())

    def criterion(self) -> str:
        return "every part that arrives in a sink arrives in the one for its variant: " + (
            self.describe()
        )

    def finish(self, run: RunContext) -> CheckResult:
        mapping = self.spec.map
        judged = [
            p for p in run.plant.parts.parts if p.destination is not None and p.variant in mapping
        ]
        wrong = [p for p in judged if p.destination != mapping[p.variant]]
        figures = {"parts": len(judged), "missorted": len(wrong)}
        untested = [v for v in mapping if not any(p.variant == v for p in judged)]
        vacuity = None
        if untested:
            which = " or ".join(untested)
            never = ", ".join(f"{v} -> {mapping[v]}" for v in untested)
            vacuity = f"no {which} part arrived in a sink: {never} never judged"
        tags = _component_tags(run, dict.fromkeys(mapping.values()))
        extra = {"vacuity": vacuity, "tags": tags}
        if not wrong:
            return self._result(
                True, f"{_plural(len(judged), 'part')} sorted right", figures, **extra
            )
        first = min(wrong, key=lambda p: (_arrival(p) or 0, p.id))
        t = _arrival(first) or run.now_ns
        message = (
            f"part {first.id} ({first.variant}) arrived in {first.destination} at {_at(t)}, "
            f"expected {mapping[first.variant]}; {len(wrong)} of {len(judged)} parts missorted"
        )
        seen_by = [e.where for e in first.journey if e.event in ("detected", "arrived")]
        evidence_tags = _component_tags(run, [*seen_by, *dict.fromkeys(mapping.values())])
        return self._result(
            False, message, figures, lambda: run.evidence(t, evidence_tags), **extra
        )


# ---- parts arrived ----------------------------------------------------------------------------


class PartsArrivedCheck(_PartsIntoSinks):
    """At least ``min`` parts (of ``variant``) arrived in ``sink`` (or any sink) in the run.

    The statement of work of a scenario: "at least 4 boxes sorted". **Exercised** when at
    least one part arrived (``min`` is at least 1, so zero parts is a failure anyway).
    """

    kind = "parts_arrived"
    spec: PartsArrivedSpec

    def describe(self) -> str:
        s = self.spec
        return f">= {s.min} {self._parts()} into {s.sink or 'any sink'}"

    def criterion(self) -> str:
        s = self.spec
        return f"at least {s.min} {self._parts()} arrive in {s.sink or 'a sink'} during the run"

    def finish(self, run: RunContext) -> CheckResult:
        s = self.spec
        sinks = self._sinks(run)
        arrived = [
            p
            for p in run.plant.parts.parts
            if p.destination in sinks and (s.variant is None or p.variant == s.variant)
        ]
        figures = {"parts": len(arrived), "spawned": len(run.plant.parts.parts)}
        where = s.sink or "the sinks"
        tags = _component_tags(run, sinks)
        vacuity = None if arrived else f"no part arrived in {where}: no work was done"
        extra = {"vacuity": vacuity, "tags": tags}
        counted = (
            f"{_plural(len(arrived), 'part')} arrived in {where} by {_at(run.now_ns)} "
            f"({len(run.plant.parts.parts)} spawned)"
        )
        if len(arrived) < s.min:
            message = f"{counted}, at least {s.min} needed"
            return self._result(False, message, figures, _about_parts(run, tags), **extra)
        return self._result(True, f"{counted} (at least {s.min})", figures, **extra)


# One line per kind: its name, the spec its YAML mapping is loaded into, its class. A kind
# from elsewhere registers the same way, with @check_type on its class.
for _name, _spec, _cls in (
    ("interlock", InterlockSpec, InterlockCheck),
    ("reaction", ReactionSpec, ReactionCheck),
    ("sequence", SequenceSpec, SequenceCheck),
    ("cycle_time", CycleTimeSpec, CycleTimeCheck),
    ("throughput", ThroughputSpec, ThroughputCheck),
    ("no_collision", NoCollisionSpec, NoCollisionCheck),
    ("final_state", FinalStateSpec, FinalStateCheck),
    ("no_missort", NoMissortSpec, NoMissortCheck),
    ("parts_arrived", PartsArrivedSpec, PartsArrivedCheck),
):
    check_type(_name, _spec)(_cls)
