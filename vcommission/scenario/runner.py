"""Running one scenario: plant, PLC, checks and recorder; the steps; verdicts with evidence.

Build (or reset) the plant, attach the PLC, the checks and the recorder, play the steps,
run to the end, and turn it all into a :class:`ScenarioResult`.

Anything the PLC program does wrong is a *failed* verdict, with evidence: a check that is
violated, a ``wait`` that times out, an end condition never reached, the PLC stopping on a
runtime fault. Anything the harness cannot do (a model that will not build, a crash in a
check) is an *error*, kept apart. A :class:`WorkerCache` keeps models, compiled programs
and plants between scenarios, so a worker process resets a plant rather than rebuilding
everything for each scenario.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcommission.clock import ClockMode, ns_to_s, s_to_ns
from vcommission.config.model import Model, load_model
from vcommission.errors import ConfigError, VcommissionError
from vcommission.plant.capabilities import PartSource
from vcommission.plant.plant import Plant
from vcommission.plc import PlcProgram, compile_program
from vcommission.scenario.context import RunContext
from vcommission.scenario.loader import Scenario
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict
from vcommission.scenario.schema import ClockChoice, ExternalLink, ExternalPlc, Step

__all__ = ["WorkerCache", "run_scenario"]

logger = logging.getLogger(__name__)


@dataclass
class WorkerCache:
    """What a worker keeps between scenarios: models, compiled programs, plants."""

    models: dict[Path, Model] = field(default_factory=dict)
    programs: dict[tuple[Path, Path], PlcProgram] = field(default_factory=dict)
    plants: dict[Path, Plant] = field(default_factory=dict)

    def model(self, path: Path) -> Model:
        if path not in self.models:
            self.models[path] = load_model(path)
        return self.models[path]

    def program(self, path: Path, model_path: Path) -> PlcProgram:
        key = (path, model_path)
        if key not in self.programs:
            self.programs[key] = compile_program(path, self.model(model_path))
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


@dataclass
class _Advance:
    """A request from the steps to the driver: step the simulator until ``done()``."""

    done: Callable[[], bool]
    #: Give up after this many virtual seconds (None: no limit).
    limit_s: float | None = None


#: What step methods are: generators of advance requests, driven sync or async.
Steps = Generator[_Advance, None, None]


class _StepFailed(Exception):
    """A step could not complete because of the PLC or plant behaviour (a failed verdict)."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result


