"""Python spellings of checked ST values: wrapping, rounding, stores, conversions, defaults.

The primitives expression lowering, the standard functions' code and code generation
share. Pure functions of types and values, deciding nothing: the type checker has chosen
every type (and the type operands meet at) before any of these is called.

- Integer ``+ - *`` and bitwise ``AND OR XOR`` stay unwrapped (``raw``) until a value is
  stored, compared, divided or passed on: wrapping once at the point of use is exact
  because two's-complement arithmetic is modular.
- REAL results round to single precision at every operation, as the PLC computes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vcommission.plc.compiler.folding import fold_binary
from vcommission.plc.compiler.symbols import NOT_CONST, Var
from vcommission.plc.stdlib import _f32
from vcommission.plc.types import (
    BOOL,
    ELEMENTARY,
    ERROR,
    REAL,
    ArrayType,
    DataType,
    ElementaryType,
    EnumType,
    FbType,
    LiteralType,
    StringType,
    StructType,
)

__all__ = [
    "COMPARE",
    "Value",
    "array_code",
    "convert_code",
    "default_code",
    "fold",
    "literal_code",
    "operand_code",
    "power_code",
    "real_code",
    "size",
    "store",
    "store_code",
    "wrap_code",
    "wrapped",
]


@dataclass(slots=True)
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


def power_code(left: Value, right: Value, t: DataType) -> str:
    """Code of ``left ** right`` (``**`` or EXPT) of result type ``t``."""
    return real_code(f"_expt({wrapped(left)}, {wrapped(right)})", t)


def store(value: Value, t: DataType) -> str:
    """Code that stores checked ``value`` into a ``t``: a literal spelled as a ``t``."""
    if value.type is ERROR or t is ERROR:
        return value.code  # (a VAR_EXTERNAL in a FUNCTION: no type of its own)
    if isinstance(value.type, LiteralType):
        return literal_code(value, t)
    return store_code(value, t)


def fold(code: str, t: DataType, left: Value, right: Value, op: str, raw: bool = False) -> Value:
    """``left op right`` of type ``t``: folded to a constant when both are, else ``code``.

    ``op`` is the Python operator (``+``, ``==``, ``&``, ...) or ``/`` and ``MOD`` for
    IEC division (:func:`~vcommission.plc.compiler.folding.fold_binary`).
    """
    t, const = fold_binary(op, t, left.const, right.const)
    if const is NOT_CONST:
        return Value(code, t, raw=raw)
    return Value(repr(const), t, const)


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
