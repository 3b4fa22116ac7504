"""Running one scenario: plant, PLC, checks and recorder; the steps; verdicts with evidence.

Build (or reset) the plant, attach the PLC, the checks and the recorder, play the steps,
run to the end, and turn it all into a :class:`ScenarioResult`.

Anything the PLC program does wrong is a *failed* verdict, with evidence: a check that is
violated, a ``wait`` that times out, an end condition never reached, the PLC stopping on a
runtime fault. A check that held without being exercised is *vacuous*, and so is a fault
that never acted (one result of kind ``fault`` per injected fault says when it first
acted); with ``strict`` both are failed instead. Anything the harness cannot do (a model
that will not build, a crash in a check) is an *error*, kept apart. A :class:`WorkerCache`
keeps models, compiled programs and plants between scenarios, so a worker process resets a
plant rather than rebuilding everything for each scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import re
import time
import traceback
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcommission.clock import ClockMode, ns_to_s, s_to_ns
from vcommission.config.model import Model, load_model
from vcommission.errors import ConfigError, VcommissionError
from vcommission.plant.plant import Plant
from vcommission.plc import PlcProgram, compile_program
from vcommission.scenario.context import RunContext, plc_stopped
from vcommission.scenario.provenance import file_sha256, model_sha256, provenance
from vcommission.scenario.registry import STEPS
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict, apply_strict
from vcommission.scenario.schema import ClockChoice, ExternalPlc, Scenario, Step
from vcommission.scenario.steps import Advance, StepFailed, Steps, describe_step, spawn_results
from vcommission.scenario.trace import TraceRecorder
from vcommission.session import ServerProtocol, Session, SessionBuilder

__all__ = ["MAX_END_WAIT_S", "WorkerCache", "run_scenario", "with_trace_stems"]

#: Virtual seconds an ``end:`` condition is waited for when the scenario gives no duration.
MAX_END_WAIT_S = 3600.0

logger = logging.getLogger(__name__)


@dataclass
class WorkerCache:
    """What a worker keeps between scenarios: models, compiled programs, plants."""

    models: dict[Path, Model] = field(default_factory=dict)
    programs: dict[tuple[Path, Path], PlcProgram] = field(default_factory=dict)
    plants: dict[Path, Plant] = field(default_factory=dict)
    #: SHA-256 of each model (folder) and program (file) as it was when loaded or compiled:
    #: what the kept model or program was built from, for the results' provenance.
    hashes: dict[Path, str] = field(default_factory=dict)

    def model(self, path: Path) -> Model:
        if path not in self.models:
            self.hashes[path] = model_sha256(path)
            self.models[path] = load_model(path)
        return self.models[path]

    def program(self, path: Path, model_path: Path) -> PlcProgram:
        key = (path, model_path)
        if key not in self.programs:
            model = self.model(model_path)
            self.hashes[path] = file_sha256(path)
            self.programs[key] = compile_program(path, model)
        return self.programs[key]

    def plant(self, model_path: Path, seed: int | None) -> Plant:
        """A plant at power-on: a kept one reset, or a new one."""
        plant = self.plants.get(model_path)
        if plant is None or plant.world is None:
            plant = Plant(self.model(model_path), seed)
            self.plants[model_path] = plant
        else:
            plant.reset(self.model(model_path).seed if seed is None else seed)
        return plant

    def close(self) -> None:
        for plant in self.plants.values():
            plant.close()
        self.plants.clear()


def run_scenario(
    scenario: Scenario,
    cache: WorkerCache | None = None,
    trace_dir: str | Path | None = None,
    strict: bool = False,
) -> ScenarioResult:
    """Run ``scenario`` and return its result; never raises for a scenario's own problems.

    With ``strict``, a check that was not exercised and a fault that never acted are failed,
    not vacuous.
    """
    own_cache = cache is None
    cache = cache or WorkerCache()
    started = time.perf_counter()
    result = ScenarioResult(
        name=scenario.name,
        file=scenario.file,
        verdict=Verdict.ERROR,
        requirements=list(scenario.spec.requirements),
        seed=scenario.seed,
        params=dict(scenario.params),
        description=" ".join(scenario.spec.description.split()),
        steps=[describe_step(step) for step in scenario.spec.steps],
    )
    try:
        _Run(scenario, cache, result, strict).execute(trace_dir)
    except Exception as exc:  # a harness error becomes the scenario's verdict
        result.verdict = Verdict.ERROR
        result.error = _describe_error(exc)
        logger.debug("scenario %s: harness error", scenario.name, exc_info=True)
    finally:
        # After the run: the hashes are those of the model and program the worker kept.
        program = scenario.program_path
        result.provenance = provenance(
            scenario,
            model_sha=cache.hashes.get(scenario.model_path),
            program_sha=cache.hashes.get(program) if program is not None else None,
        )
        result.wall_s = time.perf_counter() - started
        if own_cache:
            cache.close()
    return result


def _describe_error(exc: BaseException) -> str:
    if isinstance(exc, (ConfigError, VcommissionError)):
        return f"{type(exc).__name__}: {exc}"
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    where = f" ({Path(frame.filename).name}:{frame.lineno})" if frame else ""
    return f"{type(exc).__name__}: {exc}{where}"


class _Run:
    """The state of one scenario run."""

    def __init__(
        self, scenario: Scenario, cache: WorkerCache, result: ScenarioResult, strict: bool = False
    ) -> None:
        self.scenario = scenario
        self.strict = strict
        self.spec = scenario.spec
        self.cache = cache
        self.result = result
        #: The "PLC running" failure of an external PLC that exited during the run.
        self.plc_exit: CheckResult | None = None

    def execute(self, trace_dir: str | Path | None) -> None:
        scenario, spec = self.scenario, self.spec
        model = self.cache.model(scenario.model_path)
        external = spec.plc.external
        program = None
        if external is None:
            assert scenario.program_path is not None
            program = self.cache.program(scenario.program_path, scenario.model_path)
        plant = self.cache.plant(scenario.model_path, scenario.seed)
        self.result.seed = plant.seed
        # A PLC outside runs on the wall clock: the plant must too.
        realtime = spec.clock is ClockChoice.REALTIME or external is not None
        mode = ClockMode.REALTIME if realtime else ClockMode.FAST
        builder = SessionBuilder(model, plant).clock(mode, spec.speed).recorder(TraceRecorder)
        builder.plc(program)
        if external is not None:
            # The PLC connects through a proxy, so link faults can cut or slow the wire.
            builder.serve(ServerProtocol(external.link.value)).through_proxy()
        run = RunContext(scenario, builder.build())
        if trace_dir is not None:
            # Evidence files (collision snapshots) go beside the trace, named after it.
            run.evidence_stem = str(Path(trace_dir) / _trace_stem(scenario))
        self.run = run
        sim, recorder, plc = run.sim, run.recorder, run.plc
        self.deadline_ns = s_to_ns(spec.duration) if spec.duration is not None else None
        checks = self._checks(run)
        if external is None:
            failure = self._drive(self._timeline())
        else:
            failure = asyncio.run(self._drive_external(external))
        results = [self._finish_check(check) for check in checks]
        results += [fault_result(fault) for fault in run.injected]
        results += spawn_results(run)
        if self.strict:
            apply_strict(results)
        if failure is not None:
            results.insert(0, failure)
        stopped = plc_stopped(plc) or self.plc_exit
        if stopped is not None:
            results.insert(0, stopped)
        self.result.checks = results
        self.result.verdict = Verdict.worst([r.verdict for r in results])
        self.result.virtual_s = ns_to_s(sim.now_ns)
        if sim.pacer is not None:
            self.result.pacing = sim.pacer.summary()
        if plc is not None:
            coverage = plc.coverage()
            self.result.coverage = {
                "statements": round(coverage.statement_percent, 2),
                "branches": round(coverage.branch_percent, 2),
            }
            assert scenario.program_path is not None
            self.result.st_coverage = {
                **coverage.to_json(),
                "sha256": self.cache.hashes[scenario.program_path],
            }
        for name in list(run.faults):
            run.clear(name)
        if trace_dir is not None:
            trace = recorder.trace(plant.parts, sim.now_ns, self._meta())
            path = Path(trace_dir) / f"{_trace_stem(scenario)}.npz"
            trace.save(path)
            self.result.trace_file = str(path)

    def _meta(self) -> dict[str, Any]:
        program = self.scenario.program_path
        external = self.spec.plc.external
        return {
            "scenario": self.scenario.name,
            "file": self.scenario.file,
            "model": str(self.scenario.model_path),
            "program": str(program) if program else f"external {external.link.value}",  # type: ignore[union-attr]
            "seed": self.result.seed,
            "params": self.scenario.params,
        }

    # -- driving: the steps yield how far to run; a driver steps the simulator that far

    def _timeline(self) -> Generator[Advance, None, CheckResult | None]:
        try:
            yield from self._play(self.spec.steps)
            return (yield from self._finish_time())
        except StepFailed as stop:
            return stop.result

    def _drive(self, timeline: Generator[Advance, None, CheckResult | None]) -> CheckResult | None:
        sim = self.run.sim
        try:
            request = next(timeline)
            while True:
                sim.run_until(request.done, request.limit_s)
                request = timeline.send(None)
        except StopIteration as end:
            return end.value

    async def _drive_external(self, external: ExternalPlc) -> CheckResult | None:
        """Serve the plant on a free loopback port, start the PLC, wait for it, then run."""
        run = self.run
        image = run.plant.image
        async with run.session as session, contextlib.AsyncExitStack() as stack:
            where = _where(session)
            process = None
            if external.command:
                command = [_fill(word, where) for word in external.command]
                # Relative paths in the command mean what they mean for `model:`: relative to
                # the scenario file, not to wherever the user started vcommission.
                cwd = os.path.dirname(os.path.abspath(self.scenario.file))
                try:
                    process = await asyncio.create_subprocess_exec(
                        *command,
                        cwd=cwd,
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.PIPE,
                    )
                except OSError as exc:
                    raise VcommissionError(
                        f"cannot start the PLC {command[0]!r} (in {cwd}): {exc}"
                    ) from None
                # Read its stderr all along: a pipe nobody reads blocks a chatty PLC.
                stderr = _StderrTail(process)
                stack.push_async_callback(stderr.close)
                stack.push_async_callback(_stop_process, process)  # stopped before the drain
            # The plant waits (time does not run) until the PLC has written once.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + external.connect_timeout
            while image.plc_writes == 0:
                if process is not None and process.returncode is not None:
                    raise VcommissionError(
                        f"the external PLC exited with code {process.returncode} before it "
                        f"wrote (plant served at {where['url']}){stderr.quoted()}"
                    )
                if loop.time() > deadline:
                    raise VcommissionError(
                        f"the external PLC did not write within {external.connect_timeout:g} s "
                        f"(plant served at {where['url']})"
                        + (stderr.quoted() if process is not None else "")
                    )
                await asyncio.sleep(0.01)
            timeline = self._timeline()
            try:
                request = next(timeline)
                while True:
                    await run.sim.run_until_async(request.done, request.limit_s)
                    request = timeline.send(None)
            except StopIteration as end:
                failure = end.value
            if process is not None and process.returncode not in (None, 0):
                # A PLC that crashed mid-run is the PLC's failure, like an in-process PLC
                # stopping on a runtime fault; its last words say why.
                self.plc_exit = CheckResult(
                    "PLC running",
                    "plc",
                    Verdict.FAILED,
                    f"the external PLC exited with code {process.returncode} during the run"
                    f"{stderr.quoted()}",
                )
            return failure

    # -- checks

    def _checks(self, run: RunContext) -> list[Any]:
        from vcommission.scenario.checks import make_check

        checks = []
        for spec in self.spec.checks:
            check = make_check(spec, run)
            check.start(run)
            checks.append(check)
        return checks

    def _finish_check(self, check: Any) -> CheckResult:
        try:
            result = check.finish(self.run)
        except Exception as exc:  # one broken check must not hide the others
            return CheckResult(
                check.name, check.kind, Verdict.ERROR, _describe_error(exc), check.requirement
            )
        return result

    # -- time

    def _finish_time(self) -> Generator[Advance, None, CheckResult | None]:
        """After the steps: run to the end condition, or to the duration if not there yet.

        The steps always run to their end (a late PLC makes waits longer, never a harness
        error), so a run lasts the longer of its steps and its duration.
        """
        sim, spec = self.run.sim, self.spec
        deadline = self.deadline_ns
        if spec.end is None:
            assert deadline is not None
            yield Advance(lambda: sim.now_ns >= deadline)
            return None
        latch = self.run.latch(spec.end)
        condition = latch.condition
        if deadline is None:
            # No duration: the end condition alone would let a run go on forever.
            limit = MAX_END_WAIT_S
            within = f"within {MAX_END_WAIT_S:g} s (no duration given: the most an end: waits)"
        else:
            limit = max(0.0, ns_to_s(deadline - sim.now_ns))
            within = f"within the duration ({spec.duration:g} s)"
        yield Advance(lambda: latch.reached, limit)
        latch.close()
        if latch.reached:
            return None
        return CheckResult(
            "end condition",
            "end",
            Verdict.FAILED,
            f"{condition.text} did not happen {within}",
            figures={"waited_s": limit or 0.0},
            evidence=self.run.evidence(sim.now_ns, condition.tags),
        )

    # -- steps

    def _play(self, steps: list[Step]) -> Steps:
        for step in steps:
            yield from STEPS.load(step.action).run(step.spec, self.run)


def fault_result(fault: Any) -> CheckResult:
    """The ``fault`` result of an injected fault: passed if it acted, else vacuous.

    A fault kind that does not record when it acted (no ``acted_ns``) cannot show it did.
    """
    name = fault.name
    acts = getattr(fault, "acts", "") or "it changes what the plant or the PLC sees"
    criterion = f"fault {name} acts: {acts}"
    if not hasattr(fault, "acted_ns"):
        vacuity = f"fault {name} ({type(fault).__name__}) does not report when it acts"
        return _fault_check(name, Verdict.VACUOUS, vacuity, criterion, vacuity=vacuity)
    acted = fault.acted_ns
    if acted is None:
        vacuity = f"fault {name} never acted (never: {acts})"
        return _fault_check(name, Verdict.VACUOUS, vacuity, criterion, vacuity=vacuity)
    message = f"fault {name} acted at t={ns_to_s(acted):.3f} s"
    return _fault_check(name, Verdict.PASSED, message, criterion, {"acted_s": ns_to_s(acted)})


def _fault_check(
    name: str,
    verdict: Verdict,
    message: str,
    criterion: str,
    figures: dict[str, float] | None = None,
    vacuity: str | None = None,
) -> CheckResult:
    return CheckResult(
        f"fault {name}",
        "fault",
        verdict,
        message,
        figures=figures or {},
        exercised=vacuity is None,
        vacuity=vacuity,
        criterion=criterion,
    )


def _where(session: Session) -> dict[str, str]:
    """What an external PLC's command is told: the proxy's host, port and URL."""
    proxy = session.proxy
    assert proxy is not None
    url = session.dialled(session.servers[0])
    return {"host": proxy.host, "port": str(proxy.port), "url": url}


class _StderrTail:
    """Drains a process's stderr as it comes, keeping only its last :attr:`KEEP` bytes."""

    KEEP = 4096

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._tail = bytearray()
        self.total = 0
        assert process.stderr is not None
        self._task = asyncio.create_task(self._drain(process.stderr))

    async def _drain(self, stream: asyncio.StreamReader) -> None:
        while chunk := await stream.read(65536):
            self.total += len(chunk)
            self._tail += chunk
            del self._tail[: -self.KEEP]

    def quoted(self) -> str:
        """The kept tail, for an error message (empty if the PLC said nothing)."""
        text = self._tail.decode(errors="replace").strip()
        if not text:
            return ""
        cut = " (last part)" if self.total > len(self._tail) else ""
        return f"; its stderr{cut}:\n{text}"

    async def close(self) -> None:
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


