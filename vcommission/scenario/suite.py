"""Running a suite: scenarios spread over worker processes, results in suite order.

Each worker is a separate process (``spawn``: no state shared with the parent, so a crash
or a leaked physics client stays in its worker) that keeps models, compiled programs and
plants between scenarios (:class:`~vcommission.scenario.runner.WorkerCache`). The parent
hands out one scenario at a time. If a worker dies mid-scenario, that scenario gets an
**error** verdict, a fresh worker takes its place, and the rest of the suite completes.
With one job the scenarios run in this process.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcommission.scenario.results import ScenarioResult, Verdict
from vcommission.scenario.runner import WorkerCache, run_scenario
from vcommission.scenario.schema import Scenario

__all__ = ["SuiteEvents", "default_jobs", "run_suite"]

#: Seconds between checks that every worker is still alive.
_POLL_S = 0.2


def default_jobs() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class SuiteEvents:
    """Callbacks as scenarios start and finish (the reporters' hook catalogue calls these)."""

    started: Callable[[int, Scenario], None] = lambda index, scenario: None
    finished: Callable[[int, ScenarioResult], None] = lambda index, result: None


def run_suite(
    scenarios: list[Scenario],
    jobs: int = 1,
    trace_dir: str | Path | None = None,
    events: SuiteEvents | None = None,
    strict: bool = False,
) -> list[ScenarioResult]:
    """Run every scenario; results come back in the order of ``scenarios``.

    ``strict``: checks not exercised and faults that never acted fail (see run_scenario).
    """
    events = events or SuiteEvents()
    if jobs <= 1 or len(scenarios) <= 1:
        return _run_here(scenarios, trace_dir, events, strict)
    return _Pool(scenarios, min(jobs, len(scenarios)), trace_dir, events, strict).run()


def _run_here(
    scenarios: list[Scenario],
    trace_dir: str | Path | None,
    events: SuiteEvents,
    strict: bool = False,
) -> list[ScenarioResult]:
    cache = WorkerCache()
    results = []
    try:
        for index, scenario in enumerate(scenarios):
            events.started(index, scenario)
            result = run_scenario(scenario, cache, trace_dir, strict)
            events.finished(index, result)
            results.append(result)
    finally:
        cache.close()
    return results


def _worker(tasks: Any, answers: Any, trace_dir: str | None, strict: bool = False) -> None:
    cache = WorkerCache()
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            index, scenario = task
            answers.put(("finished", index, run_scenario(scenario, cache, trace_dir, strict)))
    finally:
        cache.close()


@dataclass
class _Worker:
    process: Any
    tasks: Any
    #: Index of the scenario it is running, or None when idle.
    index: int | None = None


class _Pool:
    """Workers with a task queue each, so the parent always knows who runs what."""

    def __init__(
        self,
        scenarios: list[Scenario],
        jobs: int,
        trace_dir: str | Path | None,
        events: SuiteEvents,
        strict: bool = False,
    ) -> None:
        self.scenarios = scenarios
        self.strict = strict
        self.jobs = jobs
        self.trace_dir = None if trace_dir is None else str(trace_dir)
        self.events = events
        self.context = multiprocessing.get_context("spawn")
        self.answers = self.context.Queue()
        self.workers: list[_Worker] = []
        self.pending = list(range(len(scenarios)))
        self.results: dict[int, ScenarioResult] = {}

    def _spawn(self) -> _Worker:
        tasks = self.context.Queue()
        process = self.context.Process(
            target=_worker, args=(tasks, self.answers, self.trace_dir, self.strict), daemon=True
        )
        process.start()
        worker = _Worker(process, tasks)
        self.workers.append(worker)
        return worker

    def _assign(self, worker: _Worker) -> None:
        if not self.pending:
            worker.index = None
            return
        index = self.pending.pop(0)
        worker.index = index
        worker.tasks.put((index, self.scenarios[index]))
        self.events.started(index, self.scenarios[index])

    def run(self) -> list[ScenarioResult]:
        for _ in range(self.jobs):
            self._assign(self._spawn())
        try:
            while len(self.results) < len(self.scenarios):
                try:
                    _, index, result = self.answers.get(timeout=_POLL_S)
                except queue.Empty:
                    self._bury_the_dead()
                    continue
                self._finish(index, result)
                worker = next((w for w in self.workers if w.index == index), None)
                if worker is not None:
                    self._assign(worker)
        finally:
            for worker in self.workers:
                worker.tasks.put(None)
            for worker in self.workers:
                worker.process.join(timeout=5)
                if worker.process.is_alive():
                    worker.process.kill()
        return [self.results[i] for i in range(len(self.scenarios))]

    def _finish(self, index: int, result: ScenarioResult) -> None:
        if index not in self.results:
            self.results[index] = result
            self.events.finished(index, result)

    def _bury_the_dead(self) -> None:
        for worker in list(self.workers):
            if worker.process.is_alive():
                continue
            self.workers.remove(worker)
            index = worker.index
            if index is not None and index not in self.results:
                scenario = self.scenarios[index]
                self._finish(
                    index,
                    ScenarioResult(
                        name=scenario.name,
                        file=scenario.file,
                        verdict=Verdict.ERROR,
                        requirements=list(scenario.spec.requirements),
                        error="the worker process running it died "
                        f"(exit code {worker.process.exitcode})",
                        seed=scenario.seed,
                        params=dict(scenario.params),
                    ),
                )
            if self.pending:
                self._assign(self._spawn())
