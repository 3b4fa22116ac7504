"""Mutation operators: small, realistic changes to an ST program, made on its syntax tree.

Each operator finds *sites* in a parsed library (:mod:`vcommission.plc.nodes`) and makes one
mutant per site and variant by changing a fresh parse of the same source in place, then
writing it back as ST with :func:`~vcommission.plc.unparse.unparse`. Working on the tree, not
on the text, means every mutant is a program the parser accepts, a comment or a string never
gets mutated, and ``a<b`` and ``a < b`` are the same site. Sites are enumerated in a fixed
order (source order, then operator order), so mutant ids are stable for a given source.

The operators (names as ``--operators`` takes them):

``ror``      relational operator replaced by each other one (``<`` ``<=`` ``>`` ``>=`` ``=`` ``<>``)
``lcr``      ``AND`` / ``OR`` / ``XOR`` replaced by each other one
``neg``      ``NOT`` inserted on an IF/ELSIF/WHILE/REPEAT condition, or removed from one
``bool``     boolean literal flipped
``int``      integer literal plus and minus one
``timer``    a timer preset (``PT := T#4s``) halved and doubled
``assign``   assignment deleted
``cond``     IF/ELSIF condition forced TRUE and forced FALSE
``case``     CASE arm removed
``trig``     ``R_TRIG`` / ``F_TRIG`` instance swapped
``timer_kind`` ``TON`` / ``TOF`` instance swapped
"""

from __future__ import annotations

import dataclasses
import pickle
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from vcommission.plc import nodes as n
from vcommission.plc.parser import parse
from vcommission.plc.unparse import unparse

__all__ = ["OPERATORS", "Mutant", "Site", "make_mutant", "mutants", "sites"]

_RELATIONAL = ("<", "<=", ">", ">=", "=", "<>")
_LOGICAL = ("AND", "OR", "XOR")
_SWAPS = {"r_trig": "F_TRIG", "f_trig": "R_TRIG", "ton": "TOF", "tof": "TON"}

#: Operator name -> what it does, for ``--operators`` and the report.
OPERATORS = {
    "ror": "relational operator replaced",
    "lcr": "AND/OR/XOR replaced",
    "neg": "NOT inserted or removed on a condition",
    "bool": "boolean literal flipped",
    "int": "integer literal +1/-1",
    "timer": "timer preset halved/doubled",
    "assign": "assignment deleted",
    "cond": "IF condition forced TRUE/FALSE",
    "case": "CASE arm removed",
    "trig": "R_TRIG/F_TRIG swapped",
    "timer_kind": "TON/TOF swapped",
}


@dataclass(frozen=True)
class Site:
    """One place and one change: enough to make the mutant again from the source."""

    #: Position in the fixed enumeration (a mutant's id within its program).
    index: int
    operator: str
    #: Where the changed node starts in the original source.
    line: int
    col: int
    #: The enclosing statement's position (coverage counts statements), or (0, 0) for a
    #: declaration, which every statement using it depends on.
    statement: tuple[int, int]
    #: The changed code, before and after, as one line of ST each.
    original: str
    mutated: str


@dataclass(frozen=True)
class Mutant:
    """A mutated program: its site and its full ST text."""

    site: Site
    source: str


# A candidate is found on a parse and applied on another parse of the same source: ``apply``
# receives the node at the same position of the fresh tree (found by walk order).
_Apply = Callable[[Any], None]


@dataclass
class _Candidate:
    operator: str
    node: n.Node
    statement: n.Statement | None
    original: str
    mutated: str
    apply: Callable[[], None]


def sites(source: str, file: str = "<string>", operators: set[str] | None = None) -> list[Site]:
    """Every mutation site of ``source``, in their fixed order."""
    library = _parse(source, file)
    return [c for c, _ in _enumerate(library, operators)]


def mutants(
    source: str, file: str = "<string>", operators: set[str] | None = None
) -> Iterator[Mutant]:
    """Every mutant of ``source`` (unchecked: some may not compile), in site order."""
    for site in sites(source, file, operators):
        yield make_mutant(source, site, file, operators)


def make_mutant(
    source: str, site: Site, file: str = "<string>", operators: set[str] | None = None
) -> Mutant:
    """The mutant of ``site``, made on a fresh parse of ``source``."""
    library = _parse(source, file)
    for candidate, apply in _enumerate(library, operators):
        if candidate.index == site.index:
            apply()
            return Mutant(site, unparse(library))
    raise ValueError(f"{file}: no mutation site {site.index}")


