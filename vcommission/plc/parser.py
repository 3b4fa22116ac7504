"""Structured Text parser: source text to the syntax tree of :mod:`vcommission.plc.nodes`.

The grammar (``grammar.lark``) is LALR(1) for lark, a pure-Python parser library, so the
runtime installs with nothing but pip. A file is cut into its library elements (TYPE,
FUNCTION, FUNCTION_BLOCK, PROGRAM, CONFIGURATION, VAR_GLOBAL) before parsing, and each is
parsed on its own: a syntax error hides only the rest of its own element, and every other
element is still parsed and checked, so one run reports all errors it can.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import lark
from lark import Token, Transformer, v_args

from vcommission.errors import SourceIssue
from vcommission.plc import nodes as n

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
    return lark.Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        propagate_positions=True,
        maybe_placeholders=True,
    )


def parse(source: str, file: str = "<string>") -> tuple[n.Library, list[SourceIssue]]:
    """Parse ``source``; return the library of every element that parsed, and the errors."""
    library = n.Library(file=file, source=source)
    issues: list[SourceIssue] = []
    builder = _Builder(file, issues)
    for start, end in _elements(source, file, issues):
        # Blank everything but this element, so tokens keep their true line and column.
        before = source[:start]
        padded = re.sub(r"[^\n]", " ", before) + source[start:end]
        try:
            tree = _parser().parse(padded)
        except lark.exceptions.UnexpectedInput as error:
            issues.append(SourceIssue(file, error.line, error.column, _syntax_message(error)))
            continue
        try:
            elements = builder.transform(tree).children
        except lark.exceptions.VisitError as error:
            if not isinstance(error.orig_exc, _BuildError):
                raise
            issues.append(error.orig_exc.issue)
            continue
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


def _elements(source: str, file: str, issues: list[SourceIssue]) -> list[tuple[int, int]]:
    """Character spans of the top-level elements; text between them is reported."""
    masked = _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), source)
    spans: list[tuple[int, int]] = []
    position = 0
    closing: str | None = None
    start = 0
    for match in _WORD.finditer(masked):
        word = match.group().upper()
        if closing is None:
            if word in _ELEMENT_END:
                gap = masked[position : match.start()]
                if gap.strip():
                    _stray(source, file, position + len(gap) - len(gap.lstrip()), issues)
                closing, start = _ELEMENT_END[word], match.start()
            continue
        if word == closing:
            spans.append((start, match.end()))
            closing, position = None, match.end()
    if closing is not None:
        spans.append((start, len(source)))  # unterminated: the parser reports where it ends
        position = len(source)
    tail = masked[position:]
    if tail.strip():
        _stray(source, file, position + len(tail) - len(tail.lstrip()), issues)
    return spans


def _stray(source: str, file: str, offset: int, issues: list[SourceIssue]) -> None:
    line = source.count("\n", 0, offset) + 1
    col = offset - (source.rfind("\n", 0, offset) + 1) + 1
    word = source[offset:].split(None, 1)[0][:30]
    issues.append(
        SourceIssue(
            file,
            line,
            col,
            f"unexpected {word!r} outside any declaration: expected TYPE, FUNCTION, "
            "FUNCTION_BLOCK, PROGRAM, CONFIGURATION or VAR_GLOBAL",
        )
    )


def _syntax_message(error: lark.exceptions.UnexpectedInput) -> str:
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        return f"syntax error: unexpected character {error.char!r}"
    if isinstance(error, lark.exceptions.UnexpectedEOF):
        return "syntax error: unexpected end of file (a block is not closed)"
    token = error.token  # type: ignore[attr-defined]
    expected = sorted(_describe(t) for t in error.expected)  # type: ignore[attr-defined]
    found = "end of input" if token.type == "$END" else repr(str(token))
    hint = ", ".join(expected[:8]) + (", ..." if len(expected) > 8 else "")
    return f"syntax error: unexpected {found}; expected {hint}"


_TERMINAL_TEXT = {
    "SEMICOLON": "';'",
    "COLON": "':'",
    "COMMA": "','",
    "LPAR": "'('",
    "RPAR": "')'",
    "LSQB": "'['",
    "RSQB": "']'",
    "DOT": "'.'",
    "IDENT": "a name",
    "INTEGER": "an integer",
    "REAL": "a number",
    "STRING": "a string",
    "HASH_LITERAL": "a typed literal",
    "ADD_OP": "'+' or '-'",
    "MUL_OP": "'*' or '/'",
    "VAR_KIND": "VAR...",
    "__ANON_0": "':='",
}


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[terminal]
    pattern = _terminal_patterns().get(terminal)
    return repr(pattern) if pattern else terminal


@cache
def _terminal_patterns() -> dict[str, str]:
    return {
        t.name: t.pattern.value
        for t in _parser().terminals
        if t.pattern.type == "str" and len(t.pattern.value) <= 20
    }


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


class _BuildError(Exception):
    def __init__(self, issue: SourceIssue) -> None:
        super().__init__(str(issue))
        self.issue = issue


@v_args(meta=True)
class _Builder(Transformer):
    """Turns lark's parse tree into :mod:`nodes` (one method per grammar rule)."""

    def __init__(self, file: str, issues: list[SourceIssue]) -> None:
        super().__init__()
        self.file = file
        self.issues = issues

    def _fail(self, line: int, col: int, message: str) -> None:
        raise _BuildError(SourceIssue(self.file, line, col, message))

    # -- declarations

    def type_decl(self, meta, children):
        return list(children)

    def type_def(self, meta, children):
        name, body = children
        body.name, body.line, body.col = str(name), meta.line, meta.column
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
        return n.Pou(
            meta.line, meta.column, "FUNCTION", str(name), return_type, blocks, body, meta.end_line
        )

    def fb_decl(self, meta, children):
        name, *blocks, body = children
        return n.Pou(
            meta.line, meta.column, "FUNCTION_BLOCK", str(name), None, blocks, body, meta.end_line
        )

    def program_decl(self, meta, children):
        name, *blocks, body = children
        return n.Pou(
            meta.line, meta.column, "PROGRAM", str(name), None, blocks, body, meta.end_line
        )

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
            target = n.Name(target.line, target.column, str(target))
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
        expr: n.Expr = n.Name(head.line, head.column, str(head))
        for kind, payload, line, col in selectors:
            if kind == "field":
                expr = n.Field(line, col, expr, payload)
            elif kind == "bit":
                expr = n.Bit(line, col, expr, payload)
            elif kind == "index":
                expr = n.Index(line, col, expr, payload)
            else:
                self._fail(line, col, "pointer dereference (^) is not supported")
        return expr

    def field(self, meta, children):
        return ("field", str(children[0]), meta.line, meta.column)

    def bit(self, meta, children):
        return ("bit", int(str(children[0]).replace("_", "")), meta.line, meta.column)

    def index(self, meta, children):
        return ("index", list(children), meta.line, meta.column)

    def deref(self, meta, children):
        return ("deref", None, meta.line, meta.column)

    def integer(self, meta, children):
        return n.Literal(meta.line, meta.column, _integer(str(children[0])), "int")

    def real(self, meta, children):
        return n.Literal(meta.line, meta.column, float(str(children[0]).replace("_", "")), "real")

    def true(self, meta, children):
        return n.Literal(meta.line, meta.column, True, "bool")

    def false(self, meta, children):
        return n.Literal(meta.line, meta.column, False, "bool")

    def string(self, meta, children):
        return n.Literal(meta.line, meta.column, _string(str(children[0])), "string")

    def hash_literal(self, meta, children):
        text = str(children[0])
        prefix, body = text.split("#", 1)
        upper = prefix.upper()
        line, col = meta.line, meta.column
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
        except (ValueError, KeyError):
            self._fail(line, col, f"bad literal {text!r}")
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", body):
            return n.EnumLiteral(line, col, prefix, body)
        self._fail(line, col, f"bad literal {text!r}")
        return None
