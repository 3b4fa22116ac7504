"""Mutation operators: each makes the expected mutant of a small program, as ST text."""

from __future__ import annotations

import pytest

from vcommission.mutation import OPERATORS, make_mutant, sites
from vcommission.plc.parser import parse
from vcommission.plc.unparse import unparse

PROGRAM = """PROGRAM P
VAR
    a AT %IX0.0 : BOOL;
    b AT %IX0.1 : BOOL;
    q AT %QX0.0 : BOOL;
    n : INT := 0;
    t : TON;
    e : R_TRIG;
END_VAR
VAR CONSTANT
    T_HOLD : TIME := T#1s;
END_VAR
e(CLK := a);
t(IN := a AND b, PT := T#4s);
IF n < 3 THEN
    n := n + 1;
END_IF;
WHILE NOT a DO
    a := TRUE;
END_WHILE;
CASE n OF
    1: q := TRUE;
    2: q := FALSE;
END_CASE;
END_PROGRAM
"""


def _canonical(text: str) -> str:
    library, issues = parse(text)
    assert not issues, issues
    return unparse(library)


def _mutant(operator: str, original: str, mutated: str) -> str:
    matching = [
        s
        for s in sites(PROGRAM)
        if (s.operator, s.original, s.mutated) == (operator, original, mutated)
    ]
    return make_mutant(PROGRAM, matching[0]).source  # the first in source order


@pytest.mark.parametrize(
    ("operator", "original", "mutated", "before", "after"),
    [
        ("ror", "n < 3", "n <= 3", "IF n < 3 THEN", "IF n <= 3 THEN"),
        ("ror", "n < 3", "n <> 3", "IF n < 3 THEN", "IF n <> 3 THEN"),
        ("lcr", "a AND b", "a XOR b", "IN := a AND b", "IN := a XOR b"),
        ("neg", "n < 3", "NOT (n < 3)", "IF n < 3 THEN", "IF NOT (n < 3) THEN"),
        ("neg", "NOT a", "a", "WHILE NOT a DO", "WHILE a DO"),
        ("bool", "TRUE", "FALSE", "a := TRUE;", "a := FALSE;"),
        ("int", "3", "4", "IF n < 3 THEN", "IF n < 4 THEN"),
        ("int", "1", "0", "n := n + 1;", "n := n + 0;"),
        ("timer", "PT := T#4s", "PT := T#2s (halved)", "PT := T#4s", "PT := T#2s"),
        ("timer", "PT := T#4s", "PT := T#8s (doubled)", "PT := T#4s", "PT := T#8s"),
        ("timer", "T_HOLD := T#1s", "T_HOLD := T#500ms (halved)", "T#1s;", "T#500ms;"),
        ("cond", "n < 3", "TRUE", "IF n < 3 THEN", "IF TRUE THEN"),
        ("cond", "n < 3", "FALSE", "IF n < 3 THEN", "IF FALSE THEN"),
        ("trig", "e : R_TRIG", "e : F_TRIG", "e : R_TRIG;", "e : F_TRIG;"),
        ("timer_kind", "t : TON", "t : TOF", "t : TON;", "t : TOF;"),
    ],
)
def test_each_operator_changes_exactly_the_site(operator, original, mutated, before, after):
    expected = _canonical(PROGRAM).replace(before, after, 1)
    assert expected != _canonical(PROGRAM), "the replacement must apply"
    assert _mutant(operator, original, mutated) == expected


def test_assignment_deleted_and_case_arm_removed():
    deleted = _mutant("assign", "n := n + 1;", "(deleted)")
    assert "n := n + 1;" not in deleted
    assert _canonical(deleted) == deleted  # a program the parser accepts
    removed = _mutant("case", "CASE arm 2:", "(arm removed)")
    assert "q := FALSE;" not in removed and "q := TRUE;" in removed


def test_every_operator_has_a_site_in_the_program_and_ids_are_stable():
    found = sites(PROGRAM)
    assert {s.operator for s in found} == set(OPERATORS)
    assert [s.index for s in found] == list(range(len(found)))
    assert found == sites(PROGRAM)  # the same source gives the same ids
    only = sites(PROGRAM, operators={"ror"})
    assert {s.operator for s in only} == {"ror"} and len(only) == 5


def test_sites_carry_their_enclosing_statement_and_declarations_none():
    by_operator = {s.operator: s for s in sites(PROGRAM)}
    assert by_operator["ror"].statement == (15, 1)  # the IF
    assert by_operator["trig"].statement == (0, 0)  # a declaration: every scenario uses it


def test_comments_and_strings_are_never_mutated():
    source = PROGRAM.replace("END_VAR\nVAR CONSTANT", "END_VAR\n(* a < b AND TRUE *)\nVAR CONSTANT")
    assert len(sites(source)) == len(sites(PROGRAM))