#: The last source parsed, pickled: a mutant is made on a fresh copy of its tree, and
#: unpickling one is some forty times faster than parsing the text again.
_parsed: dict[tuple[str, str], bytes] = {}


def _parse(source: str, file: str) -> n.Library:
    key = (source, file)
    tree = _parsed.get(key)
    if tree is None:
        parsed, issues = parse(source, file)
        if issues:
            raise ValueError(f"{file}: does not parse: {issues[0]}")
        tree = pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL)
        _parsed.clear()  # one program at a time: keep only the last
        _parsed[key] = tree
    library: n.Library = pickle.loads(tree)
    return library


def _enumerate(
    library: n.Library, operators: set[str] | None
) -> Iterator[tuple[Site, Callable[[], None]]]:
    index = 0
    for candidate in _candidates(library):
        if operators is not None and candidate.operator not in operators:
            continue
        statement = candidate.statement
        site = Site(
            index,
            candidate.operator,
            candidate.node.line,
            candidate.node.col,
            (statement.line, statement.col) if statement is not None else (0, 0),
            candidate.original,
            candidate.mutated,
        )
        yield site, candidate.apply
        index += 1


# ---- finding candidates ------------------------------------------------------------------------


def _candidates(library: n.Library) -> Iterator[_Candidate]:
    for pou in library.pous:
        for block in pou.blocks:
            for decl in block.decls:
                yield from _declaration(decl)
        yield from _statements(pou.body)


def _declaration(decl: n.VarDecl) -> Iterator[_Candidate]:
    init = decl.init
    if isinstance(init, n.Literal) and init.kind == "time":
        # A preset written as a named constant (``T_JAM : TIME := T#4s``, then
        # ``PT := T_JAM``) is the usual way; the constant is the preset.
        names = ", ".join(decl.names)
        yield from _presets(init, None, f"{names} := ")
    if not isinstance(decl.type, n.NamedTypeRef):
        return
    swapped = _SWAPS.get(n.key(decl.type.name))
    if swapped is None:
        return
    operator = "trig" if swapped.endswith("_TRIG") else "timer_kind"
    type_ref = decl.type

    def apply() -> None:
        type_ref.name = swapped

    names = ", ".join(decl.names)
    yield _Candidate(
        operator, decl, None, f"{names} : {type_ref.name}", f"{names} : {swapped}", apply
    )


def _statements(body: list[n.Statement]) -> Iterator[_Candidate]:
    for position, statement in enumerate(body):
        yield from _statement(body, position, statement)


def _statement(body: list[n.Statement], position: int, s: n.Statement) -> Iterator[_Candidate]:
    if isinstance(s, n.Assign):
        yield from _expressions(s.value, s)
        empty = n.Jump(s.line, s.col, "EMPTY")

        def delete() -> None:
            body[position] = empty

        yield _Candidate("assign", s, s, unparse(s).strip(), "(deleted)", delete)
    elif isinstance(s, n.CallStatement):
        yield from _arguments(s.args, s)
    elif isinstance(s, n.If):
        for branch, (condition, branch_body) in enumerate(s.branches):
            yield from _condition(s, condition, lambda new, b=branch: _set_branch(s, b, new))
            yield from _forced(s, condition, lambda new, b=branch: _set_branch(s, b, new))
            yield from _statements(branch_body)
        if s.else_body:
            yield from _statements(s.else_body)
    elif isinstance(s, n.Case):
        yield from _expressions(s.selector, s)
        for arm_index, arm in enumerate(s.arms):
            labels = ", ".join(_label(low, high) for low, high in arm.labels)

            def remove(arms: list[n.CaseArm] = s.arms, i: int = arm_index) -> None:
                del arms[i]

            yield _Candidate("case", arm, s, f"CASE arm {labels}:", "(arm removed)", remove)
            yield from _statements(arm.body)
        if s.else_body:
            yield from _statements(s.else_body)
    elif isinstance(s, n.For):
        for expr in (s.start, s.end, s.step):
            if expr is not None:
                yield from _expressions(expr, s)
        yield from _statements(s.body)
    elif isinstance(s, n.While):
        yield from _condition(s, s.condition, lambda new: setattr(s, "condition", new))
        yield from _statements(s.body)
    elif isinstance(s, n.Repeat):
        yield from _statements(s.body)
        yield from _condition(s, s.condition, lambda new: setattr(s, "condition", new))


