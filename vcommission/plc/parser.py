"""Structured Text parser: source text to the syntax tree of :mod:`vcommission.plc.nodes`.

The grammar (``grammar.lark``) is LALR(1) for lark, a pure-Python parser library, so the
runtime installs with nothing but pip. A file is cut into its library elements (TYPE,
FUNCTION, FUNCTION_BLOCK, PROGRAM, CONFIGURATION, VAR_GLOBAL) before parsing, and each is
parsed on its own: a syntax error hides only the rest of its own element, and every other
element is still parsed and checked, so one run reports all errors it can.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from copy import copy
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import lark
from lark import Token, Transformer
from lark.exceptions import GrammarError, VisitError
from lark.parsers.lalr_parser_state import ParserState

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
    for span in _elements(source, file, issues):
        # Blank everything but this element, so tokens keep their true line and column.
        before = source[: span.start]
        padded = re.sub(r"[^\n]", " ", before) + source[span.start : span.end]
        try:
            tree = _parser().parse(padded)
        except lark.exceptions.UnexpectedInput as error:
            issue = _syntax_issue(error, source, span, file)
            if issue is not None:
                issues.append(issue)
            _stand_in(source, span, library)
            continue
        for element in builder.transform(tree).children:
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


def _stand_in(source: str, span: _Span, library: n.Library) -> None:
    """Keep an empty PROGRAM for one that failed to parse.

    Without it the checker would add "no PROGRAM to run", an error that only repeats the
    syntax error. Nothing refers to a program's variables, so an empty one adds no others.
    """
    match = re.match(r"PROGRAM\s+([A-Za-z_][A-Za-z0-9_]*)", source[span.start : span.end], re.I)
    if match:
        line, col = _line_col(source, span.start)
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
        line, col = _line_col(source, limit)
        closer = "*)" if opened.group() == "(*" else "*/"
        issues.append(
            SourceIssue(
                file,
                line,
                col,
                f"comment {opened.group()!r} is never closed with "
                f"{closer!r}: the rest of the file is ignored",
            )
        )
        masked = masked[:limit]
    spans: list[_Span] = []
    position = 0
    closing: str | None = None
    start = 0
    for match in _WORD.finditer(masked):
        word = match.group().upper()
        if closing is not None and closing != "END_CONFIGURATION" and word in _RESYNC:
            line, _ = _line_col(source, match.start())
            spans.append(_Span(start, match.start(), f"{word} at line {line}"))
            closing, position = None, match.start()
        if closing is None:
            if word in _ELEMENT_END:
                gap = masked[position : match.start()]
                if gap.strip():
                    _stray(source, file, position + len(gap) - len(gap.lstrip()), issues)
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
        _stray(source, file, position + len(tail) - len(tail.lstrip()), issues)
    return spans


_UNCLOSED = re.compile(r"\(\*|/\*")


def _line_col(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def _stray(source: str, file: str, offset: int, issues: list[SourceIssue]) -> None:
    line, col = _line_col(source, offset)
    word = source[offset:].split(None, 1)[0][:30]
    guess = _guess(word, _ELEMENT_END)
    hint = f" (did you mean {guess}?)" if guess else ""
    issues.append(
        SourceIssue(
            file,
            line,
            col,
            f"unexpected {word!r} outside any declaration{hint}: expected TYPE, FUNCTION, "
            "FUNCTION_BLOCK, PROGRAM, CONFIGURATION or VAR_GLOBAL",
        )
    )


# ---- syntax error messages ------------------------------------------------------------------

#: Readable names of the terminals that are not plain words or punctuation.
_TERMINAL_TEXT = {
    "IDENT": "a name",
    "INTEGER": "a number",
    "REAL": "a number",
    "STRING": "a string",
    "HASH_LITERAL": "a typed literal",
    "LOCATION": "an address like %IX0.0",
    "VAR_KIND": "VAR",
    "QUALIFIER": "CONSTANT",
    "ADD_OP": "'+'",
    "MUL_OP": "'*'",
    "AND": "AND",
    "$END": "the end of the file",
}
#: Terminals that can continue any expression: listed only when nothing else would do.
_CONTINUATIONS = {
    "ADD_OP",
    "MUL_OP",
    "MOD",
    "POW",
    "AND",
    "OR",
    "XOR",
    "EQ",
    "NE",
    "LT",
    "GT",
    "LE",
    "GE",
    "DOT",
    "LSQB",
    "CIRCUMFLEX",
    "LPAR",
}
#: Tokens that open a block, and the one that closes it.
_OPENERS = {
    "IF": "END_IF",
    "CASE": "END_CASE",
    "FOR": "END_FOR",
    "WHILE": "END_WHILE",
    "REPEAT": "END_REPEAT",
    "VAR_KIND": "END_VAR",
    "STRUCT": "END_STRUCT",
    "TYPE": "END_TYPE",
    "FUNCTION": "END_FUNCTION",
    "FUNCTION_BLOCK": "END_FUNCTION_BLOCK",
    "PROGRAM": "END_PROGRAM",
    "CONFIGURATION": "END_CONFIGURATION",
    "RESOURCE": "END_RESOURCE",
    "LPAR": ")",
    "LSQB": "]",
}
_CLOSERS = {closer: opener for opener, closer in _OPENERS.items()}
_MAX_EXPECTED = 6
#: Sets of terminals named as one thing when most of them are expected.
_GROUPS = [
    (
        {
            "IF",
            "CASE",
            "FOR",
            "WHILE",
            "REPEAT",
            "EXIT",
            "CONTINUE",
            "RETURN",
            "SEMICOLON",
            "IDENT",
        },
        "a statement",
    ),
    (
        {
            "INTEGER",
            "REAL",
            "STRING",
            "HASH_LITERAL",
            "TRUE",
            "FALSE",
            "NOT",
            "ADD_OP",
            "LPAR",
            "IDENT",
        },
        "an expression",
    ),
    ({"ARRAY", "__ANON_1", "WSTRING"}, "a type"),
]


def _syntax_issue(
    error: lark.exceptions.UnexpectedInput, source: str, span: _Span, file: str
) -> SourceIssue | None:
    """The issue for one syntax error, located where the user has to change the text."""
    line, col = error.line, error.column
    state = error.interactive_parser.parser_state if error.interactive_parser else error.state
    if not isinstance(state, ParserState):  # not raised by the LALR parser: no context
        return SourceIssue(file, line, col, f"syntax error: {error}")
    accepts = _accepts(state)
    if isinstance(error, lark.exceptions.UnexpectedCharacters):
        char = error.char
        if char in "'\"":
            return SourceIssue(
                file,
                line,
                col,
                f"syntax error: the string that starts with {char} here is not closed on its line",
            )
        expected = _expected_text(accepts)
        return SourceIssue(
            file, line, col, f"syntax error: unexpected character {char!r}; expected {expected}"
        )
    if not isinstance(error, lark.exceptions.UnexpectedToken):
        return SourceIssue(file, line, col, f"syntax error: {error}")
    token = error.token
    stack = state.value_stack
    previous = stack[-1] if stack else None
    opened = _open_blocks(stack)
    if token.type == "$END":
        if span.cut_by == "":
            return None  # an unterminated comment ate the end: reported once, by _elements
        if opened:
            block = opened[-1]
            name = _word(block)
            if block.type in _ELEMENT_END:
                name += f" {stack[[id(v) for v in stack].index(id(block)) + 1]}"
            return SourceIssue(
                file,
                block.line,
                block.column,
                f"syntax error: {name} is not closed: expected {_describe(_closer(block))} "
                f"before {span.cut_by or 'the end of the file'}",
            )
        line, col = _line_col(source, span.end)
    found = _found(token)
    # A misspelt keyword is read as a name; the error comes on the token after it.
    if isinstance(previous, Token) and previous.type == "IDENT":
        guess = _guess(str(previous), _keywords())
        if guess:
            return SourceIssue(
                file,
                previous.line,
                previous.column,
                f"syntax error: unknown word {str(previous)!r} (did you mean {guess}?)",
            )
    # An END_... that closes an outer block while an inner one is still open.
    if token.type in _CLOSERS and opened and _closer(opened[-1]) in accepts:
        block = opened[-1]
        return SourceIssue(
            file,
            line,
            col,
            f"syntax error: {found} found while the {_word(block)} at line {block.line} is "
            f"still open: expected {_describe(_closer(block))}",
        )
    end = _end_of(previous)
    if (
        token.type == "EQ"
        and isinstance(previous, Token)
        and previous.type == "COLON"
        and (opened and opened[-1].type == "VAR_KIND")
    ):
        block = opened[-1]
        return SourceIssue(
            file,
            previous.line,
            previous.column,
            f"syntax error: ':=' is a statement, but the VAR block at line {block.line} is "
            "still open: expected END_VAR before the first statement",
        )
    if "SEMICOLON" in accepts and end is not None and token.line > end[0]:
        return SourceIssue(
            file, end[0], end[1], f"syntax error: missing ';' at the end of line {end[0]}"
        )
    message = f"syntax error: unexpected {found}; expected {_expected_text(accepts)}"
    if accepts == {"RPAR"} and opened and opened[-1].type == "LPAR":
        message += f" to close the '(' at line {opened[-1].line}, column {opened[-1].column}"
    return SourceIssue(file, line, col, message)


def _accepts(state: ParserState) -> set[str]:
    """The terminals that would let the parser go on from ``state``.

    Lark's ``expected`` is the whole LALR state's lookahead set, which holds terminals
    only other contexts accept; feeding each one to a copy of the parser finds the true set.
    """
    quiet = copy(state.parse_conf)
    quiet.callbacks = {}
    accepts: set[str] = set()
    for terminal in state.parse_conf.parse_table.states[state.position]:
        if not terminal.isupper():
            continue
        probe = state.copy(deepcopy_values=False)
        probe.parse_conf = quiet
        try:
            probe.feed_token(Token(terminal, ""), terminal == "$END")
        except lark.exceptions.UnexpectedToken:
            continue
        accepts.add(terminal)
    return accepts


def _open_blocks(stack: list[object]) -> list[Token]:
    """The opening tokens still waiting for their closer, outermost first."""
    opened: list[Token] = []
    for item in stack:
        if not isinstance(item, Token):
            continue
        if item.type in _OPENERS:
            opened.append(item)
        elif opened and _closer(opened[-1]) == item.type:
            opened.pop()
    return opened


def _closer(token: Token) -> str:
    """Terminal name of the token that closes ``token``'s block."""
    return {")": "RPAR", "]": "RSQB"}.get(_OPENERS[token.type], _OPENERS[token.type])


