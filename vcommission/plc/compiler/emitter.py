"""Python source emission: indented lines, the Python-to-ST line map, coverage counters.

The code generator writes one Python line at a time through :meth:`Emitter.emit`; each
line records the ST line it comes from (the statement being compiled unless told), so a
runtime fault points back at the source. Each statement and each branch bumps a counter
when coverage is on (statement and branch coverage); the tables of what each counter
counts are kept either way.
"""

from __future__ import annotations

from vcommission.plc import nodes as n

__all__ = ["Emitter"]


class Emitter:
    """The lines of one generated module and where each comes from."""

    def __init__(self, *, coverage: bool = True) -> None:
        self.coverage = coverage
        self.lines: list[str] = []
        #: Python line (index) -> ST line.
        self.line_map: list[int] = []
        #: (line, col) of every statement, indexed like the coverage counters.
        self.statements: list[tuple[int, int]] = []
        #: (line, label) of every branch, indexed like the branch counters.
        self.branches: list[tuple[int, str]] = []
        #: ST line of what is being compiled: the default source of the next lines.
        self.current_line = 0

    def emit(self, depth: int, text: str, line: int | None = None) -> None:
        """Append ``text`` indented ``depth`` levels, from ST ``line`` (default: current)."""
        self.lines.append("    " * depth + text)
        self.line_map.append(line if line is not None else self.current_line)

    def count_statement(self, statement: n.Statement, depth: int) -> None:
        """A statement starts here: count it (with coverage) and remember where it is."""
        if self.coverage:
            self.emit(depth, f"_c[{len(self.statements)}] += 1")
        self.statements.append((statement.line, statement.col))

    def count_branch(self, line: int, label: str, depth: int) -> None:
        """A branch starts here (always one line: an arm may have no statements)."""
        if self.coverage:
            self.emit(depth, f"_b[{len(self.branches)}] += 1", line)
        else:
            self.emit(depth, "pass", line)  # an arm may have no statements of its own
        self.branches.append((line, label))

    def source(self) -> str:
        """The module's text."""
        return "\n".join(self.lines) + "\n"
