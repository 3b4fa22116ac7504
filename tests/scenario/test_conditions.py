"""Conditions evaluated tick by tick on short value sequences, their words, and their errors."""

from __future__ import annotations

from typing import Any

import pytest

from vcommission.errors import ConfigError
from vcommission.scenario.conditions import ConditionError, compile_condition, describe
from vcommission.scenario.schema import ConditionSpec
from vcommission.signals import Direction, Signal, SignalTable, SignalType

C = ConditionSpec
TICK_NS = 10_000_000

TABLE = SignalTable(
    (
        Signal("run", SignalType.BOOL, Direction.TO_PLANT),
        Signal("eye", SignalType.BOOL, Direction.FROM_PLANT),
        Signal("speed", SignalType.INT, Direction.FROM_PLANT),
        Signal("level", SignalType.REAL, Direction.FROM_PLANT),
    )
)
START = {s.name: s.default for s in TABLE.signals}


def evaluate(spec: ConditionSpec, *ticks: dict[str, Any]) -> list[bool]:
    """The condition's value after each tick; a tick gives the values that changed in it.

    Tick ``n`` (from 1) ends at ``n`` x 10 ms; before the first tick every signal has its
    default, as the plant powers on.
    """
    condition = compile_condition(spec, TABLE)
    state = dict(START)
    previous = [state[s.name] for s in TABLE.signals]
    seen = []
    for n, changes in enumerate(ticks, 1):
        state.update(changes)
        values = [state[s.name] for s in TABLE.signals]
        seen.append(condition(n * TICK_NS, values, previous))
        previous = values
    return seen


def speeds(*values: int) -> list[dict[str, Any]]:
    return [{"speed": v} for v in values]


def runs(text: str) -> list[dict[str, Any]]:
    """``"_--_"``: run FALSE, TRUE, TRUE, FALSE in four ticks."""
    return [{"run": c == "-"} for c in text]


def bits(text: str) -> list[bool]:
    return [c == "-" for c in text]


# ---- comparisons -----------------------------------------------------------------------------


def test_a_bool_tag_alone_means_true():
    assert evaluate(C(tag="run"), *runs("_--_-")) == bits("_--_-")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (C(tag="speed", eq=100), "_-__"),
        (C(tag="speed", ne=100), "-_--"),
        (C(tag="speed", lt=100), "-___"),
        (C(tag="speed", le=100), "--__"),
        (C(tag="speed", gt=100), "__--"),
        (C(tag="speed", ge=100), "_---"),
        (C(tag="speed", gt=100.5), "__--"),  # an INT compared with a float
    ],
)
def test_numeric_comparisons(spec, expected):
    assert evaluate(spec, *speeds(0, 100, 101, 500)) == bits(expected)


def test_a_real_compares_with_an_integer_or_a_float():
    ticks = [{"level": v} for v in (0.5, 1.0, 1.5)]
    assert evaluate(C(tag="level", ge=1), *ticks) == [False, True, True]
    assert evaluate(C(tag="level", lt=1.25), *ticks) == [True, True, False]


def test_a_bool_compares_with_eq_or_ne_true_or_false():
    assert evaluate(C(tag="run", eq=False), *runs("_-_")) == bits("-_-")
    assert evaluate(C(tag="run", ne=False), *runs("_-_")) == bits("_-_")
    assert evaluate(C(tag="run", eq=True), *runs("_-_")) == bits("_-_")


# ---- edges -----------------------------------------------------------------------------------


def test_rising_holds_in_the_tick_the_tag_turned_true_only():
    assert evaluate(C(rising="run"), *runs("_---_-")) == bits("_-___-")


def test_rising_in_the_first_tick_compares_with_the_power_on_value():
    assert evaluate(C(rising="run"), *runs("-_")) == [True, False]
    # eye powers on FALSE: TRUE in the first tick is an edge too.
    assert evaluate(C(rising="eye"), {"eye": True}) == [True]


def test_falling_holds_in_the_tick_the_tag_turned_false_only():
    assert evaluate(C(falling="run"), *runs("--__-_")) == bits("__-__-")


def test_changed_holds_whenever_a_value_differs_from_the_last_tick():
    assert evaluate(C(changed="speed"), *speeds(0, 0, 5, 5, 0, 7)) == bits("__-_--")
    assert evaluate(C(changed="run"), *runs("_--_")) == bits("_-_-")


# ---- combinations ----------------------------------------------------------------------------


def test_all_any_not():
    ticks = [
        {"run": False, "speed": 0},
        {"run": True, "speed": 0},
        {"run": True, "speed": 200},
        {"run": False, "speed": 200},
    ]
    moving = C(tag="speed", gt=100)
    assert evaluate(C(all=[C(tag="run"), moving]), *ticks) == bits("__-_")
    assert evaluate(C(any=[C(tag="run"), moving]), *ticks) == bits("_---")
    assert evaluate(C(not_=C(tag="run")), *ticks) == bits("-__-")
    assert evaluate(C(not_=C(all=[C(tag="run"), moving])), *ticks) == bits("--_-")


def test_edges_inside_combinations():
    # The belt started while the eye was clear.
    spec = C(all=[C(rising="run"), C(not_=C(tag="eye"))])
    ticks = [{"run": True}, {"run": False, "eye": True}, {"run": True}, {"run": False}]
    assert evaluate(spec, *ticks) == [True, False, False, False]


# ---- for -------------------------------------------------------------------------------------


def test_for_holds_once_the_inner_condition_has_held_that_long():
    # TRUE from tick 2 (20 ms) on: 30 ms later, at tick 5, it has held for 30 ms.
    assert evaluate(C(tag="run", for_=0.03), *runs("_------")) == bits("____---")


