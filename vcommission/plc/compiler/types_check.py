"""Type checking of expressions: IEC 61131-3 typing rules, annotated on the syntax tree.

:meth:`TypeChecker.expr` types one expression against the symbols of its scope, reports
every type error at its line and column, records the IEC type on the node
(``expr.iec_type``, so a later reader such as a mutator or a formatter finds the typed
tree), and returns the checked :class:`~vcommission.plc.compiler.lower_expr.Value`. The
checker only decides: the type of every node, the type the operands of an operator meet
at, whether a literal fits it, whether a store is allowed. It builds no Python code and
folds no constant itself: once a node is checked it hands the decision to
:mod:`~vcommission.plc.compiler.lower_expr` (operators, leaves, selectors, user calls,
stores) or :mod:`.stdfuncs` (standard calls), which build the code and fold constants.
Typing and lowering share one walk over each expression (a second walk would cost compile
time for nothing). An untyped literal keeps its literal type (``integer literal``) until
an operator or a store gives it one.
"""

from __future__ import annotations

import math

from vcommission.plc import nodes as n
from vcommission.plc.compiler import lower_expr, stdfuncs
from vcommission.plc.compiler.diagnostics import Diagnostics, describe
from vcommission.plc.compiler.lower_expr import (
    COMPARE,
    Value,
    default_code,
    literal_code,
    operand_code,
    store_code,
)
from vcommission.plc.compiler.symbols import NOT_CONST, FunctionSig, Scope, SymbolTable, py_attr
from vcommission.plc.nodes import key
from vcommission.plc.stdlib import _f32
from vcommission.plc.types import (
    ANY_INT,
    ANY_REAL,
    BOOL,
    ERROR,
    LREAL,
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
    common_type,
    implicitly_converts,
)

__all__ = ["TypeChecker", "same_array"]


