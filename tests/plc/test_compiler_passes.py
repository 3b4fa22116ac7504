"""Unit tests of the compiler's passes, each on its own data (no runtime, no scan)."""

from __future__ import annotations

import pytest

from vcommission.plc import nodes as n
from vcommission.plc.compiler import Compiler
from vcommission.plc.compiler.diagnostics import Diagnostics, describe
from vcommission.plc.compiler.emitter import Emitter
from vcommission.plc.compiler.lower_expr import (
    Value,
    convert_code,
    fold,
    lower,
    wrap_code,
    wrapped,
)
from vcommission.plc.compiler.stdfuncs import is_standard_function
from vcommission.plc.compiler.symbols import NOT_CONST, Scope, SymbolTable
from vcommission.plc.compiler.types_check import TypeChecker
from vcommission.plc.parser import parse
from vcommission.plc.types import ANY_INT, ELEMENTARY, REAL, ArrayType, EnumType, StructType

INT, DINT, BYTE = ELEMENTARY["INT"], ELEMENTARY["DINT"], ELEMENTARY["BYTE"]

DECLS = """
TYPE
    E_Mode : (IDLE, RUN := 5, STOP);
    S_Box : STRUCT size : INT; tags : ARRAY[1..3] OF BOOL; END_STRUCT;
END_TYPE
VAR_GLOBAL CONSTANT N : INT := 2 + 1; END_VAR
VAR_GLOBAL g : REAL; END_VAR
FUNCTION Twice : INT
VAR_INPUT v : INT; END_VAR
VAR_OUTPUT big : BOOL; END_VAR
Twice := v * 2;
END_FUNCTION
FUNCTION Half : INT
VAR_INPUT v : INT; END_VAR
Half := v / 2;
END_FUNCTION
FUNCTION_BLOCK Fb
VAR_INPUT i : BOOL; END_VAR
VAR_OUTPUT q : BOOL; END_VAR
VAR hidden : INT; END_VAR
END_FUNCTION_BLOCK
PROGRAM Main
VAR CONSTANT K : INT := N + 1; END_VAR
VAR a, b : INT; w : BYTE; d : DINT; r : REAL; m : E_Mode; box : S_Box; END_VAR
VAR arr : ARRAY[1..K] OF INT; END_VAR
END_PROGRAM
"""


class CheckAndLower:
    """An expression through type checking (which annotates it), then lowering (its code)."""

    def __init__(self, checker: TypeChecker) -> None:
        self.checker = checker

    def expr(self, e: n.Expr, scope: Scope) -> Value:
        typed = self.checker.expr(e, scope)
        return lower(e) if typed.type.name != "<error>" else Value("0", typed.type)


def passes(source: str = DECLS) -> tuple[SymbolTable, CheckAndLower, Diagnostics, Scope]:
    """The symbols pass run on ``source``; checking + lowering and Main's scope, for expressions."""
    library, issues = parse(source)
    assert not issues
    diagnostics = Diagnostics(library.file)
    symbols = SymbolTable(library, diagnostics)
    checker = TypeChecker(symbols, diagnostics)
    symbols.evaluate = checker.expr
    symbols.declare_library()
    scope = symbols.pou_scope(next(p for p in library.pous if p.name == "Main"))
    return symbols, CheckAndLower(checker), diagnostics, scope


def expression(text: str) -> n.Expr:
    body = parse(f"PROGRAM P\nx := {text};\nEND_PROGRAM\n")[0].pous[0].body[0]
    assert isinstance(body, n.Assign)
    return body.value


# ---- symbols -------------------------------------------------------------------------------


def test_symbols_declare_types_signatures_interfaces_and_globals() -> None:
    symbols, _, diagnostics, scope = passes()
    assert not diagnostics.issues
    mode = symbols.types["e_mode"]
    assert isinstance(mode, EnumType)
    assert {k: v for k, (_, v) in mode.values.items()} == {"idle": 0, "run": 5, "stop": 6}
    box = symbols.types["s_box"]
    assert isinstance(box, StructType)
    tags = box.fields["tags"][1]
    assert isinstance(tags, ArrayType) and tags.dims == ((1, 3),)
    assert symbols.globals["n"].const == 3
    twice = symbols.functions["twice"]
    assert twice.result is INT and [p[1] for p in twice.extra_results] == ["big"]
    fb = symbols.fb_types["fb"]
    assert fb.inputs() == ["i"] and fb.members["hidden"][2] == "VAR"
    assert scope.lookup("a").py == "self.a"  # type: ignore[union-attr]
    arr = scope.lookup("arr").type  # type: ignore[union-attr]
    assert isinstance(arr, ArrayType) and arr.dims == ((1, 4),)  # K = N + 1, folded
    assert scope.lookup("g").py == "_G.g"  # type: ignore[union-attr]


def test_symbols_report_declaration_errors_with_their_place() -> None:
    source = "TYPE T : ARRAY[5..1] OF Nothing; END_TYPE\nPROGRAM T\nEND_PROGRAM\n"
    library, _ = parse(source)
    diagnostics = Diagnostics("x.st")
    symbols = SymbolTable(library, diagnostics)
    symbols.evaluate = TypeChecker(symbols, diagnostics).expr
    symbols.declare_library()
    assert [(i.line, i.message) for i in diagnostics.issues] == [
        (2, "POU 't' is already declared at line 1"),
        (1, "unknown type 'Nothing'"),
        (1, "array bounds 5..1: the upper is below the lower"),
    ]
    assert all(i.file == "x.st" for i in diagnostics.issues)


