"""Constant folding: the value of an operation on constants, as the PLC would compute it.

Used by the type checker, which records each folded value on the typed tree (so constant
expressions may size arrays and label CASE arms, and lowering spells a folded node as its
value). A fold is wrapped or rounded like the code it replaces; one that would divide by
zero or overflow is left to run time (:data:`~vcommission.plc.compiler.symbols.NOT_CONST`).
"""

from __future__ import annotations

import operator
from collections.abc import Callable

from vcommission.plc.compiler.symbols import NOT_CONST
from vcommission.plc.stdlib import _f32, _fdiv, _idiv, _imod
from vcommission.plc.types import (
    ANY_INT,
    ANY_REAL,
    REAL,
    DataType,
    ElementaryType,
    LiteralType,
    wrap_value,
)

__all__ = ["FOLD", "fold_binary", "fold_negate", "fold_power"]

#: Python operators (``+``, ``==``, ``&``, ...) folded with their Python meaning.
FOLD: dict[str, Callable[[object, object], object]] = {
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


def fold_binary(op: str, t: DataType, a: object, b: object) -> tuple[DataType, object]:
    """``a op b`` met at ``t``: (result type, value), the value NOT_CONST if not folded.

    ``op`` is the Python operator or ``/`` and ``MOD`` for IEC division. A literal type
    becomes the literal type of the result (``1 / 2.0`` is a real literal).
    """
    if a is NOT_CONST or b is NOT_CONST:
        return t, NOT_CONST
    try:
        if op in FOLD:
            const = FOLD[op](a, b)
        elif op == "/":
            const = _idiv(a, b) if t.is_integer else _fdiv(a, b)  # type: ignore[arg-type]
        elif op == "MOD":
            const = _imod(a, b)  # type: ignore[arg-type]
        else:
            const = _BITWISE[op](a, b)
    except (ZeroDivisionError, OverflowError):
        return t, NOT_CONST
    if isinstance(t, LiteralType):
        t = ANY_REAL if isinstance(const, float) else ANY_INT
    elif t.is_integer or t.is_time:
        const = wrap_value(int(const), t)  # type: ignore[call-overload]
    elif t is REAL:
        const = _f32(float(const))  # type: ignore[arg-type]
    return t, const


def fold_power(t: DataType, a: object, b: object) -> object:
    """``a ** b`` of result type ``t``, or NOT_CONST (not both constant, or no real result)."""
    if a is NOT_CONST or b is NOT_CONST:
        return NOT_CONST
    try:
        const = float(a) ** b  # type: ignore[arg-type,operator]
    except (ZeroDivisionError, OverflowError):
        return NOT_CONST
    if not isinstance(const, float):
        return NOT_CONST  # a complex root is left to run time, which faults
    return _f32(const) if t is REAL else const


def fold_negate(t: DataType, a: object) -> object:
    """``-a`` of type ``t`` (wrapped like an integer or TIME), or NOT_CONST."""
    if a is NOT_CONST:
        return NOT_CONST
    const = -a  # type: ignore[operator]
    if isinstance(t, ElementaryType) and t.kind in ("int", "bits", "time"):
        const = wrap_value(const, t)
    return const