class TypeChecker:
    """Types (and reports) expressions; each checked node gets its ``iec_type``."""

    def __init__(self, symbols: SymbolTable, diagnostics: Diagnostics) -> None:
        self.symbols = symbols
        self.error = diagnostics.error
        #: Expression node class -> its ``_x_<Class>`` method (looked up once, not per node).
        expression_classes = (
            n.Literal, n.EnumLiteral, n.Name, n.Field, n.Index, n.Bit, n.Unary, n.Binary, n.Call,
        )  # fmt: skip
        self._checks = {cls: getattr(self, f"_x_{cls.__name__}") for cls in expression_classes}

    def invalid(self, node: n.Node, message: str) -> Value:
        """Report ``message`` at ``node``; the value of an expression that has no type."""
        self.error(node, message)
        return Value("0", ERROR)

    def expr(self, e: n.Expr, scope: Scope) -> Value:
        """Check ``e`` in ``scope``; annotate it with its type; return its value."""
        value = self._checks[type(e)](e, scope)
        e.iec_type = value.type
        return value

    # ---- leaves --------------------------------------------------------------------------

    def _x_Literal(self, e: n.Literal, scope: Scope) -> Value:
        if e.type_name is not None and e.kind != "time":
            target = self.symbols.named_type(e.type_name, e)
            if target is ERROR:
                return Value("0", ERROR)
            literal_type = {"int": ANY_INT, "real": ANY_REAL, "bool": BOOL}[e.kind]
            literal = lower_expr.constant(e.value, literal_type)
            code = self.convert_for_store(literal, target, e, "typed literal")
            return lower_expr.typed_literal(code, e.value, target)
        if e.kind == "bool":
            return lower_expr.constant(e.value, BOOL)
        if e.kind == "int":
            return lower_expr.constant(e.value, ANY_INT)
        if e.kind == "real":
            return lower_expr.constant(e.value, ANY_REAL)
        if e.kind == "time":
            return lower_expr.constant(e.value, TIME)
        return lower_expr.constant(e.value, StringType(max(1, len(str(e.value)))))

    def _x_EnumLiteral(self, e: n.EnumLiteral, scope: Scope) -> Value:
        t = self.symbols.named_type(e.type_name, e)
        if t is ERROR:
            return Value("0", ERROR)
        if not isinstance(t, EnumType):
            return self.invalid(e, f"{e.type_name} is not an enumerated type")
        entry = t.values.get(key(e.value))
        if entry is None:
            return self.invalid(e, f"{e.value!r} is not a value of {t.name}")
        return lower_expr.enum_value(t, entry[1])

    def _x_Name(self, e: n.Name, scope: Scope) -> Value:
        var = scope.lookup(e.name)
        if var is not None:
            if var.type is ERROR:
                return Value("0", ERROR)
            return lower_expr.variable(var)
        enums = self.symbols.enum_values.get(key(e.name), [])
        if len(enums) == 1:
            return lower_expr.enum_value(enums[0], enums[0].values[key(e.name)][1])
        if len(enums) > 1:
            names = " or ".join(f"{t.name}#{e.name}" for t in enums)
            return self.invalid(e, f"{e.name} is a value of several enumerations: write {names}")
        return self.invalid(e, f"unknown variable {e.name!r}")

    # ---- selectors -----------------------------------------------------------------------

    def _x_Field(self, e: n.Field, scope: Scope) -> Value:
        base = self.expr(e.base, scope)
        t = base.type
        if t is ERROR:
            return base
        if isinstance(t, StructType):
            entry = t.fields.get(key(e.name))
            if entry is None:
                return self.invalid(e, f"{t.name} has no field {e.name!r}")
            return lower_expr.member(base, py_attr(entry[0]), entry[1], lvalue=base.lvalue)
        if isinstance(t, FbType):
            member = t.members.get(key(e.name))
            if member is None:
                return self.invalid(e, f"{t.name} has no member {e.name!r}")
            spelling, member_type, section = member
            if section not in ("VAR_INPUT", "VAR_OUTPUT", "VAR_IN_OUT"):
                return self.invalid(
                    e, f"{spelling} is internal to {t.name}: only inputs and outputs show"
                )
            lvalue = section == "VAR_INPUT" and base.lvalue
            return lower_expr.member(base, py_attr(spelling), member_type, lvalue=lvalue)
        return self.invalid(e, f"{describe(e.base)} is a {t}: it has no fields")

    def _x_Index(self, e: n.Index, scope: Scope) -> Value:
        base = self.expr(e.base, scope)
        t = base.type
        if t is ERROR:
            return base
        if not isinstance(t, ArrayType):
            return self.invalid(e, f"{describe(e.base)} is a {t}, not an array")
        if len(e.indices) != len(t.dims):
            self.error(e, f"{describe(e.base)} has {len(t.dims)} dimension(s), indexed with "
                          f"{len(e.indices)}")  # fmt: skip
            return Value("0", ERROR)
        indices = []
        for index_expr, (low, high) in zip(e.indices, t.dims, strict=True):
            index = self.expr(index_expr, scope)
            if index.type is ERROR:
                return index
            if not index.type.is_integer and not isinstance(index.type, EnumType):
                return self.invalid(index_expr, f"array index must be an integer, not {index.type}")
            if index.const is not NOT_CONST:
                value = int(index.const)  # type: ignore[arg-type]
                if not low <= value <= high:
                    return self.invalid(index_expr, f"index {value} outside {low}..{high}")
            indices.append((index, low, high))
        return lower_expr.element(base, indices, t.element)

    def _x_Bit(self, e: n.Bit, scope: Scope) -> Value:
        base = self.expr(e.base, scope)
        if base.type is ERROR:
            return base
        if not base.type.is_integer:
            self.error(e, f"bit access on {base.type}: needs an integer or bit string")
            return Value("False", ERROR)
        self.check_bit(e, base.type)
        return lower_expr.bit(base, e.bit)

    def check_bit(self, node: n.Bit, t: DataType) -> None:
        """Report a bit number beyond the width of ``t``."""
        bits = t.bits if isinstance(t, ElementaryType) else 0
        if node.bit >= bits:
            self.error(node, f"bit {node.bit} of a {bits}-bit {t}: bits run 0..{bits - 1}")

    # ---- operators -----------------------------------------------------------------------

    def _x_Unary(self, e: n.Unary, scope: Scope) -> Value:
        value = self.expr(e.operand, scope)
        t = value.type
        if t is ERROR:
            return value
        if e.op == "NOT":
            if t is BOOL or (t.is_integer and isinstance(t, ElementaryType)):
                return lower_expr.not_value(value)
            self.error(e, f"NOT needs BOOL or a bit string, not {t}")
            return Value("False", ERROR)
        if not (t.is_numeric or t.is_time):
            return self.invalid(e, f"unary {e.op} needs a number, not {t}")
        if e.op == "+":
            return value
        unsigned = isinstance(t, ElementaryType) and not t.signed and t.is_integer
        if value.const is NOT_CONST and unsigned:
            self.error(e, f"unary minus on unsigned {t}")
        return lower_expr.negate(value)

    def _x_Binary(self, e: n.Binary, scope: Scope) -> Value:
        left = self.expr(e.left, scope)
        right = self.expr(e.right, scope)
        if left.type is ERROR or right.type is ERROR:
            return Value("0", ERROR)
        op = e.op
        if op in ("AND", "&", "OR", "XOR"):
            return self._logic(e, left, right)
        if op in COMPARE:
            return self._compare(e, left, right)
        return self.arithmetic(e, left, right)

    def _logic(self, e: n.Binary, left: Value, right: Value) -> Value:
        op = "AND" if e.op == "&" else e.op
        if left.type is BOOL and right.type is BOOL:
            return lower_expr.bool_logic(op, left, right)
        t = self.unify(e, left, right)
        if t is None:
            return Value("0", ERROR)
        if not t.is_integer:
            return self.invalid(
                e, f"{op} needs BOOL or bit strings, not {left.type} and {right.type}"
            )
        self.check_operands(left, right, t, e)
        return lower_expr.bitwise(op, left, right, t)

    def _compare(self, e: n.Binary, left: Value, right: Value) -> Value:
        lt, rt = left.type, right.type
        t: DataType | None = None
        if isinstance(lt, EnumType) or isinstance(rt, EnumType):
            if lt is not rt:
                self.error(e, f"cannot compare {lt} with {rt}")
                return Value("False", ERROR)
        elif lt is BOOL or rt is BOOL or isinstance(lt, StringType) or isinstance(rt, StringType):
            same = (lt is BOOL and rt is BOOL) or (
                isinstance(lt, StringType) and isinstance(rt, StringType)
            )
            if not same:
                self.error(e, f"cannot compare {lt} with {rt}")
                return Value("False", ERROR)
        else:
            t = self.unify(e, left, right)
            if t is None:
                return Value("False", ERROR)
            self.check_operands(left, right, t, e)
        return lower_expr.compare(e.op, left, right, t)

    def arithmetic(self, e: n.Binary, left: Value, right: Value) -> Value:
        """``left e.op right`` for ``+ - * / MOD **`` (numbers and TIME)."""
        op = e.op
        lt, rt = left.type, right.type
        if lt.is_time or rt.is_time:
            return self._time_arithmetic(e, left, right)
        if not (lt.is_numeric and rt.is_numeric):
            return self.invalid(e, f"{op} needs numbers, not {lt} and {rt}")
        if op == "**":
            t = lt if lt.is_real and not isinstance(lt, LiteralType) else LREAL
            if isinstance(lt, LiteralType) and isinstance(rt, LiteralType):
                t = ANY_REAL  # like any literal expression, it takes the type it is used as
            return lower_expr.power(left, right, t)
        t = self.unify(e, left, right)
        if t is None:
            return Value("0", ERROR)
        if op == "MOD" and not t.is_integer:
            return self.invalid(e, f"MOD needs integers, not {lt} and {rt}")
        self.check_operands(left, right, t, e)
        if op in ("/", "MOD") and right.const is not NOT_CONST and right.const == 0:
            return self.invalid(e.right, "division by zero")
        return lower_expr.arithmetic(op, left, right, t)

    def _time_arithmetic(self, e: n.Binary, left: Value, right: Value) -> Value:
        op, lt, rt = e.op, left.type, right.type
        if (op in ("+", "-") and lt.is_time and rt.is_time) or (
            op in ("*", "/") and lt.is_time and rt.is_numeric
        ):
            return lower_expr.time_arithmetic(op, left, right)
        if op == "*" and lt.is_numeric and rt.is_time:
            return lower_expr.time_arithmetic(op, right, left)
        return self.invalid(e, f"{op} is not defined for {lt} and {rt}")

    # ---- where types meet ----------------------------------------------------------------

    def unify(self, e: n.Node, left: Value, right: Value) -> DataType | None:
        """Type both operands of a numeric operator meet at, or None (reported)."""
        lt, rt = left.type, right.type
        if isinstance(lt, LiteralType) and isinstance(rt, LiteralType):
            return ANY_REAL if ANY_REAL in (lt, rt) else ANY_INT
        if isinstance(lt, LiteralType):
            return self._literal_meets(left, rt, e)
        if isinstance(rt, LiteralType):
            return self._literal_meets(right, lt, e)
        if lt is rt:
            return lt
        t = common_type(lt, rt)
        if t is None:
            self.error(e, f"{lt} and {rt} do not mix: convert one (e.g. {lt}_TO_{rt})")
        return t

    def _literal_meets(self, literal: Value, t: DataType, e: n.Node) -> DataType | None:
        if literal.type is ANY_REAL and t.is_integer:
            self.error(e, f"real literal {literal.code} with {t}: the result would be REAL; "
                          f"convert with {t}_TO_REAL or write an integer")  # fmt: skip
            return None
        if not (t.is_numeric):
            self.error(e, f"number {literal.code} with {t}")
            return None
        return t

    def coerce(self, value: Value, t: DataType, where: n.Node, *, modular: bool = False) -> str:
        """Code for ``value`` as an operand of type ``t`` (already checked compatible).

        A literal is checked to fit ``t``; the code is
        :func:`~vcommission.plc.compiler.lower_expr.operand_code`'s.
        """
        if isinstance(value.type, LiteralType) and not isinstance(t, LiteralType):
            self._check_literal(value, t, where)
        return operand_code(value, t, modular=modular)

    def check_operands(self, left: Value, right: Value, t: DataType, where: n.Node) -> None:
        """Report a literal operand that does not fit ``t``, the type both operands meet at."""
        for value in (left, right):
            if isinstance(value.type, LiteralType) and not isinstance(t, LiteralType):
                self._check_literal(value, t, where)

    def literal_as(self, value: Value, t: DataType, where: n.Node) -> str:
        """Code of literal ``value`` used as a ``t`` (reported if it does not fit)."""
        self._check_literal(value, t, where)
        return literal_code(value, t)

    def _check_literal(self, value: Value, t: DataType, where: n.Node) -> None:
        const = value.const
        if t is REAL:  # a literal used as a REAL is a REAL: 0.1 means REAL#0.1 there
            single = _f32(float(const))  # type: ignore[arg-type]
            if math.isinf(single) and not math.isinf(float(const)):  # type: ignore[arg-type]
                self.error(where, f"constant {const} does not fit REAL (about 3.4E38 at most)")
        elif (
            isinstance(t, ElementaryType) and t.is_integer and not t.low <= int(const) <= t.high  # type: ignore[arg-type]
        ):
            self.error(where, f"constant {const} does not fit {t} ({t.low}..{t.high})")

    def convert_for_store(self, value: Value, t: DataType, where: n.Node, what: str) -> str:
        """Code that stores ``value`` into a ``t``; reports a type error if it may not."""
        vt = value.type
        if vt is ERROR or t is ERROR:
            return value.code
        if isinstance(vt, LiteralType):
            if t.is_numeric and not (vt is ANY_REAL and t.is_integer):
                return self.literal_as(value, t, where)
            self.error(where, f"{what}: {vt} {value.code} cannot become {t}")
            return value.code
        if vt is t or implicitly_converts(vt, t) or same_array(vt, t):
            if isinstance(t, FbType):
                self.error(where, f"{what}: function block instances cannot be copied")
            return store_code(value, t)
        self.error(where, f"{what}: {vt} cannot be stored in {t}" + _hint(vt, t))
        return value.code

    def condition(self, expr: n.Expr, scope: Scope) -> str:
        """Code of a condition (IF, WHILE, UNTIL), which must be BOOL."""
        value = self.expr(expr, scope)
        if value.type is not BOOL and value.type is not ERROR:
            self.error(expr, f"condition must be BOOL, not {value.type}")
        return value.code

    # ---- calls ---------------------------------------------------------------------------

    def _x_Call(self, e: n.Call, scope: Scope) -> Value:
        k = key(e.name)
        functions = self.symbols.functions
        if k in functions:
            function = functions[k]
            if function.extra_results:
                self.error(e, f"{function.name} has outputs: call it as a statement, or "
                              "alone on the right of :=")  # fmt: skip
                return Value("0", ERROR)
            bound = self.bind_arguments(function, e, scope)
            if bound is None or function.result is None:
                if function.result is None:
                    self.error(e, f"{function.name} returns no value")
                return Value("0", ERROR)
            return lower_expr.call(function.py, bound[0], function.result)
        var = scope.lookup(e.name)
        if var is not None and isinstance(var.type, FbType):
            return self.invalid(e, f"{e.name} is a function block instance: call it as a statement")
        ordered = stdfuncs.ordered_arguments(self, e)
        if ordered is None:
            return Value("0", ERROR)
        args = [self.expr(a, scope) for a in ordered]
        if any(a.type is ERROR for a in args):
            return Value("0", ERROR)
        return stdfuncs.standard_call(self, e, args)

    def bind_arguments(
        self, function: FunctionSig, call: n.Call, scope: Scope
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
                codes.append(default_code(param_type))
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


def same_array(a: DataType, b: DataType) -> bool:
    """Arrays of the same bounds and element type (assignable one to the other)."""
    return (
        isinstance(a, ArrayType)
        and isinstance(b, ArrayType)
        and a.dims == b.dims
        and (a.element is b.element or same_array(a.element, b.element))
    )


def _hint(source: DataType, target: DataType) -> str:
    if isinstance(source, ElementaryType) and isinstance(target, ElementaryType):
        return f" (convert with {source.name}_TO_{target.name})"
    return ""
