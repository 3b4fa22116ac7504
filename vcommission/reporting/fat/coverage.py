"""The report's three coverage tables: I/O, interlock conjuncts, ST statements and branches.

None of them is a verdict: they say how much of the PLC's interface, its interlocks and its
code the suite actually reached, so a reader can judge how much the passes are worth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcommission.reporting.fat.document import Check, Results, Scenario

__all__ = [
    "InterlockRow",
    "IoCoverage",
    "IoTag",
    "StCoverage",
    "interlock_coverage",
    "io_coverage",
    "st_coverage",
]


@dataclass
class IoTag:
    """One PLC-facing tag of a model, and what the suite's traces saw of it."""

    tag: str
    type: str
    direction: str
    address: str
    changes: int = 0
    values: set[float] = field(default_factory=set)
    #: Traces that hold this tag.
    traced: int = 0

    @property
    def is_bool(self) -> bool:
        return self.type == "BOOL"

    @property
    def exercised(self) -> bool:
        return self.changes > 0

    @property
    def both_values(self) -> bool | None:
        return {0.0, 1.0} <= self.values if self.is_bool else None


@dataclass
class IoCoverage:
    """I/O coverage of one model over the traces of the scenarios that ran it."""

    model: str
    path: str
    tags: list[IoTag]
    traces: int
    #: Why there is no table (model not loadable, no traces), or None.
    missing: str | None = None

    @property
    def untouched(self) -> list[IoTag]:
        return [t for t in self.tags if not t.exercised]


def io_coverage(model_path: str, model: Any, traces: list[Any]) -> IoCoverage:
    """Count each PLC-facing tag's changes and values over ``traces`` (loaded :class:`Trace`).

    ``model`` is the loaded model at ``model_path``, or None when it does not load.
    """
    if model is None:
        return IoCoverage(Path(model_path).name, model_path, [], len(traces), "model not loadable")
    direction = {"from_plant": "in", "to_plant": "out"}
    tags = [
        IoTag(r.tag, r.type.value, direction.get(r.direction.value, r.direction.value), r.iec)
        for r in model.io_rows()
    ]
    by_name = {t.tag: t for t in tags}
    for trace in traces:
        index = {name: i for i, name in enumerate(trace.names)}
        counts = [0] * len(trace.names)
        seen: list[set[float]] = [{float(v)} for v in trace.initial]
        for _, i, value in trace.changes:
            counts[i] += 1
            seen[i].add(float(value))
        for name, tag in by_name.items():
            if name in index:
                tag.traced += 1
                tag.changes += counts[index[name]]
                tag.values |= seen[index[name]]
    missing = None if traces else "no trace recorded"
    return IoCoverage(model.name, model_path, tags, len(traces), missing)


@dataclass
class InterlockRow:
    """One ``never``/``always`` check and whether its guarded situation ever arose."""

    scenario: Scenario
    check: Check
    #: The check's conjuncts, or None when the results do not record them.
    conjuncts: list[dict[str, Any]] | None

    @property
    def approached(self) -> bool | None:
        if not self.conjuncts:
            return None
        return all(c.get("seen_true") is True for c in self.conjuncts)


def interlock_coverage(results: Results) -> list[InterlockRow]:
    """Every check with conjuncts (or of kind ``interlock``), in suite order."""
    return [
        InterlockRow(scenario, check, check.conjuncts)
        for scenario in results.scenarios
        for check in scenario.checks
        if check.conjuncts or check.kind == "interlock"
    ]


@dataclass
class StCoverage:
    """Statement and branch hits of one ST program (by SHA-256), summed over the suite."""

    sha256: str
    path: str
    runs: int
    statements: list[tuple[int, int, int]]
    branches: list[tuple[int, str, int]]
    #: The source, or None when neither the results nor the file (same hash) has it.
    source: str | None

    def _percent(self, items: list[Any]) -> float:
        return 100.0 * sum(1 for *_, h in items if h) / len(items) if items else 100.0

    @property
    def statement_percent(self) -> float:
        return self._percent(self.statements)

    @property
    def branch_percent(self) -> float:
        return self._percent(self.branches)

    @property
    def missed_statements(self) -> int:
        return sum(1 for *_, h in self.statements if not h)

    @property
    def missed_branches(self) -> list[tuple[int, str]]:
        return [(line, label) for line, label, h in self.branches if not h]

    def listing(self) -> list[tuple[str, str, str, bool]]:
        """What never ran, gcov style, with two lines of context: (margin, line, note, missed).

        Gaps between hunks are a row with an empty margin and ``...``.
        """
        if self.source is None:
            return []
        from vcommission.plc.runtime import Coverage

        text = Coverage(self.path, self.source, self.statements, self.branches).listing()
        rows = []
        for line in text.splitlines()[1:]:
            margin, _, rest = line.partition(" | ")
            body, _, note = rest.partition("   <-- ")
            rows.append((margin.strip(), body, note, "#####" in margin or bool(note)))
        keep = [False] * len(rows)
        for i, row in enumerate(rows):
            if row[3]:
                for j in range(max(0, i - 2), min(len(rows), i + 3)):
                    keep[j] = True
        out: list[tuple[str, str, str, bool]] = []
        for i, row in enumerate(rows):
            if keep[i]:
                if out and not keep[i - 1]:
                    out.append(("", "...", "", False))
                out.append((row[0], f"{i + 1:>4}  {row[1]}", row[2], row[3]))
        return out


def st_coverage(results: Results) -> list[StCoverage]:
    """Merged coverage per program hash, from each scenario's ``st_coverage``.

    Hits are summed per statement (line, column) and per branch (line, label): only runs of
    the same program (same SHA-256) are merged, so the lines always mean the same code.
    """
    programs = (results.run or {}).get("programs") or {}
    merged: dict[str, StCoverage] = {}
    statements: dict[str, dict[tuple[int, int], int]] = {}
    branches: dict[str, dict[tuple[int, str], int]] = {}
    for scenario in results.scenarios:
        coverage = scenario.st_coverage
        if not coverage or not isinstance(coverage.get("sha256"), str):
            continue
        sha = coverage["sha256"]
        if sha not in merged:
            program = programs.get(sha) if isinstance(programs, dict) else None
            path = str(coverage.get("file") or (program or {}).get("path") or "")
            merged[sha] = StCoverage(sha, path, 0, [], [], _source(sha, coverage, program, path))
            statements[sha], branches[sha] = {}, {}
        merged[sha].runs += 1
        for item in coverage["statements"]["items"]:
            key = (item["line"], item["col"])
            statements[sha][key] = statements[sha].get(key, 0) + item["hits"]
        for item in coverage["branches"]["items"]:
            label = (item["line"], item["branch"])
            branches[sha][label] = branches[sha].get(label, 0) + item["hits"]
    for sha, entry in merged.items():
        entry.statements = [(ln, col, h) for (ln, col), h in sorted(statements[sha].items())]
        entry.branches = [(ln, label, h) for (ln, label), h in sorted(branches[sha].items())]
    return [merged[sha] for sha in sorted(merged, key=lambda s: (merged[s].path, s))]


def _source(sha: str, coverage: dict[str, Any], program: Any, path: str) -> str | None:
    """The program's text: recorded in the results, else the file if its hash still matches."""
    for holder in (coverage, program or {}):
        if isinstance(holder.get("source"), str):
            return holder["source"]
    try:
        data = Path(path).read_bytes()
    except OSError:
        return None
    # A file edited since the run would annotate the wrong lines: only the same bytes do.
    return data.decode("utf-8", "replace") if hashlib.sha256(data).hexdigest() == sha else None