def test_for_starts_again_after_every_break():
    assert evaluate(C(tag="run", for_=0.02), *runs("--_---_-")) == bits("_____-__")


def test_for_zero_length_is_refused_and_a_tick_long_for_waits_one_tick():
    with pytest.raises(ConfigError, match="for=0"):
        C(tag="run", for_=0)
    assert evaluate(C(tag="run", for_=0.01), *runs("---")) == bits("_--")


def test_for_on_a_comparison_and_an_edge():
    assert evaluate(C(tag="speed", ge=100, for_=0.02), *speeds(100, 100, 100, 0)) == bits("__-_")
    # An edge lasts one tick: it never holds for longer.
    assert evaluate(C(rising="run", for_=0.01), *runs("_---")) == bits("____")


def test_for_on_a_combination_and_inside_one():
    spec = C(all=[C(tag="run", for_=0.02), C(tag="speed", gt=0)])
    ticks = [
        {"run": True},
        {"run": True},
        {"run": True, "speed": 5},
        {"run": True, "speed": 5},
    ]
    assert evaluate(spec, *ticks) == bits("__--")
    assert evaluate(C(all=[C(tag="run"), C(tag="speed", gt=0)], for_=0.01), *ticks) == bits("___-")


def test_any_evaluates_every_part_every_tick_so_their_timers_stay_right():
    # eye holds the any TRUE for two ticks; run's 20 ms timer must run meanwhile, so when eye
    # clears at tick 3 the any stays TRUE on run alone.
    spec = C(any=[C(tag="eye"), C(tag="run", for_=0.02)])
    ticks = [{"eye": True, "run": True}, {}, {"eye": False}, {}, {"run": False}]
    assert evaluate(spec, *ticks) == [True, True, True, True, False]


def test_each_compiled_condition_has_its_own_timer():
    spec = C(tag="run", for_=0.02)
    first = compile_condition(spec, TABLE)
    second = compile_condition(spec, TABLE)
    on = [True, False, 0, 0.0]
    off = [False, False, 0, 0.0]
    assert [first(n * TICK_NS, on, on) for n in (1, 2, 3)] == [False, False, True]
    assert second(3 * TICK_NS, on, off) is False  # its own clock starts at its first TRUE


# ---- tags and words --------------------------------------------------------------------------


def test_tags_are_the_signals_read_once_each_in_order():
    spec = C(all=[C(tag="run"), C(rising="run"), C(any=[C(tag="speed", gt=1), C(changed="eye")])])
    assert compile_condition(spec, TABLE).tags == ("run", "speed", "eye")


@pytest.mark.parametrize(
    ("spec", "text"),
    [
        (C(tag="run"), "run = TRUE"),
        (C(tag="run", eq=False), "run = FALSE"),
        (C(tag="speed", ne=100), "speed <> 100"),
        (C(tag="speed", le=2.5), "speed <= 2.5"),
        (C(tag="level", gt=1), "level > 1"),
        (C(rising="run"), "rising run"),
        (C(falling="eye"), "falling eye"),
        (C(changed="speed"), "speed changes"),
        (C(all=[C(tag="run"), C(not_=C(tag="eye"))]), "(run = TRUE AND NOT eye = TRUE)"),
        (C(any=[C(tag="run"), C(tag="speed", ge=1)]), "(run = TRUE OR speed >= 1)"),
        (C(tag="eye", for_=4), "eye = TRUE FOR 4 s"),
        (C(tag="eye", for_=0.25), "eye = TRUE FOR 0.25 s"),
    ],
)
def test_the_condition_in_words(spec, text):
    assert describe(spec) == text
    assert compile_condition(spec, TABLE).text == text


# ---- errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (C(tag="spede", gt=1), "unknown tag 'spede' (did you mean speed?)"),
        (C(rising="xyzzy"), "unknown tag 'xyzzy' (see `vcommission io-list MODEL --all`)"),
        (C(all=[C(tag="run"), C(tag="rnu")]), "unknown tag 'rnu' (did you mean run?)"),
        (C(not_=C(changed="levle")), "unknown tag 'levle' (did you mean level?)"),
        (C(tag="speed"), "speed is INT: compare it (eq, gt, ...) rather than test it alone"),
        (C(tag="level"), "level is REAL: compare it (eq, gt, ...) rather than test it alone"),
        (C(tag="run", eq=1), "run is BOOL: compare it with eq/ne true or false"),
        (C(tag="run", gt=True), "run is BOOL: compare it with eq/ne true or false"),
        (C(tag="speed", eq=True), "speed is INT: compare it with a number"),
        (C(tag="speed", eq="fast"), "speed is INT: compare it with a number"),
        (C(rising="speed"), "rising needs a BOOL tag; speed is a number (use changed)"),
        (C(falling="level"), "falling needs a BOOL tag; level is a number (use changed)"),
    ],
)
def test_compile_errors(spec, message):
    with pytest.raises(ConditionError) as info:
        compile_condition(spec, TABLE)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({}, "a condition needs exactly one of: tag, rising, falling, changed, all, any, not"),
        ({"tag": "run", "rising": "run"}, "(found: tag, rising)"),
        ({"tag": "speed", "gt": 1, "lt": 5}, "one comparison per condition, found lt, gt"),
        ({"gt": 1}, "gt compares a tag: add 'tag'"),
        ({"all": []}, "all needs at least one condition"),
        ({"any": []}, "any needs at least one condition"),
        ({"tag": "run", "for_": -1.0}, "for=-1.0 must be a finite number of seconds > 0"),
        ({"tag": "run", "for_": float("inf")}, "for=inf must be a finite number of seconds"),
    ],
)
def test_malformed_conditions_are_refused_when_built(fields, message):
    with pytest.raises(ConfigError) as info:
        ConditionSpec(**fields)
    assert message in str(info.value)
