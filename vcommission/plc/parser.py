"""Structured Text parser: source text to the syntax tree of :mod:`vcommission.plc.nodes`.

The grammar (``grammar.lark``) is LALR(1) for lark, a pure-Python parser library, so the
runtime installs with nothing but pip. A file is cut into its library elements (TYPE,
FUNCTION, FUNCTION_BLOCK, PROGRAM, CONFIGURATION, VAR_GLOBAL) before parsing, and each is
parsed on its own: a syntax error hides only the rest of its own element, and every other
element is still parsed and checked, so one run reports all errors it can. What a syntax
error means, in words, is :mod:`vcommission.plc.syntax_errors`' job.
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lark
from lark import Token, Transformer
from lark.exceptions import GrammarError, VisitError

from vcommission.errors import SourceIssue
from vcommission.plc import nodes as n
from vcommission.plc.syntax_errors import (
    line_col,
    stray_issue,
    syntax_issue,
    unclosed_comment_issue,
)

__all__ = ["parse", "parse_time"]

_GRAMMAR = Path(__file__).with_name("grammar.lark")

#: Element keywords and the keyword that closes each.
_ELEMENT_END = {
    "TYPE": "END_TYPE",
    "FUNCTION": "END_FUNCTION",
    "FUNCTION_BLOCK": "END_FUNCTION_BLOCK",
    "PROGRAM": "END_PROGRAM",
    "CONFIGURATION": "END_CONFIGURATION",
    "VAR_GLOBAL": "END_VAR",
}
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Comments, pragmas and strings are blanked (newlines kept) before elements are located.
_OPAQUE = re.compile(r"\(\*.*?\*\)|/\*.*?\*/|//[^\n]*|\{[^}]*\}|'(?:[^'$\n]|\$.)*'", re.S)


@cache
def _parser() -> lark.Lark:
    # cache=True: lark keeps the built LALR tables in the temp folder, keyed by grammar and
    # options; loading them costs a tenth of building them (0.05 s of CPU against 0.5 s),
    # which every suite worker would otherwise pay. A broken cache file is rebuilt by lark.
    return lark.Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
        cache=True,
    )


def parse(source: str, file: str = "<string>") -> tuple[n.Library, list[SourceIssue]]:
    """Parse ``source``; return the library of every element that parsed, and the errors."""
    library = n.Library(file=file, source=source)
    issues: list[SourceIssue] = []
    builder = _Builder(file, issues)
    for span in _elements(source, file, issues):
        # Blank everything but this element, so tokens keep their true line and column.
        before = source[: span.start]
        padded = re.sub(r"[^\n]", " ", before) + source[span.start : span.end]
        try:
            tree = _parser().parse(padded)
        except lark.exceptions.UnexpectedInput as error:
            issue = syntax_issue(
                error, source, file, span.end, span.cut_by, grammar=_parser(), elements=_ELEMENT_END
            )
            if issue is not None:
                issues.append(issue)
            _stand_in(source, span, library)
            continue
        too_deep = _too_deep(tree)
        if too_deep is not None:
            line, col = too_deep
            message = f"nested more than {MAX_SYNTAX_DEPTH} levels deep (expressions, statements)"
            issues.append(SourceIssue(file, line, col, message))
            _stand_in(source, span, library)
            continue
        with deep_recursion():
            elements = builder.transform(tree).children
        for element in elements:
            if isinstance(element, n.TypeDecl):
                library.types.append(element)
            elif isinstance(element, list):
                library.types.extend(element)
            elif isinstance(element, n.Pou):
                library.pous.append(element)
            elif isinstance(element, n.Config):
                library.configs.append(element)
            elif isinstance(element, n.VarBlock):
                library.globals.append(element)
    return library, issues


#: Syntax tree levels one library element may have: far above real programs (the bundled
#: ones stay under 40), and low enough that every recursive pass over the tree (building
#: nodes, type checking, code generation, CPython compiling the result) stays within
#: :func:`deep_recursion`'s stack.
MAX_SYNTAX_DEPTH = 400
#: The recursion limit the passes over a tree run under (Python's default is 1,000).
_RECURSION_LIMIT = 20_000


@contextlib.contextmanager
def deep_recursion() -> Iterator[None]:
    """Run a recursive pass over a tree of up to :data:`MAX_SYNTAX_DEPTH` levels.

    Each level costs a few Python frames per pass, and Python 3.11's calls between Python
    functions need no C stack, so a higher limit is safe where the depth is bounded.
    """
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _too_deep(tree: lark.Tree) -> tuple[int, int] | None:
    """Where ``tree`` first passes :data:`MAX_SYNTAX_DEPTH` (line, column), or None.

    Iterative: a depth check must not itself recurse.
    """
    stack: list[tuple[lark.Tree | lark.Token, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, lark.Tree):
            continue
        if depth > MAX_SYNTAX_DEPTH:
            token = next((t for t in node.scan_values(lambda v: isinstance(v, lark.Token))), None)
            return (token.line, token.column) if token is not None else (0, 0)
        stack.extend((child, depth + 1) for child in node.children)
    return None


def _stand_in(source: str, span: _Span, library: n.Library) -> None:
    """Keep an empty PROGRAM for one that failed to parse.

    Without it the checker would add "no PROGRAM to run", an error that only repeats the
    syntax error. Nothing refers to a program's variables, so an empty one adds no others.
    """
    match = re.match(r"PROGRAM\s+([A-Za-z_][A-Za-z0-9_]*)", source[span.start : span.end], re.I)
    if match:
        line, col = line_col(source, span.start)
        stand_in = n.Pou(line, col, "PROGRAM", match.group(1), None, [], [], end_line=line)
        library.pous.append(stand_in)


# ---- cutting a file into library elements ---------------------------------------------------


@dataclass(frozen=True)
class _Span:
    """Where one library element is in the source."""

    start: int
    end: int
    #: What follows an element that is not closed: ``"the end of the file"``, a keyword, or
    #: ``""`` when an unterminated comment swallowed the rest (reported already).
    cut_by: str | None = None


#: Element keywords that cannot occur inside another element but a CONFIGURATION.
_RESYNC = {"TYPE", "FUNCTION", "FUNCTION_BLOCK", "PROGRAM", "CONFIGURATION"}


def _elements(source: str, file: str, issues: list[SourceIssue]) -> list[_Span]:
    """Spans of the top-level elements; text between them is reported.

    An element whose END_ keyword is missing ends where the next element begins, so the
    elements after it are still parsed and checked.
    """
    masked = _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), source)
    limit = len(source)
    opened = _UNCLOSED.search(masked)
    if opened is not None:
        limit = opened.start()
        issues.append(unclosed_comment_issue(source, file, limit, opened.group()))
        masked = masked[:limit]
    spans: list[_Span] = []
    position = 0
    closing: str | None = None
    start = 0
    for match in _WORD.finditer(masked):
        word = match.group().upper()
        if closing is not None and closing != "END_CONFIGURATION" and word in _RESYNC:
            line, _ = line_col(source, match.start())
            spans.append(_Span(start, match.start(), f"{word} at line {line}"))
            closing, position = None, match.start()
        if closing is None:
            if word in _ELEMENT_END:
                gap = masked[position : match.start()]
                if gap.strip():
                    offset = position + len(gap) - len(gap.lstrip())
                    issues.append(stray_issue(source, file, offset, _ELEMENT_END))
                closing, start = _ELEMENT_END[word], match.start()
            continue
        if word == closing:
            spans.append(_Span(start, match.end()))
            closing, position = None, match.end()
    if closing is not None:
        spans.append(_Span(start, limit, "" if opened else "the end of the file"))
        position = limit
    tail = masked[position:]
    if tail.strip():
        offset = position + len(tail) - len(tail.lstrip())
        issues.append(stray_issue(source, file, offset, _ELEMENT_END))
    return spans


_UNCLOSED = re.compile(r"\(\*|/\*")


# ---- literals ------------------------------------------------------------------------------

_TIME_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|d|h|m|s)", re.I)
_TIME_NS = {"d": 86_400e9, "h": 3_600e9, "m": 60e9, "s": 1e9, "ms": 1e6, "us": 1e3, "ns": 1.0}
_TIME_TYPES = {"T", "TIME", "LT", "LTIME"}
_STRING_ESCAPES = {"$": "$", "'": "'", '"': '"', "L": "\n", "N": "\n", "R": "\r", "T": "\t"}
_STRING_ESCAPES["P"] = "\f"


def parse_time(text: str) -> int:
    """Nanoseconds of a duration such as ``1s500ms``, ``1.5s``, ``-2m`` (the part after ``T#``)."""
    body = text.replace("_", "")
    sign = -1 if body.startswith("-") else 1
    body = body.lstrip("+-")
    parts = _TIME_PART.findall(body)
    if not body or "".join(a + b for a, b in parts).lower() != body.lower():
        raise ValueError(f"bad duration {text!r}: write e.g. T#1s500ms or T#2.5s")
    return sign * round(sum(float(v) * _TIME_NS[u.lower()] for v, u in parts))


def _integer(text: str) -> int:
    text = text.replace("_", "")
    if "#" in text:
        base, digits = text.split("#", 1)
        if base not in {"2", "8", "16"}:
            raise ValueError(f"bad base {base}: IEC integers are base 2, 8 or 16")
        return int(digits, int(base))
    return int(text)


def _string(text: str) -> str:
    body, out, i = text[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "$" and i + 1 < len(body):
            escape = body[i + 1]
            if escape.upper() in _STRING_ESCAPES:
                out.append(_STRING_ESCAPES[escape.upper()])
                i += 2
                continue
            out.append(chr(int(body[i + 1 : i + 3], 16)))
            i += 3
            continue
        out.append(char)
        i += 1
    return "".join(out)


def _literal_reason(prefix: str, body: str, error: ValueError) -> str:
    """Why ``prefix#body`` is no literal, in words (not Python's ``int()`` message)."""
    if prefix in _TIME_TYPES:
        return f"{body!r} is not a duration; write e.g. T#1s500ms, T#2.5s or T#100ms"
    if prefix in {"2", "8", "16"} or "#" in body:
        base, digits = (prefix, body) if prefix in {"2", "8", "16"} else body.split("#", 1)
        if base not in {"2", "8", "16"}:
            return f"base {base} is not 2, 8 or 16"
        for digit in digits.replace("_", ""):
            if not digit.isalnum() or int(digit, 36) >= int(base):
                return f"{digit!r} is not a base-{base} digit"
    return str(error)


def _name(token: Token) -> n.Name:
    return n.Name(
        token.line, token.column, str(token), end_line=token.end_line, end_column=token.end_column
    )


def _end(meta: object) -> tuple[int, int]:
    return meta.end_line, meta.end_column  # type: ignore[attr-defined]


def _stand_in_literal(line: int, col: int, prefix: str) -> n.Literal:
    """A literal of the right kind for one that could not be read, so no error follows."""
    if prefix in _TIME_TYPES:
        return n.Literal(line, col, 0, "time", "TIME")
    if prefix == "BOOL":
        return n.Literal(line, col, False, "bool", "BOOL")
    if prefix in {"REAL", "LREAL"}:
        return n.Literal(line, col, 0.0, "real", prefix)
    return n.Literal(line, col, 0, "int")


class _Builder(Transformer):
    """Turns lark's parse tree into :mod:`nodes` (one method per grammar rule).

    Each method is called as ``method(meta, children)``, and the node it returns ends where
    its rule's text ends (``meta.end_line``, ``meta.end_column``) unless it set a truer
    end itself (a node built from a part of the rule).
    """

    def __init__(self, file: str, issues: list[SourceIssue]) -> None:
        super().__init__()
        self.file = file
        self.issues = issues

    def _call_userfunc(self, tree, new_children=None):  # lark 1.x hook
        # lark's own dispatch (lark 1.x), with the meta argument and the end position:
        # cheaper than v_args(meta=True), which wraps the method anew on every call.
        children = new_children if new_children is not None else tree.children
        method = getattr(self, tree.data, None)
        if method is None:
            return self.__default__(tree.data, children, tree.meta)
        meta = tree.meta
        try:
            node = method(meta, children)
        except GrammarError:
            raise
        except Exception as error:
            raise VisitError(tree.data, tree, error) from error
        if isinstance(node, n.Node) and not node.end_line and not meta.empty:
            node.end_line, node.end_column = meta.end_line, meta.end_column
        return node

    def _fail(self, line: int, col: int, message: str) -> None:
        # Recorded, not raised: the element is still built (with a stand-in for the bad
        # part) and checked, so one bad literal hides no other error.
        self.issues.append(SourceIssue(self.file, line, col, message))

    # -- declarations

    def type_decl(self, meta, children):
        return list(children)

    def type_def(self, meta, children):
        name, body = children
        body.name, body.line, body.col = str(name), meta.line, meta.column
        body.end_line, body.end_column = meta.end_line, meta.end_column
        return body

    def enum_spec(self, meta, children):
        base, *values, default = children
        return n.EnumDecl(
            meta.line,
            meta.column,
            "",
            values=values,
            base=str(base) if base else None,
            default=str(default) if default else None,
        )

    def enum_value(self, meta, children):
        name, value = children
        return (str(name), value, meta.line)

    def struct_spec(self, meta, children):
        return n.StructDecl(meta.line, meta.column, "", fields=list(children))

    def alias_spec(self, meta, children):
        type_ref, init = children
        return n.AliasDecl(meta.line, meta.column, "", type=type_ref, init=init)

    def named_type(self, meta, children):
        return n.NamedTypeRef(meta.line, meta.column, str(children[0]))

    def string_type(self, meta, children):
        return n.StringTypeRef(meta.line, meta.column, children[0])

    def string_size(self, meta, children):
        return children[0]

    def array_type(self, meta, children):
        *ranges, element = children
        return n.ArrayTypeRef(meta.line, meta.column, ranges, element)

    def subrange(self, meta, children):
        return (children[0], children[1])

    def subrange_type(self, meta, children):
        base, low, high = children
        return n.SubrangeTypeRef(meta.line, meta.column, str(base), low, high)

    def var_block(self, meta, children):
        kind, *rest = children
        qualifiers = [q for q in rest if isinstance(q, str)]
        decls = [d for d in rest if isinstance(d, n.VarDecl)]
        return n.VarBlock(meta.line, meta.column, str(kind).upper(), qualifiers, decls)

    def qualifier(self, meta, children):
        return str(children[0]).upper()

    def var_decl(self, meta, children):
        *names, location, type_ref, init = children
        return n.VarDecl(
            meta.line,
            meta.column,
            [str(x) for x in names],
            type_ref,
            location=location,
            init=init,
        )

    def location(self, meta, children):
        return str(children[0]).upper()

    def array_init(self, meta, children):
        items: list[object] = []
        for item in children:
            if isinstance(item, tuple) and item and item[0] == "repeat":
                items.extend([item[2]] * item[1])
            else:
                items.append(item)
        return items

    def array_item(self, meta, children):
        return children[0]

    def repeated_item(self, meta, children):
        count, value = children
        return ("repeat", int(str(count).replace("_", "")), value)

    def struct_init(self, meta, children):
        return dict(children)

    def field_init(self, meta, children):
        return (str(children[0]), children[1])

    # -- program organisation units

    def function_decl(self, meta, children):
        name, return_type, *blocks, body = children
        return n.Pou(meta.line, meta.column, "FUNCTION", str(name), return_type, blocks, body)

    def fb_decl(self, meta, children):
        name, *blocks, body = children
        return n.Pou(meta.line, meta.column, "FUNCTION_BLOCK", str(name), None, blocks, body)

    def program_decl(self, meta, children):
        name, *blocks, body = children
        return n.Pou(meta.line, meta.column, "PROGRAM", str(name), None, blocks, body)

    def config_decl(self, meta, children):
        name, *items = children
        config = n.Config(meta.line, meta.column, str(name))
        for item in items:
            self._config_item(config, item)
        return config

    def _config_item(self, config: n.Config, item: object) -> None:
        if isinstance(item, n.VarBlock):
            config.blocks.append(item)
        elif isinstance(item, n.Task):
            config.tasks.append(item)
        elif isinstance(item, n.ProgramConfig):
            config.programs.append(item)
        elif isinstance(item, list):
            for inner in item:
                self._config_item(config, inner)

    def resource_decl(self, meta, children):
        _name, _on, *items = children
        return items

    def task_decl(self, meta, children):
        name, *params = children
        return n.Task(meta.line, meta.column, str(name), dict(p for p in params if p))

    def task_param(self, meta, children):
        return (str(children[0]).upper(), children[1])

    def program_config(self, meta, children):
        _qualifier, instance, task, type_name, _args = children
        return n.ProgramConfig(
            meta.line, meta.column, str(instance), str(task) if task else None, str(type_name)
        )

    # -- statements

    def statements(self, meta, children):
        return list(children)

    def assignment(self, meta, children):
        return n.Assign(meta.line, meta.column, children[0], children[1])

    def call_statement(self, meta, children):
        target, args = children
        if isinstance(target, Token):
            target = _name(target)
        return n.CallStatement(meta.line, meta.column, target, args or [])

    def variable_path(self, meta, children):
        return self.variable(meta, children)

    def arguments(self, meta, children):
        return list(children)

    def positional_arg(self, meta, children):
        return n.CallArg(meta.line, meta.column, None, children[0])

    def named_arg(self, meta, children):
        return n.CallArg(meta.line, meta.column, str(children[0]), children[1])

    def output_arg(self, meta, children):
        return n.CallArg(meta.line, meta.column, str(children[0]), children[1], output=True)

    def negated_output_arg(self, meta, children):
        _not, name, target = children
        return n.CallArg(meta.line, meta.column, str(name), target, output=True, negated=True)

    def if_statement(self, meta, children):
        condition, body, *rest = children
        else_part = rest.pop()
        branches = [(condition, body), *rest]
        else_line = else_part[0] if else_part else meta.end_line
        return n.If(
            meta.line,
            meta.column,
            branches,
            else_part[1] if else_part else None,
            else_line,
        )

    def elsif_part(self, meta, children):
        return (children[0], children[1])

    def else_part(self, meta, children):
        return (meta.line, children[0])

    def case_statement(self, meta, children):
        selector, arms, else_part = children
        return n.Case(
            meta.line,
            meta.column,
            selector,
            arms,
            else_part[1] if else_part else None,
            else_part[0] if else_part else meta.end_line,
        )

    def case_body(self, meta, children):
        arms: list[n.CaseArm] = []
        for child in children:
            if isinstance(child, n.CaseArm):
                arms.append(child)
            elif not arms:
                self._fail(child.line, child.col, "CASE: a statement before the first label")
            else:
                arms[-1].body.append(child)
                arms[-1].end_line, arms[-1].end_column = child.end_line, child.end_column
        return arms

    def case_label(self, meta, children):
        return n.CaseArm(meta.line, meta.column, list(children), [])

    def case_item(self, meta, children):
        return (children[0], None)

    def case_range(self, meta, children):
        return (children[0], children[1])

    def for_statement(self, meta, children):
        variable, start, end, step, body = children
        return n.For(meta.line, meta.column, str(variable), start, end, step, body)

    def while_statement(self, meta, children):
        return n.While(meta.line, meta.column, children[0], children[1])

    def repeat_statement(self, meta, children):
        return n.Repeat(meta.line, meta.column, children[0], children[1])

    def exit_statement(self, meta, children):
        return n.Jump(meta.line, meta.column, "EXIT")

    def continue_statement(self, meta, children):
        return n.Jump(meta.line, meta.column, "CONTINUE")

    def return_statement(self, meta, children):
        return n.Jump(meta.line, meta.column, "RETURN")

    def empty_statement(self, meta, children):
        return n.Jump(meta.line, meta.column, "EMPTY")

    # -- expressions

    def binary(self, meta, children):
        left, op, right = children
        return n.Binary(meta.line, meta.column, str(op).upper(), left, right)

    def unary(self, meta, children):
        op, operand = children
        return n.Unary(meta.line, meta.column, str(op).upper(), operand)

    def call(self, meta, children):
        name, args = children
        return n.Call(meta.line, meta.column, str(name), args or [])

    def variable(self, meta, children):
        head, *selectors = children
        expr: n.Expr = _name(head)
        for kind, payload, line, col, end in selectors:
            if kind == "field":
                expr = n.Field(line, col, expr, payload)
            elif kind == "bit":
                expr = n.Bit(line, col, expr, payload)
            elif kind == "index":
                expr = n.Index(line, col, expr, payload)
            else:
                self._fail(line, col, "pointer dereference (^) is not supported")
            expr.end_line, expr.end_column = end  # the path so far ends with this selector
        return expr

    def field(self, meta, children):
        return ("field", str(children[0]), meta.line, meta.column, _end(meta))

    def bit(self, meta, children):
        bit = int(str(children[0]).replace("_", ""))
        return ("bit", bit, meta.line, meta.column, _end(meta))

    def index(self, meta, children):
        return ("index", list(children), meta.line, meta.column, _end(meta))

    def deref(self, meta, children):
        return ("deref", None, meta.line, meta.column, _end(meta))

    def integer(self, meta, children):
        return n.Literal(meta.line, meta.column, _integer(str(children[0])), "int")

    def real(self, meta, children):
        return n.Literal(meta.line, meta.column, float(str(children[0]).replace("_", "")), "real")

    def true(self, meta, children):
        return n.Literal(meta.line, meta.column, True, "bool")

    def false(self, meta, children):
        return n.Literal(meta.line, meta.column, False, "bool")

    def string(self, meta, children):
        try:
            text = _string(str(children[0]))
        except ValueError:
            text = ""
            self._fail(
                meta.line,
                meta.column,
                "bad '$' escape in a string: write $$, $', "
                "$L, $N, $R, $T, $P or $ and two hex digits",
            )
        return n.Literal(meta.line, meta.column, text, "string")

    def hash_literal(self, meta, children):
        text = str(children[0])
        prefix, body = text.split("#", 1)
        upper = prefix.upper()
        line, col = meta.line, meta.column
        reason = ""
        try:
            if upper in {"2", "8", "16"}:
                return n.Literal(line, col, _integer(text), "int")
            if upper in _TIME_TYPES:
                return n.Literal(line, col, parse_time(body), "time", "TIME")
            if upper == "BOOL":
                value = {"TRUE": True, "1": True, "FALSE": False, "0": False}[body.upper()]
                return n.Literal(line, col, value, "bool", "BOOL")
            if re.fullmatch(r"[-+]?[0-9][0-9_]*\.[0-9_]+(?:[eE][-+]?[0-9_]+)?", body):
                return n.Literal(line, col, float(body.replace("_", "")), "real", upper)
            if re.fullmatch(r"[-+]?(?:(?:2|8|16)#)?[0-9A-Fa-f_]+", body) and (
                body.lstrip("+-")[:1].isdigit()
            ):
                sign = -1 if body.startswith("-") else 1
                return n.Literal(line, col, sign * _integer(body.lstrip("+-")), "int", upper)
        except ValueError as error:
            reason = _literal_reason(upper, body, error)
        except KeyError:
            reason = "a BOOL is TRUE, FALSE, 1 or 0"
        if not reason and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", body):
            return n.EnumLiteral(line, col, prefix, body)
        self._fail(line, col, f"bad literal {text!r}" + (f": {reason}" if reason else ""))
        return _stand_in_literal(line, col, upper)
