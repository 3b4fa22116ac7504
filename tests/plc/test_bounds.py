"""Bounded ST input: what CPython or memory cannot take is a located error, never a crash.

Each bound is tested on both sides: the largest program within it compiles (and runs), one
step past it is an error at the line and column where it goes too far, reported fast.
"""

from __future__ import annotations

import time

import pytest

from vcommission.errors import PlcCompileError
from vcommission.plc import compile_source
from vcommission.plc.compiler.symbols import MAX_ARRAY_CELLS
from vcommission.plc.compiler.types_check import (
    MAX_EXPRESSION_DEPTH,
    MAX_LOOP_NESTING,
    MAX_NESTING,
)
from vcommission.plc.parser import MAX_SYNTAX_DEPTH


def program(body: str, declarations: str = "") -> str:
    loop_vars = " ".join(f"i{k} : INT;" for k in range(MAX_LOOP_NESTING + 1))
    return (
        f"PROGRAM Main\nVAR x : INT; b : BOOL; r : REAL; {loop_vars} {declarations}\nEND_VAR\n"
        f"{body}\nEND_PROGRAM\n"
    )


def nested_ifs(depth: int) -> str:
    return "IF b THEN\n" * depth + "x := 1;\n" + "END_IF;\n" * depth


def nested_fors(depth: int) -> str:
    heads = "".join(f"FOR i{k} := 0 TO 1 DO\n" for k in range(depth))
    return heads + "x := x + 1;\n" + "END_FOR;\n" * depth


def deep_expression(depth: int) -> str:
    return "x := " + "(x + " * depth + "1" + ")" * depth + ";"


def issues_of(source: str) -> list[str]:
    started = time.process_time()
    with pytest.raises(PlcCompileError) as raised:
        compile_source(source, file="bounds.st")
    assert time.process_time() - started < 5.0  # refused quickly, not after a long grind
    return [str(issue) for issue in raised.value.issues]


@pytest.mark.parametrize(
    ("within", "past", "message", "line"),
    [
        (nested_ifs(MAX_NESTING), nested_ifs(MAX_NESTING + 1),
         f"statements nested more than {MAX_NESTING} deep", 4 + MAX_NESTING),
        (nested_fors(MAX_LOOP_NESTING), nested_fors(MAX_LOOP_NESTING + 1),
         f"loops nested more than {MAX_LOOP_NESTING} deep", 4 + MAX_LOOP_NESTING),
        (deep_expression(MAX_EXPRESSION_DEPTH), deep_expression(MAX_EXPRESSION_DEPTH + 1),
         f"expression nested more than {MAX_EXPRESSION_DEPTH} deep", 4),
    ],
    ids=["statements", "loops", "expression"],
)  # fmt: skip
def test_nesting_up_to_the_bound_compiles_and_past_it_is_located(within, past, message, line):
    compiled = compile_source(program(within), file="bounds.st")
    assert compiled is not None
    (issue,) = issues_of(program(past))
    assert issue.startswith(f"bounds.st:{line}:") and message in issue


def test_a_tree_deeper_than_any_pass_could_walk_is_a_syntax_level_error():
    issues = issues_of(program("b := " + "NOT " * 3000 + "b;\n" + deep_expression(1000)))
    assert any(f"nested more than {MAX_SYNTAX_DEPTH} levels deep" in i for i in issues), issues
    assert all("internal" not in i.lower() for i in issues)


def test_an_array_is_bounded_over_all_its_dimensions_and_fields():
    side = int(MAX_ARRAY_CELLS**0.5)
    compiled = compile_source(program("x := 1;", f"a : ARRAY[1..{side}, 1..{side}] OF BYTE;"))
    assert compiled is not None
    (issue,) = issues_of(program("x := 1;", "a : ARRAY[0..29999, 0..29999] OF INT;"))
    assert "holds 900,000,000 values; the limit is 1,000,000" in issue
    assert issue.startswith("bounds.st:2:")  # the declarations line, at the type
    struct = (
        "TYPE Cell : STRUCT v : ARRAY[1..1000] OF INT; w : INT; END_STRUCT; END_TYPE\n"
        + program("x := 1;", "cells : ARRAY[1..1000] OF Cell;")
    )
    (issue,) = issues_of(struct)
    assert "holds 1,001,000 values" in issue
