"""Expression lowering: the Python code of each expression of the typed tree.

Reads only what type checking recorded on each node (:class:`~.typed.Typed`: its type,
its folded constant, its lowering rule ``form`` and what that rule needs) and decides no
type: one function per rule, in a table by ``form``. A folded node is spelled as its
value. The Python spellings themselves (wrapping, REAL rounding, stores, conversions,
defaults) are :mod:`~vcommission.plc.compiler.pycode`'s, re-exported here; standard calls
are :mod:`~vcommission.plc.compiler.stdfuncs_code`'s.
"""

from __future__ import annotations

from collections.abc import Callable

from vcommission.plc import nodes as n
from vcommission.plc.compiler.pycode import (
    COMPARE,
    Value,
    array_code,
    convert_code,
    default_code,
    fold,
    literal_code,
    operand_code,
    power_code,
    real_code,
    size,
    store,
    store_code,
    wrap_code,
    wrapped,
)
from vcommission.plc.compiler.stdfuncs_code import lower_standard
from vcommission.plc.compiler.typed import BoundCall, Typed
from vcommission.plc.types import BOOL, TIME, ElementaryType

__all__ = [
    "COMPARE",
    "Value",
    "array_code",
    "convert_code",
    "default_code",
    "fold",
    "literal_code",
    "lower",
    "operand_code",
    "power_code",
    "real_code",
    "size",
    "store",
    "store_code",
    "wrap_code",
    "wrapped",
]

#: A rule takes the node (of the class its form is for) and its annotation.
_Rule = Callable[..., Value]


def lower(e: n.Expr) -> Value:
    """The code of checked expression ``e`` (its ``typed`` annotation says how)."""
    typed = e.typed  # (None: an unchecked expression, a TypeError here)
    return _RULES[typed.form](e, typed)  # type: ignore[union-attr]


# ---- leaves and selectors -----------------------------------------------------------------


def _const(e: n.Expr, t: Typed) -> Value:
    return Value(repr(t.const), t.type, t.const, var=t.var)


def _var(e: n.Expr, t: Typed) -> Value:
    return Value(t.var.py, t.type, var=t.var, lvalue=t.lvalue)  # type: ignore[union-attr]


def _member(e: n.Field, t: Typed) -> Value:
    return Value(f"{lower(e.base).code}.{t.info}", t.type, lvalue=t.lvalue)


def _element(e: n.Index, t: Typed) -> Value:
    code = lower(e.base).code
    for index_expr, (low, high) in zip(e.indices, t.info, strict=True):  # type: ignore[call-overload]
        index = index_expr.typed
        if index.is_const:  # type: ignore[union-attr]
            # A constant index was checked against the bounds: no run-time check.
            code = f"{code}[{int(index.const) - low}]"  # type: ignore[union-attr]
        else:
            code = f"{code}[_ix({wrapped(lower(index_expr))}, {low}, {high})]"
    return Value(code, t.type, lvalue=t.lvalue)


def _bit(e: n.Bit, t: Typed) -> Value:
    return Value(f"(({wrapped(lower(e.base))} >> {e.bit}) & 1 == 1)", BOOL)


def _same(e: n.Unary, t: Typed) -> Value:
    return lower(e.operand)


# ---- operators ----------------------------------------------------------------------------


def _not(e: n.Unary, t: Typed) -> Value:
    value = lower(e.operand)
    if t.type is BOOL:
        return Value(f"(not {value.code})", BOOL, t.const)
    bits = t.type
    assert isinstance(bits, ElementaryType)
    mask = (1 << bits.bits) - 1
    code = f"(~{wrapped(value)})" if bits.signed else f"(~{value.code} & {mask})"
    return Value(code, bits)


def _negate(e: n.Unary, t: Typed) -> Value:
    raw = t.type.is_integer or t.type.is_time
    return Value(f"(-{lower(e.operand).code})", t.type, raw=raw)


_LOGIC = {"AND": "and", "&": "and", "OR": "or", "XOR": "!="}
_BITS = {"AND": "&", "&": "&", "OR": "|", "XOR": "^"}


