"""Standard functions (IEC 61131-3 tables 22-37): how each is typed and lowered.

One translator per function, in a table by name: it checks the arguments (already typed
by the :class:`~vcommission.plc.compiler.types_check.TypeChecker`), folds a call on
literals only to a literal, and returns the call's value with its code. The *_TO_*
conversions and TRUNC are recognised by their names' pattern.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from vcommission.plc import nodes as n
from vcommission.plc.compiler.lower_expr import Value, convert_code, wrap_code, wrapped
from vcommission.plc.compiler.symbols import NOT_CONST
from vcommission.plc.nodes import key
from vcommission.plc.stdlib import STANDARD_FBS
from vcommission.plc.types import (
    ANY_INT,
    ANY_REAL,
    BOOL,
    DINT,
    ELEMENTARY,
    ERROR,
    LREAL,
    DataType,
    ElementaryType,
    LiteralType,
    StringType,
    implicitly_converts,
)

if TYPE_CHECKING:
    from vcommission.plc.compiler.types_check import TypeChecker

__all__ = ["is_standard_function", "ordered_arguments", "standard_call"]

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

_Translator = Callable[["TypeChecker", n.Call, list[Value]], Value]


def ordered_arguments(c: TypeChecker, e: n.Call) -> list[n.Expr] | None:
    """Arguments of a standard function in parameter order (formal calls may reorder)."""
    if all(arg.name is None for arg in e.args):
        return [arg.value for arg in e.args]
    if any(arg.name is None or arg.output for arg in e.args):
        c.error(e, f"{e.name}: give every argument by name (IN := ...) or none")
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
            c.error(arg, f"{e.name} has no parameter {arg.name}")
            return None
    return [a.value for a in sorted(e.args, key=lambda a: position[a.name.upper()])]  # type: ignore[union-attr]


def standard_call(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    """The value of standard function call ``e`` on checked ``args`` (or ERROR, reported)."""
    upper = e.name.upper()
    conversion = _CONVERSION.match(upper) or _TRUNC.match(upper)
    if (
        conversion
        and _is_type_name(conversion.group(1))
        and (conversion.group(2) is None or _is_type_name(conversion.group(2)))
    ):
        return _conversion(c, e, args, conversion.group(1), conversion.group(2), "TRUNC" in upper)
    handler = _STANDARD_FUNCTIONS.get(upper)
    if handler is None:
        if upper in STANDARD_FBS or key(e.name) in c.symbols.fb_types:
            c.error(e, f"{e.name} is a function block type: declare an instance and call it")
        else:
            c.error(e, f"unknown function {e.name!r}")
        return Value("0", ERROR)
    arity, fn = handler
    low, high = arity
    if not low <= len(args) <= high:
        count = f"{low}" if low == high else f"{low} to {high}" if high < 99 else f"{low} or more"
        c.error(e, f"{upper} takes {count} argument(s), got {len(args)}")
        return Value("0", ERROR)
    return fn(c, e, args)


def _conversion(
    c: TypeChecker,
    e: n.Call,
    args: list[Value],
    source: str | None,
    target: str | None,
    trunc: bool,
) -> Value:
    if len(args) != 1:
        c.error(e, f"{e.name} takes one argument")
        return Value("0", ERROR)
    value = args[0]
    if trunc:
        target = target or "DINT"
    assert target is not None
    src_t = value.type
    dst_t = StringType() if target == "STRING" else ELEMENTARY[target]
    if source is not None:
        declared = StringType() if source == "STRING" else ELEMENTARY[source]
        literal_ok = isinstance(src_t, LiteralType) and (
            declared.is_real or (declared.is_integer and src_t is ANY_INT)
        )
        if not (literal_ok or src_t is declared or implicitly_converts(src_t, declared) or (
            isinstance(src_t, StringType) and isinstance(declared, StringType))):  # fmt: skip
            c.error(e, f"{e.name} expects {declared}, got {src_t}")
            return Value("0", ERROR)
        if isinstance(src_t, LiteralType):
            value = Value(c.literal_as(value, declared, e), declared, value.const)
            src_t = declared
    if isinstance(src_t, LiteralType):
        src_t = LREAL if src_t is ANY_REAL else ELEMENTARY["LINT"]
    if trunc:
        if not src_t.is_real:
            c.error(e, f"TRUNC needs a REAL or LREAL, not {src_t}")
            return Value("0", ERROR)
        return Value(wrap_code(f"_trunc({value.code})", dst_t), dst_t)
    code = convert_code(wrapped(value), src_t, dst_t)
    if code is None:
        c.error(e, f"no conversion from {src_t} to {dst_t}")
        return Value("0", ERROR)
    return Value(code, dst_t)


# ---- translators ------------------------------------------------------------------------


def _numeric_args(c: TypeChecker, e: n.Call, args: list[Value]) -> DataType | None:
    """The type all arguments meet at (as ``a + b`` would), or None (reported)."""
    met = args[0]
    for a in args[1:]:
        t = c.unify(e, met, a)
        if t is None:
            return None
        # Carry on from the type met so far; a literal stays a literal with its value.
        met = Value(met.code, t, met.const if isinstance(t, LiteralType) else NOT_CONST)
    t = met.type
    if t is not None and not (t.is_numeric or t.is_time):
        c.error(e, f"{e.name.upper()} needs numbers, not {t}")
        return None
    return t


def _concrete(t: DataType, args: list[Value]) -> DataType:
    if isinstance(t, LiteralType):
        big = any(abs(a.const) > 2**31 - 1 for a in args if a.const is not NOT_CONST)  # type: ignore[arg-type]
        return LREAL if t is ANY_REAL else (ELEMENTARY["LINT"] if big else DINT)
    return t


def _literal_result(t: DataType, args: list[Value], fn: Callable[..., object]) -> Value | None:
    """A call on literals only, folded to a literal: ``x := ABS(-5)`` fits an INT ``x``."""
    if not isinstance(t, LiteralType) or any(a.const is NOT_CONST for a in args):
        return None
    try:
        const = fn(*(a.const for a in args))
    except (ValueError, OverflowError, ZeroDivisionError):
        return None  # left to run time, which faults with the line
    literal_type = ANY_REAL if isinstance(const, float) else ANY_INT
    return Value(repr(const), literal_type, const)


def _fn_abs(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    t = _numeric_args(c, e, args)
    if t is None:
        return Value("0", ERROR)
    if (folded := _literal_result(t, args, abs)) is not None:
        return folded
    t = _concrete(t, args)
    return Value(f"abs({c.coerce(args[0], t, e)})", t, raw=t.is_integer)


def _fn_real(name: str) -> _Translator:
    def translate(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
        t = args[0].type
        if not t.is_numeric:
            c.error(e, f"{name} needs a number, not {t}")
            return Value("0", ERROR)
        folded = _literal_result(t, args, getattr(math, _REAL_FUNCTIONS[name]))
        if folded is not None:
            return Value(folded.code, ANY_REAL, folded.const)
        result = t if (t.is_real and not isinstance(t, LiteralType)) else LREAL
        code = f"_math.{_REAL_FUNCTIONS[name]}({c.coerce(args[0], LREAL, e)})"
        return Value(f"_f32({code})" if result is ELEMENTARY["REAL"] else code, result)

    return translate


def _fn_expt(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    return c.arithmetic(n.Binary(e.line, e.col, "**", e, e), args[0], args[1])


def _fn_minmax(name: str) -> _Translator:
    def translate(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
        t = _numeric_args(c, e, args)
        if t is None:
            return Value("0", ERROR)
        if (folded := _literal_result(t, args, {"min": min, "max": max}[name])) is not None:
            return folded
        t = _concrete(t, args)
        codes = ", ".join(c.coerce(a, t, e) for a in args)
        return Value(f"{name}({codes})", t)

    return translate


def _fn_limit(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    t = _numeric_args(c, e, args)
    if t is None:
        return Value("0", ERROR)
    if (folded := _literal_result(t, args, lambda lo, x, hi: min(max(x, lo), hi))) is not None:
        return folded
    t = _concrete(t, args)
    low, value, high = (c.coerce(a, t, e) for a in args)
    return Value(f"min(max({value}, {low}), {high})", t)


def _same_kind(c: TypeChecker, e: n.Call, args: list[Value]) -> DataType | None:
    types = {id(a.type): a.type for a in args}
    if len(types) == 1:
        t = args[0].type
        return _concrete(t, args) if isinstance(t, LiteralType) else t
    return _numeric_args(c, e, args)


def _fn_sel(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    if args[0].type is not BOOL:
        c.error(e, f"SEL selector must be BOOL, not {args[0].type}")
        return Value("0", ERROR)
    t = _same_kind(c, e, args[1:])
    if t is None:
        return Value("0", ERROR)
    if args[0].const is not NOT_CONST:
        chosen = args[2] if args[0].const else args[1]
        if isinstance(chosen.type, LiteralType):
            return chosen
    a, b = (c.coerce(x, t, e) for x in args[1:])
    return Value(f"({b} if {args[0].code} else {a})", t)


def _fn_mux(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    if not args[0].type.is_integer:
        c.error(e, f"MUX selector must be an integer, not {args[0].type}")
        return Value("0", ERROR)
    t = _same_kind(c, e, args[1:])
    if t is None:
        return Value("0", ERROR)
    k = args[0].const
    if k is not NOT_CONST and 0 <= k < len(args) - 1:  # type: ignore[operator]
        chosen = args[1 + k]  # type: ignore[operator]
        if isinstance(chosen.type, LiteralType):
            return chosen
    codes = ", ".join(c.coerce(x, t, e) for x in args[1:])
    return Value(f"_mux({wrapped(args[0])}, {codes})", t)


def _fn_move(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    return args[0]


def _fn_shift(name: str) -> _Translator:
    def translate(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
        value, count = args
        t = value.type
        if isinstance(t, LiteralType) or not isinstance(t, ElementaryType) or not t.is_integer:
            c.error(e, f"{name} needs a typed bit string or integer, not {t}")
            return Value("0", ERROR)
        if not count.type.is_integer:
            c.error(e, f"{name} count must be an integer, not {count.type}")
            return Value("0", ERROR)
        code = f"_{name.lower()}({wrapped(value)}, {wrapped(count)}, {t.bits})"
        return Value(code, t, raw=t.signed)

    return translate


def _string_fn(
    name: str, kinds: str, result: str, code: Callable[[list[str]], str]
) -> tuple[tuple[int, int], _Translator]:
    """A string function: ``kinds`` has ``s`` (STRING) or ``i`` (integer) per argument."""

    def translate(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
        codes = []
        for kind, a in zip(kinds, args, strict=True):
            ok = isinstance(a.type, StringType) if kind == "s" else a.type.is_integer
            if not ok:
                need = "STRING" if kind == "s" else "an integer"
                c.error(e, f"{name} needs {need} here, not {a.type}")
                return Value("''", ERROR)
            codes.append(wrapped(a))
        if result == "s":
            # As long as its string arguments together: a longer result (INSERT,
            # REPLACE) is then cut to the length of the variable it is stored in.
            strings = [a.type for k, a in zip(kinds, args, strict=True) if k == "s"]
            t: DataType = StringType(sum(st.length for st in strings))  # type: ignore[attr-defined]
        else:
            t = ELEMENTARY["INT"]
        return Value(code(codes), t)

    return (len(kinds), len(kinds)), translate


def _fn_concat(c: TypeChecker, e: n.Call, args: list[Value]) -> Value:
    for a in args:
        if not isinstance(a.type, StringType):
            c.error(e, f"CONCAT needs strings, not {a.type}")
            return Value("''", ERROR)
    # Its type is as long as all parts: storing cuts it to the variable's length.
    length = sum(a.type.length for a in args)  # type: ignore[attr-defined]
    return Value("(" + " + ".join(a.code for a in args) + ")", StringType(length))


#: Formal parameter names of standard functions, in order (IEC 61131-3 tables 22-37).
_PARAMETERS = {
    "ABS": ["IN"], "MOVE": ["IN"], "LEN": ["IN"], "EXPT": ["IN1", "IN2"],
    "LIMIT": ["MN", "IN", "MX"], "SEL": ["G", "IN0", "IN1"], "MUX": ["K"],
    "SHL": ["IN", "N"], "SHR": ["IN", "N"], "ROL": ["IN", "N"], "ROR": ["IN", "N"],
    "LEFT": ["IN", "L"], "RIGHT": ["IN", "L"], "MID": ["IN", "L", "P"],
    "INSERT": ["IN1", "IN2", "P"], "DELETE": ["IN", "L", "P"],
    "REPLACE": ["IN1", "IN2", "L", "P"], "FIND": ["IN1", "IN2"],
}  # fmt: skip
#: Name -> (arity range, translator).
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


def is_standard_function(name: str) -> bool:
    """True if ``name`` is a standard function (ABS, MAX, INT_TO_REAL, ...)."""
    upper = name.upper()
    if upper in _STANDARD_FUNCTIONS:
        return True
    match = _CONVERSION.match(upper) or _TRUNC.match(upper)
    return bool(match) and _is_type_name(match.group(1)) and _is_type_name(match.group(2))
