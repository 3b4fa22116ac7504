"""Checker and code generator: a parsed Structured Text library to one Python module.

A pipeline of small passes, each with one job and its own data (in the spirit of
CPython's ``symtable.c`` -> ``codegen.c``)::

    Library (nodes)
      -> symbols.SymbolTable.declare_library   types, POUs, FB interfaces, signatures, globals
      -> codegen.CodeGenerator.generate        POU scopes, statements; per expression:
           types_check.TypeChecker.expr        IEC typing and errors; annotates ``expr.iec_type``
             lower_expr / stdfuncs             all code of a checked node: wrapping, REAL
                                               rounding, constant folding, stores
           emitter.Emitter                     lines, line map, coverage counters
      -> symbols.SymbolTable.configuration     program instances and tasks
      -> CompiledUnit                          (diagnostics.Diagnostics: every issue, located)

Every type error is found before the first scan and reported with its line and column,
all at once; only an error-free library yields code.
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
from vcommission.plc.compiler.types_check import TypeChecker
from vcommission.plc.types import wrap_value

__all__ = [
    "DEFAULT_INTERVAL_NS",
    "NO_PROGRAM",
    "CompiledUnit",
    "Compiler",
    "TaskSpec",
    "Var",
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
    #: (line, col) of every statement, indexed like the coverage counters.
    statements: list[tuple[int, int]]
    #: (line, label) of every branch, indexed like the branch counters.
    branches: list[tuple[int, str]]
    #: RETAIN variables of globals and program instances: (owner, attribute).
    retained: list[tuple[str, str]] = field(default_factory=list)


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
        self.codegen = CodeGenerator(self.symbols, self.checker, self.emitter, self.diagnostics)

    @property
    def issues(self) -> list[SourceIssue]:
        return self.diagnostics.issues

    def compile(self) -> CompiledUnit:
        """Run every pass; the unit is built even with errors (I/O binding checks it too)."""
        symbols = self.symbols
        symbols.declare_library()
        self.codegen.generate()
        instances, tasks = symbols.configuration()
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
        )


def compile_library(
    library: n.Library, *, coverage: bool = True
) -> tuple[CompiledUnit | None, list[SourceIssue]]:
    """Check and translate ``library``; the unit's code is usable only when no issues."""
    compiler = Compiler(library, coverage=coverage)
    unit = compiler.compile()
    return unit, compiler.issues
