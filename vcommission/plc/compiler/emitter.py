"""Python source emission: indented lines, the Python-to-ST line map, coverage counters.

The code generator writes one Python line at a time through :meth:`Emitter.emit`; each
line records the ST line it comes from (the statement being compiled unless told), so a
runtime fault points back at the source. With coverage on, each branch bumps a counter and
so does each *run* of statements: statements that follow a simple one (an assignment, a
call) in the same list always execute after it, so they share its counter, and a list of
assignments costs one increment a scan instead of one per statement (a quarter of the
reference program's scan went to the counters). A statement that raises leaves the rest of
its run unexecuted: :attr:`Emitter.spans` lets the runtime find it and take those back.
The tables of what each counter counts are kept either way.
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
        #: (line, col) of every statement.
        self.statements: list[tuple[int, int]] = []
        #: Per statement, the statement counter that counts it (shared along a run).
        self.statement_counters: list[int] = []
        #: Statement counters emitted.
        self.counters = 0
        #: Per statement, its first and last Python line (0-based), nested statements inside.
        self.spans: list[tuple[int, int]] = []
        #: (line, label) of every branch, indexed like the branch counters.
        self.branches: list[tuple[int, str]] = []
        #: ST line of what is being compiled: the default source of the next lines.
        self.current_line = 0

    def emit(self, depth: int, text: str, line: int | None = None) -> None:
        """Append ``text`` indented ``depth`` levels, from ST ``line`` (default: current)."""
        self.lines.append("    " * depth + text)
        self.line_map.append(line if line is not None else self.current_line)

    def count_statement(self, statement: n.Statement, depth: int, continues: bool = False) -> int:
        """A statement starts here: count it (with coverage) and remember where it is.

        ``continues``: it follows a simple statement of the same list, so the previous
        statement's counter counts it too. Returns the statement's index, for
        :meth:`end_statement`.
        """
        if not continues or not self.statement_counters:
            if self.coverage:
                self.emit(depth, f"_c[{self.counters}] += 1")
            self.counters += 1
        self.statement_counters.append(self.counters - 1)
        self.statements.append((statement.line, statement.col))
        self.spans.append((len(self.lines), len(self.lines)))
        return len(self.statements) - 1

    def end_statement(self, index: int) -> None:
        """Statement ``index`` (nested statements included) ends with the last line emitted."""
        self.spans[index] = (self.spans[index][0], len(self.lines) - 1)

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
