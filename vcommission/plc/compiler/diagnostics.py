"""Error collection for the compiler passes: every issue with its file, line and column.

Passes never raise on a source error: they record it here and carry on with a stand-in
(the :data:`~vcommission.plc.types.ERROR` type raises no further error), so one compile
reports every error it can find, all at once.
"""

from __future__ import annotations

from vcommission.errors import SourceIssue
from vcommission.plc import nodes as n

__all__ = ["Diagnostics", "describe"]


class Diagnostics:
    """The issues of one source, in the order the passes found them."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[SourceIssue] = []

    def error(self, node: n.Node | None, message: str) -> None:
        """Record ``message`` at ``node``'s line and column (the file's start without one)."""
        line, col = (node.line, node.col) if node is not None else (0, 0)
        self.issues.append(SourceIssue(self.file, line, col, message))


def describe(e: n.Expr) -> str:
    """How a message names an expression: ``motor.speed``, ``table[...]``, ``word.3``."""
    if isinstance(e, n.Name):
        return e.name
    if isinstance(e, n.Field):
        return f"{describe(e.base)}.{e.name}"
    if isinstance(e, n.Index):
        return f"{describe(e.base)}[...]"
    if isinstance(e, n.Bit):
        return f"{describe(e.base)}.{e.bit}"
    return "expression"
