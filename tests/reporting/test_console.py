"""Console reporter: stable, grep-able lines when piped; a progress display on a terminal."""

from __future__ import annotations

import io

from rich.console import Console

from tests.reporting.conftest import NASTY, scenario_for
from vcommission.reporting import ConsoleReporter, Hooks
from vcommission.scenario.results import ScenarioResult


def render(results: list[ScenarioResult], verbose: bool = False, terminal: bool = False) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=terminal, width=120)
    hooks = Hooks([ConsoleReporter(console, verbose=verbose)])
    scenarios = [scenario_for(r) for r in results]
    events = hooks.suite_events(scenarios)
    hooks.run_start(scenarios)
    for index, (scenario, result) in enumerate(zip(scenarios, results, strict=True)):
        events.started(index, scenario)
        events.finished(index, result)
    hooks.run_finish(results, 3.0)
    return out.getvalue()


def test_piped_output(results):
    assert render(results).splitlines() == [
        "running 4 scenarios",
        "PASSED  nominal sorting  R1,R10  virtual 60.000 s  wall 1.250 s",
        f"FAILED  {NASTY}  R4  virtual 20.000 s  wall 0.500 s",
        "  in scenarios/sorting_line/jam.yaml",
        "  FAILED no push <while> running & 'busy' (interlock, R4): pusher extended while belt ran",
        "    second line",
        "    figures: violations=1",
        "    at t=12.500 s, tags: pusher.extended, belt.run",
        "      t=   11.500 s  pusher.extended = FALSE",
        "      t=   12.500 s  pusher.extended = TRUE",
        "  trace: traces/jam.npz",
        "ERROR   e-stop during push  R4,R7  virtual 3.000 s  wall 0.200 s",
        "  in scenarios/sorting_line/estop.yaml",
        "  ERROR  wait ready (wait): tag 'ready' vanished",
        "ERROR   belt slip  R9  virtual 0.000 s  wall 0.000 s",
        "  in scenarios/sorting_line/slip.yaml",
        "  ERROR  harness: the worker process running it died (exit code -9)",
        "    \\x1b[31mtrace\\x00back\\x1b[0m",
        "requirement R1  PASSED",
        "requirement R4  ERROR",
        "requirement R7  ERROR",
        "requirement R9  ERROR",
        "requirement R10  PASSED",
        "ERROR   4 scenarios: 1 passed, 1 failed, 2 error, 0 vacuous in 3.0 s wall "
        "(80.0 scenarios/min)",
    ]


def test_long_lines_are_not_wrapped(results):
    results[0].name = "a very long scenario name " * 10
    first = render(results[:1]).splitlines()[1]
    assert first.startswith("PASSED  a very long") and first.endswith("wall 1.250 s")


def test_verbose_shows_passed_checks_and_figures(results):
    lines = render(results[:1], verbose=True).splitlines()
    assert "START  nominal sorting" in lines
    assert "  PASSED cycle (cycle_time, R1): max 3.100 s <= 4 s" in lines
    assert "    figures: max_s=3.1, mean_s=2.5" in lines


def test_terminal_shows_progress_and_the_same_verdicts(results):
    text = render(results, terminal=True)
    assert "\x1b[" in text  # coloured, with a live display
    assert "0/4" in text and "4/4" in text
    assert "e-stop during push" in text  # the running scenario, in the progress line
    assert "FAILED" in text and "requirement R10" in text
    assert "4 scenarios: 1 passed, 1 failed, 2 error, 0 vacuous" in text
