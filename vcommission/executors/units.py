"""Work units of ``vcommission run``: one scenario case, self-contained, with its trace.

:func:`run_case` is what an executor's worker runs for a case: it unpacks the scenario's
files (see :mod:`vcommission.executors.portable`), runs it with the worker's kept models and
plants, and returns the result with the trace's bytes, since a worker elsewhere cannot
write into the caller's trace folder. :func:`run_cases` drives an executor through a suite,
result by result, as :func:`~vcommission.scenario.suite.run_suite` does with its own pool.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vcommission.executors.local import Outcome, ScratchFolder, Unit
from vcommission.executors.portable import pack, unpack
from vcommission.fileio import write_atomic
from vcommission.scenario.results import ScenarioResult, Verdict
from vcommission.scenario.schema import Scenario

__all__ = ["run_case", "run_cases"]


def run_case(payload: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Run one packed scenario case; returns ``result`` and the ``trace`` bytes (or None)."""
    from vcommission.scenario.runner import WorkerCache, run_scenario

    if "cache" not in state:
        state["cache"] = WorkerCache()
        state["folder"] = ScratchFolder("vcommission-cases-")
    folder: Path = state["folder"].path
    scenario = unpack(payload["packed"], folder / "units")
    traces = folder / "traces" if payload["trace"] else None
    result = run_scenario(scenario, state["cache"], traces, payload["strict"])
    trace = None
    if result.trace_file is not None:
        written = Path(result.trace_file)
        trace = (written.name, written.read_bytes())
        written.unlink()
    # Evidence pictures (a collision snapshot) lie beside the trace on this worker too.
    images: dict[str, tuple[str, bytes]] = {}
    for image in _images(result):
        path = Path(image["path"])
        if path.is_file() and image["path"] not in images:
            images[image["path"]] = (path.name, path.read_bytes())
            path.unlink()
    return {"result": result, "trace": trace, "images": images}


def _images(result: ScenarioResult) -> list[dict[str, str]]:
    return [
        image
        for check in result.checks
        if check.evidence is not None
        for image in check.evidence.images
        if image.get("path")
    ]


def run_cases(
    executor: Any,
    scenarios: list[Scenario],
    trace_dir: str | Path | None,
    events: Any,
    strict: bool,
) -> list[ScenarioResult]:
    """Every scenario as a unit of ``executor``; results in the order of ``scenarios``."""
    units = [
        Unit(
            "vcommission.executors.units:run_case",
            {"packed": pack(s), "trace": trace_dir is not None, "strict": strict},
        )
        for s in scenarios
    ]
    for index, scenario in enumerate(scenarios):
        events.started(index, scenario)
    results: dict[int, ScenarioResult] = {}

    def finished(outcome: Outcome) -> None:
        result = _result(scenarios[outcome.index], outcome, trace_dir)
        results[outcome.index] = result
        events.finished(outcome.index, result)

    try:
        executor.run(units, finished)
    except KeyboardInterrupt as interrupt:
        from vcommission.scenario.suite import SuiteInterrupted, _signum, interrupted_result

        signum = _signum(interrupt)
        for index, scenario in enumerate(scenarios):
            if index not in results:
                results[index] = interrupted_result(scenario, signum, started=True)
                events.finished(index, results[index])
        raise SuiteInterrupted([results[i] for i in range(len(scenarios))], signum) from None
    return [results[i] for i in range(len(scenarios))]


def _result(scenario: Scenario, outcome: Outcome, trace_dir: str | Path | None) -> ScenarioResult:
    if outcome.status != "done":
        return ScenarioResult(
            name=scenario.name,
            file=scenario.file,
            verdict=Verdict.ERROR,
            requirements=list(scenario.spec.requirements),
            error=f"the unit did not finish ({outcome.status}): {outcome.error}",
            seed=scenario.seed,
            params=dict(scenario.params),
        )
    result: ScenarioResult = outcome.value["result"]
    trace = outcome.value["trace"]
    if trace is not None and trace_dir is not None:
        name, data = trace
        target = Path(trace_dir) / name
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(target, data)
        result.trace_file = str(target)
    images = outcome.value.get("images", {})
    for image in _images(result):
        if image["path"] in images and trace_dir is not None:
            name, data = images[image["path"]]
            target = Path(trace_dir) / name
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, data)
            image["path"] = str(target)
    return result
