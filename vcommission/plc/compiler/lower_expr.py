"""Expression lowering: the Python code of a checked ST value, and constant folding.

Pure functions of types and values; no errors are found here (the type checker has
decided the types and reported every error before it asks for code). One constructor
per construct: leaves (:func:`constant`, :func:`variable`, :func:`enum_value`),
selectors (:func:`member`, :func:`element`, :func:`bit`), operators (:func:`not_value`,
:func:`negate`, :func:`bool_logic`, :func:`bitwise`, :func:`compare`,
:func:`arithmetic`, :func:`power`, :func:`time_arithmetic`), user calls (:func:`call`),
stores and conversions. The choices, each for speed or fidelity:

- Integer ``+ - *`` and bitwise ``AND OR XOR`` stay unwrapped (``raw``) until a value is
  stored, compared, divided or passed on: wrapping once at the point of use is exact
  because two's-complement arithmetic is modular.
- REAL results round to single precision at every operation, as the PLC computes them.
- An operation on constants is folded to its value, wrapped or rounded like the code it
  replaces, so constant expressions may size arrays and label CASE arms.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from vcommission.plc.compiler.symbols import NOT_CONST, Var
from vcommission.plc.stdlib import _f32, _fdiv, _idiv, _imod
from vcommission.plc.types import (
    ANY_INT,
    ANY_REAL,
    BOOL,
    ELEMENTARY,
    REAL,
    TIME,
    ArrayType,
    DataType,
    ElementaryType,
    EnumType,
    FbType,
    LiteralType,
    StringType,
    StructType,
    wrap_value,
)

__all__ = [
    "COMPARE",
    "Value",
    "arithmetic",
    "array_code",
    "bit",
    "bitwise",
    "bool_logic",
    "call",
    "compare",
    "constant",
    "convert_code",
    "default_code",
    "element",
    "enum_value",
    "fold",
    "literal_code",
    "member",
    "negate",
    "not_value",
    "operand_code",
    "power",
    "real_code",
    "size",
    "store_code",
    "time_arithmetic",
    "typed_literal",
    "variable",
    "wrap_code",
    "wrapped",
]


@dataclass
class Value:
    """A checked expression: its Python code, its ST type, and what is known about it."""

    code: str
    type: DataType
    const: object = NOT_CONST
    #: Integer code that may lie outside its type's range (wrap before use).
    raw: bool = False
    var: Var | None = None
    #: Assignable (a variable, a field, an element, a bit).
    lvalue: bool = False


#: ST comparison operators and their Python spelling.
COMPARE = {"=": "==", "<>": "!=", "<": "<", ">": ">", "<=": "<=", ">=": ">="}
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
_BITWISE = {"&": operator.and_, "|": operator.or_, "^": operator.xor}


def wrap_code(code: str, t: DataType) -> str:
    """``code`` wrapped into the range of integer type ``t`` (unchanged for other types)."""
    if not isinstance(t, ElementaryType) or t.kind not in ("int", "bits", "time"):
        return code
    mask = (1 << t.bits) - 1
    if t.signed:
        half = 1 << (t.bits - 1)
        return f"(((({code}) + {half}) & {mask}) - {half})"
    return f"(({code}) & {mask})"


def real_code(code: str, t: DataType) -> str:
    """``code`` rounded to single precision if ``t`` is REAL."""
    # REAL arithmetic rounds every result to single precision, not just the stored one:
    # (2**24 + 1.0) + 1.0 is 2**24 in REAL, but 2**24 + 2 in double then rounded once.
    return f"_f32({code})" if t is REAL else code


def wrapped(value: Value) -> str:
    """Code of ``value`` inside its type's range: what any non-modular use needs."""
    return wrap_code(value.code, value.type) if value.raw else value.code


def literal_code(value: Value, t: DataType) -> str:
    """Code of an untyped literal used as a ``t``: ``0.1`` as a REAL is REAL#0.1."""
    const = value.const
    if t is REAL:
        return repr(_f32(float(const)))  # type: ignore[arg-type]
    if t.is_real:
        return repr(float(const))  # type: ignore[arg-type]
    if isinstance(t, ElementaryType) and t.is_integer:
        return repr(int(const))  # type: ignore[arg-type]
    return value.code


def operand_code(value: Value, t: DataType, *, modular: bool = False) -> str:
    """Code for ``value`` as an operand of type ``t`` (checked compatible).

    ``modular``: the operator (``+ - *``, bitwise) is exact on unwrapped two's
    complement values of ``t``, so a raw operand of that very type may stay raw. Any
    other use (compare, divide, MIN, ...) sees the wrapped value, as the PLC would.
    """
    if isinstance(t, LiteralType):
        return value.code
    if isinstance(value.type, LiteralType):
        return literal_code(value, t)
    if t.is_real and value.type.is_integer:
        return f"float({wrapped(value)})"
    if value.raw and modular and value.type is t:
        return value.code
    return wrapped(value)


