"""``-k`` expressions: words, ``and``/``or``/``not``, parentheses, and what a bad one says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from vcommission.scenario.keywords import KeywordError, matcher
from vcommission.scenario.loader import Scenario
from vcommission.scenario.schema import CheckSpec, FinalStateSpec, ScenarioFile


def scenario(
    name: str,
    file: str = "scenarios/line/s.yaml",
    requirements: tuple[str, ...] = (),
    params: dict[str, Any] | None = None,
) -> Scenario:
    spec = ScenarioFile(
        name=name,
        model="model",
        requirements=list(requirements),
        duration=1.0,
        checks=[CheckSpec(final_state=FinalStateSpec())],
    )
    return Scenario(file, spec, Path("model"), None, None, params or {})


START = scenario("start runs the belt", "scenarios/sorting_line/r1_start.yaml", ("R1",))
JAM = scenario("jam at the exit", "scenarios/sorting_line/r7_jam_exit.yaml", ("R7", "R4"))
SLIP = scenario("belt slip", "scenarios/sorting_line/fault_belt_slip.yaml", ("R3", "R5"))
SEEDED = scenario("sorting", "scenarios/sorting_line/r3_sort_seeds.yaml", ("R3",), {"seed": 2})
ALL = [START, JAM, SLIP, SEEDED]


def selected(expression: str) -> list[str]:
    select = matcher(expression)
    return [s.name for s in ALL if select(s)]


# ---- words -----------------------------------------------------------------------------------


def test_a_word_matches_a_substring_of_the_name_case_insensitively():
    assert selected("belt") == ["start runs the belt", "belt slip"]
    assert selected("BELT") == selected("belt")
    assert selected("sor") == ["sorting [seed=2]"]


def test_a_word_matches_the_file_name_but_not_its_folder():
    assert selected("r7_jam") == ["jam at the exit"]
    assert selected("fault_belt_slip.yaml") == ["belt slip"]
    assert selected("sorting_line") == []  # every file is in scenarios/sorting_line/


def test_a_word_matches_a_requirement_id():
    assert selected("R4") == ["jam at the exit"]
    assert selected("r3") == ["belt slip", "sorting [seed=2]"]


def test_a_word_ending_in_a_digit_does_not_match_a_longer_number():
    r10 = scenario("R10 debounce", "scenarios/line/r10_debounce.yaml", ("R10",))
    r1 = scenario("R1 start", "scenarios/line/r1_start.yaml", ("R1",))
    select = matcher("R1")
    assert [s.name for s in (r1, r10) if select(s)] == ["R1 start"]
    assert matcher("R10")(r10) and not matcher("R10")(r1)
    assert matcher("R")(r10) and matcher("R")(r1)  # no digit at the end: a plain substring


def test_a_matrix_case_is_matched_by_its_parameters():
    assert selected("seed=2") == ["sorting [seed=2]"]


def test_a_word_matching_nothing_selects_nothing():
    assert selected("robot") == []


# ---- operators -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "names"),
    [
        ("belt and R1", ["start runs the belt"]),
        ("jam or slip", ["jam at the exit", "belt slip"]),
        ("not belt", ["jam at the exit", "sorting [seed=2]"]),
        ("belt and not slip", ["start runs the belt"]),
        ("not not jam", ["jam at the exit"]),
        # Operators are words of their own, in any case.
        ("JAM OR Slip", ["jam at the exit", "belt slip"]),
        ("jam Or NOT r3", ["start runs the belt", "jam at the exit"]),
    ],
)
def test_and_or_not(expression, names):
    assert selected(expression) == names


def test_and_binds_tighter_than_or_and_not_tighter_than_and():
    # start or (slip and R1): slip has no R1.
    assert selected("start or slip and R1") == ["start runs the belt"]
    # (not jam) and R4: the jam is the only R4 scenario.
    assert selected("not jam and R4") == []
    # Chains combine left to right.
    assert selected("R3 and belt and slip") == ["belt slip"]
    assert selected("jam or slip or start") == [
        "start runs the belt",
        "jam at the exit",
        "belt slip",
    ]


def test_parentheses_group():
    assert selected("(start or slip) and R1") == ["start runs the belt"]
    assert selected("(start or slip) and R5") == ["belt slip"]
    assert selected("not (belt or jam)") == ["sorting [seed=2]"]
    assert selected("((jam))") == ["jam at the exit"]


def test_parentheses_need_no_spaces_around_them():
    assert selected("(start or slip)and R1") == selected("(start or slip) and R1")
    assert selected("not(belt or jam)") == ["sorting [seed=2]"]


# ---- bad expressions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "empty expression"),
        ("   ", "empty expression"),
        ("belt and", "expression ends too early"),
        ("not", "expression ends too early"),
        ("(belt or jam", "missing ')'"),
        ("belt jam", "unexpected 'jam' in 'belt jam'"),
        ("belt )", "unexpected ')' in 'belt )'"),
        ("and belt", "unexpected 'and'"),
        ("belt or or jam", "unexpected 'or'"),
        (")", "unexpected ')'"),
        ("()", "unexpected ')'"),
    ],
)
def test_a_bad_expression_is_refused_before_anything_runs(expression, message):
    with pytest.raises(KeywordError) as info:
        matcher(expression)
    assert str(info.value) == message
