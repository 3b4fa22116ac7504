"""The typed tree: type checking as its own pass, inspected without generating code."""

from __future__ import annotations

from vcommission.plc import nodes as n
from vcommission.plc.compiler import TypedProgram, check_program, compile_library
from vcommission.plc.compiler.lower_expr import lower
from vcommission.plc.compiler.symbols import NOT_CONST
from vcommission.plc.parser import parse

SOURCE = """
VAR_GLOBAL CONSTANT LIMIT_MS : INT := 100 * 2 + 50; END_VAR
PROGRAM Main
VAR
    count : INT;
    total : DINT;
    delay : TIME;
    timer : TON;
    done : BOOL;
    ratio : REAL;
END_VAR
count := count + 1;
total := total + count;
done := count > 10;
delay := T#1s + T#500ms;
delay := delay * 2;
timer(IN := done, PT := delay);
done := timer.Q;
ratio := INT_TO_REAL(count) / 4.0;
count := LIMIT_MS;
END_PROGRAM
"""


def assignments(program: TypedProgram) -> list[n.Assign]:
    (main,) = program.library.pous
    return [s for s in main.body if isinstance(s, n.Assign)]


def test_check_program_types_every_expression_without_generating_code() -> None:
    program = check_program(SOURCE)
    assert isinstance(program, TypedProgram) and program.ok and not program.issues
    a = assignments(program)
    # INT + literal: the literal takes the INT's type; the sum is an INT (not folded).
    plus = a[0].value
    assert isinstance(plus, n.Binary)
    assert str(plus.iec_type) == "INT" and program.const_of(plus) is NOT_CONST
    assert str(program.type_of(plus.right)) == "integer literal" and plus.right.typed.const == 1
    assert plus.typed.operand is plus.iec_type  # the type both operands are lowered at
    # INT + DINT meet at DINT.
    assert str(a[1].value.iec_type) == "DINT"
    # A comparison is BOOL, its operands met at INT.
    compare = a[2].value
    assert str(compare.iec_type) == "BOOL" and str(compare.typed.operand) == "INT"
    # TIME arithmetic stays TIME, and constant TIME folds (in nanoseconds).
    delay = a[3].value
    assert str(delay.iec_type) == "TIME"
    assert delay.typed.const == 1_500_000_000
    scaled = a[4].value  # TIME * number: a TIME, computed at run time
    assert str(scaled.iec_type) == "TIME" and scaled.typed.const is NOT_CONST
    # A function block output field: TON.Q is a BOOL, not assignable from outside.
    q = a[5].value
    assert isinstance(q, n.Field) and str(q.iec_type) == "BOOL"
    assert not q.typed.lvalue and str(q.base.iec_type) == "TON"
    # A conversion and REAL division.
    ratio = a[6].value
    assert str(ratio.iec_type) == "REAL"
    assert isinstance(ratio, n.Binary) and str(ratio.left.iec_type) == "REAL"
    # A CONSTANT is folded where it is read.
    limit = a[7].value
    assert isinstance(limit, n.Name) and limit.typed.const == 250 and str(limit.iec_type) == "INT"
    # Assignment targets are typed (and assignable).
    assert all(s.target.typed is not None and s.target.typed.lvalue for s in a)


def test_the_typed_tree_alone_gives_the_code() -> None:
    program = check_program(SOURCE)
    a = assignments(program)
    assert lower(a[0].value).code == "(self.count + 1)"  # raw until stored
    assert lower(a[3].value).code == "1500000000"  # folded
    assert lower(a[7].value).code == "250"
    assert lower(a[4].value).code == "(self.delay * 2)"
    unit, issues = compile_library(parse(SOURCE)[0])
    assert not issues and unit is not None and "self.count = 250" in unit.python


def test_check_program_reports_every_issue_like_the_compiler() -> None:
    source = (
        "PROGRAM P\nVAR a : INT; b : BOOL; END_VAR\na := b;\nb := a + TRUE;\nEXIT;\nEND_PROGRAM\n"
    )
    program = check_program(source, file="p.st")
    _, issues = compile_library(parse(source, "p.st")[0])
    assert [(i.line, i.message) for i in program.issues] == [(i.line, i.message) for i in issues]
    assert [i.line for i in program.issues] == [3, 4, 5]
    assert not program.ok
    # An error-free library only yields code: with errors, nothing is generated.
    unit, _ = compile_library(parse(source, "p.st")[0])
    assert unit is not None and unit.python.strip() == ""


def test_check_program_takes_a_parsed_library_and_keeps_syntax_errors_first() -> None:
    library, _ = parse(SOURCE)
    assert check_program(library).ok
    broken = check_program("PROGRAM P\nx := ;\nEND_PROGRAM\n")
    assert broken.issues and broken.issues[0].line == 2
    assert all(i.message != "no PROGRAM to run" for i in broken.issues)