def _set_branch(s: n.If, branch: int, condition: n.Expr) -> None:
    s.branches[branch] = (condition, s.branches[branch][1])


def _label(low: n.Expr, high: n.Expr | None) -> str:
    return unparse(low) if high is None else f"{unparse(low)}..{unparse(high)}"


def _condition(
    s: n.Statement, condition: n.Expr, replace: Callable[[n.Expr], None]
) -> Iterator[_Candidate]:
    """The condition's own sites, then NOT inserted or removed."""
    yield from _expressions(condition, s)
    if isinstance(condition, n.Unary) and condition.op == "NOT":
        inner = condition.operand
        yield _Candidate(
            "neg", condition, s, unparse(condition), unparse(inner), lambda: replace(inner)
        )
    else:
        negated = n.Unary(condition.line, condition.col, "NOT", condition)
        yield _Candidate(
            "neg", condition, s, unparse(condition), unparse(negated), lambda: replace(negated)
        )


def _forced(
    s: n.Statement, condition: n.Expr, replace: Callable[[n.Expr], None]
) -> Iterator[_Candidate]:
    for value in (True, False):
        literal = n.Literal(condition.line, condition.col, value, "bool")
        yield _Candidate(
            "cond",
            condition,
            s,
            unparse(condition),
            "TRUE" if value else "FALSE",
            lambda literal=literal: replace(literal),
        )


def _arguments(args: list[n.CallArg], s: n.Statement) -> Iterator[_Candidate]:
    for arg in args:
        if arg.output:
            continue
        value = arg.value
        if (
            arg.name is not None
            and n.key(arg.name) == "pt"
            and isinstance(value, n.Literal)
            and value.kind == "time"
        ):
            yield from _presets(value, s, "PT := ")
            continue
        yield from _expressions(value, s)


def _presets(value: n.Literal, s: n.Statement | None, prefix: str) -> Iterator[_Candidate]:
    for label, factor in (("halved", 0.5), ("doubled", 2.0)):
        new = dataclasses.replace(value, value=int(value.value * factor))
        yield _Candidate(
            "timer",
            value,
            s,
            f"{prefix}{unparse(value)}",
            f"{prefix}{unparse(new)} ({label})",
            lambda new=new, value=value: _set_literal(value, new.value),
        )


def _set_literal(literal: n.Literal, value: object) -> None:
    literal.value = value  # type: ignore[assignment]


def _expressions(expr: n.Expr, s: n.Statement) -> Iterator[_Candidate]:
    """Sites inside an expression, left to right, outer before inner."""
    if isinstance(expr, n.Binary):
        alternatives = (
            _RELATIONAL if expr.op in _RELATIONAL else _LOGICAL if expr.op in _LOGICAL else ()
        )
        operator = "ror" if expr.op in _RELATIONAL else "lcr"
        for alternative in alternatives:
            if alternative == expr.op:
                continue
            mutated = dataclasses.replace(expr, op=alternative)
            yield _Candidate(
                operator,
                expr,
                s,
                unparse(expr),
                unparse(mutated),
                lambda expr=expr, alternative=alternative: setattr(expr, "op", alternative),
            )
        yield from _expressions(expr.left, s)
        yield from _expressions(expr.right, s)
    elif isinstance(expr, n.Unary):
        yield from _expressions(expr.operand, s)
    elif isinstance(expr, n.Call):
        for arg in expr.args:
            if not arg.output:
                yield from _expressions(arg.value, s)
    elif isinstance(expr, n.Index):
        for index in expr.indices:
            yield from _expressions(index, s)
    elif isinstance(expr, n.Literal):
        if expr.kind == "bool":
            flipped = not expr.value
            yield _Candidate(
                "bool",
                expr,
                s,
                unparse(expr),
                "TRUE" if flipped else "FALSE",
                lambda expr=expr, flipped=flipped: _set_literal(expr, flipped),
            )
        elif expr.kind == "int" and isinstance(expr.value, int):
            for delta in (1, -1):
                new_value = expr.value + delta
                mutated = dataclasses.replace(expr, value=new_value)
                yield _Candidate(
                    "int",
                    expr,
                    s,
                    unparse(expr),
                    unparse(mutated),
                    lambda expr=expr, new_value=new_value: _set_literal(expr, new_value),
                )
