"""Standard functions (IEC 61131-3 tables 22-37), the type half: signatures and result types.

One checker per function, in a table by name (with its arity): it checks the arguments
(already typed by the :class:`~vcommission.plc.compiler.types_check.TypeChecker`), folds a
call on literals only to a literal, and returns the call's :class:`~.typed.Typed`: its
result type, the type its operands are lowered at, and a :class:`~.typed.StdCall` naming
the code rule of :mod:`~vcommission.plc.compiler.stdfuncs_code` (the code half). The
*_TO_* conversions and TRUNC are recognised by their names' pattern.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from vcommission.plc import nodes as n
from vcommission.plc.compiler.symbols import NOT_CONST
from vcommission.plc.compiler.typed import StdCall, Typed
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
    EnumType,
    LiteralType,
    StringType,
    implicitly_converts,
)

if TYPE_CHECKING:
    from vcommission.plc.compiler.types_check import TypeChecker

__all__ = ["REAL_FUNCTIONS", "is_standard_function", "ordered_arguments", "standard_call"]

#: ST name -> :mod:`math` function.
REAL_FUNCTIONS = {
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

_Checker = Callable[["TypeChecker", n.Call, list[Typed]], Typed]


def _std(t: DataType, rule: str, extra: object = None, *, operand: DataType | None = None) -> Typed:
    """A call lowered by code rule ``rule`` (its arguments are filled in by standard_call)."""
    return Typed(t, form="std", operand=operand, info=(rule, extra))


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


def standard_call(c: TypeChecker, e: n.Call, exprs: list[n.Expr], args: list[Typed]) -> Typed:
    """Standard function call ``e`` on ``exprs`` in parameter order, checked as ``args``."""
    typed = _check_call(c, e, args)
    if typed.form == "std":
        rule, extra = typed.info  # type: ignore[misc]
        typed.info = StdCall(rule, exprs, extra)
    return typed


def _check_call(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
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
        return Typed(ERROR)
    arity, fn = handler
    low, high = arity
    if not low <= len(args) <= high:
        count = f"{low}" if low == high else f"{low} to {high}" if high < 99 else f"{low} or more"
        c.error(e, f"{upper} takes {count} argument(s), got {len(args)}")
        return Typed(ERROR)
    return fn(c, e, args)


def _conversion(
    c: TypeChecker,
    e: n.Call,
    args: list[Typed],
    source: str | None,
    target: str | None,
    trunc: bool,
) -> Typed:
    if len(args) != 1:
        c.error(e, f"{e.name} takes one argument")
        return Typed(ERROR)
    value = args[0]
    as_literal: DataType | None = None  # a literal argument is spelled as this type
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
            return Typed(ERROR)
        if isinstance(src_t, LiteralType):
            c.check_literal(value, declared, e)
            as_literal = src_t = declared
    if isinstance(src_t, LiteralType):
        src_t = LREAL if src_t is ANY_REAL else ELEMENTARY["LINT"]
    if trunc:
        if not src_t.is_real:
            c.error(e, f"TRUNC needs a REAL or LREAL, not {src_t}")
            return Typed(ERROR)
        return _std(dst_t, "CONV", (src_t, as_literal, dst_t, True))
    if not _converts(src_t, dst_t):
        c.error(e, f"no conversion from {src_t} to {dst_t}")
        return Typed(ERROR)
    return _std(dst_t, "CONV", (src_t, as_literal, dst_t, False))


def _converts(src: DataType, dst: DataType) -> bool:
    """A *_TO_* conversion from ``src`` to ``dst`` exists (``pycode.convert_code`` spells it)."""
    # What converts to a STRING, an integer or a REAL: every scalar but an enumeration,
    # which converts to strings and integers only.
    scalar = (
        src is BOOL or src.is_integer or src.is_real or src.is_time or isinstance(src, StringType)
    )
    if isinstance(dst, StringType):
        return scalar or isinstance(src, EnumType)
    assert isinstance(dst, ElementaryType)
    if dst is BOOL:
        return isinstance(src, StringType) or src.is_numeric or src is BOOL
    if dst.is_integer:
        return scalar or isinstance(src, EnumType)
    if dst.is_real:
        return scalar
    if dst.is_time:
        return src.is_integer or src.is_real or src.is_time
    return False


# ---- translators ------------------------------------------------------------------------


def _numeric_args(c: TypeChecker, e: n.Call, args: list[Typed]) -> DataType | None:
    """The type all arguments meet at (as ``a + b`` would), or None (reported)."""
    met = args[0]
    for a in args[1:]:
        t = c.unify(e, met, a)
        if t is None:
            return None
        # Carry on from the type met so far; a literal stays a literal with its value.
        met = Typed(t, met.const if isinstance(t, LiteralType) else NOT_CONST)
    t = met.type
    if t is not None and not (t.is_numeric or t.is_time):
        c.error(e, f"{e.name.upper()} needs numbers, not {t}")
        return None
    return t


def _concrete(t: DataType, args: list[Typed]) -> DataType:
    if isinstance(t, LiteralType):
        big = any(abs(a.const) > 2**31 - 1 for a in args if a.const is not NOT_CONST)  # type: ignore[arg-type]
        return LREAL if t is ANY_REAL else (ELEMENTARY["LINT"] if big else DINT)
    return t


def _literal_result(t: DataType, args: list[Typed], fn: Callable[..., object]) -> Typed | None:
    """A call on literals only, folded to a literal: ``x := ABS(-5)`` fits an INT ``x``."""
    if not isinstance(t, LiteralType) or any(a.const is NOT_CONST for a in args):
        return None
    try:
        const = fn(*(a.const for a in args))
    except (ValueError, OverflowError, ZeroDivisionError):
        return None  # left to run time, which faults with the line
    literal_type = ANY_REAL if isinstance(const, float) else ANY_INT
    return Typed(literal_type, const, form="const")


def _fn_abs(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    t = _numeric_args(c, e, args)
    if t is None:
        return Typed(ERROR)
    if (folded := _literal_result(t, args, abs)) is not None:
        return folded
    t = _concrete(t, args)
    c.check_literal_operand(args[0], t, e)
    return _std(t, "ABS", operand=t)


def _fn_real(name: str) -> _Checker:
    def translate(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
        t = args[0].type
        if not t.is_numeric:
            c.error(e, f"{name} needs a number, not {t}")
            return Typed(ERROR)
        folded = _literal_result(t, args, getattr(math, REAL_FUNCTIONS[name]))
        if folded is not None:
            return Typed(ANY_REAL, folded.const, form="const")
        result = t if (t.is_real and not isinstance(t, LiteralType)) else LREAL
        c.check_literal_operand(args[0], LREAL, e)
        return _std(result, "REAL", REAL_FUNCTIONS[name], operand=LREAL)

    return translate


def _fn_expt(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    # Typed as ``IN1 ** IN2`` (errors at the call); folded, or lowered as a power.
    typed = c.arithmetic(e, "**", args[0], args[1], e)
    return _std(typed.type, "EXPT") if typed.form == "power" else typed


def _fn_minmax(name: str) -> _Checker:
    def translate(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
        t = _numeric_args(c, e, args)
        if t is None:
            return Typed(ERROR)
        if (folded := _literal_result(t, args, {"min": min, "max": max}[name])) is not None:
            return folded
        t = _concrete(t, args)
        for a in args:
            c.check_literal_operand(a, t, e)
        return _std(t, name.upper(), operand=t)

    return translate


def _fn_limit(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    t = _numeric_args(c, e, args)
    if t is None:
        return Typed(ERROR)
    if (folded := _literal_result(t, args, lambda lo, x, hi: min(max(x, lo), hi))) is not None:
        return folded
    t = _concrete(t, args)
    for a in args:
        c.check_literal_operand(a, t, e)
    return _std(t, "LIMIT", operand=t)


def _same_kind(c: TypeChecker, e: n.Call, args: list[Typed]) -> DataType | None:
    types = {id(a.type): a.type for a in args}
    if len(types) == 1:
        t = args[0].type
        return _concrete(t, args) if isinstance(t, LiteralType) else t
    return _numeric_args(c, e, args)


def _fn_sel(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    if args[0].type is not BOOL:
        c.error(e, f"SEL selector must be BOOL, not {args[0].type}")
        return Typed(ERROR)
    t = _same_kind(c, e, args[1:])
    if t is None:
        return Typed(ERROR)
    if args[0].const is not NOT_CONST:
        chosen = args[2] if args[0].const else args[1]
        if isinstance(chosen.type, LiteralType):
            return Typed(chosen.type, chosen.const, form="const")
    for x in args[1:]:
        c.check_literal_operand(x, t, e)
    return _std(t, "SEL", operand=t)


def _fn_mux(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    if not args[0].type.is_integer:
        c.error(e, f"MUX selector must be an integer, not {args[0].type}")
        return Typed(ERROR)
    t = _same_kind(c, e, args[1:])
    if t is None:
        return Typed(ERROR)
    k = args[0].const
    if k is not NOT_CONST and 0 <= k < len(args) - 1:  # type: ignore[operator]
        chosen = args[1 + k]  # type: ignore[operator]
        if isinstance(chosen.type, LiteralType):
            return Typed(chosen.type, chosen.const, form="const")
    for x in args[1:]:
        c.check_literal_operand(x, t, e)
    return _std(t, "MUX", operand=t)


def _fn_move(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    a = args[0]  # its argument as it is
    return Typed(a.type, a.const, form="std", info=("MOVE", None), lvalue=a.lvalue, var=a.var)


def _fn_shift(name: str) -> _Checker:
    def translate(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
        value, count = args
        t = value.type
        if isinstance(t, LiteralType) or not isinstance(t, ElementaryType) or not t.is_integer:
            c.error(e, f"{name} needs a typed bit string or integer, not {t}")
            return Typed(ERROR)
        if not count.type.is_integer:
            c.error(e, f"{name} count must be an integer, not {count.type}")
            return Typed(ERROR)
        return _std(t, name)

    return translate


def _string_fn(name: str, kinds: str, result: str) -> tuple[tuple[int, int], _Checker]:
    """A string function: ``kinds`` has ``s`` (STRING) or ``i`` (integer) per argument."""

    def translate(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
        for kind, a in zip(kinds, args, strict=True):
            ok = isinstance(a.type, StringType) if kind == "s" else a.type.is_integer
            if not ok:
                need = "STRING" if kind == "s" else "an integer"
                c.error(e, f"{name} needs {need} here, not {a.type}")
                return Typed(ERROR)
        if result == "s":
            # As long as its string arguments together: a longer result (INSERT,
            # REPLACE) is then cut to the length of the variable it is stored in.
            strings = [a.type for k, a in zip(kinds, args, strict=True) if k == "s"]
            t: DataType = StringType(sum(st.length for st in strings))  # type: ignore[attr-defined]
        else:
            t = ELEMENTARY["INT"]
        return _std(t, name)

    return (len(kinds), len(kinds)), translate


def _fn_concat(c: TypeChecker, e: n.Call, args: list[Typed]) -> Typed:
    for a in args:
        if not isinstance(a.type, StringType):
            c.error(e, f"CONCAT needs strings, not {a.type}")
            return Typed(ERROR)
    # Its type is as long as all parts: storing cuts it to the variable's length.
    length = sum(a.type.length for a in args)  # type: ignore[attr-defined]
    return _std(StringType(length), "CONCAT")


#: Formal parameter names of standard functions, in order (IEC 61131-3 tables 22-37).
_PARAMETERS = {
    "ABS": ["IN"], "MOVE": ["IN"], "LEN": ["IN"], "EXPT": ["IN1", "IN2"],
    "LIMIT": ["MN", "IN", "MX"], "SEL": ["G", "IN0", "IN1"], "MUX": ["K"],
    "SHL": ["IN", "N"], "SHR": ["IN", "N"], "ROL": ["IN", "N"], "ROR": ["IN", "N"],
    "LEFT": ["IN", "L"], "RIGHT": ["IN", "L"], "MID": ["IN", "L", "P"],
    "INSERT": ["IN1", "IN2", "P"], "DELETE": ["IN", "L", "P"],
    "REPLACE": ["IN1", "IN2", "L", "P"], "FIND": ["IN1", "IN2"],
}  # fmt: skip
#: Name -> (arity range, checker).
_STANDARD_FUNCTIONS: dict[str, tuple[tuple[int, int], _Checker]] = {
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
    "LEN": _string_fn("LEN", "s", "i"),
    "LEFT": _string_fn("LEFT", "si", "s"),
    "RIGHT": _string_fn("RIGHT", "si", "s"),
    "MID": _string_fn("MID", "sii", "s"),
    "INSERT": _string_fn("INSERT", "ssi", "s"),
    "DELETE": _string_fn("DELETE", "sii", "s"),
    "REPLACE": _string_fn("REPLACE", "ssii", "s"),
    "FIND": _string_fn("FIND", "ss", "i"),
}
_STANDARD_FUNCTIONS.update({name: ((1, 1), _fn_real(name)) for name in REAL_FUNCTIONS})


def _is_type_name(name: str | None) -> bool:
    return name is None or name in ELEMENTARY or name == "STRING"


def is_standard_function(name: str) -> bool:
    """True if ``name`` is a standard function (ABS, MAX, INT_TO_REAL, ...)."""
    upper = name.upper()
    if upper in _STANDARD_FUNCTIONS:
        return True
    match = _CONVERSION.match(upper) or _TRUNC.match(upper)
    return bool(match) and _is_type_name(match.group(1)) and _is_type_name(match.group(2))