# ---- type checking -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "type_name"),
    [
        ("a + b", "INT"),
        ("a + d", "DINT"),
        ("a < 2", "BOOL"),
        ("r * 2", "REAL"),
        ("w AND 16#0F", "BYTE"),
        ("m = RUN", "BOOL"),
        ("box.tags[2]", "BOOL"),
        ("Half(v := a)", "INT"),
        ("INT_TO_REAL(a) / 3.0", "REAL"),
        ("MAX(a, 3)", "INT"),
        ("1 + 2", "integer literal"),
    ],
)
def test_checker_annotates_every_expression_with_its_iec_type(text: str, type_name: str) -> None:
    _, checker, diagnostics, scope = passes()
    e = expression(text)
    value = checker.expr(e, scope)
    assert not diagnostics.issues
    assert str(e.iec_type) == type_name == str(value.type)
    if isinstance(e, n.Binary):  # the operands are typed too
        assert e.left.iec_type is not None and e.right.iec_type is not None


def test_checker_folds_constants_and_wraps_at_the_point_of_use() -> None:
    _, checker, _, scope = passes()
    folded = checker.expr(expression("N * 100 + 7"), scope)
    assert (folded.type, folded.const, folded.code) == (INT, 307, "307")
    overflow = checker.expr(expression("INT#32767 + INT#1"), scope)
    assert overflow.const == -32768  # wrapped like the run-time code
    raw = checker.expr(expression("a + b"), scope)
    assert raw.raw and raw.code == "(self.a + self.b)"  # wrapped only where it is used
    compared = checker.expr(expression("a + b > 0"), scope)
    assert compared.code == "((((((self.a + self.b)) + 32768) & 65535) - 32768) > 0)"
    single = checker.expr(expression("r + 0.1"), scope)
    assert single.code == "_f32((self.r + 0.10000000149011612))"  # REAL rounds every result


def test_checker_reports_type_errors_at_the_operator() -> None:
    _, checker, diagnostics, scope = passes()
    e = expression("a + m")
    assert checker.expr(e, scope).type.name == "<error>"
    (issue,) = diagnostics.issues
    assert (issue.line, issue.col) == (2, 6)
    assert "INT" in issue.message and "E_Mode" in issue.message


# ---- lowering, standard functions, emission, diagnostics ------------------------------------


def test_lowering_is_pure_code_building() -> None:
    assert wrap_code("x", INT) == "((((x) + 32768) & 65535) - 32768)"
    assert wrap_code("x", BYTE) == "((x) & 255)"
    assert wrap_code("x", REAL) == "x"
    assert wrapped(Value("x", BYTE, raw=True)) == "((x) & 255)"
    assert wrapped(Value("x", BYTE)) == "x"
    assert convert_code("x", INT, REAL) == "_f32(float(x))"
    assert convert_code("x", REAL, INT) == "((((_round(x)) + 32768) & 65535) - 32768)"
    three = fold("(1 + 2)", ANY_INT, Value("1", ANY_INT, 1), Value("2", ANY_INT, 2), "+")
    assert (three.code, three.const) == ("3", 3)
    unknown = fold("(a + 2)", INT, Value("a", INT), Value("2", ANY_INT, 2), "+", raw=True)
    assert unknown.const is NOT_CONST and unknown.raw


def test_standard_functions_are_known_by_name() -> None:
    assert is_standard_function("max") and is_standard_function("INT_TO_REAL")
    assert is_standard_function("TRUNC") and not is_standard_function("Twice")
    assert not is_standard_function("FOO_TO_BAR")


def test_emitter_maps_lines_and_counts_coverage() -> None:
    out = Emitter(coverage=True)
    out.current_line = 7
    out.emit(0, "if x:")
    out.count_statement(n.Jump(7, 3, "RETURN"), 1)
    out.count_branch(9, "ELSE", 1)
    assert out.source() == "if x:\n    _c[0] += 1\n    _b[0] += 1\n"
    assert out.line_map == [7, 7, 9]
    assert out.statements == [(7, 3)] and out.branches == [(9, "ELSE")]
    bare = Emitter(coverage=False)
    bare.count_statement(n.Jump(1, 1, "RETURN"), 0)
    bare.count_branch(2, "IF", 0)
    assert bare.source() == "pass\n" and bare.statements == [(1, 1)]


def test_diagnostics_locate_and_describe() -> None:
    diagnostics = Diagnostics("cell.st")
    e = expression("motor.speed[3].4")
    diagnostics.error(e, "boom")
    diagnostics.error(None, "no place")
    assert [(i.file, i.line, i.col) for i in diagnostics.issues] == [
        ("cell.st", 2, 20),  # a selector is where its "." or "[" is
        ("cell.st", 0, 0),
    ]
    assert describe(e) == "motor.speed[...].4"


def test_the_pipeline_wires_the_passes_in_order() -> None:
    library, _ = parse(DECLS)
    compiler = Compiler(library, coverage=False)
    unit = compiler.compile()
    assert not compiler.issues
    assert unit.instances == {"Main": "P_main"}
    assert "class S_s_box:" in unit.python and "def F_twice(v_v):" in unit.python
    assert compiler.symbols.evaluate == compiler.checker.expr
