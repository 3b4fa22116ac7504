"""Console reporter: progress on a terminal, plain grep-able lines in a CI log.

Each finished scenario prints one line that starts with its verdict, so
``grep '^FAILED'`` finds the failures in a log; a failed, vacuous or erroneous scenario is
followed by indented lines naming each check that did not pass, its message and the
trace window of its evidence. A vacuous check (it held, but never met the situation it
judges) says ``VACUOUS`` and why (``not exercised: ...``); so does a check that failed only
for that under ``--strict``. The run ends with requirement verdicts and counts.
Scenario and check names are user text (``[seed=2]`` included), so nothing printed here
goes through rich's markup parser.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from vcommission.reporting.hooks import Reporter
from vcommission.reporting.summary import Summary
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict

if TYPE_CHECKING:
    from rich.progress import TaskID

    from vcommission.scenario.schema import Scenario

__all__ = ["ConsoleReporter"]

_STYLE = {
    Verdict.PASSED: "bold green",
    Verdict.FAILED: "bold red",
    Verdict.ERROR: "bold magenta",
    Verdict.VACUOUS: "bold yellow",
}
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f]")
#: Longest description the progress line shows of the scenarios running now.
_RUNNING_CHARS = 60


class ConsoleReporter(Reporter):
    """Prints verdicts to ``console``; with ``verbose``, passed checks and their figures too."""

    def __init__(self, console: Console, verbose: bool = False) -> None:
        self.console = console
        self.verbose = verbose
        #: Scenario id -> name, of the scenarios running now (several with workers).
        self._running: dict[str, str] = {}
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    # -- hooks ---------------------------------------------------------------------------

    def run_start(self, scenarios: list[Scenario]) -> None:
        self._print(_line(f"running {len(scenarios)} scenario{_s(len(scenarios))}"))
        if self.console.is_terminal:
            # A live display only where someone watches; in a log it would be noise.
            self._progress = Progress(
                TextColumn("{task.description}", markup=False),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self._task = self._progress.add_task("starting", total=len(scenarios))
            self._progress.start()

    def scenario_start(self, scenario: Scenario) -> None:
        self._running[scenario.id] = scenario.name
        self._show_running()
        if self.verbose and self._progress is None:
            self._print(_line(f"START  {scenario.name}"))

    def scenario_finish(self, scenario: Scenario, result: ScenarioResult) -> None:
        self._running.pop(scenario.id, None)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        self._show_running()
        # One print per scenario: the live display redraws once, and parallel workers'
        # reports never interleave.
        self._print(Text("\n").join(self.scenario_lines(result)))

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
        self._print(Text("\n").join(self.summary_lines(Summary.of(results, wall_s))))

    # -- text ------------------------------------------------------------------------------

    def scenario_lines(self, result: ScenarioResult) -> list[Text]:
        """The verdict line of one scenario and, unless it passed, why."""
        requirements = ",".join(result.requirements) or "-"
        head = Text.assemble(
            (f"{result.verdict.name:<6}", _STYLE[result.verdict]),
            _clean(
                f"  {result.name}  {requirements}"
                f"  virtual {result.virtual_s:.3f} s  wall {result.wall_s:.3f} s"
            ),
        )
        lines = [head]
        pacing = result.pacing
        if pacing.get("late_ticks"):
            # A late plant makes a PLC look slow: say so beside any verdict it may have caused.
            lines.append(
                _line(
                    f"  real time: {pacing['late_ticks']:g} of {pacing['ticks']:g} ticks late "
                    f"(p99 {pacing['lateness_p99_ms']:g} ms, max {pacing['lateness_max_ms']:g} ms)"
                )
            )
        if result.verdict is not Verdict.PASSED:
            lines.append(_line(f"  in {result.file}"))
            if result.error:
                lines.extend(_indented(f"ERROR  harness: {result.error}", "  ", "    "))
        for check in result.checks:
            if check.verdict is not Verdict.PASSED or self.verbose:
                lines.extend(_check_lines(check))
        if result.verdict is not Verdict.PASSED and result.trace_file:
            lines.append(_line(f"  trace: {result.trace_file}"))
        return lines

    @staticmethod
    def summary_lines(summary: Summary) -> list[Text]:
        """Requirement verdicts, then one line of counts, wall time and rate."""
        lines = [
            Text.assemble(_clean(f"requirement {requirement}  "), (verdict.name, _STYLE[verdict]))
            for requirement, verdict in summary.requirements.items()
        ]
        counts = ", ".join(f"{summary.counts[v]} {v.value}" for v in Verdict)
        # A rate over scenarios that never ran (files that did not load) would mean nothing.
        rate = f" ({summary.per_minute:.1f} scenarios/min)" if summary.ran else ""
        lines.append(
            Text.assemble(
                (f"{summary.verdict.name:<6}", _STYLE[summary.verdict]),
                f"  {summary.total} scenario{_s(summary.total)}: {counts}"
                f" in {summary.wall_s:.1f} s wall{rate}",
            )
        )
        if summary.interrupted:
            lines.append(
                Text.assemble(
                    ("INTERRUPTED", _STYLE[Verdict.ERROR]),
                    f"  {summary.interrupted} scenario{_s(summary.interrupted)} stopped or "
                    "never run: this is not the verdict of the whole suite",
                )
            )
        return lines

    # -- helpers ---------------------------------------------------------------------------

    def _print(self, text: Text) -> None:
        # soft_wrap: a long line stays one line in a log, so grep sees it whole.
        self.console.print(text, soft_wrap=True, highlight=False)

    def _show_running(self) -> None:
        if self._progress is None or self._task is None:
            return
        running = ", ".join(self._running.values())
        if len(running) > _RUNNING_CHARS:
            running = running[: _RUNNING_CHARS - 3] + "..."
        self._progress.update(self._task, description=running or "waiting", refresh=True)


def _check_lines(check: CheckResult) -> list[Text]:
    about = ", ".join(x for x in (check.kind, check.requirement) if x)
    head = f"{check.verdict.name:<6} {check.name} ({about}): {check.message}"
    lines = _indented(head, "  ", "    ")
    if not check.exercised and check.vacuity and check.vacuity not in check.message:
        lines.append(_line(f"    not exercised: {check.vacuity}"))
    if check.figures:
        shown = ", ".join(f"{name}={value:g}" for name, value in check.figures.items())
        lines.append(_line(f"    figures: {shown}"))
    if check.evidence is not None and check.verdict is not Verdict.PASSED:
        evidence = check.evidence
        tags = ", ".join(evidence.tags) or "-"
        lines.append(_line(f"    at t={evidence.time_s:.3f} s, tags: {tags}"))
        lines.extend(_line(f"    {line}") for line in evidence.lines())
        lines.extend(_line(f"    snapshot: {image['path']}") for image in evidence.images)
    return lines


def _indented(text: str, first: str, rest: str) -> list[Text]:
    """Multi-line messages keep every line indented under their scenario."""
    head, *tail = text.splitlines() or [""]
    return [_line(first + head), *(_line(rest + line) for line in tail)]


def _line(text: str) -> Text:
    return Text(_clean(text))


def _clean(text: str) -> str:
    """Control characters spelt out: a crashed tool's ANSI codes must not restyle the log."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _s(count: int) -> str:
    return "" if count == 1 else "s"