def run_scenario(
    scenario: Scenario, cache: WorkerCache | None = None, trace_dir: str | Path | None = None
) -> ScenarioResult:
    """Run ``scenario`` and return its result; never raises for a scenario's own problems."""
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
    )
    try:
        _Run(scenario, cache, result).execute(trace_dir)
    except Exception as exc:  # a harness error becomes the scenario's verdict
        result.verdict = Verdict.ERROR
        result.error = _describe_error(exc)
        logger.debug("scenario %s: harness error", scenario.name, exc_info=True)
    finally:
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

    def __init__(self, scenario: Scenario, cache: WorkerCache, result: ScenarioResult) -> None:
        self.scenario = scenario
        self.spec = scenario.spec
        self.cache = cache
        self.result = result

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
        run = RunContext.start(scenario, model, plant, program, mode, spec.speed)
        self.run = run
        sim, recorder, plc = run.sim, run.recorder, run.plc
        self.deadline_ns = s_to_ns(spec.duration) if spec.duration is not None else None
        checks = self._checks(run)
        if external is None:
            failure = self._drive(self._timeline())
        else:
            failure = asyncio.run(self._drive_external(external))
        results = [self._finish_check(check) for check in checks]
        if failure is not None:
            results.insert(0, failure)
        if plc is not None and plc.fault is not None:
            fault = plc.fault
            results.insert(
                0,
                CheckResult(
                    "PLC running",
                    "plc",
                    Verdict.FAILED,
                    f"the PLC stopped at t={ns_to_s(fault.time_ns):.3f} s: {fault}",
                ),
            )
        self.result.checks = results
        self.result.verdict = Verdict.worst([r.verdict for r in results])
        self.result.virtual_s = ns_to_s(sim.now_ns)
        if plc is not None:
            coverage = plc.coverage()
            self.result.coverage = {
                "statements": round(coverage.statement_percent, 2),
                "branches": round(coverage.branch_percent, 2),
            }
        for name in list(run.faults):
            run.clear(name)
        if trace_dir is not None:
            trace = recorder.trace(plant.parts, sim.now_ns, self._meta())
            path = Path(trace_dir) / f"{_slug(scenario.name)}.npz"
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

    def _timeline(self) -> Generator[_Advance, None, CheckResult | None]:
        try:
            yield from self._play(self.spec.steps)
            return (yield from self._finish_time())
        except _StepFailed as stop:
            return stop.result

    def _drive(self, timeline: Generator[_Advance, None, CheckResult | None]) -> CheckResult | None:
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
        async with contextlib.AsyncExitStack() as stack:
            where = await self._serve(external, stack)
            if external.command:
                command = [_fill(word, where) for word in external.command]
                try:
                    process = await asyncio.create_subprocess_exec(
                        *command,
                        stdin=asyncio.subprocess.DEVNULL,
                        stdout=asyncio.subprocess.DEVNULL,
                        stderr=asyncio.subprocess.PIPE,
                    )
                except OSError as exc:
                    raise VcommissionError(f"cannot start the PLC {command[0]!r}: {exc}") from None
                stack.push_async_callback(_stop_process, process)
            # The plant waits (time does not run) until the PLC has written once.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + external.connect_timeout
            while image.plc_writes == 0:
                if loop.time() > deadline:
                    raise VcommissionError(
                        f"the external PLC did not write within {external.connect_timeout:g} s "
                        f"(plant served at {where['url']})"
                    )
                await asyncio.sleep(0.01)
            timeline = self._timeline()
            try:
                request = next(timeline)
                while True:
                    await run.sim.run_until_async(request.done, request.limit_s)
                    request = timeline.send(None)
            except StopIteration as end:
                return end.value

    async def _serve(
        self, external: ExternalPlc, stack: contextlib.AsyncExitStack
    ) -> dict[str, str]:
        run = self.run
        host = "127.0.0.1"
        from vcommission.adapters.proxy import LinkProxy

        if external.link is ExternalLink.MODBUS:
            from vcommission.adapters.modbus import ModbusServer

            server = ModbusServer(run.model, run.plant.image, host, 0)
            await stack.enter_async_context(server)
            run.sim.listeners.append(server.store.on_commit)
            port = server.port
        else:
            from vcommission.adapters.opcua import OpcUaServer

            ua_server = OpcUaServer(run.model, run.plant.image, host, 0, realtime=True)
            await stack.enter_async_context(ua_server)
            run.sim.listeners.append(ua_server.on_commit)
            port = ua_server.port
        # The PLC connects through a proxy, so link faults can cut or slow the wire.
        proxy = LinkProxy(host, port)
        await stack.enter_async_context(proxy)
        run.proxy = proxy
        if external.link is ExternalLink.MODBUS:
            return {"host": host, "port": str(proxy.port), "url": f"{host}:{proxy.port}"}
        url = ua_server.endpoint.replace(f":{port}/", f":{proxy.port}/", 1)
        return {"host": host, "port": str(proxy.port), "url": url}

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

    def _run_for(self, seconds: float) -> Steps:
        sim = self.run.sim
        end = sim.now_ns + s_to_ns(seconds)
        yield _Advance(lambda: sim.now_ns >= end)

    def _finish_time(self) -> Generator[_Advance, None, CheckResult | None]:
        """After the steps: run to the end condition, or to the duration if not there yet.

        The steps always run to their end (a late PLC makes waits longer, never a harness
        error), so a run lasts the longer of its steps and its duration.
        """
        sim, spec = self.run.sim, self.spec
        deadline = self.deadline_ns
        if spec.end is None:
            assert deadline is not None
            yield _Advance(lambda: sim.now_ns >= deadline)
            return None
        latch = self.run.latch(spec.end)
        condition = latch.condition
        limit = None if deadline is None else max(0.0, ns_to_s(deadline - sim.now_ns))
        yield _Advance(lambda: latch.reached, limit)
        latch.close()
        if latch.reached:
            return None
        return CheckResult(
            "end condition",
            "end",
            Verdict.FAILED,
            f"{condition.text} did not happen within the duration ({spec.duration:g} s)",
            figures={"waited_s": limit or 0.0},
            evidence=self.run.evidence(sim.now_ns, condition.tags),
        )

    # -- steps

    def _play(self, steps: list[Step]) -> Steps:
        for step in steps:
            yield from getattr(self, f"_step_{step.action}")(step)

    def _step_hold(self, step: Step) -> Steps:
        yield from self._run_for(step.hold or 0.0)

    def _step_until(self, step: Step) -> Steps:
        remaining = (step.until or 0.0) - ns_to_s(self.run.sim.now_ns)
        if remaining > 0:
            yield from self._run_for(remaining)

    def _step_set(self, step: Step) -> Steps:
        assert step.set is not None
        self.run.sim.operate(step.set.tag, step.set.value)
        yield from ()

    def _step_pulse(self, step: Step) -> Steps:
        pulse = step.pulse
        assert pulse is not None
        image = self.run.plant.image
        index = image.table.index(pulse.tag)
        before = image.values[index]  # the working value: includes writes staged earlier
        self.run.sim.operate(pulse.tag, pulse.value)
        yield from self._run_for(pulse.for_)
        self.run.sim.operate(pulse.tag, before)

    def _step_wait(self, step: Step) -> Steps:
        wait = step.wait
        assert wait is not None
        run = self.run
        latch = run.latch(wait.until)
        condition = latch.condition
        started = run.sim.now_ns
        yield _Advance(lambda: latch.reached, wait.timeout)
        latch.close()
        if latch.reached:
            return
        raise _StepFailed(
            CheckResult(
                f"wait: {condition.text}",
                "wait",
                Verdict.FAILED,
                f"waited {wait.timeout:g} s from t={ns_to_s(started):.3f} s for "
                f"{condition.text}: it never happened",
                figures={"timeout_s": wait.timeout},
                evidence=run.evidence(run.sim.now_ns, condition.tags),
            )
        )

    def _step_spawn(self, step: Step) -> Steps:
        spawn = step.spawn
        assert spawn is not None
        plant = self.run.plant
        spawners = plant.having(PartSource)
        if spawn.spawner is not None:
            spawners = [c for c in spawners if c.name == spawn.spawner]
        spawners[0].request(spawn.variant, spawn.count, s_to_ns(spawn.interval), self.run.now_ns)
        yield from ()

    def _step_remove(self, step: Step) -> Steps:
        remove = step.remove
        assert remove is not None
        plant = self.run.plant
        world = plant.world
        assert world is not None
        now = self.run.now_ns
        for body in world.overlapping(remove.low, remove.high, plant.parts.is_part):
            part = plant.parts.by_body(body)
            world.remove_body(body)
            if part is not None:
                plant.parts.retire(part, now, "operator")
        yield from ()

    def _step_fault(self, step: Step) -> Steps:
        from vcommission.scenario.faults import make_fault

        spec = step.fault
        assert spec is not None
        run = self.run
        fault = make_fault(spec, run)
        if fault.name in run.faults:
            raise VcommissionError(f"fault {fault.name!r} is already injected: give it an id")
        run.inject(fault, spec.for_)
        yield from ()

    def _step_clear(self, step: Step) -> Steps:
        self.run.clear(step.clear or "")  # it may have expired already (``for``)
        yield from ()


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
