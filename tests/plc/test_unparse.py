"""The unparser round-trips every ST source in the repository; nodes know where they end.

For each source that parses: ``parse(unparse(tree))`` equals ``tree`` (positions aside),
unparsing is idempotent, and the unparsed text compiles to the very same Python (so it
scans identically). The sources are every ``.st`` file under ``plant_models/`` and the ST
programs embedded in the PLC tests' tables and constants (the conformance table, the awlsim
cross-check, the error tests and the CLI tests).
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pytest

from vcommission.config.model import load_model
from vcommission.plc import compile_source
from vcommission.plc import nodes as n
from vcommission.plc.compiler import compile_library
from vcommission.plc.parser import parse
from vcommission.plc.unparse import unparse

ROOT = Path(__file__).resolve().parents[2]
SORTING = ROOT / "plant_models/sorting_line/plc/sorting.st"
_POSITIONS = {"line", "col", "end_line", "end_column", "else_line"}
_TEST_MODULES = (
    "tests.plc.test_conformance",
    "tests.plc.test_awlsim_crosscheck",
    "tests.plc.test_errors",
    "tests.plc.test_cli_plc",
)


def _st_texts(value: object, found: dict[str, None]) -> None:
    """Every ST program inside a test module's value (strings, params, cases, lists)."""
    if isinstance(value, str):
        if "END_PROGRAM" in value or "END_FUNCTION" in value or "END_TYPE" in value:
            found[value] = None
    elif isinstance(value, (list, tuple)):
        for item in value:
            _st_texts(item, found)
    elif hasattr(value, "values") and hasattr(value, "marks"):  # pytest.param
        _st_texts(value.values, found)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        _st_texts([getattr(value, f.name) for f in dataclasses.fields(value)], found)


def _sources() -> list[pytest.param]:
    params = [
        pytest.param(path.read_text(encoding="utf-8"), id=str(path.relative_to(ROOT)))
        for path in sorted(ROOT.glob("plant_models/**/*.st"))
    ]
    for name in _TEST_MODULES:
        try:
            module = importlib.import_module(name)
        except BaseException:  # a module that skips itself (pytest.skip) has no sources
            continue
        found: dict[str, None] = {}
        for value in vars(module).values():
            _st_texts(value, found)
        for i, text in enumerate(found):
            _, issues = parse(text)
            if not issues:  # a source with a syntax error has no tree to round-trip
                params.append(pytest.param(text, id=f"{name.rsplit('.', 1)[1]}-{i}"))
    return params


SOURCES = _sources()


def shape(value: object) -> object:
    """A node tree as plain data without positions: what round-tripping must keep."""
    if isinstance(value, n.EnumDecl):
        values = [(name, shape(expr)) for name, expr, _line in value.values]
        return ("EnumDecl", value.name, values, value.base, value.default)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [
            (f.name, shape(getattr(value, f.name)))
            for f in dataclasses.fields(value)
            if f.compare and f.name not in _POSITIONS and f.name != "source"
        ]
        return (type(value).__name__, fields)
    if isinstance(value, (list, tuple)):
        return [shape(item) for item in value]
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    return value


def test_every_source_is_found() -> None:
    ids = [p.id for p in SOURCES]
    assert any(i.startswith("plant_models/") for i in ids)
    assert sum(i.startswith("test_conformance-") for i in ids) > 80


@pytest.mark.parametrize("source", SOURCES)
def test_round_trip(source: str) -> None:
    tree, issues = parse(source)
    assert not issues
    text = unparse(tree)
    again, issues = parse(text)
    assert not issues, f"{issues}\n{text}"
    assert shape(again) == shape(tree)
    assert unparse(again) == text


@pytest.mark.parametrize("source", SOURCES)
def test_unparsed_source_compiles_to_the_same_python(source: str) -> None:
    unit, issues = compile_library(parse(source)[0])
    again, again_issues = compile_library(parse(unparse(parse(source)[0]))[0])
    assert len(again_issues) == len(issues)
    if not issues:
        assert unit is not None and again is not None
        assert again.python == unit.python
        assert [label for _, label in again.branches] == [label for _, label in unit.branches]


