"""Standard functions, the code half: the Python of each checked standard call.

One rule per function, in a table by the name the type half
(:mod:`~vcommission.plc.compiler.stdfuncs`) recorded in the call's
:class:`~vcommission.plc.compiler.typed.StdCall`; each spells the call from its lowered
arguments at the operand type the type half chose. Nothing here checks or decides a type.
"""

from __future__ import annotations

from collections.abc import Callable

from vcommission.plc import nodes as n
from vcommission.plc.compiler.pycode import (
    Value,
    convert_code,
    literal_code,
    operand_code,
    power_code,
    wrap_code,
    wrapped,
)
from vcommission.plc.compiler.typed import StdCall, Typed
from vcommission.plc.types import LREAL, REAL, DataType, ElementaryType

__all__ = ["lower_standard"]

_Lower = Callable[[n.Expr], Value]
_Rule = Callable[[Typed, StdCall, _Lower], Value]


def lower_standard(typed: Typed, lower: _Lower) -> Value:
    """The code of a checked standard call; ``lower`` lowers its arguments."""
    call: StdCall = typed.info  # type: ignore[assignment]
    return _RULES[call.rule](typed, call, lower)


def _operands(typed: Typed, args: list[n.Expr], lower: _Lower) -> list[str]:
    at: DataType = typed.operand  # type: ignore[assignment]
    return [operand_code(lower(a), at) for a in args]


def _conversion(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    src, as_literal, dst, trunc = call.extra  # type: ignore[misc]
    value = lower(call.args[0])
    if as_literal is not None:  # INT_TO_REAL(5): the literal is an INT
        value = Value(literal_code(value, as_literal), as_literal, value.const)
    if trunc:
        return Value(wrap_code(f"_trunc({value.code})", dst), dst)
    return Value(convert_code(wrapped(value), src, dst), dst)  # type: ignore[arg-type]


def _abs(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    (code,) = _operands(typed, call.args, lower)
    t = typed.type
    return Value(f"abs({code})", t, raw=t.is_integer)


def _real(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    code = f"_math.{call.extra}({operand_code(lower(call.args[0]), LREAL)})"
    return Value(f"_f32({code})" if typed.type is REAL else code, typed.type)


def _expt(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    left, right = (lower(a) for a in call.args)
    return Value(power_code(left, right, typed.type), typed.type)


def _minmax(name: str) -> _Rule:
    def rule(typed: Typed, call: StdCall, lower: _Lower) -> Value:
        return Value(f"{name}({', '.join(_operands(typed, call.args, lower))})", typed.type)

    return rule


def _limit(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    low, value, high = _operands(typed, call.args, lower)
    return Value(f"min(max({value}, {low}), {high})", typed.type)


def _sel(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    a, b = _operands(typed, call.args[1:], lower)
    return Value(f"({b} if {lower(call.args[0]).code} else {a})", typed.type)


def _mux(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    codes = ", ".join(_operands(typed, call.args[1:], lower))
    return Value(f"_mux({wrapped(lower(call.args[0]))}, {codes})", typed.type)


def _move(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    return lower(call.args[0])


def _shift(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    value, count = (wrapped(lower(a)) for a in call.args)
    t = typed.type
    assert isinstance(t, ElementaryType)
    return Value(f"_{call.rule.lower()}({value}, {count}, {t.bits})", t, raw=t.signed)


def _string(template: Callable[[list[str]], str]) -> _Rule:
    def rule(typed: Typed, call: StdCall, lower: _Lower) -> Value:
        return Value(template([wrapped(lower(a)) for a in call.args]), typed.type)

    return rule


def _concat(typed: Typed, call: StdCall, lower: _Lower) -> Value:
    return Value("(" + " + ".join(lower(a).code for a in call.args) + ")", typed.type)


_RULES: dict[str, _Rule] = {
    "CONV": _conversion,
    "ABS": _abs,
    "REAL": _real,
    "EXPT": _expt,
    "MIN": _minmax("min"),
    "MAX": _minmax("max"),
    "LIMIT": _limit,
    "SEL": _sel,
    "MUX": _mux,
    "MOVE": _move,
    "SHL": _shift,
    "SHR": _shift,
    "ROL": _shift,
    "ROR": _shift,
    "CONCAT": _concat,
    "LEN": _string(lambda a: f"len({a[0]})"),
    "LEFT": _string(lambda a: f"_left({a[0]}, {a[1]})"),
    "RIGHT": _string(lambda a: f"_right({a[0]}, {a[1]})"),
    "MID": _string(lambda a: f"_mid({a[0]}, {a[1]}, {a[2]})"),
    "INSERT": _string(lambda a: f"_insert({a[0]}, {a[1]}, {a[2]})"),
    "DELETE": _string(lambda a: f"_delete({a[0]}, {a[1]}, {a[2]})"),
    "REPLACE": _string(lambda a: f"_replace({a[0]}, {a[1]}, {a[2]}, {a[3]})"),
    "FIND": _string(lambda a: f"_find({a[0]}, {a[1]})"),
}
