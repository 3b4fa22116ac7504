"""Structured conditions compiled to plain closures over the committed process image.

A :class:`Condition` is called once per tick with the tick's end time and the committed
values of this tick and the previous one (edges need both). It is stateful only for
``for`` (how long the inner condition has held), so each user compiles its own instance
and calls it on every tick. Nothing here evaluates text: the YAML is data.
"""

from __future__ import annotations

import difflib
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vcommission.clock import s_to_ns
from vcommission.scenario.schema import ConditionSpec
from vcommission.signals import SignalTable, Value

__all__ = [
    "Condition",
    "ConditionError",
    "FaultActed",
    "compile_condition",
    "describe",
    "unknown_tag",
]

Values = Sequence[Value]
_Test = Callable[[int, Values, Values], bool]

_OPERATORS: dict[str, Callable[[object, object], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "lt": operator.lt,
    "le": operator.le,
    "gt": operator.gt,
    "ge": operator.ge,
}
_SYMBOLS = {"eq": "=", "ne": "<>", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}


class ConditionError(ValueError):
    """A condition names an unknown tag or compares a tag with a value of the wrong kind."""


@dataclass
class Condition:
    """A compiled condition: call it every tick with ``(now_ns, values, previous)``."""

    test: _Test
    #: Tags it reads, for evidence.
    tags: tuple[str, ...]
    #: The condition in words, for messages: ``conveyor_run = TRUE AND ...``.
    text: str

    def __call__(self, now_ns: int, values: Values, previous: Values) -> bool:
        return self.test(now_ns, values, previous)


#: Whether the fault of this name has acted so far in the run (``fault_acted``).
FaultActed = Callable[[str], bool]


def compile_condition(
    spec: ConditionSpec, table: SignalTable, fault_acted: FaultActed | None = None
) -> Condition:
    """Compile ``spec`` against the signals of a model (and a run's faults).

    ``fault_acted`` answers ``{fault_acted: NAME}`` while the run goes on; without it (a
    condition checked against the model alone, before a run) such a condition reads FALSE.

    Raises:
        ConditionError: unknown tag, an edge on a non-BOOL tag, or a value of the wrong kind.
    """
    tags: list[str] = []
    test = _compile(spec, table, tags, fault_acted)
    return Condition(test, tuple(dict.fromkeys(tags)), describe(spec))


def unknown_tag(table: SignalTable, tag: str) -> str:
    """The message for a tag the model does not have, with the closest names."""
    close = difflib.get_close_matches(tag, [s.name for s in table.signals], n=2)
    hint = (
        f"did you mean {' or '.join(close)}?" if close else "see `vcommission io-list MODEL --all`"
    )
    return f"unknown tag {tag!r} ({hint})"


def _index(table: SignalTable, tag: str, tags: list[str]) -> int:
    if tag not in table:
        raise ConditionError(unknown_tag(table, tag))
    tags.append(tag)
    return table.index(tag)


def _compile(
    spec: ConditionSpec, table: SignalTable, tags: list[str], acted: FaultActed | None
) -> _Test:
    test = _compile_form(spec, table, tags, acted)
    if spec.for_ is None:
        return test
    return _held(test, s_to_ns(spec.for_))


def _compile_form(
    spec: ConditionSpec, table: SignalTable, tags: list[str], acted: FaultActed | None
) -> _Test:
    if spec.fault_acted is not None:
        name = spec.fault_acted
        if acted is None:
            return lambda now, v, p: False
        return lambda now, v, p: acted(name)
    if spec.tag is not None:
        i = _index(table, spec.tag, tags)
        signal = table.signals[i]
        comparison = spec.comparison
        if comparison is None:
            if not signal.type.is_bool:
                raise ConditionError(
                    f"{spec.tag} is {signal.type.value}: compare it (eq, gt, ...) "
                    "rather than test it alone"
                )
            return lambda now, v, p: v[i] is True
        name, value = comparison
        if signal.type.is_bool:
            if not isinstance(value, bool) or name not in ("eq", "ne"):
                raise ConditionError(f"{spec.tag} is BOOL: compare it with eq/ne true or false")
        elif isinstance(value, (bool, str)):
            raise ConditionError(f"{spec.tag} is {signal.type.value}: compare it with a number")
        compare = _OPERATORS[name]
        return lambda now, v, p: compare(v[i], value)
    for edge in ("rising", "falling"):
        tag = getattr(spec, edge)
        if tag is not None:
            i = _index(table, tag, tags)
            if not table.signals[i].type.is_bool:
                raise ConditionError(f"{edge} needs a BOOL tag; {tag} is a number (use changed)")
            if edge == "rising":
                return lambda now, v, p: v[i] is True and p[i] is False
            return lambda now, v, p: v[i] is False and p[i] is True
    if spec.changed is not None:
        i = _index(table, spec.changed, tags)
        return lambda now, v, p: v[i] != p[i]
    if spec.all is not None:
        parts = [_compile(s, table, tags, acted) for s in spec.all]
        return lambda now, v, p: all([t(now, v, p) for t in parts])
    if spec.any is not None:
        parts = [_compile(s, table, tags, acted) for s in spec.any]
        # Every part is evaluated every tick (no short cut) so their ``for`` timers stay right.
        return lambda now, v, p: any([t(now, v, p) for t in parts])
    assert spec.not_ is not None
    inner = _compile(spec.not_, table, tags, acted)
    return lambda now, v, p: not inner(now, v, p)


def _held(test: _Test, duration_ns: int) -> _Test:
    since: list[int | None] = [None]

    def held(now: int, v: Values, p: Values) -> bool:
        if not test(now, v, p):
            since[0] = None
            return False
        if since[0] is None:
            since[0] = now
        return now - since[0] >= duration_ns

    return held


def describe(spec: ConditionSpec) -> str:
    """The condition in words, ST-like: ``pe_exit = TRUE FOR 4 s``."""
    if spec.tag is not None:
        comparison = spec.comparison
        if comparison is None:
            text = f"{spec.tag} = TRUE"
        else:
            name, value = comparison
            shown = str(value).upper() if isinstance(value, bool) else str(value)
            text = f"{spec.tag} {_SYMBOLS[name]} {shown}"
    elif spec.rising is not None:
        text = f"rising {spec.rising}"
    elif spec.falling is not None:
        text = f"falling {spec.falling}"
    elif spec.changed is not None:
        text = f"{spec.changed} changes"
    elif spec.fault_acted is not None:
        text = f"fault {spec.fault_acted} acted"
    elif spec.all is not None:
        text = "(" + " AND ".join(describe(s) for s in spec.all) + ")"
    elif spec.any is not None:
        text = "(" + " OR ".join(describe(s) for s in spec.any) + ")"
    else:
        assert spec.not_ is not None
        text = f"NOT {describe(spec.not_)}"
    if spec.for_ is not None:
        text += f" FOR {spec.for_:g} s"
    return text