def test_unparsed_sorting_st_binds_to_the_model_and_scans_the_same_code() -> None:
    model = load_model(ROOT / "plant_models/sorting_line/model.yaml")
    source = SORTING.read_text(encoding="utf-8")
    original = compile_source(source, model, file="sorting.st")
    unparsed = compile_source(unparse(parse(source)[0]), model, file="sorting.st")
    assert unparsed.unit.python == original.unit.python
    assert unparsed.io == original.io


def test_readable_layout() -> None:
    source = (
        "PROGRAM Main VAR a, b : INT := 16#10; t : TIME := T#1.5s; END_VAR "
        "IF a > 1 AND NOT (b = 2) THEN a := (a + 1) * 2; ELSIF b < 0 THEN ; "
        "ELSE b := -(a - 1); END_IF; END_PROGRAM"
    )
    assert unparse(parse(source)[0]) == (
        "PROGRAM Main\n"
        "VAR\n"
        "    a, b : INT := 16;\n"
        "    t : TIME := T#1s500ms;\n"
        "END_VAR\n"
        "    IF a > 1 AND NOT (b = 2) THEN\n"
        "        a := (a + 1) * 2;\n"
        "    ELSIF b < 0 THEN\n"
        "        ;\n"
        "    ELSE\n"
        "        b := -(a - 1);\n"
        "    END_IF;\n"
        "END_PROGRAM\n"
    )


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("a - (b - c)", "a - (b - c)"),
        ("(a - b) - c", "a - b - c"),
        ("a ** (b ** c)", "a ** (b ** c)"),
        ("-(a ** 2)", "-(a ** 2)"),
        ("(-a) ** 2", "-a ** 2"),
        ("- (-a)", "-(-a)"),
        ("NOT (a OR b) XOR c", "NOT (a OR b) XOR c"),
        ("a & (b OR c)", "a & (b OR c)"),
        ("x[i + 1, 2].f.3", "x[i + 1, 2].f.3"),
        ("INT#-5 + REAL#1.0E3 * LREAL#2.5", "INT#-5 + REAL#1000.0 * LREAL#2.5"),
        ("'it$'s $$5$N'", "'it$'s $$5$N'"),
        ("E_State#RUNNING", "E_State#RUNNING"),
        ("1.0E20 + 2.5E-7", "1.0E+20 + 2.5E-07"),
        ("T#-1d2h3m4s5ms6us7ns", "T#-1d2h3m4s5ms6us7ns"),
        ("MAX(IN1 := a, IN2 := 3)", "MAX(IN1 := a, IN2 := 3)"),
    ],
)
def test_expressions(expr: str, text: str) -> None:
    source = f"PROGRAM Main\nx := {expr};\nEND_PROGRAM\n"
    assignment = parse(source)[0].pous[0].body[0]
    assert isinstance(assignment, n.Assign)
    assert unparse(assignment.value) == text
    again = parse(f"PROGRAM Main\nx := {text};\nEND_PROGRAM\n")[0].pous[0].body[0]
    assert shape(again) == shape(assignment)


