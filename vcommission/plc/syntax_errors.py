"""Syntax errors explained as an engineer would: where to change the text, and how.

Lark reports the token it could not take and the terminals its LALR state expects. These
functions turn that into messages such as ``missing ';' at the end of line 5``, ``END_PROGRAM
found while the IF at line 6 is still open: expected END_IF``, ``unknown word 'ESLE' (did
you mean ELSE?)`` or ``unexpected ')'; expected a name, a number or an expression``, placed
at the line and column the user has to change (the end of the line missing its ``;``, the
block left open), and never showing lark's terminal names.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from copy import copy
from functools import lru_cache

import lark
from lark import Token
from lark.parsers.lalr_parser_state import ParserState

from vcommission.errors import SourceIssue

__all__ = [
    "guess",
    "line_col",
    "stray_issue",
    "syntax_issue",
    "unclosed_comment_issue",
]


def line_col(source: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    line = source.count("\n", 0, offset) + 1
    return line, offset - (source.rfind("\n", 0, offset) + 1) + 1


def stray_issue(source: str, file: str, offset: int, elements: Iterable[str]) -> SourceIssue:
    """Text outside any library element, at ``offset``: a misspelt keyword is guessed."""
    line, col = line_col(source, offset)
    word = source[offset:].split(None, 1)[0][:30]
    guessed = guess(word, elements)
    hint = f" (did you mean {guessed}?)" if guessed else ""
    return SourceIssue(
        file,
        line,
        col,
        f"unexpected {word!r} outside any declaration{hint}: expected TYPE, FUNCTION, "
        "FUNCTION_BLOCK, PROGRAM, CONFIGURATION or VAR_GLOBAL",
    )


def unclosed_comment_issue(source: str, file: str, offset: int, opener: str) -> SourceIssue:
    """A comment opened at ``offset`` with ``opener`` (``(*`` or ``/*``) and never closed."""
    line, col = line_col(source, offset)
    closer = "*)" if opener == "(*" else "*/"
    return SourceIssue(
        file,
        line,
        col,
        f"comment {opener!r} is never closed with {closer!r}: the rest of the file is ignored",
    )


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


def syntax_issue(
    error: lark.exceptions.UnexpectedInput,
    source: str,
    file: str,
    end: int,
    cut_by: str | None,
    *,
    grammar: lark.Lark,
    elements: Iterable[str],
) -> SourceIssue | None:
    """The issue for one syntax error, located where the user has to change the text.

    Args:
        error: What lark raised while parsing one library element.
        source: The whole file's text.
        file: Its name, for the issue.
        end: Offset where the element's text ends.
        cut_by: What follows an element that is not closed (``"the end of the file"``, a
            keyword and its line), ``""`` when an unterminated comment ate the rest (then
            there is no issue: that comment is reported already), None for a closed one.
        grammar: The LALR parser (its terminals name the expected tokens).
        elements: Keywords that open a library element (``PROGRAM``, ...).
    """
    patterns = _terminal_patterns(grammar)
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
        expected = _expected_text(accepts, patterns)
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
        if cut_by == "":
            return None  # an unterminated comment ate the end: reported once, by _elements
        if opened:
            block = opened[-1]
            name = _word(block)
            if block.type in elements:
                name += f" {stack[[id(v) for v in stack].index(id(block)) + 1]}"
            return SourceIssue(
                file,
                block.line,
                block.column,
                f"syntax error: {name} is not closed: expected "
                f"{_describe(_closer(block), patterns)} before {cut_by or 'the end of the file'}",
            )
        line, col = line_col(source, end)
    found = _found(token)
    # A misspelt keyword is read as a name; the error comes on the token after it.
    if isinstance(previous, Token) and previous.type == "IDENT":
        guessed = guess(str(previous), _keywords(grammar))
        if guessed:
            return SourceIssue(
                file,
                previous.line,
                previous.column,
                f"syntax error: unknown word {str(previous)!r} (did you mean {guessed}?)",
            )
    # An END_... that closes an outer block while an inner one is still open.
    if token.type in _CLOSERS and opened and _closer(opened[-1]) in accepts:
        block = opened[-1]
        return SourceIssue(
            file,
            line,
            col,
            f"syntax error: {found} found while the {_word(block)} at line {block.line} is "
            f"still open: expected {_describe(_closer(block), patterns)}",
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
    message = f"syntax error: unexpected {found}; expected {_expected_text(accepts, patterns)}"
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


def _expected_text(terminals: set[str], patterns: dict[str, str]) -> str:
    """``"';' or ':='"``: what the parser would accept, the most telling first."""
    terminals = set(terminals)
    groups: list[str] = []
    for members, name in _GROUPS:
        if len(terminals & members) >= 3:
            terminals -= members
            groups.append(name)
    main = {t for t in terminals if t not in _CONTINUATIONS}
    words = sorted({_describe(t, patterns) for t in (main or terminals)}, key=_rank)
    words += groups
    if not words:
        return "nothing more"
    if len(words) > _MAX_EXPECTED:
        words = [*words[: _MAX_EXPECTED - 1], "..."]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _rank(text: str) -> tuple[int, str]:
    # Punctuation first (the usual slip), then words, then the catch-alls.
    return (0 if text.startswith("'") else 2 if text.startswith(("a ", "an ", "the ")) else 1, text)


def _describe(terminal: str, patterns: dict[str, str]) -> str:
    if terminal in _TERMINAL_TEXT:
        return _TERMINAL_TEXT[terminal]
    pattern = patterns.get(terminal)
    if pattern is None:
        return terminal
    return pattern.upper() if pattern[:1].isalpha() else repr(pattern)


@lru_cache(maxsize=1)
def _terminal_patterns(grammar: lark.Lark) -> dict[str, str]:
    return {t.name: t.pattern.value for t in grammar.terminals if t.pattern.type == "str"}


@lru_cache(maxsize=1)
def _keywords(grammar: lark.Lark) -> frozenset[str]:
    words = {p.upper() for p in _terminal_patterns(grammar).values() if p[:1].isalpha()}
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


def guess(word: str, keywords: Iterable[str]) -> str | None:
    """The keyword ``word`` is most likely a misspelling of, if any."""
    upper = word.upper()
    if upper in keywords or len(upper) < 3:
        return None
    close = difflib.get_close_matches(upper, list(keywords), n=1, cutoff=0.8)
    return close[0] if close else None
