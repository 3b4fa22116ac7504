"""Symbols pass: declarations, data types, POU signatures, scopes and the task configuration.

The first pass over a library. It declares every type and POU (so any body may name any
of them, whatever the order in the file), resolves type references to
:mod:`~vcommission.plc.types`, builds the interface of each function block and the
signature of each function, the global variables, each POU's scope, and the tasks of the
CONFIGURATION. Constant expressions in declarations (array bounds, string lengths,
enumeration values, CONSTANT initial values, task intervals) are evaluated through the
expression checker the pipeline hands in (``evaluate``).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcommission.plc import nodes as n
from vcommission.plc.compiler.diagnostics import Diagnostics
from vcommission.plc.nodes import key
from vcommission.plc.stdlib import STANDARD_FBS
from vcommission.plc.types import (
    ELEMENTARY,
    ERROR,
    TIME,
    ArrayType,
    DataType,
    ElementaryType,
    EnumType,
    FbType,
    StringType,
    StructType,
    wrap_value,
)

if TYPE_CHECKING:
    from vcommission.plc.compiler.typed import Typed

__all__ = [
    "DEFAULT_INTERVAL_NS",
    "NOT_CONST",
    "NO_PROGRAM",
    "FunctionSig",
    "Scope",
    "SymbolTable",
    "TaskSpec",
    "Var",
    "class_name",
    "py_attr",
]

#: The error of a source with nothing to run.
NO_PROGRAM = "no PROGRAM to run"

#: Default task interval when a source has no CONFIGURATION (and TASK without INTERVAL).
DEFAULT_INTERVAL_NS = 10_000_000

#: "Not a compile-time constant" (``None`` could be a value).
NOT_CONST = object()

_LOCATION = re.compile(r"^%([IQM])([XBWDL]?)(\d+)(?:\.(\d+))?$")
_LOCATION_BITS = {"X": 1, "": 1, "B": 8, "W": 16, "D": 32, "L": 64}


#: Values one array may hold, over all its dimensions and its elements' fields.
MAX_ARRAY_CELLS = 1_000_000


def cells(t: DataType) -> int:
    """Elementary values a variable of type ``t`` holds (arrays and structures expanded)."""
    if isinstance(t, ArrayType):
        count = 1
        for low, high in t.dims:
            count *= high - low + 1
        return count * cells(t.element)
    if isinstance(t, StructType):
        return sum(cells(field_type) for _, field_type in t.fields.values())
    return 1


@dataclass
class Var:
    """A declared variable and how generated code reaches it."""

    name: str
    type: DataType
    #: ``VAR``, ``VAR_INPUT``, ``VAR_OUTPUT``, ``VAR_IN_OUT``, ``VAR_TEMP``, ``VAR_GLOBAL``.
    section: str
    #: Python expression that reads (and, unless constant, writes) it.
    py: str
    line: int = 0
    col: int = 0
    constant: bool = False
    retain: bool = False
    location: str | None = None
    const: object = NOT_CONST


@dataclass
class FunctionSig:
    """A user FUNCTION as its callers see it."""

    name: str
    #: Python name of the generated function.
    py: str
    result: DataType | None
    #: (key, spelling, type, section) in declaration order.
    params: list[tuple[str, str, DataType, str]]

    @property
    def extra_results(self) -> list[tuple[str, str, DataType, str]]:
        """VAR_OUTPUT and VAR_IN_OUT parameters: returned after the result, in order."""
        return [p for p in self.params if p[3] in ("VAR_OUTPUT", "VAR_IN_OUT")]


@dataclass
class TaskSpec:
    """A cyclic task: its interval, priority and the program instances it runs, in order."""

    name: str
    interval_ns: int
    priority: int
    instances: list[str]


def py_attr(name: str) -> str:
    """Attribute name of an ST variable: lower case, ``_`` after a Python keyword."""
    lowered = name.lower()
    return lowered + "_" if keyword.iskeyword(lowered) else lowered


def class_name(pou: n.Pou) -> str:
    """Python name of the class (or function) generated for ``pou``."""
    prefix = {"PROGRAM": "P_", "FUNCTION_BLOCK": "FB_", "FUNCTION": "F_"}[pou.kind]
    return prefix + key(pou.name)


class Scope:
    """Names visible in one POU: its own variables, then globals; and where a body is."""

    def __init__(self, symbols: SymbolTable, pou: n.Pou | None) -> None:
        self.globals = symbols.globals
        self.pou = pou
        self.vars: dict[str, Var] = {}
        #: Loops around the statement being compiled (EXIT and CONTINUE need one).
        self.loop_depth = 0
        self.in_repeat = False
        self.temp = 0

    @property
    def kind(self) -> str:
        return self.pou.kind if self.pou else "GLOBAL"

    def lookup(self, name: str) -> Var | None:
        k = key(name)
        return self.vars.get(k) or self.globals.get(k)

    def fresh(self, prefix: str) -> str:
        """A new temporary's Python name, unique in this POU."""
        self.temp += 1
        return f"_{prefix}{self.temp}"


