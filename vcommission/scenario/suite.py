"""Running a suite: scenarios spread over worker processes, results in suite order.

Each worker is a separate process (a crash or a leaked physics client stays in its worker)
that keeps models, compiled programs and plants between scenarios
(:class:`~vcommission.scenario.runner.WorkerCache`). Workers are **forked** where that is
safe (Linux, and this process has no other thread yet): a fork starts in milliseconds with
every module already imported, where a ``spawn``-ed worker spends most of a second (several
on a loaded machine) importing pybullet, numpy, asyncua and this package before its first
scenario. Elsewhere, and for a worker replacing a dead one while the suite's threads run,
workers are spawned. A forked worker starts from this process before it ran anything (no
physics client, no cache), so its traces are those of a spawned one. The parent
hands out one scenario at a time. If a worker dies mid-scenario, that scenario gets an
**error** verdict, a fresh worker takes its place, and the rest of the suite completes.
With one job the scenarios run in this process.

**Automatic jobs** (``jobs=None``, the command line's default): this process starts running
the suite itself at once, from its last scenario backwards; workers (up to one per core,
this process counting as one) take scenarios from the front. Forked workers start at once,
before the suite's threads exist; spawned ones only once the work seen so far says the rest
is worth a worker's start-up. A short suite therefore
never waits for workers it cannot use, and a long one has this process working while they
come up, on a quiet machine or a loaded one.

**Interrupts never lie and never orphan.** Ctrl-C (SIGINT) or SIGTERM stops the suite: the
workers are killed, every finished scenario keeps its result, and every other one gets an
*error* result marked ``interrupted``; :class:`SuiteInterrupted` carries them all to the
caller, which reports them and exits non-zero. Workers ignore SIGINT (a terminal sends it to
the whole process group; the parent decides) and die with their parent however it dies: the
kernel sends them SIGKILL when it goes (Linux ``PR_SET_PDEATHSIG``), and a watcher thread
notices a changed parent pid elsewhere.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vcommission.scenario.results import ScenarioResult, Verdict
from vcommission.scenario.runner import WorkerCache, run_scenario, with_trace_stems
from vcommission.scenario.schema import Scenario

__all__ = [
    "SuiteEvents",
    "SuiteInterrupted",
    "default_jobs",
    "deferred_interrupts",
    "interrupted_result",
    "run_suite",
    "terminate_as_interrupt",
    "worker_start_method",
]

#: Seconds between checks that every worker is still alive.
_POLL_S = 0.2
#: Seconds between a worker's checks that its parent is still there (where no kernel
#: parent-death signal exists).
_PARENT_WATCH_S = 0.5
#: Automatic jobs: what a worker's start-up is assumed to cost, wall seconds (spawn, import,
#: first model and program), scaled by the load of the machine; workers start once the
#: remaining work, estimated from the scenarios run so far, exceeds twice that.
_WORKER_START_S = 1.0


class SuiteInterrupted(KeyboardInterrupt):
    """The suite was stopped by a signal; ``results`` holds one result per scenario.

    Finished scenarios keep their verdicts; the others are :func:`interrupted_result`.
    A subclass of KeyboardInterrupt, so code that does not know it still stops.
    """

    def __init__(self, results: list[ScenarioResult], signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.results = results
        self.signum = signum


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Python would raise KeyboardInterrupt for SIGINT."""

    signum = signal.SIGTERM


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM stops the suite as Ctrl-C does (results kept, reported).

    Only in the main thread (where Python delivers signals); elsewhere it does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: object) -> None:
        raise _Terminated()

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back within the block (e.g. while reports are written).

    A signal that arrives meanwhile is delivered when the block ends, so a report being
    written is finished first rather than lost half-way.
    """
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def interrupted_result(scenario: Scenario, signum: int, started: bool) -> ScenarioResult:
    """The error result of a scenario a signal stopped (``started``) or kept from running."""
    name = signal.Signals(signum).name
    what = "stopped while running" if started else "never ran"
    return ScenarioResult(
        name=scenario.name,
        file=scenario.file,
        verdict=Verdict.ERROR,
        requirements=list(scenario.spec.requirements),
        error=f"interrupted by {name}: {what}",
        interrupted=True,
        seed=scenario.seed,
        params=dict(scenario.params),
    )


def _signum(interrupt: KeyboardInterrupt) -> int:
    return int(getattr(interrupt, "signum", signal.SIGINT))


def worker_start_method() -> str:
    """``fork`` where a worker may be forked now, else ``spawn``.

    Fork needs Linux and this process single-threaded: forking a process with other threads
    can leave the child holding locks those threads held (a half-written log line, an
    allocator's arena). Every worker is forked before any task is put on a queue: a queue's
    first put starts its feeder thread.
    """
    if sys.platform.startswith("linux") and threading.active_count() == 1:
        return "fork"
    return "spawn"


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
    jobs: int | None = 1,
    trace_dir: str | Path | None = None,
    events: SuiteEvents | None = None,
    strict: bool = False,
    executor: Any = None,
) -> list[ScenarioResult]:
    """Run every scenario; results come back in the order of ``scenarios``.

    ``jobs``: worker processes; None for automatic (see the module docstring): this process
    runs scenarios at once and workers start only when the suite has work for them.
    ``strict``: checks not exercised and faults that never acted fail (see run_scenario).
    ``executor``: run each case as a self-contained unit there (a
    :class:`~vcommission.executors.dask.DaskExecutor`) instead of on this machine's pool.
    """
    events = events or SuiteEvents()
    if trace_dir is not None:
        scenarios = with_trace_stems(scenarios)
    if executor is not None:
        from vcommission.executors.units import run_cases

        return run_cases(executor, scenarios, trace_dir, events, strict)
    if jobs is None:
        jobs = min(default_jobs(), len(scenarios))
        if jobs > 1:
            return _AutoPool(scenarios, jobs, trace_dir, events, strict).run()
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
    results: list[ScenarioResult] = []
    try:
        for index, scenario in enumerate(scenarios):
            events.started(index, scenario)
            result = run_scenario(scenario, cache, trace_dir, strict)
            events.finished(index, result)
            results.append(result)
    except KeyboardInterrupt as interrupt:
        signum = _signum(interrupt)
        running = len(results)
        for index in range(running, len(scenarios)):
            result = interrupted_result(scenarios[index], signum, started=index == running)
            events.finished(index, result)
            results.append(result)
        raise SuiteInterrupted(results, signum) from None
    finally:
        cache.close()
    return results


def _die_with_parent(parent_pid: int) -> None:
    """Make this worker go when its parent goes, however the parent dies (even SIGKILL)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    # The parent may have died before prctl took effect; and other systems have no such
    # signal: a watcher sees the worker handed to another parent.
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while True:
            time.sleep(_PARENT_WATCH_S)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _worker(
    tasks: Any, answers: Any, trace_dir: str | None, parent_pid: int, strict: bool = False
) -> None:
    # Ctrl-C reaches the whole process group; the parent stops the suite and kills us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker has the parent's handler, which turns SIGTERM into an interrupt report.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(parent_pid)
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
        # Queues of the spawn context work with forked workers too (a fork inherits them).
        self.context = multiprocessing.get_context("spawn")
        self.answers = self.context.Queue()
        #: How each worker started (``fork`` or ``spawn``), in order.
        self.start_methods: list[str] = []
        self.workers: list[_Worker] = []
        self.pending = list(range(len(scenarios)))
        self.results: dict[int, ScenarioResult] = {}

    def _spawn(self) -> _Worker:
        tasks = self.context.Queue()
        method = worker_start_method()
        self.start_methods.append(method)
        process = multiprocessing.get_context(method).Process(
            target=_worker,
            args=(tasks, self.answers, self.trace_dir, os.getpid(), self.strict),
            daemon=True,
        )
        process.start()
        worker = _Worker(process, tasks)
        self.workers.append(worker)
        return worker

    def _start_workers(self, count: int) -> None:
        """Start ``count`` workers, then hand each a scenario.

        All start before any is handed one: a queue's first put starts a feeder thread, and a
        fork needs this process single-threaded.
        """
        for worker in [self._spawn() for _ in range(count)]:
            self._assign(worker)

    def _assign(self, worker: _Worker) -> None:
        if not self.pending:
            worker.index = None
            return
        index = self.pending.pop(0)
        worker.index = index
        worker.tasks.put((index, self.scenarios[index]))
        self.events.started(index, self.scenarios[index])

    def run(self) -> list[ScenarioResult]:
        self._start_workers(self.jobs)
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
        except KeyboardInterrupt as interrupt:
            # Kill first: a worker must not go on writing traces after the report is out.
            self._kill_all()
            signum = _signum(interrupt)
            running = {w.index for w in self.workers if w.index is not None}
            for index, scenario in enumerate(self.scenarios):
                if index not in self.results:
                    self._finish(index, interrupted_result(scenario, signum, index in running))
            raise SuiteInterrupted(self._ordered(), signum) from None
        finally:
            self._stop_workers()
        return self._ordered()

    def _stop_workers(self) -> None:
        """Ask every live worker to stop, wait 5 s for each, kill the ones still there."""
        for worker in self.workers:
            if worker.process.is_alive():
                worker.tasks.put(None)
        for worker in self.workers:
            worker.process.join(timeout=5)
            if worker.process.is_alive():
                worker.process.kill()

    def _ordered(self) -> list[ScenarioResult]:
        return [self.results[i] for i in range(len(self.scenarios))]

    def _kill_all(self) -> None:
        for worker in self.workers:
            if worker.process.is_alive():
                worker.process.kill()
            # Exiting must not wait for a queue's feeder thread to hand a task to a worker
            # that is gone (multiprocessing joins those threads at exit).
            worker.tasks.cancel_join_thread()
        for worker in self.workers:
            worker.process.join(timeout=5)

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


class _AutoPool(_Pool):
    """Automatic jobs: this process runs scenarios from the back while workers come up.

    The main thread runs scenarios here, last first; a dispatcher thread decides when to
    start workers (``jobs - 1`` of them: this process is one of the ``jobs`` runners),
    hands them scenarios from the front and collects their results. The two meet in the
    middle; results are kept by index, so they come back in suite order.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lock = threading.RLock()
        self.stopping = threading.Event()
        #: Scenario this process runs now, and the wall time of those it ran.
        self.here: int | None = None
        self.ran_here: list[float] = []
        self.started = time.perf_counter()
        self.spawned = False
        self.failure: BaseException | None = None
        events = self.events
        # Reporters are called from both threads: one at a time.
        self.events = SuiteEvents(
            started=self._locked(events.started), finished=self._locked(events.finished)
        )

    def _locked(self, callback: Callable[..., None]) -> Callable[..., None]:
        def call(*args: Any) -> None:
            with self.lock:
                callback(*args)

        return call

    def _assign(self, worker: _Worker) -> None:
        with self.lock:
            super()._assign(worker)

    def _finish(self, index: int, result: ScenarioResult) -> None:
        with self.lock:
            super()._finish(index, result)

    def _worth_a_worker(self) -> bool:
        """Whether the remaining work, as the runs here so far suggest, pays a start-up."""
        with self.lock:
            remaining = len(self.pending)
            if not remaining:
                return False
            elapsed = time.perf_counter() - self.started
            done = len(self.ran_here)
            # Until a scenario has finished here, the one running has taken at least this.
            per_scenario = elapsed / done if done else elapsed
        try:
            load = os.getloadavg()[0] / default_jobs()
        except OSError:
            load = 1.0
        return remaining * per_scenario > 2 * _WORKER_START_S * max(1.0, load)

    def _dispatch(self) -> None:
        try:
            while not self.stopping.is_set():
                if not self.spawned and self._worth_a_worker():
                    self.spawned = True
                    self._start_workers(self.jobs - 1)
                if not self.workers:
                    self.stopping.wait(_POLL_S / 4)
                    continue
                try:
                    _, index, result = self.answers.get(timeout=_POLL_S / 4)
                except queue.Empty:
                    with self.lock:
                        self._bury_the_dead()
                    continue
                self._finish(index, result)
                worker = next((w for w in self.workers if w.index == index), None)
                if worker is not None:
                    self._assign(worker)
        except BaseException as exc:  # reported by the main thread
            self.failure = exc

    def _take_last(self) -> int | None:
        with self.lock:
            if not self.pending:
                return None
            index = self.pending.pop()
            self.here = index
        self.events.started(index, self.scenarios[index])
        return index

    def run(self) -> list[ScenarioResult]:
        if worker_start_method() == "fork":
            # Now, while this is the only thread: a fork costs milliseconds, so the workers
            # need no estimate of the work to be worth starting.
            self.spawned = True
            self._start_workers(self.jobs - 1)
        dispatcher = threading.Thread(target=self._dispatch, name="suite-dispatch", daemon=True)
        dispatcher.start()
        cache = WorkerCache()
        try:
            while (index := self._take_last()) is not None:
                started = time.perf_counter()
                result = run_scenario(self.scenarios[index], cache, self.trace_dir, self.strict)
                with self.lock:
                    self.ran_here.append(time.perf_counter() - started)
                    self.here = None
                self._finish(index, result)
            # What the workers still run: their results come through the dispatcher.
            while len(self.results) < len(self.scenarios):
                if self.failure is not None:
                    raise self.failure
                time.sleep(_POLL_S / 4)
        except KeyboardInterrupt as interrupt:
            self.stopping.set()
            dispatcher.join(timeout=5)
            self._kill_all()
            signum = _signum(interrupt)
            with self.lock:
                running = {w.index for w in self.workers if w.index is not None}
                running.add(self.here)
                for index, scenario in enumerate(self.scenarios):
                    if index not in self.results:
                        self._finish(index, interrupted_result(scenario, signum, index in running))
            raise SuiteInterrupted(self._ordered(), signum) from None
        finally:
            self.stopping.set()
            dispatcher.join(timeout=5)
            cache.close()
            self._stop_workers()
        return self._ordered()
