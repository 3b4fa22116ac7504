"""The regression view: a run against a baseline run, and the short Markdown summary for CI.

Checks are matched by scenario name and check name (a second check of the same name in one
scenario by its position among them), so a renamed check shows as removed plus new rather
than as a change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from vcommission.reporting.fat.document import Check, Results, Scenario

__all__ = ["FigureMove", "Regression", "VerdictChange", "compare", "figure_text", "markdown"]


@dataclass(frozen=True)
class VerdictChange:
    scenario: str
    check: str | None  # None: the scenario's own verdict
    before: str
    after: str
    anchor: str = ""


@dataclass(frozen=True)
class FigureMove:
    scenario: str
    check: str
    kind: str
    figure: str
    before: float
    after: float

    def __str__(self) -> str:
        return f"{self.kind} {figure_text(self.figure, self.before, self.after)}"


@dataclass
class Regression:
    baseline: str
    verdicts: list[VerdictChange] = field(default_factory=list)
    figures: list[FigureMove] = field(default_factory=list)
    new_scenarios: list[str] = field(default_factory=list)
    removed_scenarios: list[str] = field(default_factory=list)
    new_checks: list[tuple[str, str]] = field(default_factory=list)
    removed_checks: list[tuple[str, str]] = field(default_factory=list)

    @property
    def unchanged(self) -> bool:
        return not (
            self.verdicts
            or self.figures
            or self.new_scenarios
            or self.removed_scenarios
            or self.new_checks
            or self.removed_checks
        )


def _keyed(scenario: Scenario) -> dict[str, Check]:
    out: dict[str, Check] = {}
    for check in scenario.checks:
        key, n = check.name, 1
        while key in out:
            n += 1
            key = f"{check.name} #{n}"
        out[key] = check
    return out


def compare(before: Results, after: Results) -> Regression:
    """What changed from ``before`` (the baseline) to ``after``, in ``after``'s order."""
    regression = Regression(before.path)
    old = {s.name: s for s in before.scenarios}
    new = {s.name: s for s in after.scenarios}
    regression.new_scenarios = [name for name in new if name not in old]
    regression.removed_scenarios = [name for name in old if name not in new]
    for name, scenario in new.items():
        if name not in old:
            continue
        previous = old[name]
        if previous.verdict != scenario.verdict:
            regression.verdicts.append(
                VerdictChange(name, None, previous.verdict, scenario.verdict, scenario.anchor)
            )
        was, now = _keyed(previous), _keyed(scenario)
        regression.removed_checks += [(name, c) for c in was if c not in now]
        for key, check in now.items():
            if key not in was:
                regression.new_checks.append((name, key))
                continue
            earlier = was[key]
            if earlier.verdict != check.verdict:
                regression.verdicts.append(
                    VerdictChange(name, key, earlier.verdict, check.verdict, check.anchor)
                )
            for figure, value in check.figures.items():
                prior = earlier.figures.get(figure)
                if _number(value) and _number(prior) and not math.isclose(prior, value):
                    kind = check.kind or "check"
                    regression.figures.append(FigureMove(name, key, kind, figure, prior, value))
    return regression


def _number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def figure_text(figure: str, before: float, after: float) -> str:
    """``p95 4.1 s -> 4.6 s`` for ``p95_s``; units from the figure's name."""
    for suffix, unit in (("_s", " s"), ("_ms", " ms"), ("per_minute", " /min")):
        if figure.endswith(suffix):
            label = figure[: -len(suffix)].rstrip("_") or figure
            if suffix == "per_minute":
                label = "per minute"
                return f"{label} {before:.4g}{unit} -> {after:.4g}{unit}"
            return f"{label} {before:.4g}{unit} -> {after:.4g}{unit}"
    return f"{figure} {before:.4g} -> {after:.4g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(results: Results, regression: Regression | None, limit: int = 25) -> str:
    """A short summary for a GitHub step summary or a merge-request comment."""
    scenarios = results.scenarios
    counts = {
        v: sum(1 for s in scenarios if s.verdict == v)
        for v in ("passed", "failed", "vacuous", "error")
    }
    shown = ", ".join(f"{n} {v}" for v, n in counts.items())
    lines = [
        f"## vcommission FAT report: {results.verdict.upper()}",
        "",
        f"{len(scenarios)} scenarios: {shown}.",
    ]
    untested = (results.run or {}).get("untested") or []
    if untested:
        lines.append(f"Untested requirements: {', '.join(map(str, untested))}.")
    deviations = [(s, c) for s in scenarios for c in s.checks if c.verdict in ("failed", "error")]
    errors = [s for s in scenarios if s.error and not s.checks]
    if deviations or errors:
        lines += ["", "### Deviations", ""]
        lines += [f"- **{_cell(s.name)}**: ERROR {_cell(s.error or '')}" for s in errors]
        for scenario, check in deviations[:limit]:
            lines.append(
                f"- **{_cell(scenario.name)}** / {_cell(check.name)}: {check.verdict.upper()}"
                f" {_cell(check.message or '')}"
            )
        if len(deviations) > limit:
            lines.append(f"- ... and {len(deviations) - limit} more")
    vacuous = [(s, c) for s in scenarios for c in s.checks if c.verdict == "vacuous"]
    if vacuous:
        lines += ["", "### Vacuous checks (not exercised)", ""]
        lines += [
            f"- **{_cell(s.name)}** / {_cell(c.name)}: {_cell(c.vacuity or 'not exercised')}"
            for s, c in vacuous[:limit]
        ]
    if regression is not None:
        lines += ["", f"### Against the baseline `{_cell(regression.baseline)}`", ""]
        if regression.unchanged:
            lines.append("No verdict or figure changed.")
        if regression.verdicts:
            lines += ["| scenario | check | before | after |", "| --- | --- | --- | --- |"]
            lines += [
                f"| {_cell(v.scenario)} | {_cell(v.check or '(scenario)')}"
                f" | {v.before} | {v.after} |"
                for v in regression.verdicts[:limit]
            ]
        for title, names in (
            ("New scenarios", regression.new_scenarios),
            ("Removed scenarios", regression.removed_scenarios),
        ):
            if names:
                lines += ["", f"{title}: " + ", ".join(_cell(n) for n in names)]
        if regression.figures:
            lines += ["", "Figures moved:", ""]
            lines += [
                f"- {_cell(m.scenario)} / {_cell(m.check)}: {_cell(str(m))}"
                for m in regression.figures[:limit]
            ]
            if len(regression.figures) > limit:
                lines.append(f"- ... and {len(regression.figures) - limit} more")
    return "\n".join(lines) + "\n"