class SymbolTable:
    """Everything declared in one library, resolved to types and Python names."""

    def __init__(self, library: n.Library, diagnostics: Diagnostics) -> None:
        self.library = library
        self.error = diagnostics.error
        #: Checks (and folds) a constant expression; set by the pipeline to the type
        #: checker's ``expr``.
        self.evaluate: Callable[[n.Expr, Scope], Typed] = _no_evaluator
        self.type_decls: dict[str, n.TypeDecl] = {}
        self.types: dict[str, DataType] = {}
        self.pous: dict[str, n.Pou] = {}
        self.fb_types: dict[str, FbType] = {}
        self.functions: dict[str, FunctionSig] = {}
        self.globals: dict[str, Var] = {}
        self.enum_values: dict[str, list[EnumType]] = {}
        self.global_blocks: list[n.VarBlock] = []
        self.global_scope = Scope(self, None)
        self._resolving: set[str] = set()
        self.pou_scopes: dict[str, Scope] = {}

    # ---- the library's declarations ------------------------------------------------------

    def declare_library(self) -> None:
        """Declare types, POUs, FB interfaces, function signatures and globals, in order."""
        lib = self.library
        for decl in lib.types:
            self._declare(key(decl.name), decl, "type", decl)
        for pou in lib.pous:
            self._declare(key(pou.name), pou, "POU", pou)
        # Interfaces first (FB members, function signatures), so bodies may call anything.
        for pou in lib.pous:
            if pou.kind == "FUNCTION_BLOCK":
                self.fb_type(pou.name, pou)
            elif pou.kind == "FUNCTION":
                self._function_signature(pou)
        for decl in lib.types:
            self.named_type(decl.name, decl)
        self.global_blocks = list(lib.globals) + [b for c in lib.configs for b in c.blocks]
        for block in self.global_blocks:
            self._declare_globals(block, self.global_scope)

    def _declare(self, k: str, node: n.Node, what: str, value: object) -> None:
        table = self.type_decls if isinstance(value, n.TypeDecl) else self.pous
        other = self.type_decls.get(k) or self.pous.get(k)
        if other is not None:
            self.error(node, f"{what} {k!r} is already declared at line {other.line}")
            return
        if k.upper() in ELEMENTARY or k.upper() in STANDARD_FBS or k.upper() == "STRING":
            self.error(node, f"{what} name {k!r} is a standard type or function block")
            return
        table[k] = value  # type: ignore[index]

    # ---- types ---------------------------------------------------------------------------

    def named_type(self, name: str, where: n.Node) -> DataType:
        """The type ``name`` stands for (reported and :data:`ERROR` if none)."""
        upper, k = name.upper(), key(name)
        if upper in ELEMENTARY:
            return ELEMENTARY[upper]
        if upper in ("STRING", "WSTRING"):
            return StringType()
        if k in self.types:
            return self.types[k]
        decl = self.type_decls.get(k)
        if decl is not None:
            return self._define_type(k, decl)
        pou = self.pous.get(k)
        if pou is not None and pou.kind == "FUNCTION_BLOCK":
            return self.fb_type(pou.name, pou)
        if upper in STANDARD_FBS:
            return self._standard_fb(upper)
        if pou is not None:
            self.error(where, f"{name!r} is a {pou.kind}, not a type")
        else:
            self.error(where, f"unknown type {name!r}")
        return ERROR

    def _define_type(self, k: str, decl: n.TypeDecl) -> DataType:
        if k in self._resolving:
            self.error(decl, f"type {decl.name!r} contains itself")
            return ERROR
        self._resolving.add(k)
        try:
            if isinstance(decl, n.EnumDecl):
                return self._define_enum(k, decl)
            if isinstance(decl, n.StructDecl):
                struct = StructType(decl.name, py_class=f"S_{k}")
                for var_decl in decl.fields:
                    field_type = self.resolve(var_decl.type, None)
                    for name in var_decl.names:
                        if key(name) in struct.fields:
                            self.error(var_decl, f"field {name!r} declared twice")
                        struct.fields[key(name)] = (name, field_type)
                self.types[k] = struct
                return struct
            assert isinstance(decl, n.AliasDecl)
            resolved = self.resolve(decl.type, None)
            self.types[k] = resolved
            return resolved
        finally:
            self._resolving.discard(k)

    def _define_enum(self, k: str, decl: n.EnumDecl) -> EnumType:
        enum = EnumType(decl.name)
        self.types[k] = enum
        next_value = 0
        for name, value_expr, line in decl.values:
            value = next_value
            if value_expr is not None:
                value = self.constant_int(value_expr, None, "enumeration value")
            if key(name) in enum.values:
                self.error(n.Node(line, 0), f"enumeration value {name!r} declared twice")
            enum.values[key(name)] = (name, value)
            self.enum_values.setdefault(key(name), []).append(enum)
            next_value = value + 1
        if decl.values:
            enum.default = enum.values[key(decl.values[0][0])][1]
        if decl.default is not None:
            if key(decl.default) not in enum.values:
                self.error(decl, f"default {decl.default!r} is not a value of {decl.name}")
            else:
                enum.default = enum.values[key(decl.default)][1]
        return enum

    def resolve(self, ref: n.TypeRef, scope: Scope | None) -> DataType:
        """The type a type reference (``ARRAY[1..N] OF INT``, ``STRING[20]``) denotes."""
        if isinstance(ref, n.NamedTypeRef):
            return self.named_type(ref.name, ref)
        if isinstance(ref, n.StringTypeRef):
            if ref.size is None:
                return StringType()
            size = self.constant_int(ref.size, scope, "string length")
            if size < 1:
                self.error(ref, f"string length {size} must be at least 1")
                size = 1
            return StringType(size)
        if isinstance(ref, n.ArrayTypeRef):
            element = self.resolve(ref.element, scope)
            dims = []
            for low_expr, high_expr in ref.ranges:
                low = self.constant_int(low_expr, scope, "array bound")
                high = self.constant_int(high_expr, scope, "array bound")
                if high < low:
                    self.error(
                        low_expr, f"array bounds {low}..{high}: the upper is below the lower"
                    )
                    high = low
                if high - low >= 1_000_000:
                    self.error(low_expr, f"array of {high - low + 1} elements is too large")
                    high = low
                dims.append((low, high))
            if isinstance(element, ArrayType):  # ARRAY OF ARRAY: one type of more dimensions
                array = ArrayType(element.element, tuple(dims) + element.dims)
            else:
                array = ArrayType(element, tuple(dims))
            if cells(array) > MAX_ARRAY_CELLS:
                # Checked over all dimensions (and structure fields): each one alone may be
                # fine while their product would take gigabytes when the program starts.
                self.error(
                    ref,
                    f"{array} holds {cells(array):,} values; the limit is {MAX_ARRAY_CELLS:,}",
                )
                return ArrayType(array.element, tuple((low, low) for low, _ in array.dims))
            return array
        if isinstance(ref, n.SubrangeTypeRef):
            base = self.named_type(ref.base, ref)
            if not base.is_integer:
                self.error(ref, f"a subrange needs an integer type, not {base}")
            return base
        raise AssertionError(ref)

    def constant_int(self, expr: n.Expr, scope: Scope | None, what: str) -> int:
        """The value of a constant integer expression (reported and 0 if it is none)."""
        value = self.evaluate(expr, scope or Scope(self, None))
        if value.type is ERROR:
            return 0
        if value.const is NOT_CONST or isinstance(value.const, bool) or not value.type.is_integer:
            self.error(expr, f"{what} must be a constant integer expression")
            return 0
        return int(value.const)  # type: ignore[arg-type]

    def _standard_fb(self, upper: str) -> FbType:
        k = key(upper)
        if k not in self.fb_types:
            _, interface = STANDARD_FBS[upper]
            fb = FbType(upper, py_class=f"SFB_{upper}", standard=True)
            for name, type_name, section in interface:
                kind = "VAR_INPUT" if section == "I" else "VAR_OUTPUT"
                fb.members[key(name)] = (name, ELEMENTARY[type_name], kind)
            self.fb_types[k] = fb
        return self.fb_types[k]

    def fb_type(self, name: str, pou: n.Pou) -> FbType:
        """The interface of user function block ``pou`` (built on first use)."""
        k = key(name)
        if k in self.fb_types:
            return self.fb_types[k]
        fb = FbType(pou.name, py_class=class_name(pou))
        self.fb_types[k] = fb  # registered before members: a member may name its own type
        for block in pou.blocks:
            for decl in block.decls:
                member_type = self.resolve(decl.type, None)
                if member_type is fb:
                    self.error(decl, f"function block {pou.name} cannot contain itself")
                for var_name in decl.names:
                    fb.members[key(var_name)] = (var_name, member_type, block.kind)
        return fb

    def _function_signature(self, pou: n.Pou) -> None:
        result = None
        if pou.return_type is not None:
            result = self.resolve(pou.return_type, None)
        params = []
        for block in pou.blocks:
            if block.kind in ("VAR_INPUT", "VAR_OUTPUT", "VAR_IN_OUT"):
                for decl in block.decls:
                    param_type = self.resolve(decl.type, None)
                    for var_name in decl.names:
                        params.append((key(var_name), var_name, param_type, block.kind))
        self.functions[key(pou.name)] = FunctionSig(pou.name, f"F_{key(pou.name)}", result, params)

    # ---- variables -----------------------------------------------------------------------

    def _declare_globals(self, block: n.VarBlock, scope: Scope) -> None:
        if block.kind != "VAR_GLOBAL":
            self.error(block, f"{block.kind} outside a POU: only VAR_GLOBAL may stand here")
            return
        for decl in block.decls:
            var_type = self.resolve(decl.type, scope)
            for name in decl.names:
                if key(name) in self.globals:
                    self.error(decl, f"global {name!r} is already declared")
                    continue
                var = Var(
                    name,
                    var_type,
                    "VAR_GLOBAL",
                    f"_G.{py_attr(name)}",
                    decl.line,
                    decl.col,
                    constant=block.constant,
                    retain=block.retain,
                    location=decl.location,
                )
                self._check_location(var, decl)
                if block.constant:
                    var.const = self._constant_value(decl, var_type, scope)
                self.globals[key(name)] = var

    def _constant_value(self, decl: n.VarDecl, var_type: DataType, scope: Scope) -> object:
        if not isinstance(decl.init, n.Expr):
            return NOT_CONST
        value = self.evaluate(decl.init, scope)
        if value.const is NOT_CONST:
            return NOT_CONST
        if isinstance(var_type, ElementaryType) and var_type.is_integer:
            return wrap_value(int(value.const), var_type)  # type: ignore[arg-type]
        return value.const

    def _check_location(self, var: Var, decl: n.VarDecl) -> None:
        if var.location is None:
            return
        match = _LOCATION.match(var.location)
        if match is None:
            self.error(decl, f"{var.name}: address {var.location} is not %I, %Q or %M with a size")
            return
        _, size, _, bit = match.groups()
        bits = _LOCATION_BITS[size]
        if bits == 1 and bit is None:
            self.error(decl, f"{var.name}: bit address {var.location} needs a bit number (.0)")
        elif bits == 1 and int(bit) > 7:
            self.error(decl, f"{var.name}: bit {bit} of {var.location}: bits run 0..7")
        elif bits != 1 and bit is not None:
            self.error(decl, f"{var.name}: {var.location} is a {bits}-bit address with no bits")
        type_bits = var.type.bits if isinstance(var.type, ElementaryType) else 0
        if type_bits != bits and var.type is not ERROR:
            self.error(
                decl,
                f"{var.name} : {var.type} does not fit {var.location} "
                f"({bits}-bit address, {var.type} is {type_bits or 'not a'} bit)",
            )

    def pou_scope(self, pou: n.Pou) -> Scope:
        """Declare ``pou``'s variables (reported once: call once per POU) and keep its scope."""
        scope = Scope(self, pou)
        is_function = pou.kind == "FUNCTION"
        if is_function:
            result_type = self.functions[key(pou.name)].result
            if result_type is not None:
                scope.vars[key(pou.name)] = Var(pou.name, result_type, "RESULT", "r_", pou.line)
        for block in pou.blocks:
            if block.kind in ("VAR_GLOBAL", "VAR_ACCESS"):
                self.error(block, f"{block.kind} inside {pou.kind} {pou.name}")
                continue
            for decl in block.decls:
                var_type = self.resolve(decl.type, scope)
                for name in decl.names:
                    k = key(name)
                    if k in scope.vars:
                        self.error(decl, f"{name!r} is already declared in {pou.name}")
                        continue
                    if block.kind == "VAR_EXTERNAL":
                        self._external(decl, name, var_type)
                        continue
                    py = f"v_{k}" if is_function else f"self.{py_attr(name)}"
                    var = Var(
                        name,
                        var_type,
                        block.kind,
                        py,
                        decl.line,
                        decl.col,
                        constant=block.constant,
                        retain=block.retain,
                        location=decl.location,
                    )
                    if decl.location is not None and (
                        pou.kind != "PROGRAM" or block.kind not in ("VAR", "VAR_GLOBAL")
                    ):
                        self.error(
                            decl,
                            f"{name}: located variables (AT) belong in a PROGRAM's VAR or "
                            "in VAR_GLOBAL",
                        )
                    self._check_location(var, decl)
                    if block.constant:
                        var.const = self._constant_value(decl, var_type, scope)
                    scope.vars[k] = var
        if not is_function:
            self.pou_scopes[key(pou.name)] = scope
        return scope

    def _external(self, decl: n.VarDecl, name: str, var_type: DataType) -> None:
        var = self.globals.get(key(name))
        if var is None:
            self.error(decl, f"VAR_EXTERNAL {name}: no VAR_GLOBAL of that name")
        elif var.type is not var_type and var_type is not ERROR:
            self.error(decl, f"VAR_EXTERNAL {name} : {var_type}, but the global is {var.type}")

    def instance_vars(self, pou: n.Pou) -> list[Var]:
        """The VAR variables of a program (what I/O binding may see of its instances)."""
        scope = self.pou_scopes.get(key(pou.name))
        return [v for v in scope.vars.values() if v.section == "VAR"] if scope else []

    # ---- configuration -------------------------------------------------------------------

    def configuration(self) -> tuple[dict[str, str], list[TaskSpec]]:
        """Program instances (name -> POU key) and the tasks that run them, by priority."""
        programs = {k: p for k, p in self.pous.items() if p.kind == "PROGRAM"}
        instances: dict[str, str] = {}
        configs = self.library.configs
        if len(configs) > 1:
            self.error(configs[1], "only one CONFIGURATION per PLC")
        if not configs:
            if not programs:
                self.error(None, NO_PROGRAM)
            for k, pou in programs.items():
                instances[pou.name] = k
            default = TaskSpec("default", DEFAULT_INTERVAL_NS, 0, list(instances))
            return instances, [default] if instances else []
        config = configs[0]
        tasks: dict[str, TaskSpec] = {}
        for task in config.tasks:
            tasks[key(task.name)] = self._task(task)
        unscheduled: list[str] = []
        for program in config.programs:
            k = key(program.type_name)
            if k not in programs:
                self.error(program, f"{program.type_name!r} is not a PROGRAM in this source")
                continue
            if program.instance in instances:
                self.error(program, f"program instance {program.instance!r} declared twice")
                continue
            instances[program.instance] = k
            if program.task is None:
                unscheduled.append(program.instance)
            elif key(program.task) not in tasks:
                self.error(program, f"unknown task {program.task!r}")
            else:
                tasks[key(program.task)].instances.append(program.instance)
        if not config.programs:
            self.error(config, f"CONFIGURATION {config.name} runs no PROGRAM")
        result = sorted((t for t in tasks.values() if t.instances), key=lambda t: t.priority)
        if unscheduled:
            result.append(TaskSpec("default", DEFAULT_INTERVAL_NS, 1 << 30, unscheduled))
        return instances, result

    def _task(self, task: n.Task) -> TaskSpec:
        interval = DEFAULT_INTERVAL_NS
        priority = 0
        for name, value_expr in task.params.items():
            value = self.evaluate(value_expr, Scope(self, None))
            if name == "INTERVAL":
                if value.type is not TIME or value.const is NOT_CONST:
                    self.error(value_expr, "INTERVAL must be a constant TIME such as T#10ms")
                elif int(value.const) <= 0:  # type: ignore[arg-type]
                    self.error(value_expr, "INTERVAL must be positive")
                else:
                    interval = int(value.const)  # type: ignore[arg-type]
            elif name == "PRIORITY":
                if value.const is NOT_CONST or not value.type.is_integer:
                    self.error(value_expr, "PRIORITY must be a constant integer")
                else:
                    priority = int(value.const)  # type: ignore[arg-type]
            elif name == "SINGLE":
                self.error(value_expr, "event tasks (SINGLE) are not supported; use INTERVAL")
            else:
                self.error(value_expr, f"unknown task parameter {name}")
        return TaskSpec(task.name, interval, priority, [])


def _no_evaluator(expr: n.Expr, scope: Scope) -> Typed:
    raise AssertionError("SymbolTable.evaluate is set by the pipeline before use")