def _fill(word: str, where: dict[str, str]) -> str:
    """``{host}``, ``{port}`` and ``{url}`` in a command word replaced (nothing else is touched)."""
    for key, value in where.items():
        word = word.replace("{" + key + "}", value)
    return word


async def _stop_process(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.terminate()
        try:
            await asyncio.wait_for(process.wait(), timeout=5)
        except TimeoutError:
            process.kill()
            await process.wait()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "scenario"


def _trace_stem(scenario: Scenario) -> str:
    return scenario.trace_stem or _slug(scenario.name)


def with_trace_stems(scenarios: list[Scenario]) -> list[Scenario]:
    """The scenarios, each with a trace file name of its own among them.

    A trace is named after its scenario; a second run of the same name (one file run against
    a reference and a faulty program, a file given twice) gets ``-2``, ``-3``, ... in suite
    order, so no run's trace or evidence overwrites another's, whichever worker ends first.
    """
    taken = {_slug(scenario.name) for scenario in scenarios}
    first: set[str] = set()
    named = []
    for scenario in scenarios:
        stem = _slug(scenario.name)
        if stem not in first:
            first.add(stem)
            named.append(scenario)
            continue
        number = 2
        while f"{stem}-{number}" in taken:
            number += 1
        taken.add(f"{stem}-{number}")
        named.append(dataclasses.replace(scenario, trace_stem=f"{stem}-{number}"))
    return named
