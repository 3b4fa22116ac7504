"""The results document the report is built from: loaded, checked, with located errors.

The input is the JSON that ``vcommission run --json`` writes (see
:mod:`vcommission.reporting.json_report`). Older files lack the fields added since (the run
block, provenance, ``exercised``, ``conjuncts``, ...): every field except a scenario's and a
check's ``name`` and ``verdict`` is optional, and a missing one stays ``None`` so the report
can say "not recorded" instead of guessing. A field that is present but of the wrong type is
an error naming the file, the line and the JSON path.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcommission.errors import ConfigIssue, VcommissionError

__all__ = ["VERDICTS", "Check", "Results", "Scenario", "load_results", "parse_results", "worst"]

#: Verdict strings, worst first (the order of :meth:`Verdict.worst`).
VERDICTS = ("error", "failed", "vacuous", "passed")


def worst(verdicts: list[str]) -> str:
    """The worst of ``verdicts`` (an empty list passes, as in :meth:`Verdict.worst`)."""
    return min(verdicts, key=VERDICTS.index) if verdicts else "passed"


@dataclass
class Check:
    """One check's result as recorded; ``None`` means the results file does not say."""

    name: str
    verdict: str
    kind: str | None
    message: str | None
    requirement: str | None
    figures: dict[str, float | bool | None]
    #: ``{"time_s", "tags", "window": [[t, tag, value], ...], "images": [{"path",
    #: "caption"}, ...]}`` or None.
    evidence: dict[str, Any] | None
    exercised: bool | None
    vacuity: str | None
    criterion: str | None
    tags: list[str] | None
    conjuncts: list[dict[str, Any]] | None
    #: Anchor of the check in the HTML (``s3-c1``), stable for the same results.
    anchor: str = ""


@dataclass
class Scenario:
    """One scenario's result as recorded."""

    name: str
    verdict: str
    file: str | None
    requirements: list[str]
    checks: list[Check]
    error: str | None
    seed: int | None
    params: dict[str, Any]
    virtual_s: float | None
    wall_s: float | None
    trace_file: str | None
    coverage: dict[str, float | None]
    description: str | None
    steps: list[str] | None
    provenance: dict[str, Any] | None
    st_coverage: dict[str, Any] | None
    anchor: str = ""


@dataclass
class Results:
    """A whole results document."""

    path: str
    scenarios: list[Scenario]
    summary: dict[str, Any]
    #: The run block (version, environment, requirements, programs), or None (older files).
    run: dict[str, Any] | None
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @property
    def verdict(self) -> str:
        """The worst verdict of any scenario or check (a file that disagrees gets the worse)."""
        return worst(
            [v for s in self.scenarios for v in (s.verdict, *(c.verdict for c in s.checks))]
        )


def load_results(path: str | Path) -> Results:
    """Read and check a results file.

    Raises:
        VcommissionError: not readable, not JSON, or not a results document; the message
            names the file, the line and the JSON path.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VcommissionError(f"{path}: cannot read the results file ({exc})") from None
    return parse_results(text, str(path))


def parse_results(text: str, where: str) -> Results:
    """Check the JSON ``text`` (read from ``where``) and return its results."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _error(where, exc.lineno, "", f"not JSON: {exc.msg} (column {exc.colno})") from None
    try:
        return _Checker(where).results(document)
    except _ShapeError as exc:
        # Only now pay for a parse that keeps positions, to put the line in the message.
        line = _line_of(text, exc.path)
        raise _error(where, line, _dotted(exc.path), exc.message) from None


def _error(where: str, line: int, path: str, message: str) -> VcommissionError:
    return VcommissionError(str(ConfigIssue(where, line, path, message)))