def store_code(value: Value, t: DataType) -> str:
    """Code that stores ``value`` (of a type that converts implicitly) into a ``t``."""
    vt = value.type
    # Implicit conversions only widen: wrapping at the source type is enough.
    code = wrapped(value)
    if isinstance(t, StringType):
        if isinstance(vt, StringType) and vt.length > t.length:
            return f"{code}[:{t.length}]"
        return code
    if t is REAL and (vt is not t or not value.lvalue):
        return f"_f32({code})"  # a REAL variable holds single precision already
    if t.is_real and vt.is_integer:
        return f"float({code})"
    if isinstance(t, (ArrayType, StructType)) and value.lvalue:
        return f"_copy({code})"
    return code


def fold(code: str, t: DataType, left: Value, right: Value, op: str, raw: bool = False) -> Value:
    """``left op right`` of type ``t``: folded to a constant when both are, else ``code``.

    ``op`` is the Python operator (``+``, ``==``, ``&``, ...) or ``/`` and ``MOD`` for
    IEC division. A fold that would divide by zero or overflow is left to run time.
    """
    if left.const is NOT_CONST or right.const is NOT_CONST:
        return Value(code, t, raw=raw)
    a, b = left.const, right.const
    try:
        if op in _FOLD:
            const = _FOLD[op](a, b)
        elif op == "/":
            const = _idiv(a, b) if t.is_integer else _fdiv(a, b)  # type: ignore[arg-type]
        elif op == "MOD":
            const = _imod(a, b)  # type: ignore[arg-type]
        else:
            const = _BITWISE[op](a, b)
    except (ZeroDivisionError, OverflowError):
        return Value(code, t, raw=raw)
    if isinstance(t, LiteralType):
        t = ANY_REAL if isinstance(const, float) else ANY_INT
    elif t.is_integer or t.is_time:
        const = wrap_value(int(const), t)
    elif t is REAL:
        const = _f32(float(const))  # type: ignore[arg-type]
    return Value(repr(const), t, const)


# ---- leaves, selectors and calls (checked by types_check.TypeChecker) -------------------


def constant(const: object, t: DataType) -> Value:
    """A literal or named constant ``const`` of type ``t``: its code is its Python spelling."""
    return Value(repr(const), t, const)


def typed_literal(code: str, const: object, t: DataType) -> Value:
    """A typed literal (``REAL#0.1``) stored as ``code``: its constant rounded like ``t``."""
    if t is REAL:
        const = _f32(float(const))  # type: ignore[arg-type]
    elif t.is_real:
        const = float(const)  # type: ignore[arg-type]
    return Value(code, t, const)


def enum_value(t: EnumType, value: int) -> Value:
    """The value ``value`` of enumeration ``t`` (an enumeration value is its integer)."""
    return Value(str(value), t, value)


def variable(var: Var) -> Value:
    """A variable read: a CONSTANT of known value is that value, else its attribute."""
    if var.constant and var.const is not NOT_CONST:
        return Value(repr(var.const), var.type, var.const, var=var)
    return Value(var.py, var.type, var=var, lvalue=not var.constant)


def member(base: Value, attr: str, t: DataType, *, lvalue: bool) -> Value:
    """Field ``attr`` (already a Python attribute name) of a struct or FB instance."""
    return Value(f"{base.code}.{attr}", t, lvalue=lvalue)


def element(base: Value, indices: list[tuple[Value, int, int]], t: DataType) -> Value:
    """Element of array ``base`` at ``indices`` (each with its dimension's bounds)."""
    code = base.code
    for index, low, high in indices:
        if index.const is not NOT_CONST:
            # A constant index was checked against the bounds: no run-time check.
            code = f"{code}[{int(index.const) - low}]"  # type: ignore[arg-type]
        else:
            code = f"{code}[_ix({wrapped(index)}, {low}, {high})]"
    return Value(code, t, lvalue=base.lvalue)


def bit(base: Value, number: int) -> Value:
    """Bit ``number`` of integer ``base``, as a BOOL."""
    return Value(f"(({wrapped(base)} >> {number}) & 1 == 1)", BOOL)


def call(py: str, codes: list[str], result: DataType) -> Value:
    """Call of user function ``py`` with the code of every input, in parameter order."""
    return Value(f"{py}({', '.join(codes)})", result)


# ---- operators (checked by types_check.TypeChecker; their code and folding here) ----------


def not_value(value: Value) -> Value:
    """``NOT value`` of a BOOL (folded when constant) or of an integer (bit string)."""
    t = value.type
    if t is BOOL:
        const = (not value.const) if value.const is not NOT_CONST else NOT_CONST
        return Value(f"(not {value.code})", BOOL, const)
    assert isinstance(t, ElementaryType)
    mask = (1 << t.bits) - 1
    code = f"(~{wrapped(value)})" if t.signed else f"(~{value.code} & {mask})"
    return Value(code, t)


def negate(value: Value) -> Value:
    """``-value`` of a number or TIME: folded (and wrapped) when constant, else raw."""
    t = value.type
    if value.const is not NOT_CONST:
        const = -value.const  # type: ignore[operator]
        if isinstance(t, ElementaryType) and t.kind in ("int", "bits", "time"):
            const = wrap_value(const, t)
        return Value(repr(const), t, const)
    return Value(f"(-{value.code})", t, raw=t.is_integer or t.is_time)


