"""Checker and code generator: a parsed Structured Text library to one Python module.

One pass over the syntax tree does both jobs. Every expression is typed as it is
translated, so every type error is found before the first scan and reported with its
line and column, all at once; only an error-free library yields code. The generated
module has a class per PROGRAM, FUNCTION_BLOCK and STRUCT, a function per FUNCTION and a
``Globals`` class, and is executed once per PLC instance (so instances share nothing).

Translation choices, each for speed or fidelity:

- Integer ``+ - *`` and bitwise ``AND OR XOR`` stay unwrapped until a value is stored,
  compared, divided or passed on: wrapping once at the end is exact because
  two's-complement arithmetic is modular. REAL results round to single precision at
  every operation, as the PLC computes them.
- Each statement and each branch bumps a counter (statement and branch coverage).
- Every loop iteration spends one unit of the scan's loop budget, so an endless loop
  stops the PLC with its line instead of hanging the harness.
"""

from __future__ import annotations

import keyword
import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from vcommission.errors import SourceIssue
from vcommission.plc import nodes as n
from vcommission.plc.nodes import key
from vcommission.plc.stdlib import STANDARD_FBS, _f32, _fdiv, _idiv, _imod
from vcommission.plc.types import (
    BOOL,
    DINT,
    ELEMENTARY,
    LREAL,
    REAL,
    TIME,
    ArrayType,
    DataType,
    ElementaryType,
    EnumType,
    FbType,
    StringType,
    StructType,
    common_type,
    implicitly_converts,
)

__all__ = ["CompiledUnit", "Var", "compile_library"]

#: The error of a source with nothing to run.
NO_PROGRAM = "no PROGRAM to run"

#: Default task interval when a source has no CONFIGURATION (and TASK without INTERVAL).
DEFAULT_INTERVAL_NS = 10_000_000

_NO = object()  # "not a compile-time constant"