def _word(token: Token) -> str:
    if token.type == "VAR_KIND":
        return f"{str(token).upper()} block"
    return repr(str(token)) if token.type in ("LPAR", "LSQB") else str(token).upper()


def _end_of(item: object) -> tuple[int, int] | None:
    """Line and column just after a token or reduced subtree on the parser's stack."""
    if isinstance(item, Token):
        return item.end_line, item.end_column
    meta = getattr(item, "meta", None)
    if meta is not None and not meta.empty:
        return meta.end_line, meta.end_column
    return None


def _found(token: Token) -> str:
    if token.type == "IDENT":
        return f"name {str(token)!r}"
    if token.type in ("INTEGER", "REAL", "HASH_LITERAL"):
        return f"literal {str(token)!r}"
    return repr(str(token))


def _expected_text(terminals: set[str]) -> str:
    """``"';' or ':='"``: what the parser would accept, the most telling first."""
    terminals = set(terminals)
    groups: list[str] = []
    for members, name in _GROUPS:
        if len(terminals & members) >= 3:
            terminals -= members
            groups.append(name)
    main = {t for t in terminals if t not in _CONTINUATIONS}
    words = sorted({_describe(t) for t in (main or terminals)}, key=_rank)
    words += groups
    if not words:
        return "nothing more"
    if len(words) > _MAX_EXPECTED:
        words = [*words[: _MAX_EXPECTED - 1], "..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _rank(text: str) -> tuple[int, str]:
    # Punctuation first (the usual slip), then words, then the catch-alls.
    return (0 if text.startswith("'") else 2 if text.startswith(("a ", "an ", "the ")) else 1, text)


def _describe(terminal: str) -> str:
    if terminal in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[terminal]
    pattern = _terminal_patterns().get(terminal)
    if pattern is None:
        return terminal
    return pattern.upper() if pattern[:1].isalpha() else repr(pattern)


@cache
def _terminal_patterns() -> dict[str, str]:
    return {t.name: t.pattern.value for t in _parser().terminals if t.pattern.type == "str"}


@cache
def _keywords() -> frozenset[str]:
    words = {p.upper() for p in _terminal_patterns().values() if p[:1].isalpha()}
    words |= {
        "VAR",
        "VAR_INPUT",
        "VAR_OUTPUT",
        "VAR_IN_OUT",
        "VAR_GLOBAL",
        "VAR_EXTERNAL",
        "VAR_TEMP",
        "CONSTANT",
        "RETAIN",
    }
    return frozenset(words)


def _guess(word: str, keywords: Iterable[str]) -> str | None:
    """The keyword ``word`` is most likely a misspelling of, if any."""
    upper = word.upper()
    if upper in keywords or len(upper) < 3:
        return None
    close = difflib.get_close_matches(upper, list(keywords), n=1, cutoff=0.8)
    return close[0] if close else None


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
