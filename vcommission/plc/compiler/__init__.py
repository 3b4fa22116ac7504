"""Checker and code generator: a parsed Structured Text library to one Python module.

A pipeline of passes, each with one job and its own data (in the spirit of CPython's
``symtable.c`` -> ``compile.c`` -> ``codegen.c``)::

    Library (nodes)
      -> symbols.SymbolTable.declare_library   types, POUs, FB interfaces, signatures, globals
      -> types_check.TypeChecker.check         every declaration and body typed, folded and
           stdfuncs (type half)                checked; all errors reported; the typed tree
                                               (typed.Typed on each expression, plans on
                                               statements) -> typed.TypedProgram
      -> symbols.SymbolTable.configuration     program instances and tasks
      -> codegen.CodeGenerator.generate        only when error-free; reads the typed tree:
           lower_expr.lower                    the code of each expression (pycode: wrapping,
             stdfuncs_code (code half)         rounding, stores, conversions)
           emitter.Emitter                     lines, line map, coverage counters
      -> CompiledUnit                          (diagnostics.Diagnostics: every issue, located)

Every type error is found before the first scan and reported with its line and column,
all at once; only an error-free library yields code. :func:`check_program` stops after
checking and returns the typed tree (for a mutator, a linter or a formatter).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vcommission.errors import SourceIssue
from vcommission.plc import nodes as n
from vcommission.plc.compiler.codegen import CodeGenerator
from vcommission.plc.compiler.diagnostics import Diagnostics
from vcommission.plc.compiler.emitter import Emitter
from vcommission.plc.compiler.symbols import (
    DEFAULT_INTERVAL_NS,
    NO_PROGRAM,
    SymbolTable,
    TaskSpec,
    Var,
    class_name,
    py_attr,
)
from vcommission.plc.compiler.typed import Typed, TypedProgram
from vcommission.plc.compiler.types_check import TypeChecker
from vcommission.plc.parser import deep_recursion, parse
from vcommission.plc.types import wrap_value

__all__ = [
    "DEFAULT_INTERVAL_NS",
    "NO_PROGRAM",
    "CompiledUnit",
    "Compiler",
    "TaskSpec",
    "Typed",
    "TypedProgram",
    "Var",
    "check_program",
    "compile_library",
    "py_attr",
    "wrap_value",
]


@dataclass
class CompiledUnit:
    """Everything the runtime needs from a compiled library."""

    file: str
    python: str
    #: Python line (1-based) -> ST line.
    line_map: list[int]
    #: Program instance name -> generated class name.
    instances: dict[str, str]
    tasks: list[TaskSpec]
    #: Globals and program-instance variables visible to I/O binding:
    #: (owner: ``""`` for globals or an instance name, var).
    io_candidates: list[tuple[str, Var]]
    #: (line, col) of every statement.
    statements: list[tuple[int, int]]
    #: (line, label) of every branch, indexed like the branch counters.
    branches: list[tuple[int, str]]
    #: RETAIN variables of globals and program instances: (owner, attribute).
    retained: list[tuple[str, str]] = field(default_factory=list)
    #: Per statement, the statement counter counting it (a run of statements shares one;
    #: counters are numbered in statement order).
    statement_counters: list[int] = field(default_factory=list)
    #: Per statement, its first and last line in ``python`` (0-based), nested ones inside.
    spans: list[tuple[int, int]] = field(default_factory=list)

    @property
    def counters(self) -> int:
        """Statement counters in the generated code."""
        return self.statement_counters[-1] + 1 if self.statement_counters else 0


class Compiler:
    """The passes over one library, wired together; :meth:`compile` runs them in order."""

    def __init__(self, library: n.Library, *, coverage: bool = True) -> None:
        self.library = library
        self.diagnostics = Diagnostics(library.file)
        self.symbols = SymbolTable(library, self.diagnostics)
        self.checker = TypeChecker(self.symbols, self.diagnostics)
        # Declarations hold constant expressions (array bounds, CONSTANT values, ...).
        self.symbols.evaluate = self.checker.expr
        self.emitter = Emitter(coverage=coverage)
        #: The typed tree, once :meth:`check` has run.
        self.program: TypedProgram | None = None

    @property
    def issues(self) -> list[SourceIssue]:
        return self.diagnostics.issues

    def check(self) -> tuple[TypedProgram, dict[str, str], list[TaskSpec]]:
        """The checking passes: declarations, the typed tree, the task configuration."""
        self.symbols.declare_library()
        self.program = self.checker.check()
        instances, tasks = self.symbols.configuration()
        return self.program, instances, tasks

    def compile(self) -> CompiledUnit:
        """Run every pass; the unit is built even with errors (I/O binding checks it too).

        Code is generated only for an error-free library (``python`` is empty otherwise).
        """
        symbols = self.symbols
        program, instances, tasks = self.check()
        if program.ok:
            CodeGenerator(program, self.emitter).generate()
        candidates = [("", v) for v in symbols.globals.values()]
        retained = [("", py_attr(v.name)) for v in symbols.globals.values() if v.retain]
        for instance, k in instances.items():
            for var in symbols.instance_vars(symbols.pous[k]):
                candidates.append((instance, var))
                if var.retain:
                    retained.append((instance, py_attr(var.name)))
        out = self.emitter
        return CompiledUnit(
            file=self.library.file,
            python=out.source(),
            line_map=out.line_map,
            instances={name: class_name(symbols.pous[k]) for name, k in instances.items()},
            tasks=tasks,
            io_candidates=candidates,
            statements=out.statements,
            branches=out.branches,
            retained=retained,
            statement_counters=out.statement_counters,
            spans=out.spans,
        )


def compile_library(
    library: n.Library, *, coverage: bool = True
) -> tuple[CompiledUnit | None, list[SourceIssue]]:
    """Check and translate ``library``; the unit's code is usable only when no issues."""
    compiler = Compiler(library, coverage=coverage)
    with deep_recursion():  # the parser bounded the tree's depth
        unit = compiler.compile()
    return unit, compiler.issues


def check_program(program: str | n.Library, *, file: str = "<string>") -> TypedProgram:
    """Check ``program`` (ST text or a parsed library) without generating code.

    Returns the typed tree: every expression of the library carries its
    :class:`~vcommission.plc.compiler.typed.Typed` (``expr.typed``: IEC type, folded
    constant); ``issues`` holds every syntax and type error, located.
    """
    syntax: list[SourceIssue] = []
    if isinstance(program, str):
        program, syntax = parse(program, file)
    compiler = Compiler(program, coverage=False)
    with deep_recursion():
        typed, _, _ = compiler.check()
    if syntax:
        # As compile_source does: a program lost to a syntax error is not missing.
        typed.issues = syntax + [i for i in typed.issues if i.message != NO_PROGRAM]
    return typed
