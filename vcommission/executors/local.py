"""The local executor: independent work units on worker processes of this machine.

A *work unit* is a function named ``"module:function"`` and a picklable payload; the worker
calls ``function(payload, state)``, where ``state`` is a dict the worker keeps between its
units (a :class:`~vcommission.scenario.runner.WorkerCache` of models and plants, say). Units
are self-contained: nothing is assumed shared with the parent but the installed package.

The pool keeps the rules of the suite runner (:mod:`vcommission.scenario.suite`): workers are
``spawn``-ed (no state inherited), ignore SIGINT (the parent decides), die with the parent
however it dies, and one unit goes to a worker at a time, so the parent always knows who runs
what. Results stream back to ``on_result`` as they finish. A unit whose worker dies, or that
runs past its time budget (the worker is then killed), ends as an :class:`Outcome` saying
so, a fresh worker takes the place, and every other unit still runs: no unit is lost or
reported twice.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import queue
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["LocalExecutor", "Outcome", "ScratchFolder", "Unit"]

#: Seconds between the parent's checks of its workers (alive, within budget).
_POLL_S = 0.1


@dataclass(frozen=True)
class Unit:
    """One independent piece of work."""

    #: ``"module:function"``; called as ``function(payload, state)`` in a worker.
    function: str
    payload: Any
    #: Wall-clock seconds the unit may take before its worker is killed (None: no limit).
    budget_s: float | None = None


@dataclass(frozen=True)
class Outcome:
    """How a unit ended: its value, or why there is none."""

    #: Position of the unit in the submitted sequence.
    index: int
    #: ``done``, ``timeout`` (past its budget), ``died`` (the worker went) or ``raised``.
    status: str
    value: Any = None
    #: What went wrong, for every status but ``done``.
    error: str = ""
    wall_s: float = 0.0


class ScratchFolder:
    """A worker's scratch folder for its units, removed when the worker closes its state."""

    def __init__(self, prefix: str) -> None:
        self.path = Path(tempfile.mkdtemp(prefix=prefix))

    def close(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def _call(function: str, payload: Any, state: dict[str, Any]) -> Any:
    module, _, name = function.partition(":")
    return getattr(importlib.import_module(module), name)(payload, state)


def _worker(tasks: Any, answers: Any, parent_pid: int) -> None:
    from vcommission.scenario.suite import _die_with_parent

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent_pid)
    state: dict[str, Any] = {}
    try:
        while True:
            task = tasks.get()
            if task is None:
                return
            index, function, payload = task
            started = time.perf_counter()
            try:
                value = _call(function, payload, state)
            except Exception as exc:  # the unit's own failure: reported, the worker goes on
                answers.put((index, "raised", None, f"{type(exc).__name__}: {exc}", started))
            else:
                answers.put((index, "done", value, "", started))
    finally:
        for closable in state.values():
            close = getattr(closable, "close", None)
            if callable(close):
                close()


@dataclass
class _Worker:
    process: Any
    tasks: Any
    index: int | None = None
    started: float = 0.0


class LocalExecutor:
    """Run units on ``jobs`` worker processes; see the module docstring."""

    def __init__(self, jobs: int) -> None:
        if jobs < 1:
            raise ValueError(f"jobs={jobs} must be >= 1")
        self.jobs = jobs
        self._context = multiprocessing.get_context("spawn")

    def run(
        self,
        units: Sequence[Unit] | Callable[[], Unit | None],
        on_result: Callable[[Outcome], None] = lambda outcome: None,
    ) -> list[Outcome]:
        """Run every unit; outcomes in submission order (and each to ``on_result`` at once).

        ``units`` is a sequence, or a function that gives the next unit (None: no more), so
        a caller can decide each unit when a worker is free (e.g. order by what it learnt
        from the outcomes so far).
        """
        next_unit = _feeder(units)
        answers = self._context.Queue()
        workers: list[_Worker] = []
        submitted: list[Unit] = []
        outcomes: dict[int, Outcome] = {}
        exhausted = False

        def spawn() -> _Worker:
            tasks = self._context.Queue()
            process = self._context.Process(
                target=_worker, args=(tasks, answers, os.getpid()), daemon=True
            )
            process.start()
            worker = _Worker(process, tasks)
            workers.append(worker)
            return worker

        def assign(worker: _Worker) -> None:
            nonlocal exhausted
            worker.index = None
            if exhausted:
                return
            unit = next_unit()
            if unit is None:
                exhausted = True
                return
            worker.index = len(submitted)
            submitted.append(unit)
            worker.started = time.monotonic()
            worker.tasks.put((worker.index, unit.function, unit.payload))

        def finish(outcome: Outcome) -> None:
            if outcome.index not in outcomes:
                outcomes[outcome.index] = outcome
                on_result(outcome)

        def replace(worker: _Worker, status: str, error: str) -> None:
            if worker.process.is_alive():
                worker.process.kill()
            worker.process.join(timeout=5)
            worker.tasks.cancel_join_thread()
            workers.remove(worker)
            if worker.index is not None:
                finish(Outcome(worker.index, status, error=error,
                               wall_s=time.monotonic() - worker.started))  # fmt: skip
            if not exhausted:  # a fresh worker only while units may still come
                assign(spawn())

        try:
            for _ in range(self.jobs):
                assign(spawn())
            while any(w.index is not None for w in workers):
                try:
                    index, status, value, error, _ = answers.get(timeout=_POLL_S)
                except queue.Empty:
                    now = time.monotonic()
                    for worker in list(workers):
                        if worker.index is None:
                            continue
                        budget = submitted[worker.index].budget_s
                        if not worker.process.is_alive():
                            code = worker.process.exitcode
                            replace(worker, "died", f"the worker process died (exit code {code})")
                        elif budget is not None and now - worker.started > budget:
                            replace(worker, "timeout", f"ran past its budget of {budget:g} s")
                    continue
                worker = next((w for w in workers if w.index == index), None)
                wall = time.monotonic() - worker.started if worker is not None else 0.0
                finish(Outcome(index, status, value, error, wall))
                if worker is not None:
                    assign(worker)
        finally:
            for worker in workers:
                if worker.process.is_alive():
                    worker.tasks.put(None)
            for worker in workers:
                worker.process.join(timeout=5)
                if worker.process.is_alive():
                    worker.process.kill()
                    worker.tasks.cancel_join_thread()
        return [outcomes[i] for i in range(len(submitted))]


def _feeder(units: Sequence[Unit] | Callable[[], Unit | None]) -> Callable[[], Unit | None]:
    if callable(units):
        return units
    remaining = list(units)
    return lambda: remaining.pop(0) if remaining else None