def _bool(e: n.Binary, t: Typed) -> Value:
    left, right = lower(e.left), lower(e.right)
    return Value(f"({left.code} {_LOGIC[e.op]} {right.code})", BOOL, t.const)


def _bitwise(e: n.Binary, t: Typed) -> Value:
    # Bitwise operators are exact on unwrapped two's complement values, like + - *.
    at = t.operand
    a = operand_code(lower(e.left), at, modular=True)  # type: ignore[arg-type]
    b = operand_code(lower(e.right), at, modular=True)  # type: ignore[arg-type]
    return Value(f"({a} {_BITS[e.op]} {b})", t.type, raw=True)


def _compare(e: n.Binary, t: Typed) -> Value:
    left, right, at = lower(e.left), lower(e.right), t.operand
    if at is None:
        return Value(f"({left.code} {COMPARE[e.op]} {right.code})", BOOL)
    return Value(f"({operand_code(left, at)} {COMPARE[e.op]} {operand_code(right, at)})", BOOL)


def _modular(e: n.Binary, t: Typed) -> Value:
    at = t.operand
    a = operand_code(lower(e.left), at, modular=True)  # type: ignore[arg-type]
    b = operand_code(lower(e.right), at, modular=True)  # type: ignore[arg-type]
    return Value(real_code(f"({a} {e.op} {b})", at), t.type, raw=at.is_integer)  # type: ignore[arg-type,union-attr]


def _divide(e: n.Binary, t: Typed) -> Value:
    at = t.operand
    a = operand_code(lower(e.left), at)  # type: ignore[arg-type]
    b = operand_code(lower(e.right), at)  # type: ignore[arg-type]
    if t.form == "mod":
        return Value(f"_imod({a}, {b})", t.type)
    if t.form == "idiv":
        return Value(f"_idiv({a}, {b})", t.type, raw=True)
    return Value(real_code(f"_fdiv({a}, {b})", at), t.type)  # type: ignore[arg-type]


def _power(e: n.Binary, t: Typed) -> Value:
    return Value(power_code(lower(e.left), lower(e.right), t.type), t.type)


def _time(e: n.Binary, t: Typed) -> Value:
    left, right = lower(e.left), lower(e.right)
    return Value(f"({left.code} {e.op} {right.code})", TIME, raw=True)


def _time_scale(e: n.Binary, t: Typed) -> Value:
    swapped, real = t.info  # type: ignore[misc]
    time, scale = (e.right, e.left) if swapped else (e.left, e.right)
    code, factor = lower(time).code, wrapped(lower(scale))
    if e.op == "*":
        code = f"_trunc({code} * {factor})" if real else f"({code} * {factor})"
    else:
        code = f"_trunc(_fdiv({code}, {factor}))" if real else f"_idiv({code}, {factor})"
    return Value(code, TIME, raw=True)


# ---- calls --------------------------------------------------------------------------------


def call_code(bound: BoundCall) -> str:
    """Code of a user FUNCTION call: every input in parameter order (defaults if not given)."""
    codes = [
        default_code(param_type) if arg is None else store(lower(arg), param_type)
        for param_type, arg in bound.inputs
    ]
    return f"{bound.function.py}({', '.join(codes)})"  # type: ignore[attr-defined]


def _call(e: n.Call, t: Typed) -> Value:
    return Value(call_code(t.info), t.type)  # type: ignore[arg-type]


def _standard(e: n.Call, t: Typed) -> Value:
    return lower_standard(t, lower)


_RULES: dict[str, _Rule] = {
    "const": _const,
    "var": _var,
    "member": _member,
    "element": _element,
    "bit": _bit,
    "same": _same,
    "not": _not,
    "neg": _negate,
    "bool": _bool,
    "bitwise": _bitwise,
    "compare": _compare,
    "modular": _modular,
    "mod": _divide,
    "idiv": _divide,
    "fdiv": _divide,
    "power": _power,
    "time": _time,
    "time_scale": _time_scale,
    "call": _call,
    "std": _standard,
}