class _ShapeError(Exception):
    def __init__(self, path: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.path = path
        self.message = message


def _dotted(path: tuple[str | int, ...]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
        type(value), "a list" if isinstance(value, list) else "an object"
    )


class _Checker:
    """Walks the document; each accessor names the JSON path of what it reads."""

    def __init__(self, where: str) -> None:
        self.where = where

    def results(self, document: Any) -> Results:
        root: tuple[str | int, ...] = ()
        self.object(document, root, "the results document (an object with 'scenarios')")
        if "scenarios" not in document:
            raise _ShapeError(root, "no 'scenarios': not a vcommission results file")
        scenarios = self.list(document["scenarios"], ("scenarios",))
        summary = self.optional(document, "summary", root, dict) or {}
        run = self.optional(document, "run", root, dict)
        out = [self.scenario(s, ("scenarios", i)) for i, s in enumerate(scenarios)]
        for i, scenario in enumerate(out):
            scenario.anchor = f"s{i + 1}"
            for j, check in enumerate(scenario.checks):
                check.anchor = f"s{i + 1}-c{j + 1}"
        return Results(self.where, out, summary, run, document)

    def scenario(self, value: Any, path: tuple[str | int, ...]) -> Scenario:
        self.object(value, path, "a scenario result")
        checks = self.optional(value, "checks", path, list) or []
        requirements = self.optional(value, "requirements", path, list) or []
        for i, requirement in enumerate(requirements):
            self.typed(requirement, (*path, "requirements", i), str)
        steps = self.optional(value, "steps", path, list)
        for i, step in enumerate(steps or []):
            self.typed(step, (*path, "steps", i), str)
        coverage = self.optional(value, "coverage", path, dict) or {}
        for key, number in coverage.items():
            self.typed(number, (*path, "coverage", key), float, nullable=True)
        return Scenario(
            name=self.required(value, "name", path, str),
            verdict=self.verdict(value, path),
            file=self.optional(value, "file", path, str),
            requirements=list(requirements),
            checks=[self.check(c, (*path, "checks", i)) for i, c in enumerate(checks)],
            error=self.optional(value, "error", path, str),
            seed=self.optional(value, "seed", path, int),
            params=self.optional(value, "params", path, dict) or {},
            virtual_s=self.optional(value, "virtual_s", path, float),
            wall_s=self.optional(value, "wall_s", path, float),
            trace_file=self.optional(value, "trace_file", path, str),
            coverage=coverage,
            description=self.optional(value, "description", path, str),
            steps=steps,
            provenance=self.optional(value, "provenance", path, dict),
            st_coverage=self.st_coverage(value, path),
        )

    def st_coverage(self, value: dict[str, Any], path: tuple[str | int, ...]) -> Any:
        coverage = self.optional(value, "st_coverage", path, dict)
        if coverage is None:
            return None
        where = (*path, "st_coverage")
        for part, key in (("statements", "col"), ("branches", "branch")):
            block = self.required(coverage, part, where, dict)
            items = self.required(block, "items", (*where, part), list)
            for i, item in enumerate(items):
                at = (*where, part, "items", i)
                self.object(item, at, "a coverage item")
                self.required(item, "line", at, int)
                self.required(item, "hits", at, int)
                self.required(item, key, at, int if key == "col" else str)
        return coverage

    def check(self, value: Any, path: tuple[str | int, ...]) -> Check:
        self.object(value, path, "a check result")
        figures = self.optional(value, "figures", path, dict) or {}
        for key, number in figures.items():
            if not isinstance(number, bool):  # a final_state figure may be a BOOL tag's value
                self.typed(number, (*path, "figures", key), float, nullable=True)
        tags = self.optional(value, "tags", path, list)
        for i, tag in enumerate(tags or []):
            self.typed(tag, (*path, "tags", i), str)
        conjuncts = self.optional(value, "conjuncts", path, list)
        for i, conjunct in enumerate(conjuncts or []):
            at = (*path, "conjuncts", i)
            self.object(conjunct, at, "a conjunct")
            self.required(conjunct, "condition", at, str)
            self.optional(conjunct, "seen_true", at, bool)
            self.optional(conjunct, "first_true_s", at, float)
        return Check(
            name=self.required(value, "name", path, str),
            verdict=self.verdict(value, path),
            kind=self.optional(value, "kind", path, str),
            message=self.optional(value, "message", path, str),
            requirement=self.optional(value, "requirement", path, str),
            figures=figures,
            evidence=self.evidence(value, path),
            exercised=self.optional(value, "exercised", path, bool),
            vacuity=self.optional(value, "vacuity", path, str),
            criterion=self.optional(value, "criterion", path, str) or None,
            tags=tags,
            conjuncts=conjuncts,
        )

    def evidence(self, value: dict[str, Any], path: tuple[str | int, ...]) -> Any:
        evidence = self.optional(value, "evidence", path, dict)
        if evidence is None:
            return None
        where = (*path, "evidence")
        self.required(evidence, "time_s", where, float)
        for i, tag in enumerate(self.required(evidence, "tags", where, list)):
            self.typed(tag, (*where, "tags", i), str)
        for i, row in enumerate(self.optional(evidence, "window", where, list) or []):
            at = (*where, "window", i)
            if not (isinstance(row, list) and len(row) == 3):
                raise _ShapeError(at, f"expected a [time_s, tag, value] row, got {row!r}")
            self.typed(row[0], (*at, 0), float)
            self.typed(row[1], (*at, 1), str)
        for i, image in enumerate(self.optional(evidence, "images", where, list) or []):
            at = (*where, "images", i)
            self.object(image, at, "an image ({'path', 'caption'})")
            self.required(image, "path", at, str)
            self.optional(image, "caption", at, str)
        return evidence

    def verdict(self, value: dict[str, Any], path: tuple[str | int, ...]) -> str:
        verdict = self.required(value, "verdict", path, str)
        if verdict not in VERDICTS:
            raise _ShapeError(
                (*path, "verdict"), f"unknown verdict {verdict!r} (one of {', '.join(VERDICTS)})"
            )
        return verdict

    # -- primitives

    def object(self, value: Any, path: tuple[str | int, ...], what: str) -> None:
        if not isinstance(value, dict):
            raise _ShapeError(path, f"expected {what}, got {_type_name(value)}")

    def list(self, value: Any, path: tuple[str | int, ...]) -> list[Any]:
        self.typed(value, path, list)
        return value

    def typed(
        self, value: Any, path: tuple[str | int, ...], kind: type, nullable: bool = False
    ) -> Any:
        if value is None and nullable:
            return None
        ok = isinstance(value, kind) and not (kind in (int, float) and isinstance(value, bool))
        if kind is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            expected = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
            name = expected.get(kind, "a list" if kind is list else "an object")
            raise _ShapeError(path, f"expected {name}, got {_type_name(value)}")
        return value

    def required(
        self, value: dict[str, Any], key: str, path: tuple[str | int, ...], kind: type
    ) -> Any:
        if key not in value:
            raise _ShapeError(path, f"'{key}' missing")
        return self.typed(value[key], (*path, key), kind)

    def optional(
        self, value: dict[str, Any], key: str, path: tuple[str | int, ...], kind: type
    ) -> Any:
        if value.get(key) is None:
            return None
        return self.typed(value[key], (*path, key), kind)


def _line_of(text: str, path: tuple[str | int, ...]) -> int:
    """The 1-based line where the value at ``path`` starts (its nearest recorded parent's)."""
    starts: dict[int, int] = {}
    decoder = json.JSONDecoder()
    parse_object, parse_array = decoder.parse_object, decoder.parse_array

    def on_object(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        value, end = parse_object(s_and_end, *args)
        starts[id(value)] = s_and_end[1] - 1
        return value, end

    def on_array(s_and_end: tuple[str, int], *args: Any) -> tuple[Any, int]:
        value, end = parse_array(s_and_end, *args)
        starts[id(value)] = s_and_end[1] - 1
        return value, end

    decoder.parse_object = on_object  # type: ignore[assignment]
    decoder.parse_array = on_array  # type: ignore[assignment]
    # The C scanner ignores these hooks; the Python one calls them.
    decoder.scan_once = json.scanner.py_make_scanner(decoder)  # type: ignore[attr-defined]
    document = decoder.decode(text)
    offset = starts.get(id(document), 0)
    node = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            break
        if id(node) in starts:
            offset = starts[id(node)]
        elif isinstance(part, str):
            # A scalar: its key, after the object that holds it.
            found = text.find(json.dumps(part), offset)
            offset = found if found >= 0 else offset
    return text.count("\n", 0, offset) + 1