class _LiteralType(DataType):
    """Type of an untyped literal (``5``, ``2.5``): it takes its type from where it is used."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    @property
    def is_integer(self) -> bool:
        return self.kind == "int"

    @property
    def is_real(self) -> bool:
        return self.kind == "real"


ANY_INT = _LiteralType("integer literal", "int")
ANY_REAL = _LiteralType("real literal", "real")
_ERROR = ElementaryType("<error>", "error")


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
    const: object = _NO


@dataclass
class _E:
    """A translated expression: Python code, its ST type, and what is known about it."""

    code: str
    type: DataType
    const: object = _NO
    #: Integer code that may lie outside its type's range (wrap before use).
    raw: bool = False
    var: Var | None = None
    #: Assignable (a variable, a field, an element, a bit).
    lvalue: bool = False


@dataclass
class _Function:
    name: str
    py: str
    result: DataType | None
    #: (key, spelling, type, section) in declaration order.
    params: list[tuple[str, str, DataType, str]]

    @property
    def extra_results(self) -> list[tuple[str, str, DataType, str]]:
        return [p for p in self.params if p[3] in ("VAR_OUTPUT", "VAR_IN_OUT")]


@dataclass
class TaskSpec:
    """A cyclic task: its interval, priority and the program instances it runs, in order."""

    name: str
    interval_ns: int
    priority: int
    instances: list[str]


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


def py_attr(name: str) -> str:
    """Attribute name of an ST variable: lower case, ``_`` after a Python keyword."""
    lowered = name.lower()
    return lowered + "_" if keyword.iskeyword(lowered) else lowered


def _wrap_code(code: str, t: DataType) -> str:
    if not isinstance(t, ElementaryType) or t.kind not in ("int", "bits", "time"):
        return code
    mask = (1 << t.bits) - 1
    if t.signed:
        half = 1 << (t.bits - 1)
        return f"(((({code}) + {half}) & {mask}) - {half})"
    return f"(({code}) & {mask})"


def _real_code(code: str, t: DataType) -> str:
    # REAL arithmetic rounds every result to single precision, not just the stored one:
    # (2**24 + 1.0) + 1.0 is 2**24 in REAL, but 2**24 + 2 in double then rounded once.
    return f"_f32({code})" if t is REAL else code


def wrap_value(value: int, t: DataType) -> int:
    """``value`` wrapped into the range of integer type ``t``."""
    if not isinstance(t, ElementaryType) or t.kind not in ("int", "bits", "time"):
        return value
    mask = (1 << t.bits) - 1
    if t.signed:
        half = 1 << (t.bits - 1)
        return ((value + half) & mask) - half
    return value & mask


_COMPARE = {"=": "==", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
_FOLD: dict[str, Callable[[object, object], object]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
    "<=": operator.le,
    ">=": operator.ge,
}
_REAL_FUNCTIONS = {
    "SQRT": "sqrt",
    "LN": "log",
    "LOG": "log10",
    "EXP": "exp",
    "SIN": "sin",
    "COS": "cos",
    "TAN": "tan",
    "ASIN": "asin",
    "ACOS": "acos",
    "ATAN": "atan",
}
_CONVERSION = re.compile(r"^(?:([A-Z]+)_)?TO_([A-Z]+)$")
_TRUNC = re.compile(r"^(?:([A-Z]+)_)?TRUNC(?:_([A-Z]+))?$")
_LOCATION = re.compile(r"^%([IQM])([XBWDL]?)(\d+)(?:\.(\d+))?$")
_LOCATION_BITS = {"X": 1, "": 1, "B": 8, "W": 16, "D": 32, "L": 64}


class _Scope:
    """Names visible in one POU: its own variables, then globals."""

    def __init__(self, compiler: Compiler, pou: n.Pou | None) -> None:
        self.compiler = compiler
        self.pou = pou
        self.vars: dict[str, Var] = {}
        self.loop_depth = 0
        self.in_repeat = False
        self.temp = 0

    @property
    def kind(self) -> str:
        return self.pou.kind if self.pou else "GLOBAL"

    def lookup(self, name: str) -> Var | None:
        return self.vars.get(key(name)) or self.compiler.globals.get(key(name))

    def fresh(self, prefix: str) -> str:
        self.temp += 1
        return f"_{prefix}{self.temp}"


class Compiler:
    """Checks a :class:`~vcommission.plc.nodes.Library` and translates it to Python."""

    def __init__(self, library: n.Library, *, coverage: bool = True) -> None:
        self.library = library
        self.file = library.file
        self.coverage = coverage
        self.issues: list[SourceIssue] = []
        self.type_decls: dict[str, n.TypeDecl] = {}
        self.types: dict[str, DataType] = {}
        self.pous: dict[str, n.Pou] = {}
        self.fb_types: dict[str, FbType] = {}
        self.functions: dict[str, _Function] = {}
        self.globals: dict[str, Var] = {}
        self.enum_values: dict[str, list[EnumType]] = {}
        self.lines: list[str] = []
        self.line_map: list[int] = []
        self.statements: list[tuple[int, int]] = []
        self.branches: list[tuple[int, str]] = []
        self._resolving: set[str] = set()
        self.pou_scopes: dict[str, _Scope] = {}
        self._current_line = 0

    # ---- errors and output ---------------------------------------------------------------

    def error(self, node: n.Node | None, message: str) -> None:
        line, col = (node.line, node.col) if node is not None else (0, 0)
        self.issues.append(SourceIssue(self.file, line, col, message))

    def emit(self, depth: int, text: str, line: int | None = None) -> None:
        self.lines.append("    " * depth + text)
        self.line_map.append(line if line is not None else self._current_line)

    # ---- declarations --------------------------------------------------------------------

    def compile(self) -> CompiledUnit | None:
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
        global_scope = _Scope(self, None)
        global_blocks = list(lib.globals) + [b for c in lib.configs for b in c.blocks]
        for block in global_blocks:
            self._declare_globals(block, global_scope)
        self.emit(0, "# generated from Structured Text by vcommission; do not edit", 0)
        self._emit_structs()
        self._emit_globals(global_blocks, global_scope)
        for pou in lib.pous:
            if pou.kind == "FUNCTION":
                self._emit_function(pou)
            else:
                self._emit_class(pou)
        instances, tasks = self._configuration()
        candidates = [("", v) for v in self.globals.values()]
        retained = [("", py_attr(v.name)) for v in self.globals.values() if v.retain]
        for instance, class_name in instances.items():
            pou = self.pous[class_name]
            for var in self._instance_vars(pou):
                candidates.append((instance, var))
                if var.retain:
                    retained.append((instance, py_attr(var.name)))
        # Built even with errors, so the I/O binding can be checked (and reported) too.
        return CompiledUnit(
            file=self.file,
            python="\n".join(self.lines) + "\n",
            line_map=self.line_map,
            instances={name: _class_name(self.pous[k]) for name, k in instances.items()},
            tasks=tasks,
            io_candidates=candidates,
            statements=self.statements,
            branches=self.branches,
            retained=retained,
        )

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

    def named_type(self, name: str, where: n.Node) -> DataType:
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
        return _ERROR

    def _define_type(self, k: str, decl: n.TypeDecl) -> DataType:
        if k in self._resolving:
            self.error(decl, f"type {decl.name!r} contains itself")
            return _ERROR
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

    def resolve(self, ref: n.TypeRef, scope: _Scope | None) -> DataType:
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
                return ArrayType(element.element, tuple(dims) + element.dims)
            return ArrayType(element, tuple(dims))
        if isinstance(ref, n.SubrangeTypeRef):
            base = self.named_type(ref.base, ref)
            if not base.is_integer:
                self.error(ref, f"a subrange needs an integer type, not {base}")
            return base
        raise AssertionError(ref)

    def constant_int(self, expr: n.Expr, scope: _Scope | None, what: str) -> int:
        value = self.expr(expr, scope or _Scope(self, None))
        if value.type is _ERROR:
            return 0
        if value.const is _NO or isinstance(value.const, bool) or not value.type.is_integer:
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
        k = key(name)
        if k in self.fb_types:
            return self.fb_types[k]
        fb = FbType(pou.name, py_class=_class_name(pou))
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
        self.functions[key(pou.name)] = _Function(pou.name, f"F_{key(pou.name)}", result, params)

    def _declare_globals(self, block: n.VarBlock, scope: _Scope) -> None:
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

    def _constant_value(self, decl: n.VarDecl, var_type: DataType, scope: _Scope) -> object:
        if not isinstance(decl.init, n.Expr):
            return _NO
        value = self.expr(decl.init, scope)
        if value.const is _NO:
            return _NO
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
        if type_bits != bits and var.type is not _ERROR:
            self.error(
                decl,
                f"{var.name} : {var.type} does not fit {var.location} "
                f"({bits}-bit address, {var.type} is {type_bits or 'not a'} bit)",
            )

    # ---- generated classes ---------------------------------------------------------------

    def _emit_structs(self) -> None:
        for k, decl in self.type_decls.items():
            struct = self.types.get(k)
            if not isinstance(struct, StructType):
                continue
            assert isinstance(decl, n.StructDecl)
            attrs = [py_attr(spelling) for spelling, _ in struct.fields.values()]
            self.emit(0, f"class {struct.py_class}:", decl.line)
            self.emit(1, f"__slots__ = {tuple(attrs)!r}")
            self.emit(1, "def __init__(self):")
            scope = _Scope(self, None)
            for var_decl in decl.fields:
                field_type = struct.fields[key(var_decl.names[0])][1]
                init = self.initial_code(field_type, var_decl.init, scope, var_decl)
                for name in var_decl.names:
                    self.emit(2, f"self.{py_attr(name)} = {init}", var_decl.line)
            if not attrs:
                self.emit(2, "pass")

    def _emit_globals(self, blocks: list[n.VarBlock], scope: _Scope) -> None:
        attrs = tuple(py_attr(v.name) for v in self.globals.values())
        self.emit(0, "class Globals:")
        self.emit(1, f"__slots__ = {attrs!r}")
        self.emit(1, "def __init__(self):")
        for block in blocks:
            if block.kind != "VAR_GLOBAL":
                continue
            for decl in block.decls:
                var = self.globals.get(key(decl.names[0]))
                if var is None or var.line != decl.line:
                    continue
                init = self.initial_code(var.type, decl.init, scope, decl)
                for name in decl.names:
                    self.emit(2, f"self.{py_attr(name)} = {init}", decl.line)
        self.emit(2, "pass")

    def _pou_scope(self, pou: n.Pou) -> _Scope:
        scope = _Scope(self, pou)
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
                        self._external(scope, decl, name, var_type)
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
        return scope

    def _external(self, scope: _Scope, decl: n.VarDecl, name: str, var_type: DataType) -> None:
        var = self.globals.get(key(name))
        if var is None:
            self.error(decl, f"VAR_EXTERNAL {name}: no VAR_GLOBAL of that name")
        elif var.type is not var_type and var_type is not _ERROR:
            self.error(decl, f"VAR_EXTERNAL {name} : {var_type}, but the global is {var.type}")

    def _instance_vars(self, pou: n.Pou) -> list[Var]:
        scope = self.pou_scopes.get(key(pou.name))
        return [v for v in scope.vars.values() if v.section == "VAR"] if scope else []

    def _emit_class(self, pou: n.Pou) -> None:
        scope = self._pou_scope(pou)
        self.pou_scopes[key(pou.name)] = scope
        own = [v for v in scope.vars.values() if v.section != "RESULT"]
        self.emit(0, f"class {_class_name(pou)}:", pou.line)
        self.emit(1, f"__slots__ = {tuple(py_attr(v.name) for v in own)!r}")
        self.emit(1, "def __init__(self):", pou.line)
        temps = []
        for block in pou.blocks:
            for decl in block.decls:
                for name in decl.names:
                    var = scope.vars.get(key(name))
                    if var is None or var.line != decl.line:
                        continue
                    init = self.initial_code(var.type, decl.init, scope, decl)
                    self.emit(2, f"{var.py} = {init}", decl.line)
                    if block.kind == "VAR_TEMP":
                        temps.append((var, init, decl.line))
        self.emit(2, "pass")
        self.emit(1, "def __call__(self):", pou.line)
        for var, init, line in temps:
            self.emit(2, f"{var.py} = {init}", line)
        self.block(pou.body, scope, 2)
        self.emit(2, "return", pou.end_line)

    def _emit_function(self, pou: n.Pou) -> None:
        scope = self._pou_scope(pou)
        function = self.functions[key(pou.name)]
        params = [f"v_{k}" for k, _, _, section in function.params if section != "VAR_OUTPUT"]
        self.emit(0, f"def {function.py}({', '.join(params)}):", pou.line)
        if function.result is not None:
            self.emit(1, f"r_ = {self.default_code(function.result)}", pou.line)
        for block in pou.blocks:
            if block.kind in ("VAR_INPUT", "VAR_IN_OUT"):
                continue
            for decl in block.decls:
                declared = scope.vars.get(key(decl.names[0]))
                var_type = declared.type if declared else _ERROR
                init = self.initial_code(var_type, decl.init, scope, decl)
                for name in decl.names:
                    self.emit(1, f"v_{key(name)} = {init}", decl.line)
        self.block(pou.body, scope, 1)
        self.emit(1, self._function_return(function), pou.end_line)

    def _function_return(self, function: _Function) -> str:
        values = ["r_" if function.result is not None else "None"]
        values += [f"v_{k}" for k, *_ in function.extra_results]
        return "return " + (values[0] if len(values) == 1 else f"({', '.join(values)})")

    def default_code(self, t: DataType) -> str:
        if t is BOOL:
            return "False"
        if isinstance(t, ElementaryType):
            return "0.0" if t.is_real else "0"
        if isinstance(t, StringType):
            return "''"
        if isinstance(t, EnumType):
            return str(t.default)
        if isinstance(t, StructType):
            return f"{t.py_class}()"
        if isinstance(t, FbType):
            return f"{t.py_class}(_rt)" if t.standard else f"{t.py_class}()"
        if isinstance(t, ArrayType):
            return self._array_code(t, [self.default_code(t.element)] * _size(t))
        return "None"

    def _array_code(self, t: ArrayType, flat: list[str]) -> str:
        def build(dims: tuple[tuple[int, int], ...], items: list[str]) -> str:
            count = dims[0][1] - dims[0][0] + 1
            if len(dims) == 1:
                if len(set(items)) == 1 and _immutable(t.element):
                    return f"[{items[0]}] * {count}"
                if len(set(items)) == 1:
                    return f"[{items[0]} for _ in range({count})]"
                return "[" + ", ".join(items) + "]"
            step = len(items) // count
            return "[" + ", ".join(build(dims[1:], items[i * step : (i + 1) * step])
                                   for i in range(count)) + "]"  # fmt: skip

        return build(t.dims, flat)

    def initial_code(self, t: DataType, init: object, scope: _Scope, where: n.Node) -> str:
        if init is None:
            return self.default_code(t)
        if isinstance(init, list):
            if not isinstance(t, ArrayType):
                self.error(where, f"an array initialiser for {t}")
                return self.default_code(t)
            total = _size(t)
            if len(init) > total:
                self.error(where, f"{len(init)} initial values for {total} elements")
            items = [self.initial_code(t.element, item, scope, where) for item in init[:total]]
            items += [self.default_code(t.element)] * (total - len(items))
            return self._array_code(t, items)
        if isinstance(init, dict):
            if isinstance(t, StructType):
                members = {k: ty for k, (_, ty) in t.fields.items()}
            elif isinstance(t, FbType):
                members = {k: ty for k, (_, ty, s) in t.members.items() if s == "VAR_INPUT"}
            else:
                self.error(where, f"a structure initialiser for {t}")
                return self.default_code(t)
            parts = []
            for name, value in init.items():
                if key(name) not in members:
                    self.error(where, f"{t} has no field or input {name!r}")
                    continue
                parts.append(
                    f"{py_attr(name)}={self.initial_code(members[key(name)], value, scope, where)}"
                )
            return f"_with({self.default_code(t)}, {', '.join(parts)})"
        assert isinstance(init, n.Expr)
        if isinstance(t, ArrayType):  # ARRAY[..] OF INT := 5: every element
            value = self.initial_code(t.element, init, scope, where)
            return self._array_code(t, [value] * _size(t))
        value = self.expr(init, scope)
        if value.const is _NO and value.type is not _ERROR:
            self.error(init, "an initial value must be a constant expression")
        return self.convert_for_store(value, t, init, "initial value")

    # ---- configuration -----------------------------------------------------------------

    def _configuration(self) -> tuple[dict[str, str], list[TaskSpec]]:
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
            value = self.expr(value_expr, _Scope(self, None))
            if name == "INTERVAL":
                if value.type is not TIME or value.const is _NO:
                    self.error(value_expr, "INTERVAL must be a constant TIME such as T#10ms")
                elif int(value.const) <= 0:  # type: ignore[arg-type]
                    self.error(value_expr, "INTERVAL must be positive")
                else:
                    interval = int(value.const)  # type: ignore[arg-type]
            elif name == "PRIORITY":
                if value.const is _NO or not value.type.is_integer:
                    self.error(value_expr, "PRIORITY must be a constant integer")
                else:
                    priority = int(value.const)  # type: ignore[arg-type]
            elif name == "SINGLE":
                self.error(value_expr, "event tasks (SINGLE) are not supported; use INTERVAL")
            else:
                self.error(value_expr, f"unknown task parameter {name}")
        return TaskSpec(task.name, interval, priority, [])

    # ---- statements ----------------------------------------------------------------------

    def block(self, body: list[n.Statement], scope: _Scope, depth: int) -> None:
        if not body:
            self.emit(depth, "pass")
        for statement in body:
            self.statement(statement, scope, depth)

    def _count_statement(self, statement: n.Statement, depth: int) -> None:
        if self.coverage:
            self.emit(depth, f"_c[{len(self.statements)}] += 1")
        self.statements.append((statement.line, statement.col))

    def _count_branch(self, line: int, label: str, depth: int) -> None:
        if self.coverage:
            self.emit(depth, f"_b[{len(self.branches)}] += 1", line)
        else:
            self.emit(depth, "pass", line)  # an arm may have no statements of its own
        self.branches.append((line, label))

    def statement(self, s: n.Statement, scope: _Scope, depth: int) -> None:
        self._current_line = s.line
        if isinstance(s, n.Jump) and s.kind == "EMPTY":
            return
        self._count_statement(s, depth)
        if isinstance(s, n.Assign):
            self.assign(s, scope, depth)
        elif isinstance(s, n.CallStatement):
            self.call_statement(s.target, s.args, scope, depth, s)
        elif isinstance(s, n.If):
            self.if_statement(s, scope, depth)
        elif isinstance(s, n.Case):
            self.case_statement(s, scope, depth)
        elif isinstance(s, n.For):
            self.for_statement(s, scope, depth)
        elif isinstance(s, n.While):
            condition = self.condition(s.condition, scope)
            self.emit(depth, f"while {condition}:")
            self._loop_body(s.body, scope, depth + 1)
        elif isinstance(s, n.Repeat):
            self.emit(depth, "while True:")
            self._loop_body(s.body, scope, depth + 1, repeat=True)
            self._current_line = s.condition.line
            self.emit(depth + 1, f"if {self.condition(s.condition, scope)}:")
            self.emit(depth + 2, "break")
        elif isinstance(s, n.Jump):
            self.jump(s, scope, depth)

    def _loop_body(
        self, body: list[n.Statement], scope: _Scope, depth: int, repeat: bool = False
    ) -> None:
        self.emit(depth, "_rt.budget -= 1")
        self.emit(depth, "if _rt.budget < 0: _budget_exceeded()")
        scope.loop_depth += 1
        previous, scope.in_repeat = scope.in_repeat, repeat
        self.block(body, scope, depth)
        scope.in_repeat = previous
        scope.loop_depth -= 1

    def jump(self, s: n.Jump, scope: _Scope, depth: int) -> None:
        if s.kind in ("EXIT", "CONTINUE"):
            if scope.loop_depth == 0:
                self.error(s, f"{s.kind} outside a loop")
            elif s.kind == "CONTINUE" and scope.in_repeat:
                self.error(s, "CONTINUE inside REPEAT is not supported; use IF around the rest")
            self.emit(depth, "break" if s.kind == "EXIT" else "continue")
            return
        if scope.kind == "FUNCTION":
            assert scope.pou is not None
            self.emit(depth, self._function_return(self.functions[key(scope.pou.name)]))
        else:
            self.emit(depth, "return")

    def assign(self, s: n.Assign, scope: _Scope, depth: int) -> None:
        if isinstance(s.value, n.Call) and key(s.value.name) in self.functions:
            function = self.functions[key(s.value.name)]
            if function.extra_results:
                self._call_function_statement(function, s.value, scope, depth, s.target)
                return
        value = self.expr(s.value, scope)
        if isinstance(s.target, n.Bit):
            self._assign_bit(s.target, value, scope, depth)
            return
        target = self.expr(s.target, scope)
        if not self._writable(target, s.target):
            return
        code = self.convert_for_store(value, target.type, s.value, "assignment")
        self.emit(depth, f"{target.code} = {code}")

    def _writable(self, target: _E, node: n.Expr) -> bool:
        if target.type is _ERROR:
            return False
        if not target.lvalue:
            what = (
                "a constant" if target.var is not None and target.var.constant else "not a variable"
            )
            self.error(node, f"cannot assign to {_describe(node)}: {what}")
            return False
        if isinstance(target.type, FbType):
            self.error(node, f"cannot assign to function block instance {_describe(node)}")
            return False
        return True

    def _assign_bit(self, target: n.Bit, value: _E, scope: _Scope, depth: int) -> None:
        base = self.expr(target.base, scope)
        if not self._writable(base, target.base):
            return
        if not base.type.is_integer:
            self.error(target, f"bit access on {base.type}: needs an integer or bit string")
            return
        self._check_bit(target, base.type)
        code = self.convert_for_store(value, BOOL, target, "bit assignment")
        setter = f"_setbit({base.code}, {target.bit}, {code})"
        self.emit(depth, f"{base.code} = {_wrap_code(setter, base.type)}")

    def _check_bit(self, node: n.Bit, t: DataType) -> None:
        bits = t.bits if isinstance(t, ElementaryType) else 0
        if node.bit >= bits:
            self.error(node, f"bit {node.bit} of a {bits}-bit {t}: bits run 0..{bits - 1}")

    def condition(self, expr: n.Expr, scope: _Scope) -> str:
        value = self.expr(expr, scope)
        if value.type is not BOOL and value.type is not _ERROR:
            self.error(expr, f"condition must be BOOL, not {value.type}")
        return value.code

    def if_statement(self, s: n.If, scope: _Scope, depth: int) -> None:
        for i, (condition_expr, body) in enumerate(s.branches):
            self._current_line = condition_expr.line
            keyword_ = "if" if i == 0 else "elif"
            self.emit(depth, f"{keyword_} {self.condition(condition_expr, scope)}:")
            self._count_branch(condition_expr.line, "IF" if i == 0 else "ELSIF", depth + 1)
            self.block(body, scope, depth + 1)
        self.emit(depth, "else:", s.else_line)
        self._count_branch(
            s.else_line, "ELSE" if s.else_body is not None else "(no ELSE)", depth + 1
        )
        if s.else_body is not None:
            self.block(s.else_body, scope, depth + 1)

    def case_statement(self, s: n.Case, scope: _Scope, depth: int) -> None:
        selector = self.expr(s.selector, scope)
        st = selector.type
        if not (st.is_integer or isinstance(st, EnumType)) and st is not _ERROR:
            self.error(s.selector, f"CASE selector must be an integer or enumeration, not {st}")
        name = scope.fresh("s")
        self.emit(depth, f"{name} = {self._wrapped(selector)}")
        seen: list[tuple[int, int, int]] = []
        for i, arm in enumerate(s.arms):
            tests = []
            for low_expr, high_expr in arm.labels:
                low = self._case_label(low_expr, st, scope)
                high = low if high_expr is None else self._case_label(high_expr, st, scope)
                if low is None or high is None:
                    continue
                if high < low:
                    self.error(low_expr, f"CASE range {low}..{high} is empty")
                for other_low, other_high, line in seen:
                    if low <= other_high and other_low <= high:
                        self.error(low_expr, f"CASE label overlaps the one at line {line}")
                seen.append((low, high, low_expr.line))
                tests.append(f"{name} == {low}" if low == high else f"{low} <= {name} <= {high}")
            self._current_line = arm.line
            self.emit(depth, f"{'if' if i == 0 else 'elif'} {' or '.join(tests) or 'False'}:")
            self._count_branch(arm.line, "CASE", depth + 1)
            self.block(arm.body, scope, depth + 1)
        if not s.arms:
            self.emit(depth, "if False:")
            self.emit(depth + 1, "pass")
        self.emit(depth, "else:", s.else_line)
        self._count_branch(
            s.else_line, "ELSE" if s.else_body is not None else "(no ELSE)", depth + 1
        )
        if s.else_body is not None:
            self.block(s.else_body, scope, depth + 1)

    def _case_label(self, expr: n.Expr, selector: DataType, scope: _Scope) -> int | None:
        if isinstance(selector, EnumType) and isinstance(expr, n.Name):
            entry = selector.values.get(key(expr.name))
            if entry is not None:
                return entry[1]
        value = self.expr(expr, scope)
        if value.type is _ERROR or selector is _ERROR:
            return None
        if value.const is _NO:
            self.error(expr, "CASE labels must be constants")
            return None
        if isinstance(selector, EnumType):
            if value.type is not selector:
                self.error(expr, f"CASE label of type {value.type} for a {selector} selector")
                return None
        elif not (value.type.is_integer and not isinstance(value.const, bool)):
            self.error(expr, f"CASE label of type {value.type} for a {selector} selector")
            return None
        return int(value.const)  # type: ignore[arg-type]

    def for_statement(self, s: n.For, scope: _Scope, depth: int) -> None:
        control = self.expr(n.Name(s.line, s.col, s.variable), scope)
        if control.type is not _ERROR and not (control.type.is_integer and control.lvalue):
            self.error(s, f"FOR variable {s.variable} must be an integer variable")
        t = control.type
        start = self.convert_for_store(self.expr(s.start, scope), t, s.start, "FOR start")
        end = self.convert_for_store(self.expr(s.end, scope), t, s.end, "FOR end")
        step_value: int | None = 1
        step = "1"
        if s.step is not None:
            step_e = self.expr(s.step, scope)
            step = self.convert_for_store(step_e, t, s.step, "FOR step")
            step_value = None if step_e.const is _NO else int(step_e.const)  # type: ignore[arg-type]
            if step_value == 0:
                self.error(s.step, "FOR step 0 never ends")
        r = scope.fresh("r")
        k = scope.fresh("k")
        e = scope.fresh("e")
        self.emit(depth, f"{e} = {end}")
        if step_value == 1:
            self.emit(depth, f"{r} = range({start}, {e} + 1)")
        elif step_value is not None and step_value > 0:
            self.emit(depth, f"{r} = range({start}, {e} + 1, {step})")
        elif step_value is not None:
            self.emit(depth, f"{r} = range({start}, {e} - 1, {step})")
        else:
            st = scope.fresh("st")
            self.emit(depth, f"{st} = {step}")
            self.emit(depth, f"{r} = range({start}, {e} + ({st} > 0) - ({st} < 0), {st})")
        self.emit(depth, f"for {k} in {r}:")
        if control.lvalue:
            self.emit(depth + 1, f"{control.code} = {k}")
        self._loop_body(s.body, scope, depth + 1)
        self.emit(depth, "else:")
        if control.lvalue:
            after = _wrap_code(f"({r}[-1] + {r}.step if {r} else {r}.start)", t)
            self.emit(depth + 1, f"{control.code} = {after}")
        else:
            self.emit(depth + 1, "pass")

    # ---- calls ---------------------------------------------------------------------------

    def call_statement(
        self, target_expr: n.Expr, args: list[n.CallArg], scope: _Scope, depth: int, s: n.Node
    ) -> None:
        if isinstance(target_expr, n.Name):
            k = key(target_expr.name)
            call = n.Call(s.line, s.col, target_expr.name, args)
            if scope.lookup(target_expr.name) is None and k in self.functions:
                function = self.functions[k]
                if function.extra_results:
                    self._call_function_statement(function, call, scope, depth, None)
                    return
                bound = self._bind_arguments(function, call, scope)
                if bound is not None:
                    self.emit(depth, f"{function.py}({', '.join(bound[0])})")
                return
            if scope.lookup(target_expr.name) is None and _is_standard_function(target_expr.name):
                self.emit(depth, self.expr(call, scope).code)
                return
        instance = self.expr(target_expr, scope)
        if instance.type is _ERROR:
            return
        fb = instance.type
        if not isinstance(fb, FbType):
            self.error(target_expr, f"{_describe(target_expr)} is a {fb}, not a function block")
            return
        ref = instance.code
        if "[" in ref:
            temp = scope.fresh("f")
            self.emit(depth, f"{temp} = {ref}")
            ref = temp
        outputs: list[tuple[str, n.CallArg]] = []
        in_outs: list[tuple[str, _E]] = []
        positional = fb.inputs()
        for i, arg in enumerate(args):
            if arg.name is None:
                if i >= len(positional):
                    self.error(arg, f"{fb.name} takes {len(positional)} inputs")
                    continue
                member_key = positional[i]
            else:
                member_key = key(arg.name)
            member = fb.members.get(member_key)
            if member is None:
                self.error(arg, f"{fb.name} has no parameter {arg.name!r}")
                continue
            spelling, member_type, section = member
            attr = py_attr(spelling)
            if arg.output:
                if section != "VAR_OUTPUT":
                    self.error(arg, f"{spelling} is not an output of {fb.name}")
                    continue
                outputs.append((attr, arg))
                continue
            if section == "VAR_OUTPUT":
                self.error(
                    arg, f"{spelling} is an output of {fb.name}: write {spelling} => variable"
                )
                continue
            if section not in ("VAR_INPUT", "VAR_IN_OUT"):
                self.error(arg, f"{spelling} is internal to {fb.name}")
                continue
            value = self.expr(arg.value, scope)
            if section == "VAR_IN_OUT":
                if not value.lvalue:
                    self.error(arg, f"VAR_IN_OUT {spelling} needs a variable")
                    continue
                in_outs.append((attr, value))
            code = self.convert_for_store(value, member_type, arg.value, f"input {spelling}")
            self.emit(depth, f"{ref}.{attr} = {code}")
        self.emit(depth, f"{ref}()")
        for attr, value in in_outs:
            self.emit(depth, f"{value.code} = {ref}.{attr}")
        for attr, arg in outputs:
            member_type = next(t for sp, t, _ in fb.members.values() if py_attr(sp) == attr)
            source = _E(f"{ref}.{attr}", member_type)
            if arg.negated:
                source = _E(f"(not {ref}.{attr})", member_type)
            self._store(arg.value, source, scope, depth)

    def _store(self, target_expr: n.Expr, value: _E, scope: _Scope, depth: int) -> None:
        if isinstance(target_expr, n.Bit):
            self._assign_bit(target_expr, value, scope, depth)
            return
        target = self.expr(target_expr, scope)
        if self._writable(target, target_expr):
            code = self.convert_for_store(value, target.type, target_expr, "output")
            self.emit(depth, f"{target.code} = {code}")

    def _bind_arguments(
        self, function: _Function, call: n.Call, scope: _Scope
    ) -> tuple[list[str], list[tuple[int, n.CallArg]]] | None:
        """Input codes in parameter order, and output/in-out targets with their position."""
        inputs = [p for p in function.params if p[3] != "VAR_OUTPUT"]
        given: dict[str, n.CallArg] = {}
        for i, arg in enumerate(call.args):
            if arg.name is None:
                if i >= len(inputs):
                    self.error(arg, f"{function.name} takes {len(inputs)} inputs")
                    return None
                given[inputs[i][0]] = arg
            else:
                if key(arg.name) in given:
                    self.error(arg, f"{arg.name} given twice")
                given[key(arg.name)] = arg
        codes, targets = [], []
        extra = [p[0] for p in function.extra_results]
        for k, spelling, param_type, section in function.params:
            arg = given.pop(k, None)
            if section == "VAR_OUTPUT":
                if arg is not None:
                    if not arg.output:
                        self.error(arg, f"{spelling} is an output: write {spelling} => variable")
                    else:
                        targets.append((1 + extra.index(k), arg))
                continue
            if arg is None:
                if section == "VAR_IN_OUT":
                    self.error(call, f"{function.name}: VAR_IN_OUT {spelling} must be given")
                codes.append(self.default_code(param_type))
                continue
            if arg.output:
                self.error(arg, f"{spelling} is an input of {function.name}")
                continue
            value = self.expr(arg.value, scope)
            if section == "VAR_IN_OUT":
                if not value.lvalue:
                    self.error(arg, f"VAR_IN_OUT {spelling} needs a variable")
                targets.append((1 + extra.index(k), arg))
            codes.append(self.convert_for_store(value, param_type, arg.value, f"input {spelling}"))
        for name, arg in given.items():
            self.error(arg, f"{function.name} has no parameter {name!r}")
        return codes, targets

    def _call_function_statement(
        self, function: _Function, call: n.Call, scope: _Scope, depth: int, result: n.Expr | None
    ) -> None:
        bound = self._bind_arguments(function, call, scope)
        if bound is None:
            return
        codes, targets = bound
        temp = scope.fresh("t")
        self.emit(depth, f"{temp} = {function.py}({', '.join(codes)})")
        if result is not None:
            if function.result is None:
                self.error(call, f"{function.name} returns no value")
            else:
                self._store(result, _E(f"{temp}[0]", function.result), scope, depth)
        extra = function.extra_results
        for position, arg in targets:
            value_type = extra[position - 1][2]
            code = f"{temp}[{position}]"
            if arg.negated:
                code = f"(not {code})"
            self._store(arg.value, _E(code, value_type), scope, depth)

    # ---- expressions ---------------------------------------------------------------------

    def expr(self, e: n.Expr, scope: _Scope) -> _E:
        method = getattr(self, f"_x_{type(e).__name__}")
        return method(e, scope)

    def _x_Literal(self, e: n.Literal, scope: _Scope) -> _E:
        if e.type_name is not None and e.kind != "time":
            target = self.named_type(e.type_name, e)
            if target is _ERROR:
                return _E("0", _ERROR)
            literal_type = {"int": ANY_INT, "real": ANY_REAL, "bool": BOOL}[e.kind]
            return self._typed_literal(_E(repr(e.value), literal_type, e.value), target, e)
        if e.kind == "bool":
            return _E(repr(e.value), BOOL, e.value)
        if e.kind == "int":
            return _E(repr(e.value), ANY_INT, e.value)
        if e.kind == "real":
            return _E(repr(e.value), ANY_REAL, e.value)
        if e.kind == "time":
            return _E(repr(e.value), TIME, e.value)
        return _E(repr(e.value), StringType(max(1, len(str(e.value)))), e.value)

    def _typed_literal(self, value: _E, target: DataType, e: n.Expr) -> _E:
        code = self.convert_for_store(value, target, e, "typed literal")
        const = value.const
        if target is REAL:
            const = _f32(float(const))  # type: ignore[arg-type]
        elif target.is_real:
            const = float(const)  # type: ignore[arg-type]
        return _E(code, target, const)

    def _x_EnumLiteral(self, e: n.EnumLiteral, scope: _Scope) -> _E:
        t = self.named_type(e.type_name, e)
        if t is _ERROR:
            return _E("0", _ERROR)
        if not isinstance(t, EnumType):
            self.error(e, f"{e.type_name} is not an enumerated type")
            return _E("0", _ERROR)
        entry = t.values.get(key(e.value))
        if entry is None:
            self.error(e, f"{e.value!r} is not a value of {t.name}")
            return _E("0", _ERROR)
        return _E(str(entry[1]), t, entry[1])

    def _x_Name(self, e: n.Name, scope: _Scope) -> _E:
        var = scope.lookup(e.name)
        if var is not None:
            if var.type is _ERROR:
                return _E("0", _ERROR)
            if var.constant and var.const is not _NO:
                return _E(repr(var.const), var.type, var.const, var=var)
            return _E(var.py, var.type, var=var, lvalue=not var.constant)
        enums = self.enum_values.get(key(e.name), [])
        if len(enums) == 1:
            value = enums[0].values[key(e.name)][1]
            return _E(str(value), enums[0], value)
        if len(enums) > 1:
            names = " or ".join(f"{t.name}#{e.name}" for t in enums)
            self.error(e, f"{e.name} is a value of several enumerations: write {names}")
            return _E("0", _ERROR)
        self.error(e, f"unknown variable {e.name!r}")
        return _E("0", _ERROR)

    def _x_Field(self, e: n.Field, scope: _Scope) -> _E:
        base = self.expr(e.base, scope)
        t = base.type
        if t is _ERROR:
            return base
        if isinstance(t, StructType):
            entry = t.fields.get(key(e.name))
            if entry is None:
                self.error(e, f"{t.name} has no field {e.name!r}")
                return _E("0", _ERROR)
            return _E(f"{base.code}.{py_attr(entry[0])}", entry[1], lvalue=base.lvalue)
        if isinstance(t, FbType):
            member = t.members.get(key(e.name))
            if member is None:
                self.error(e, f"{t.name} has no member {e.name!r}")
                return _E("0", _ERROR)
            spelling, member_type, section = member
            if section not in ("VAR_INPUT", "VAR_OUTPUT", "VAR_IN_OUT"):
                self.error(e, f"{spelling} is internal to {t.name}: only inputs and outputs show")
                return _E("0", _ERROR)
            return _E(
                f"{base.code}.{py_attr(spelling)}",
                member_type,
                lvalue=section == "VAR_INPUT" and base.lvalue,
            )
        self.error(e, f"{_describe(e.base)} is a {t}: it has no fields")
        return _E("0", _ERROR)

    def _x_Index(self, e: n.Index, scope: _Scope) -> _E:
        base = self.expr(e.base, scope)
        t = base.type
        if t is _ERROR:
            return base
        if not isinstance(t, ArrayType):
            self.error(e, f"{_describe(e.base)} is a {t}, not an array")
            return _E("0", _ERROR)
        if len(e.indices) != len(t.dims):
            self.error(e, f"{_describe(e.base)} has {len(t.dims)} dimension(s), indexed with "
                          f"{len(e.indices)}")  # fmt: skip
            return _E("0", _ERROR)
        code = base.code
        for index_expr, (low, high) in zip(e.indices, t.dims, strict=True):
            index = self.expr(index_expr, scope)
            if index.type is _ERROR:
                return index
            if not index.type.is_integer and not isinstance(index.type, EnumType):
                self.error(index_expr, f"array index must be an integer, not {index.type}")
                return _E("0", _ERROR)
            if index.const is not _NO:
                value = int(index.const)  # type: ignore[arg-type]
                if not low <= value <= high:
                    self.error(index_expr, f"index {value} outside {low}..{high}")
                    return _E("0", _ERROR)
                code = f"{code}[{value - low}]"
            else:
                code = f"{code}[_ix({self._wrapped(index)}, {low}, {high})]"
        return _E(code, t.element, lvalue=base.lvalue)

    def _x_Bit(self, e: n.Bit, scope: _Scope) -> _E:
        base = self.expr(e.base, scope)
        if base.type is _ERROR:
            return base
        if not base.type.is_integer:
            self.error(e, f"bit access on {base.type}: needs an integer or bit string")
            return _E("False", _ERROR)
        self._check_bit(e, base.type)
        return _E(f"(({self._wrapped(base)} >> {e.bit}) & 1 == 1)", BOOL)

    def _x_Unary(self, e: n.Unary, scope: _Scope) -> _E:
        value = self.expr(e.operand, scope)
        t = value.type
        if t is _ERROR:
            return value
        if e.op == "NOT":
            if t is BOOL:
                const = (not value.const) if value.const is not _NO else _NO
                return _E(f"(not {value.code})", BOOL, const)
            if t.is_integer and isinstance(t, ElementaryType):
                mask = (1 << t.bits) - 1
                code = f"(~{self._wrapped(value)})" if t.signed else f"(~{value.code} & {mask})"
                return _E(code, t)
            self.error(e, f"NOT needs BOOL or a bit string, not {t}")
            return _E("False", _ERROR)
        if not (t.is_numeric or t.is_time):
            self.error(e, f"unary {e.op} needs a number, not {t}")
            return _E("0", _ERROR)
        if e.op == "+":
            return value
        if value.const is not _NO:
            const = -value.const  # type: ignore[operator]
            if isinstance(t, ElementaryType) and t.kind in ("int", "bits", "time"):
                const = wrap_value(const, t)
            return _E(repr(const), t, const)
        if isinstance(t, ElementaryType) and not t.signed and t.is_integer:
            self.error(e, f"unary minus on unsigned {t}")
        return _E(f"(-{value.code})", t, raw=t.is_integer or t.is_time)

    def _x_Binary(self, e: n.Binary, scope: _Scope) -> _E:
        left = self.expr(e.left, scope)
        right = self.expr(e.right, scope)
        if left.type is _ERROR or right.type is _ERROR:
            return _E("0", _ERROR)
        op = e.op
        if op in ("AND", "&", "OR", "XOR"):
            return self._logic(e, left, right)
        if op in _COMPARE:
            return self._compare(e, left, right)
        return self._arithmetic(e, left, right)

    def _logic(self, e: n.Binary, left: _E, right: _E) -> _E:
        op = "AND" if e.op == "&" else e.op
        if left.type is BOOL and right.type is BOOL:
            py = {"AND": "and", "OR": "or", "XOR": "!="}[op]
            const = _NO
            if left.const is not _NO and right.const is not _NO:
                const = {"AND": left.const and right.const, "OR": left.const or right.const,
                         "XOR": left.const != right.const}[op]  # fmt: skip
            return _E(f"({left.code} {py} {right.code})", BOOL, const)
        t = self._unify(e, left, right)
        if t is None:
            return _E("0", _ERROR)
        if not t.is_integer:
            self.error(e, f"{op} needs BOOL or bit strings, not {left.type} and {right.type}")
            return _E("0", _ERROR)
        py = {"AND": "&", "OR": "|", "XOR": "^"}[op]
        # Bitwise operators are exact on unwrapped two's complement values, like + - *.
        a, b = self.coerce(left, t, e, modular=True), self.coerce(right, t, e, modular=True)
        return self._maybe_fold(f"({a} {py} {b})", t, left, right, py, raw=True)

    def _compare(self, e: n.Binary, left: _E, right: _E) -> _E:
        py = _COMPARE[e.op]
        lt, rt = left.type, right.type
        if isinstance(lt, EnumType) or isinstance(rt, EnumType):
            if lt is not rt:
                self.error(e, f"cannot compare {lt} with {rt}")
                return _E("False", _ERROR)
            a, b = left.code, right.code
        elif lt is BOOL or rt is BOOL or isinstance(lt, StringType) or isinstance(rt, StringType):
            same = (lt is BOOL and rt is BOOL) or (
                isinstance(lt, StringType) and isinstance(rt, StringType)
            )
            if not same:
                self.error(e, f"cannot compare {lt} with {rt}")
                return _E("False", _ERROR)
            a, b = left.code, right.code
        else:
            t = self._unify(e, left, right)
            if t is None:
                return _E("False", _ERROR)
            a, b = self.coerce(left, t, e), self.coerce(right, t, e)
        if left.const is not _NO and right.const is not _NO:
            const = _FOLD[py](left.const, right.const)
            return _E(repr(const), BOOL, const)
        return _E(f"({a} {py} {b})", BOOL)

    def _arithmetic(self, e: n.Binary, left: _E, right: _E) -> _E:
        op = e.op
        lt, rt = left.type, right.type
        if lt.is_time or rt.is_time:
            return self._time_arithmetic(e, left, right)
        if not (lt.is_numeric and rt.is_numeric):
            self.error(e, f"{op} needs numbers, not {lt} and {rt}")
            return _E("0", _ERROR)
        if op == "**":
            t = lt if lt.is_real and not isinstance(lt, _LiteralType) else LREAL
            if isinstance(lt, _LiteralType) and isinstance(rt, _LiteralType):
                t = ANY_REAL  # like any literal expression, it takes the type it is used as
            code = _real_code(f"_expt({self._wrapped(left)}, {self._wrapped(right)})", t)
            if left.const is not _NO and right.const is not _NO:
                try:
                    const = float(left.const) ** right.const  # type: ignore[arg-type,operator]
                except (ZeroDivisionError, OverflowError):
                    const = _NO
                if isinstance(const, float):
                    const = _f32(const) if t is REAL else const
                    return _E(repr(const), t, const)
            return _E(code, t)
        t = self._unify(e, left, right)
        if t is None:
            return _E("0", _ERROR)
        if op == "MOD" and not t.is_integer:
            self.error(e, f"MOD needs integers, not {lt} and {rt}")
            return _E("0", _ERROR)
        if op in ("+", "-", "*"):
            a, b = self.coerce(left, t, e, modular=True), self.coerce(right, t, e, modular=True)
            return self._maybe_fold(
                _real_code(f"({a} {op} {b})", t), t, left, right, op, raw=t.is_integer
            )
        a, b = self.coerce(left, t, e), self.coerce(right, t, e)
        if op in ("/", "MOD") and right.const is not _NO and right.const == 0:
            self.error(e.right, "division by zero")
            return _E("0", _ERROR)
        if op == "MOD":
            return self._maybe_fold(f"_imod({a}, {b})", t, left, right, "MOD")
        if t.is_integer:
            return self._maybe_fold(f"_idiv({a}, {b})", t, left, right, "/", raw=True)
        return self._maybe_fold(_real_code(f"_fdiv({a}, {b})", t), t, left, right, "/")

    def _time_arithmetic(self, e: n.Binary, left: _E, right: _E) -> _E:
        op, lt, rt = e.op, left.type, right.type
        if op in ("+", "-") and lt.is_time and rt.is_time:
            return self._maybe_fold(
                f"({left.code} {op} {right.code})", TIME, left, right, op, raw=True
            )
        if op in ("*", "/") and lt.is_time and rt.is_numeric:
            scale = self._wrapped(right) if not isinstance(right.type, _LiteralType) else right.code
            if op == "*":
                code = (
                    f"_trunc({left.code} * {scale})" if rt.is_real else f"({left.code} * {scale})"
                )
            else:
                code = f"_trunc(_fdiv({left.code}, {scale}))" if rt.is_real else (
                    f"_idiv({left.code}, {scale})")  # fmt: skip
            return _E(code, TIME, raw=True)
        if op == "*" and lt.is_numeric and rt.is_time:
            return self._time_arithmetic(n.Binary(e.line, e.col, op, e.right, e.left), right, left)
        self.error(e, f"{op} is not defined for {lt} and {rt}")
        return _E("0", _ERROR)

    def _maybe_fold(
        self, code: str, t: DataType, left: _E, right: _E, op: str, raw: bool = False
    ) -> _E:
        if left.const is _NO or right.const is _NO:
            return _E(code, t, raw=raw)
        a, b = left.const, right.const
        try:
            if op in _FOLD:
                const = _FOLD[op](a, b)
            elif op == "/":
                const = _idiv(a, b) if t.is_integer else _fdiv(a, b)  # type: ignore[arg-type]
            elif op == "MOD":
                const = _imod(a, b)  # type: ignore[arg-type]
            else:
                const = {"&": operator.and_, "|": operator.or_, "^": operator.xor}[op](a, b)
        except (ZeroDivisionError, OverflowError):
            return _E(code, t, raw=raw)
        if isinstance(t, _LiteralType):
            t = ANY_REAL if isinstance(const, float) else ANY_INT
        elif t.is_integer or t.is_time:
            const = wrap_value(int(const), t)
        elif t is REAL:
            const = _f32(float(const))  # type: ignore[arg-type]
        return _E(repr(const), t, const)

    def _unify(self, e: n.Node, left: _E, right: _E) -> DataType | None:
        """Type both operands of a numeric operator meet at, or None (reported)."""
        lt, rt = left.type, right.type
        if isinstance(lt, _LiteralType) and isinstance(rt, _LiteralType):
            return ANY_REAL if ANY_REAL in (lt, rt) else ANY_INT
        if isinstance(lt, _LiteralType):
            return self._literal_meets(left, rt, e)
        if isinstance(rt, _LiteralType):
            return self._literal_meets(right, lt, e)
        if lt is rt:
            return lt
        t = common_type(lt, rt)
        if t is None:
            self.error(e, f"{lt} and {rt} do not mix: convert one (e.g. {lt}_TO_{rt})")
        return t

    def _literal_meets(self, literal: _E, t: DataType, e: n.Node) -> DataType | None:
        if literal.type is ANY_REAL and t.is_integer:
            self.error(e, f"real literal {literal.code} with {t}: the result would be REAL; "
                          f"convert with {t}_TO_REAL or write an integer")  # fmt: skip
            return None
        if not (t.is_numeric):
            self.error(e, f"number {literal.code} with {t}")
            return None
        return t

    def coerce(self, value: _E, t: DataType, where: n.Node, *, modular: bool = False) -> str:
        """Code for ``value`` as an operand of type ``t`` (already checked compatible).

        ``modular``: the operator (``+ - *``, bitwise) is exact on unwrapped two's
        complement values of ``t``, so a raw operand of that very type may stay raw. Any
        other use (compare, divide, MIN, ...) sees the wrapped value, as the PLC would.
        """
        if isinstance(t, _LiteralType):
            return value.code
        if isinstance(value.type, _LiteralType):
            return self._literal_as(value, t, where)
        if t.is_real and value.type.is_integer:
            return f"float({self._wrapped(value)})"
        if value.raw and modular and value.type is t:
            return value.code
        return self._wrapped(value)

    def _literal_as(self, value: _E, t: DataType, where: n.Node) -> str:
        const = value.const
        if t is REAL:  # a literal used as a REAL is a REAL: 0.1 means REAL#0.1 there
            single = _f32(float(const))  # type: ignore[arg-type]
            if math.isinf(single) and not math.isinf(float(const)):  # type: ignore[arg-type]
                self.error(where, f"constant {const} does not fit REAL (about 3.4E38 at most)")
            return repr(single)
        if t.is_real:
            return repr(float(const))  # type: ignore[arg-type]
        if isinstance(t, ElementaryType) and t.is_integer:
            if not t.low <= int(const) <= t.high:  # type: ignore[arg-type]
                self.error(where, f"constant {const} does not fit {t} ({t.low}..{t.high})")
            return repr(int(const))  # type: ignore[arg-type]
        return value.code

    def _wrapped(self, value: _E) -> str:
        return _wrap_code(value.code, value.type) if value.raw else value.code

    def convert_for_store(self, value: _E, t: DataType, where: n.Node, what: str) -> str:
        """Code that stores ``value`` into a ``t``; reports a type error if it may not."""
        vt = value.type
        if vt is _ERROR or t is _ERROR:
            return value.code
        if isinstance(vt, _LiteralType):
            if t.is_numeric and not (vt is ANY_REAL and t.is_integer):
                return self._literal_as(value, t, where)
            self.error(where, f"{what}: {vt} {value.code} cannot become {t}")
            return value.code
        if vt is t or implicitly_converts(vt, t) or _same_array(vt, t):
            # Implicit conversions only widen: wrapping at the source type is enough.
            code = self._wrapped(value)
            if isinstance(t, StringType):
                if isinstance(vt, StringType) and vt.length > t.length:
                    return f"{code}[:{t.length}]"
                return code
            if t is ELEMENTARY["REAL"] and vt is not t:
                return f"_f32({code})"
            if t is ELEMENTARY["REAL"] and not value.lvalue:
                return f"_f32({code})"
            if t.is_real and vt.is_integer:
                return f"float({code})"
            if isinstance(t, (ArrayType, StructType)) and value.lvalue:
                return f"_copy({code})"
            if isinstance(t, FbType):
                self.error(where, f"{what}: function block instances cannot be copied")
            return code
        self.error(where, f"{what}: {vt} cannot be stored in {t}" + _hint(vt, t))
        return value.code

    def _x_Call(self, e: n.Call, scope: _Scope) -> _E:
        k = key(e.name)
        if k in self.functions:
            function = self.functions[k]
            if function.extra_results:
                self.error(e, f"{function.name} has outputs: call it as a statement, or "
                              "alone on the right of :=")  # fmt: skip
                return _E("0", _ERROR)
            bound = self._bind_arguments(function, e, scope)
            if bound is None or function.result is None:
                if function.result is None:
                    self.error(e, f"{function.name} returns no value")
                return _E("0", _ERROR)
            return _E(f"{function.py}({', '.join(bound[0])})", function.result)
        var = scope.lookup(e.name)
        if var is not None and isinstance(var.type, FbType):
            self.error(e, f"{e.name} is a function block instance: call it as a statement")
            return _E("0", _ERROR)
        ordered = self._standard_arguments(e)
        if ordered is None:
            return _E("0", _ERROR)
        args = [self.expr(a, scope) for a in ordered]
        if any(a.type is _ERROR for a in args):
            return _E("0", _ERROR)
        return self._standard_call(e, args)

    def _standard_arguments(self, e: n.Call) -> list[n.Expr] | None:
        """Arguments of a standard function in parameter order (formal calls may reorder)."""
        if all(arg.name is None for arg in e.args):
            return [arg.value for arg in e.args]
        if any(arg.name is None or arg.output for arg in e.args):
            self.error(e, f"{e.name}: give every argument by name (IN := ...) or none")
            return None
        order = _PARAMETERS.get(e.name.upper())
        position: dict[str, int] = {}
        for arg in e.args:
            name = arg.name.upper()  # type: ignore[union-attr]
            if order is not None and name in order:
                position[name] = order.index(name)
            elif re.fullmatch(r"IN\d+", name):
                position[name] = len(order or ()) + int(name[2:])
            else:
                self.error(arg, f"{e.name} has no parameter {arg.name}")
                return None
        return [a.value for a in sorted(e.args, key=lambda a: position[a.name.upper()])]  # type: ignore[union-attr]

    def _standard_call(self, e: n.Call, args: list[_E]) -> _E:
        upper = e.name.upper()
        conversion = _CONVERSION.match(upper) or _TRUNC.match(upper)
        if (
            conversion
            and _is_type_name(conversion.group(1))
            and (conversion.group(2) is None or _is_type_name(conversion.group(2)))
        ):
            return self._conversion(
                e, args, conversion.group(1), conversion.group(2), "TRUNC" in upper
            )
        handler = _STANDARD_FUNCTIONS.get(upper)
        if handler is None:
            if upper in STANDARD_FBS or key(e.name) in self.fb_types:
                self.error(e, f"{e.name} is a function block type: declare an instance and call it")
            else:
                self.error(e, f"unknown function {e.name!r}")
            return _E("0", _ERROR)
        arity, fn = handler
        low, high = arity
        if not low <= len(args) <= high:
            count = (
                f"{low}" if low == high else f"{low} to {high}" if high < 99 else f"{low} or more"
            )
            self.error(e, f"{upper} takes {count} argument(s), got {len(args)}")
            return _E("0", _ERROR)
        return fn(self, e, args)

    def _conversion(
        self, e: n.Call, args: list[_E], source: str | None, target: str | None, trunc: bool
    ) -> _E:
        if len(args) != 1:
            self.error(e, f"{e.name} takes one argument")
            return _E("0", _ERROR)
        value = args[0]
        if trunc:
            target = target or "DINT"
        assert target is not None
        src_t = value.type
        dst_t = StringType() if target == "STRING" else ELEMENTARY[target]
        if source is not None:
            declared = StringType() if source == "STRING" else ELEMENTARY[source]
            literal_ok = isinstance(src_t, _LiteralType) and (
                declared.is_real or (declared.is_integer and src_t is ANY_INT)
            )
            if not (literal_ok or src_t is declared or implicitly_converts(src_t, declared) or (
                isinstance(src_t, StringType) and isinstance(declared, StringType))):  # fmt: skip
                self.error(e, f"{e.name} expects {declared}, got {src_t}")
                return _E("0", _ERROR)
            if isinstance(src_t, _LiteralType):
                value = _E(self._literal_as(value, declared, e), declared, value.const)
                src_t = declared
        if isinstance(src_t, _LiteralType):
            src_t = LREAL if src_t is ANY_REAL else ELEMENTARY["LINT"]
        if trunc:
            if not src_t.is_real:
                self.error(e, f"TRUNC needs a REAL or LREAL, not {src_t}")
                return _E("0", _ERROR)
            return _E(_wrap_code(f"_trunc({value.code})", dst_t), dst_t)
        code = _convert_code(self._wrapped(value), src_t, dst_t)
        if code is None:
            self.error(e, f"no conversion from {src_t} to {dst_t}")
            return _E("0", _ERROR)
        return _E(code, dst_t)


def _convert_code(code: str, src: DataType, dst: DataType) -> str | None:
    """Python code converting a value of ``src`` to ``dst`` (the *_TO_* functions)."""
    if isinstance(dst, StringType):
        if src is BOOL:
            return f"('TRUE' if {code} else 'FALSE')"
        if src.is_integer or isinstance(src, EnumType):
            return f"str({code})"
        if src.is_real:
            return f"_real_text({code})"
        if src.is_time:
            return f"_time_text({code})"
        return code if isinstance(src, StringType) else None
    assert isinstance(dst, ElementaryType)
    if dst is BOOL:
        if isinstance(src, StringType):
            return f"_to_bool_text({code})"
        return f"({code} != 0)" if (src.is_numeric or src is BOOL) else None
    if dst.is_integer:
        if src is BOOL:
            return f"int({code})"
        if src.is_integer or isinstance(src, EnumType):
            return _wrap_code(code, dst)
        if src.is_real:
            return _wrap_code(f"_round({code})", dst)
        if src.is_time:
            return _wrap_code(f"_idiv({code}, 1000000)", dst)
        if isinstance(src, StringType):
            return _wrap_code(f"_to_int_text({code})", dst)
        return None
    if dst.is_real:
        single = dst is ELEMENTARY["REAL"]
        if src is BOOL or src.is_integer:
            inner = f"float({code})"
        elif src.is_real:
            inner = code
        elif src.is_time:
            inner = f"({code} / 1e6)"
        elif isinstance(src, StringType):
            inner = f"_to_real_text({code})"
        else:
            return None
        return f"_f32({inner})" if single else inner
    if dst.is_time:
        if src.is_integer:
            return _wrap_code(f"({code} * 1000000)", dst)
        if src.is_real:
            return f"_round({code} * 1e6)"
        if src.is_time:
            return code
        return None
    return None


# ---- standard functions: (arity range, translator) -----------------------------------------


def _numeric_args(c: Compiler, e: n.Call, args: list[_E]) -> DataType | None:
    """The type all arguments meet at (as ``a + b`` would), or None (reported)."""
    met = args[0]
    for a in args[1:]:
        t = c._unify(e, met, a)
        if t is None:
            return None
        # Carry on from the type met so far; a literal stays a literal with its value.
        met = _E(met.code, t, met.const if isinstance(t, _LiteralType) else _NO)
    t = met.type
    if t is not None and not (t.is_numeric or t.is_time):
        c.error(e, f"{e.name.upper()} needs numbers, not {t}")
        return None
    return t


def _concrete(t: DataType, args: list[_E]) -> DataType:
    if isinstance(t, _LiteralType):
        big = any(abs(a.const) > 2**31 - 1 for a in args if a.const is not _NO)  # type: ignore[arg-type]
        return LREAL if t is ANY_REAL else (ELEMENTARY["LINT"] if big else DINT)
    return t


def _literal_result(t: DataType, args: list[_E], fn: Callable[..., object]) -> _E | None:
    """A call on literals only, folded to a literal: ``x := ABS(-5)`` fits an INT ``x``."""
    if not isinstance(t, _LiteralType) or any(a.const is _NO for a in args):
        return None
    try:
        const = fn(*(a.const for a in args))
    except (ValueError, OverflowError, ZeroDivisionError):
        return None  # left to run time, which faults with the line
    literal_type = ANY_REAL if isinstance(const, float) else ANY_INT
    return _E(repr(const), literal_type, const)


def _fn_abs(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    t = _numeric_args(c, e, args)
    if t is None:
        return _E("0", _ERROR)
    if (folded := _literal_result(t, args, abs)) is not None:
        return folded
    t = _concrete(t, args)
    return _E(f"abs({c.coerce(args[0], t, e)})", t, raw=t.is_integer)


def _fn_real(name: str) -> Callable[[Compiler, n.Call, list[_E]], _E]:
    def translate(c: Compiler, e: n.Call, args: list[_E]) -> _E:
        t = args[0].type
        if not t.is_numeric:
            c.error(e, f"{name} needs a number, not {t}")
            return _E("0", _ERROR)
        folded = _literal_result(t, args, getattr(math, _REAL_FUNCTIONS[name]))
        if folded is not None:
            return _E(folded.code, ANY_REAL, folded.const)
        result = t if (t.is_real and not isinstance(t, _LiteralType)) else LREAL
        code = f"_math.{_REAL_FUNCTIONS[name]}({c.coerce(args[0], LREAL, e)})"
        return _E(f"_f32({code})" if result is ELEMENTARY["REAL"] else code, result)

    return translate


def _fn_expt(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    return c._arithmetic(n.Binary(e.line, e.col, "**", e, e), args[0], args[1])


def _fn_minmax(name: str) -> Callable[[Compiler, n.Call, list[_E]], _E]:
    def translate(c: Compiler, e: n.Call, args: list[_E]) -> _E:
        t = _numeric_args(c, e, args)
        if t is None:
            return _E("0", _ERROR)
        if (folded := _literal_result(t, args, {"min": min, "max": max}[name])) is not None:
            return folded
        t = _concrete(t, args)
        codes = ", ".join(c.coerce(a, t, e) for a in args)
        return _E(f"{name}({codes})", t)

    return translate


def _fn_limit(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    t = _numeric_args(c, e, args)
    if t is None:
        return _E("0", _ERROR)
    if (folded := _literal_result(t, args, lambda lo, x, hi: min(max(x, lo), hi))) is not None:
        return folded
    t = _concrete(t, args)
    low, value, high = (c.coerce(a, t, e) for a in args)
    return _E(f"min(max({value}, {low}), {high})", t)


def _same_kind(c: Compiler, e: n.Call, args: list[_E]) -> DataType | None:
    types = {id(a.type): a.type for a in args}
    if len(types) == 1:
        t = args[0].type
        return _concrete(t, args) if isinstance(t, _LiteralType) else t
    return _numeric_args(c, e, args)


def _fn_sel(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    if args[0].type is not BOOL:
        c.error(e, f"SEL selector must be BOOL, not {args[0].type}")
        return _E("0", _ERROR)
    t = _same_kind(c, e, args[1:])
    if t is None:
        return _E("0", _ERROR)
    if args[0].const is not _NO:
        chosen = args[2] if args[0].const else args[1]
        if isinstance(chosen.type, _LiteralType):
            return chosen
    a, b = (c.coerce(x, t, e) for x in args[1:])
    return _E(f"({b} if {args[0].code} else {a})", t)


def _fn_mux(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    if not args[0].type.is_integer:
        c.error(e, f"MUX selector must be an integer, not {args[0].type}")
        return _E("0", _ERROR)
    t = _same_kind(c, e, args[1:])
    if t is None:
        return _E("0", _ERROR)
    k = args[0].const
    if k is not _NO and 0 <= k < len(args) - 1:  # type: ignore[operator]
        chosen = args[1 + k]  # type: ignore[operator]
        if isinstance(chosen.type, _LiteralType):
            return chosen
    codes = ", ".join(c.coerce(x, t, e) for x in args[1:])
    return _E(f"_mux({c._wrapped(args[0])}, {codes})", t)


def _fn_move(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    return args[0]


def _fn_shift(name: str) -> Callable[[Compiler, n.Call, list[_E]], _E]:
    def translate(c: Compiler, e: n.Call, args: list[_E]) -> _E:
        value, count = args
        t = value.type
        if isinstance(t, _LiteralType) or not isinstance(t, ElementaryType) or not t.is_integer:
            c.error(e, f"{name} needs a typed bit string or integer, not {t}")
            return _E("0", _ERROR)
        if not count.type.is_integer:
            c.error(e, f"{name} count must be an integer, not {count.type}")
            return _E("0", _ERROR)
        code = f"_{name.lower()}({c._wrapped(value)}, {c._wrapped(count)}, {t.bits})"
        return _E(code, t, raw=t.signed)

    return translate


def _string_fn(
    name: str, kinds: str, result: str, code: Callable[[list[str]], str]
) -> tuple[tuple[int, int], Callable[[Compiler, n.Call, list[_E]], _E]]:
    """A string function: ``kinds`` has ``s`` (STRING) or ``i`` (integer) per argument."""

    def translate(c: Compiler, e: n.Call, args: list[_E]) -> _E:
        codes = []
        for kind, a in zip(kinds, args, strict=True):
            ok = isinstance(a.type, StringType) if kind == "s" else a.type.is_integer
            if not ok:
                need = "STRING" if kind == "s" else "an integer"
                c.error(e, f"{name} needs {need} here, not {a.type}")
                return _E("''", _ERROR)
            codes.append(c._wrapped(a))
        if result == "s":
            # As long as its string arguments together: a longer result (INSERT,
            # REPLACE) is then cut to the length of the variable it is stored in.
            strings = [a.type for k, a in zip(kinds, args, strict=True) if k == "s"]
            t: DataType = StringType(sum(st.length for st in strings))  # type: ignore[attr-defined]
        else:
            t = ELEMENTARY["INT"]
        return _E(code(codes), t)

    return (len(kinds), len(kinds)), translate


def _fn_concat(c: Compiler, e: n.Call, args: list[_E]) -> _E:
    for a in args:
        if not isinstance(a.type, StringType):
            c.error(e, f"CONCAT needs strings, not {a.type}")
            return _E("''", _ERROR)
    # Its type is as long as all parts: storing cuts it to the variable's length.
    length = sum(a.type.length for a in args)  # type: ignore[attr-defined]
    return _E("(" + " + ".join(a.code for a in args) + ")", StringType(length))


#: Formal parameter names of standard functions, in order (IEC 61131-3 tables 22-37).
_PARAMETERS = {
    "ABS": ["IN"], "MOVE": ["IN"], "LEN": ["IN"], "EXPT": ["IN1", "IN2"],
    "LIMIT": ["MN", "IN", "MX"], "SEL": ["G", "IN0", "IN1"], "MUX": ["K"],
    "SHL": ["IN", "N"], "SHR": ["IN", "N"], "ROL": ["IN", "N"], "ROR": ["IN", "N"],
    "LEFT": ["IN", "L"], "RIGHT": ["IN", "L"], "MID": ["IN", "L", "P"],
    "INSERT": ["IN1", "IN2", "P"], "DELETE": ["IN", "L", "P"],
    "REPLACE": ["IN1", "IN2", "L", "P"], "FIND": ["IN1", "IN2"],
}  # fmt: skip
_Translator = Callable[[Compiler, n.Call, list[_E]], _E]
_STANDARD_FUNCTIONS: dict[str, tuple[tuple[int, int], _Translator]] = {
    "ABS": ((1, 1), _fn_abs),
    "EXPT": ((2, 2), _fn_expt),
    "MIN": ((2, 99), _fn_minmax("min")),
    "MAX": ((2, 99), _fn_minmax("max")),
    "LIMIT": ((3, 3), _fn_limit),
    "SEL": ((3, 3), _fn_sel),
    "MUX": ((2, 99), _fn_mux),
    "MOVE": ((1, 1), _fn_move),
    "SHL": ((2, 2), _fn_shift("SHL")),
    "SHR": ((2, 2), _fn_shift("SHR")),
    "ROL": ((2, 2), _fn_shift("ROL")),
    "ROR": ((2, 2), _fn_shift("ROR")),
    "CONCAT": ((2, 99), _fn_concat),
    "LEN": _string_fn("LEN", "s", "i", lambda a: f"len({a[0]})"),
    "LEFT": _string_fn("LEFT", "si", "s", lambda a: f"_left({a[0]}, {a[1]})"),
    "RIGHT": _string_fn("RIGHT", "si", "s", lambda a: f"_right({a[0]}, {a[1]})"),
    "MID": _string_fn("MID", "sii", "s", lambda a: f"_mid({a[0]}, {a[1]}, {a[2]})"),
    "INSERT": _string_fn("INSERT", "ssi", "s", lambda a: f"_insert({a[0]}, {a[1]}, {a[2]})"),
    "DELETE": _string_fn("DELETE", "sii", "s", lambda a: f"_delete({a[0]}, {a[1]}, {a[2]})"),
    "REPLACE": _string_fn(
        "REPLACE", "ssii", "s", lambda a: f"_replace({a[0]}, {a[1]}, {a[2]}, {a[3]})"
    ),
    "FIND": _string_fn("FIND", "ss", "i", lambda a: f"_find({a[0]}, {a[1]})"),
}
_STANDARD_FUNCTIONS.update({name: ((1, 1), _fn_real(name)) for name in _REAL_FUNCTIONS})


def _is_type_name(name: str | None) -> bool:
    return name is None or name in ELEMENTARY or name == "STRING"


def _is_standard_function(name: str) -> bool:
    upper = name.upper()
    if upper in _STANDARD_FUNCTIONS:
        return True
    match = _CONVERSION.match(upper) or _TRUNC.match(upper)
    return bool(match) and _is_type_name(match.group(1)) and _is_type_name(match.group(2))


def _class_name(pou: n.Pou) -> str:
    prefix = {"PROGRAM": "P_", "FUNCTION_BLOCK": "FB_", "FUNCTION": "F_"}[pou.kind]
    return prefix + key(pou.name)


def _size(t: ArrayType) -> int:
    total = 1
    for low, high in t.dims:
        total *= high - low + 1
    return total


def _immutable(t: DataType) -> bool:
    return isinstance(t, (ElementaryType, StringType, EnumType))


def _same_array(a: DataType, b: DataType) -> bool:
    return (
        isinstance(a, ArrayType)
        and isinstance(b, ArrayType)
        and a.dims == b.dims
        and (a.element is b.element or _same_array(a.element, b.element))
    )


def _describe(e: n.Expr) -> str:
    if isinstance(e, n.Name):
        return e.name
    if isinstance(e, n.Field):
        return f"{_describe(e.base)}.{e.name}"
    if isinstance(e, n.Index):
        return f"{_describe(e.base)}[...]"
    if isinstance(e, n.Bit):
        return f"{_describe(e.base)}.{e.bit}"
    return "expression"


def _hint(source: DataType, target: DataType) -> str:
    if isinstance(source, ElementaryType) and isinstance(target, ElementaryType):
        return f" (convert with {source.name}_TO_{target.name})"
    return ""


def compile_library(
    library: n.Library, *, coverage: bool = True
) -> tuple[CompiledUnit | None, list[SourceIssue]]:
    """Check and translate ``library``; the unit's code is usable only when no issues."""
    compiler = Compiler(library, coverage=coverage)
    unit = compiler.compile()
    return unit, compiler.issues