def bool_logic(op: str, left: Value, right: Value) -> Value:
    """``left op right`` of two BOOLs, ``op`` one of ``AND OR XOR``; folded when constant."""
    py = {"AND": "and", "OR": "or", "XOR": "!="}[op]
    const = NOT_CONST
    if left.const is not NOT_CONST and right.const is not NOT_CONST:
        const = {"AND": left.const and right.const, "OR": left.const or right.const,
                 "XOR": left.const != right.const}[op]  # fmt: skip
    return Value(f"({left.code} {py} {right.code})", BOOL, const)


def bitwise(op: str, left: Value, right: Value, t: DataType) -> Value:
    """``left op right`` (``AND OR XOR``) of bit strings meeting at integer type ``t``."""
    py = {"AND": "&", "OR": "|", "XOR": "^"}[op]
    # Bitwise operators are exact on unwrapped two's complement values, like + - *.
    a = operand_code(left, t, modular=True)
    b = operand_code(right, t, modular=True)
    return fold(f"({a} {py} {b})", t, left, right, py, raw=True)


def compare(op: str, left: Value, right: Value, t: DataType | None) -> Value:
    """``left op right`` (ST comparison ``op``), operands met at ``t`` (None: as they are)."""
    py = COMPARE[op]
    if left.const is not NOT_CONST and right.const is not NOT_CONST:
        const = _FOLD[py](left.const, right.const)
        return Value(repr(const), BOOL, const)
    if t is None:
        return Value(f"({left.code} {py} {right.code})", BOOL)
    return Value(f"({operand_code(left, t)} {py} {operand_code(right, t)})", BOOL)


def power(left: Value, right: Value, t: DataType) -> Value:
    """``left ** right`` of result type ``t``; folded when both are constants."""
    code = real_code(f"_expt({wrapped(left)}, {wrapped(right)})", t)
    if left.const is not NOT_CONST and right.const is not NOT_CONST:
        try:
            const = float(left.const) ** right.const  # type: ignore[arg-type,operator]
        except (ZeroDivisionError, OverflowError):
            const = NOT_CONST
        if isinstance(const, float):
            const = _f32(const) if t is REAL else const
            return Value(repr(const), t, const)
    return Value(code, t)


def arithmetic(op: str, left: Value, right: Value, t: DataType) -> Value:
    """``left op right`` (``+ - * / MOD``) of numbers meeting at ``t``; folded if constant."""
    if op in ("+", "-", "*"):
        a = operand_code(left, t, modular=True)
        b = operand_code(right, t, modular=True)
        return fold(real_code(f"({a} {op} {b})", t), t, left, right, op, raw=t.is_integer)
    a, b = operand_code(left, t), operand_code(right, t)
    if op == "MOD":
        return fold(f"_imod({a}, {b})", t, left, right, "MOD")
    if t.is_integer:
        return fold(f"_idiv({a}, {b})", t, left, right, "/", raw=True)
    return fold(real_code(f"_fdiv({a}, {b})", t), t, left, right, "/")


def time_arithmetic(op: str, left: Value, right: Value) -> Value:
    """``TIME op TIME`` (``+ -``) or ``TIME op number`` (``* /``), ``left`` the TIME."""
    if right.type.is_time:
        return fold(f"({left.code} {op} {right.code})", TIME, left, right, op, raw=True)
    real = right.type.is_real
    scale = wrapped(right) if not isinstance(right.type, LiteralType) else right.code
    if op == "*":
        code = f"_trunc({left.code} * {scale})" if real else f"({left.code} * {scale})"
    else:
        code = f"_trunc(_fdiv({left.code}, {scale}))" if real else f"_idiv({left.code}, {scale})"
    return Value(code, TIME, raw=True)


def size(t: ArrayType) -> int:
    """Number of elements of an array type, over all its dimensions."""
    total = 1
    for low, high in t.dims:
        total *= high - low + 1
    return total


def _immutable(t: DataType) -> bool:
    return isinstance(t, (ElementaryType, StringType, EnumType))


def default_code(t: DataType) -> str:
    """Code of a fresh value of ``t``: zero, FALSE, empty, or a new instance."""
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
        return array_code(t, [default_code(t.element)] * size(t))
    return "None"


def array_code(t: ArrayType, flat: list[str]) -> str:
    """Code of an array of ``t`` from the code of every element, in row-major order."""

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


def convert_code(code: str, src: DataType, dst: DataType) -> str | None:
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
            return wrap_code(code, dst)
        if src.is_real:
            return wrap_code(f"_round({code})", dst)
        if src.is_time:
            return wrap_code(f"_idiv({code}, 1000000)", dst)
        if isinstance(src, StringType):
            return wrap_code(f"_to_int_text({code})", dst)
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
            return wrap_code(f"({code} * 1000000)", dst)
        if src.is_real:
            return f"_round({code} * 1e6)"
        if src.is_time:
            return code
        return None
    return None
