"""Syntax tree of a Structured Text source: declarations, statements and expressions.

Every node carries the 1-based ``line`` and ``col`` of its first character, so a checker or
runtime error can point at the source, and (from the parser) the ``end_line`` and
``end_column`` just after its last character, as lark counts them: a node spans
``(line, col)`` up to, not including, ``(end_line, end_column)``. Nodes made by a pass
rather than read from text have end 0. Names keep the user's spelling; they are compared
case-insensitively (``key``) as IEC 61131-3 requires.

The type checker annotates every expression it checks (``typed``: its IEC type, also
``iec_type``, its folded constant and how it is lowered) and gives the statements that need
one a plan (``plan``), so the checked library is a typed tree a later pass (code
generation, a mutator, a formatter) can read. The annotations take no part in equality.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vcommission.plc.compiler.typed import Typed
    from vcommission.plc.types import DataType

__all__ = [
    "AliasDecl",
    "ArrayTypeRef",
    "Assign",
    "Binary",
    "Bit",
    "Call",
    "CallArg",
    "CallStatement",
    "Case",
    "CaseArm",
    "Config",
    "EnumDecl",
    "EnumLiteral",
    "Expr",
    "Field",
    "For",
    "If",
    "Index",
    "Jump",
    "Library",
    "Literal",
    "Name",
    "NamedTypeRef",
    "Pou",
    "ProgramConfig",
    "Repeat",
    "Statement",
    "StringTypeRef",
    "StructDecl",
    "SubrangeTypeRef",
    "Task",
    "TypeDecl",
    "TypeRef",
    "Unary",
    "VarBlock",
    "VarDecl",
    "While",
    "key",
]


def key(name: str) -> str:
    """How a name is compared: IEC 61131-3 identifiers are case-insensitive."""
    return name.lower()


@dataclass
class Node:
    """Base of every node: where it starts and (when read from text) ends."""

    line: int
    col: int
    end_line: int = field(default=0, kw_only=True)
    end_column: int = field(default=0, kw_only=True)


# ---- expressions ---------------------------------------------------------------------------


@dataclass
class Expr(Node):
    """Base of expressions."""

    #: Set by the type checker (``None`` until checked): type, constant, lowering rule.
    typed: Typed | None = field(default=None, kw_only=True, compare=False, repr=False)

    @property
    def iec_type(self) -> DataType | None:
        """The expression's IEC type, once checked."""
        return self.typed.type if self.typed is not None else None


@dataclass
class Literal(Expr):
    #: Python value: bool, int (TIME in nanoseconds), float or str.
    value: bool | int | float | str
    #: ``bool``, ``int``, ``real``, ``time`` or ``string``.
    kind: str
    #: Type named in a typed literal (``INT#5``), else None.
    type_name: str | None = None


@dataclass
class EnumLiteral(Expr):
    """``E_State#RUNNING``: a value qualified by its enumerated type."""

    type_name: str
    value: str


@dataclass
class Name(Expr):
    name: str


@dataclass
class Field(Expr):
    base: Expr
    name: str


@dataclass
class Index(Expr):
    base: Expr
    indices: list[Expr]


@dataclass
class Bit(Expr):
    """``word.3``: one bit of an integer or bit string."""

    base: Expr
    bit: int


@dataclass
class CallArg(Node):
    #: Formal parameter name, or None for a positional argument.
    name: str | None
    #: Input value, or (for ``=>``) the variable that receives the output.
    value: Expr
    #: True for ``OUT => target``.
    output: bool = False
    #: True for ``NOT OUT => target``.
    negated: bool = False


@dataclass
class Call(Expr):
    name: str
    args: list[CallArg]


@dataclass
class Binary(Expr):
    #: Upper-case operator: ``+ - * / MOD ** = <> < > <= >= AND OR XOR``.
    op: str
    left: Expr
    right: Expr


@dataclass
class Unary(Expr):
    #: ``-``, ``+`` or ``NOT``.
    op: str
    operand: Expr


# ---- statements ----------------------------------------------------------------------------


@dataclass
class Statement(Node):
    """Base of statements."""

    #: Set by the type checker where code generation needs more than the expressions
    #: (see :mod:`vcommission.plc.compiler.typed`).
    plan: object = field(default=None, kw_only=True, compare=False, repr=False)