def test_declarations_and_configuration() -> None:
    source = """
TYPE
    E_Mode : (IDLE, RUN := 5, STOP) := RUN;
    S : STRUCT a : INT; b : ARRAY[1..2, 0..1] OF BOOL; END_STRUCT;
    Level : INT(0..100);
    Name : STRING[20] := 'x';
END_TYPE
FUNCTION_BLOCK Fb
VAR_INPUT i : BOOL; END_VAR
VAR_OUTPUT q : BOOL; END_VAR
q := i;
END_FUNCTION_BLOCK
FUNCTION Twice : INT
VAR_INPUT v : INT; END_VAR
Twice := v * 2;
END_FUNCTION
PROGRAM Main
VAR RETAIN
    arr : ARRAY[0..5] OF INT := [2(1), 3, 2(0)];
    s : S := (a := 1, b := [TRUE, FALSE, 2()]);
    f : Fb;
    o AT %QX0.1 : BOOL;
    i : INT;
END_VAR
f(i := TRUE, q => o);
f(NOT q => o);
CASE arr[0] OF
    1, 2..3: arr[1] := Twice(v := 2);
    4: ;
ELSE
    RETURN;
END_CASE;
FOR i := 10 TO 0 BY -2 DO EXIT; END_FOR;
WHILE FALSE DO CONTINUE; END_WHILE;
REPEAT arr[2] := arr[2] + 1; UNTIL arr[2] > 3 END_REPEAT;
END_PROGRAM
VAR_GLOBAL CONSTANT k : INT := 3; END_VAR
CONFIGURATION Cell
    TASK fast(INTERVAL := T#20ms, PRIORITY := 1);
    PROGRAM inst WITH fast : Main;
END_CONFIGURATION
"""
    tree, issues = parse(source)
    assert not issues
    text = unparse(tree)
    assert "    arr : ARRAY[0..5] OF INT := [2(1), 3, 2(0)];\n" in text
    assert "    E_Mode : (IDLE, RUN := 5, STOP) := RUN;\n" in text
    assert "    TASK fast(INTERVAL := T#20ms, PRIORITY := 1);\n" in text
    assert "    f(NOT q => o);\n" in text
    again, issues = parse(text)
    assert not issues, text
    assert shape(again) == shape(tree)
    unit, check_issues = compile_library(tree)
    assert not check_issues
    assert compile_library(again)[0].python == unit.python  # type: ignore[union-attr]


def test_nodes_carry_their_end_positions() -> None:
    source = (
        "PROGRAM Main\n"  # 1
        "VAR\n"  # 2
        "    a : INT;\n"  # 3
        "    s : ARRAY[1..3] OF INT;\n"  # 4
        "END_VAR\n"  # 5
        "a := a + 10;\n"  # 6
        "IF a > 3 THEN\n"  # 7
        "    s[2] := MAX(a, 2);\n"  # 8
        "END_IF;\n"  # 9
        "END_PROGRAM\n"  # 10
    )
    pou = parse(source)[0].pous[0]
    assert (pou.line, pou.col, pou.end_line, pou.end_column) == (1, 1, 10, 12)
    decl = pou.blocks[0].decls[1]
    assert (decl.line, decl.col, decl.end_line, decl.end_column) == (4, 5, 4, 28)
    assign, if_ = pou.body
    assert isinstance(assign, n.Assign) and isinstance(assign.value, n.Binary)
    assert (assign.end_line, assign.end_column) == (6, 12)  # before the ';'
    plus = assign.value
    assert (plus.col, plus.end_column) == (6, 12)
    assert (plus.right.col, plus.right.end_column) == (10, 12)
    assert (if_.line, if_.end_line, if_.end_column) == (7, 9, 8)
    inner = if_.branches[0][1][0]
    assert isinstance(inner, n.Assign) and isinstance(inner.target, n.Index)
    assert inner.target.end_column == 9  # s[2]
    assert inner.target.base.end_column == 6  # s
    assert (inner.value.col, inner.value.end_column) == (13, 22)  # MAX(a, 2)


def _expressions(value: object) -> list[n.Expr]:
    found = []
    if isinstance(value, n.Expr):
        found.append(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            if f.name != "iec_type":
                found += _expressions(getattr(value, f.name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += _expressions(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += _expressions(item)
    return found


def test_the_checked_tree_is_typed() -> None:
    library, _ = parse(SORTING.read_text(encoding="utf-8"))
    _, issues = compile_library(library)
    assert not issues
    expressions = [e for pou in library.pous for e in _expressions(pou.body)]
    assert len(expressions) > 200
    untyped = [e for e in expressions if e.iec_type is None]
    assert not untyped, untyped[:3]
    names = {e.name: str(e.iec_type) for e in expressions if isinstance(e, n.Name)}
    assert names["start_pb"] == "BOOL"
