"""The typed tree: what type checking records on the syntax tree for the passes after it.

:class:`~vcommission.plc.compiler.types_check.TypeChecker` walks the whole library once
and leaves, on every expression it checks, a :class:`Typed` (``expr.typed``; its type is
also ``expr.iec_type``): the IEC type, the folded constant, whether it is assignable, the
variable it reads, and the lowering rule (``form``) with what that rule needs (the type
the operands meet at, a field's attribute, an array's bounds, a call's bound arguments).
Statements that need more than their expressions get a plan (``statement.plan``):
:class:`FbCallPlan`, :class:`ForPlan`, the CASE labels' values, the call a call
statement stands for. Code generation reads only these: it decides no type.

:class:`TypedProgram` is the result of the checking passes over one library: the
annotated tree, its symbols, each POU's scope, and every issue found.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vcommission.plc import nodes as n
from vcommission.plc.compiler.symbols import NOT_CONST, Scope, SymbolTable, Var

if TYPE_CHECKING:
    from vcommission.errors import SourceIssue
    from vcommission.plc.types import DataType

__all__ = ["BoundCall", "FbCallPlan", "ForPlan", "StdCall", "Typed", "TypedProgram"]


class Typed:
    """A checked expression: its type, its folded constant and how it is to be lowered."""

    __slots__ = ("const", "form", "info", "lvalue", "operand", "type", "var")

    def __init__(
        self,
        type: DataType,
        const: object = NOT_CONST,
        form: str = "",
        operand: DataType | None = None,
        info: object = None,
        lvalue: bool = False,
        var: Var | None = None,
    ) -> None:
        self.type = type
        #: Folded value (:data:`~vcommission.plc.compiler.symbols.NOT_CONST` if none).
        self.const = const
        #: Lowering rule: ``var``, ``member``, ``modular``, ``compare``, ``call``, ``std``...
        self.form = form
        #: The type the operands are lowered at (``a + b``: where INT and DINT meet).
        self.operand = operand
        #: What the rule needs besides (attribute, bounds, bound arguments, ...).
        self.info = info
        #: Assignable (a variable, a field, an element, a bit).
        self.lvalue = lvalue
        self.var = var

    @property
    def is_const(self) -> bool:
        return self.const is not NOT_CONST

    def __repr__(self) -> str:
        const = "" if self.const is NOT_CONST else f" = {self.const!r}"
        return f"<Typed {self.type}{const} {self.form}>"


class BoundCall:
    """A call of a user FUNCTION with its arguments matched to the parameters."""

    __slots__ = ("function", "inputs", "targets")

    def __init__(
        self,
        function: object,
        inputs: list[tuple[DataType, n.Expr | None]],
        targets: list[tuple[int, n.CallArg]],
    ) -> None:
        #: The :class:`~vcommission.plc.compiler.symbols.FunctionSig` called.
        self.function = function
        #: Each input and in-out parameter in order: (its type, the argument or None).
        self.inputs = inputs
        #: Output and in-out arguments: (position in the returned tuple, argument).
        self.targets = targets


class StdCall:
    """A standard function call as checked: its code rule, arguments in order, and extras."""

    __slots__ = ("args", "extra", "rule")

    def __init__(self, rule: str, args: list[n.Expr], extra: object = None) -> None:
        #: The function's upper-case name (``MAX``, ``SHL``) or ``CONV`` for *_TO_* and TRUNC.
        self.rule = rule
        #: The arguments in parameter order (a formal call may give them in any order).
        self.args = args
        #: What the rule needs: a conversion's types, a math function's name, ...
        self.extra = extra


class FbCallPlan:
    """A function block call statement: inputs set, in-outs copied back, outputs stored."""

    __slots__ = ("in_outs", "inputs", "outputs")

    def __init__(self) -> None:
        #: (attribute, member type, value) in source order.
        self.inputs: list[tuple[str, DataType, n.Expr]] = []
        #: (attribute, variable) of each VAR_IN_OUT argument.
        self.in_outs: list[tuple[str, n.Expr]] = []
        #: (attribute, member type, argument) of each ``=>``.
        self.outputs: list[tuple[str, DataType, n.CallArg]] = []


class ForPlan:
    """A FOR loop's control variable (a checked name) and its step when constant."""

    __slots__ = ("control", "step")

    def __init__(self, control: n.Name, step: int | None) -> None:
        self.control = control
        self.step = step


@dataclass
class TypedProgram:
    """A checked library: the annotated tree, its symbols, POU scopes and every issue."""

    library: n.Library
    symbols: SymbolTable
    #: Each POU's scope, in the order of ``library.pous``.
    scopes: list[Scope] = field(default_factory=list)
    issues: list[SourceIssue] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no issue was found (only then is there code to generate)."""
        return not self.issues

    @staticmethod
    def type_of(e: n.Expr) -> DataType | None:
        """The IEC type checking gave ``e`` (None if it was not checked)."""
        return e.typed.type if e.typed is not None else None

    @staticmethod
    def const_of(e: n.Expr) -> object:
        """The folded value of ``e``, or ``NOT_CONST``."""
        return e.typed.const if e.typed is not None else NOT_CONST