@dataclass
class Assign(Statement):
    target: Expr
    value: Expr


@dataclass
class CallStatement(Statement):
    #: The instance (``Name`` or a ``Field``/``Index`` path) or function name being called.
    target: Expr
    args: list[CallArg]


@dataclass
class If(Statement):
    #: (condition, body) for IF and each ELSIF, in order.
    branches: list[tuple[Expr, list[Statement]]]
    else_body: list[Statement] | None
    #: Where ``ELSE`` (or, without one, ``END_IF``) stands: the implicit branch's line.
    else_line: int = 0


@dataclass
class CaseArm(Node):
    #: (low, high) pairs; ``high`` is None for a single value.
    labels: list[tuple[Expr, Expr | None]]
    body: list[Statement]


@dataclass
class Case(Statement):
    selector: Expr
    arms: list[CaseArm]
    else_body: list[Statement] | None
    else_line: int = 0


@dataclass
class For(Statement):
    variable: str
    start: Expr
    end: Expr
    step: Expr | None
    body: list[Statement]


@dataclass
class While(Statement):
    condition: Expr
    body: list[Statement]


@dataclass
class Repeat(Statement):
    body: list[Statement]
    condition: Expr


@dataclass
class Jump(Statement):
    """``EXIT``, ``CONTINUE``, ``RETURN`` or the empty statement (``kind`` says which)."""

    kind: str


# ---- declarations --------------------------------------------------------------------------


@dataclass
class TypeRef(Node):
    pass


@dataclass
class NamedTypeRef(TypeRef):
    name: str


@dataclass
class StringTypeRef(TypeRef):
    size: Expr | None
    wide: bool = False


@dataclass
class ArrayTypeRef(TypeRef):
    ranges: list[tuple[Expr, Expr]]
    element: TypeRef


@dataclass
class SubrangeTypeRef(TypeRef):
    base: str
    low: Expr
    high: Expr


@dataclass
class VarDecl(Node):
    names: list[str]
    type: TypeRef
    #: Located address such as ``%IX0.0`` (upper case), or None.
    location: str | None = None
    #: Initial value: an expression, a list (array) or a dict (struct).
    init: object = None


@dataclass
class VarBlock(Node):
    #: ``VAR``, ``VAR_INPUT``, ``VAR_OUTPUT``, ``VAR_IN_OUT``, ``VAR_GLOBAL``,
    #: ``VAR_EXTERNAL``, ``VAR_TEMP`` (upper case).
    kind: str
    #: ``CONSTANT``, ``RETAIN``, ... (upper case).
    qualifiers: list[str]
    decls: list[VarDecl]

    @property
    def constant(self) -> bool:
        return "CONSTANT" in self.qualifiers

    @property
    def retain(self) -> bool:
        return "RETAIN" in self.qualifiers or "PERSISTENT" in self.qualifiers


@dataclass
class TypeDecl(Node):
    name: str


@dataclass
class EnumDecl(TypeDecl):
    values: list[tuple[str, Expr | None, int]]
    #: Base integer type of a typed enumeration (``INT (A := 1)``), else None.
    base: str | None = None
    default: str | None = None


@dataclass
class StructDecl(TypeDecl):
    fields: list[VarDecl]


@dataclass
class AliasDecl(TypeDecl):
    type: TypeRef
    init: object = None


@dataclass
class Pou(Node):
    #: ``PROGRAM``, ``FUNCTION_BLOCK`` or ``FUNCTION``.
    kind: str
    name: str
    return_type: TypeRef | None
    blocks: list[VarBlock]
    body: list[Statement]


@dataclass
class Task(Node):
    name: str
    #: ``INTERVAL``, ``PRIORITY``, ``SINGLE`` (upper case) -> expression.
    params: dict[str, Expr]


@dataclass
class ProgramConfig(Node):
    instance: str
    task: str | None
    type_name: str


@dataclass
class Config(Node):
    name: str
    blocks: list[VarBlock] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    programs: list[ProgramConfig] = field(default_factory=list)


@dataclass
class Library:
    """One source file: its library elements in order."""

    file: str
    source: str
    types: list[TypeDecl] = field(default_factory=list)
    pous: list[Pou] = field(default_factory=list)
    globals: list[VarBlock] = field(default_factory=list)
    configs: list[Config] = field(default_factory=list)
