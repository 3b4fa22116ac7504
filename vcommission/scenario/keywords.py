"""``-k`` expressions as in pytest: words joined by ``and``, ``or``, ``not`` and parentheses.

A word matches a scenario when it occurs (case-insensitively) in the scenario's name, its
file name or one of its requirement ids. A word that ends in a digit must not be followed by
another digit, so that ``-k R1`` selects R1 and not R10 (in pytest it would select both; here
the words are mostly requirement ids). The expression is parsed by hand, never evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vcommission.scenario.schema import Scenario

__all__ = ["KeywordError", "matcher"]

_TOKEN = re.compile(r"\s*(\(|\)|[^\s()]+)")

Predicate = Callable[[str], bool]


class KeywordError(ValueError):
    """The -k expression does not parse."""


def matcher(expression: str) -> Callable[[Scenario], bool]:
    """A predicate selecting the scenarios ``expression`` matches."""
    tokens = _TOKEN.findall(expression)
    if not tokens:
        raise KeywordError("empty expression")
    predicate, rest = _or(tokens)
    if rest:
        raise KeywordError(f"unexpected {rest[0]!r} in {expression!r}")

    def select(scenario: Scenario) -> bool:
        haystack = " ".join(
            [scenario.name, Path(scenario.file).name, *scenario.spec.requirements]
        ).lower()
        return predicate(haystack)

    return select


def _joined(
    tokens: list[str],
    word: str,
    operand: Callable[[list[str]], tuple[Predicate, list[str]]],
    join: Callable[[bool, bool], bool],
) -> tuple[Predicate, list[str]]:
    """``operand (word operand)*``, combined left to right with ``join``."""
    left, tokens = operand(tokens)
    while tokens and tokens[0].lower() == word:
        right, tokens = operand(tokens[1:])
        left = (lambda a, b: lambda h: join(a(h), b(h)))(left, right)
    return left, tokens


def _or(tokens: list[str]) -> tuple[Predicate, list[str]]:
    return _joined(tokens, "or", _and, lambda a, b: a or b)


def _and(tokens: list[str]) -> tuple[Predicate, list[str]]:
    return _joined(tokens, "and", _not, lambda a, b: a and b)


def _not(tokens: list[str]) -> tuple[Predicate, list[str]]:
    if tokens and tokens[0].lower() == "not":
        inner, rest = _not(tokens[1:])
        return (lambda h: not inner(h)), rest
    return _atom(tokens)


def _atom(tokens: list[str]) -> tuple[Predicate, list[str]]:
    if not tokens:
        raise KeywordError("expression ends too early")
    token, rest = tokens[0], tokens[1:]
    if token == "(":
        inner, rest = _or(rest)
        if not rest or rest[0] != ")":
            raise KeywordError("missing ')'")
        return inner, rest[1:]
    if token == ")" or token.lower() in ("and", "or"):
        raise KeywordError(f"unexpected {token!r}")
    word = token.lower()
    if word[-1].isdigit():
        whole_number = re.compile(re.escape(word) + r"(?!\d)")
        return (lambda h: whole_number.search(h) is not None), rest
    return (lambda h: word in h), rest
