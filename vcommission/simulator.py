"""The simulator: advances a plant tick by tick in virtual time (see :class:`Simulator`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from vcommission.clock import ClockMode, RealTimePacer, s_to_ns
from vcommission.signals import Direction, ProcessImage, Value

__all__ = ["ChangeRecorder", "Controller", "SimulatedPlant", "Simulator"]

#: What a person or scenario may write: everything but the plant's own sensor outputs.
_OPERABLE = (Direction.TO_PLANT, Direction.OPERATOR, Direction.INTERNAL)

#: Called after each commit with (tick end time in ns, indices that changed).
Monitor = Callable[[int, list[int]], None]


class SimulatedPlant(Protocol):
    """What the simulator steps: a plant's image and phases (``vcommission.plant.Plant``).

    A protocol, so the kernel does not depend on the plant layer that implements it.
    """

    image: ProcessImage
    #: Reused for every tick; the simulator sets its ``now_ns``.
    tick: Any
    model: Any

    def update(self, ctx: Any) -> None: ...

    def sense(self, ctx: Any) -> None: ...

    def reset(self, seed: int | None = None) -> None: ...


class Controller(Protocol):
    """An in-process PLC: scanned by the simulator in lockstep with virtual time."""

    def scan(self, now_ns: int, image: ProcessImage) -> Mapping[str, Value] | None:
        """Read inputs from ``image.committed``; return the outputs to write (or stage them)."""


@dataclass
class _ScheduledController:
    controller: Controller
    period_ns: int
    next_ns: int = 0


@dataclass
class ChangeRecorder:
    """Monitor recording every committed signal change as (time_ns, index, value)."""

    image: ProcessImage
    changes: list[tuple[int, int, Value]] = field(default_factory=list)

    def __call__(self, now_ns: int, changed: list[int]) -> None:
        committed = self.image.committed
        self.changes.extend((now_ns, i, committed[i]) for i in changed)

    def edges(self, name: str) -> list[tuple[int, Value]]:
        """Changes of one signal: (time_ns, new value)."""
        index = self.image.table.index(name)
        return [(t, v) for t, i, v in self.changes if i == index]


class Simulator:
    """Steps a plant (a :class:`SimulatedPlant`: ``vcommission.plant.Plant``) in virtual time.

    Tick order (one tick = ``physics.tick`` of virtual time, from ``now`` to ``now + tick``):

    1. **Latch**: writes staged since the last tick (PLC, operator, scenario) enter the
       process image's working buffer.
    2. **Update**: every component reads its input ports and commands its actuators (belt
       speed ramps, cylinder strokes, spawner drops).
    3. **Physics**: ``physics.substeps`` pybullet steps; driven bodies are re-posed before each.
    4. **Sense**: all light beams are cast in one batch; every component computes its output
       ports from the new physical state.
    5. **Commit**: the working buffer is published as the committed image; the indices that
       changed are handed to the listeners (protocol adapters publish them).
    6. **Monitors**: called with the tick's end time and the changes (trace recorder, checks).
    7. **Controllers**: in-process PLCs whose scan is due read the committed image and stage
       their writes, which take effect at step 1 of the next tick, as on a real PLC whose
       outputs reach the plant one I/O cycle later.
    8. **Pace**: in ``realtime`` mode wait for the wall clock; late ticks are recorded as
       overruns. ``fast`` and ``lockstep`` never read the wall clock. With ``rt_priority``
       the pacing thread runs on SCHED_FIFO while it paces, where the OS allows it.

    Only the simulator touches pybullet and commits the image; everything else stages.

    Modes: ``fast`` steps as fast as it can; ``lockstep`` is the same loop for a driver that
    calls :meth:`step` itself (a runner, a PLC handshake) and never paces; ``realtime`` paces
    :meth:`run_for`, :meth:`run_until` and :meth:`run_async` against the wall clock.
    """

    def __init__(
        self,
        plant: SimulatedPlant,
        mode: ClockMode = ClockMode.FAST,
        speed: float = 1.0,
        rt_priority: int = 0,
    ) -> None:
        self.plant = plant
        self.mode = mode
        self.tick_ns = plant.model.physics.tick_ns
        self.now_ns = 0
        self.ticks = 0
        self.monitors: list[Monitor] = []
        self.listeners: list[Monitor] = []
        self._controllers: list[_ScheduledController] = []
        self.pacer = (
            RealTimePacer(speed, rt_priority=rt_priority) if mode is ClockMode.REALTIME else None
        )

    @property
    def image(self) -> ProcessImage:
        return self.plant.image

    def add_controller(self, controller: Controller, period_s: float = 0.01) -> None:
        """Scan ``controller`` every ``period_s`` of virtual time, first after the next tick.

        Scans happen at tick boundaries; a period that is not a multiple of the tick keeps
        its average rate (the next scan is due one period after the previous one was due).
        """
        period_ns = max(s_to_ns(period_s), self.tick_ns)
        first = self.now_ns + self.tick_ns
        self._controllers.append(_ScheduledController(controller, period_ns, first))

    def operate(self, name: str, value: Value) -> None:
        """Stage a write as a person or a scenario would (operator and internal signals too).

        Sensors (``from_plant``) are the plant's to write; faults on them wrap components.
        """
        self.image.stage(name, value, allowed=_OPERABLE)

    def reset(self, seed: int | None = None) -> None:
        """Power-on the plant and restart virtual time at 0."""
        self.plant.reset(seed)
        self.now_ns = 0
        self.ticks = 0
        if self.pacer is not None:
            old = self.pacer
            old.release_priority()
            self.pacer = RealTimePacer(old.speed, old.tolerance_ns, rt_priority=old.rt_priority)
        for scheduled in self._controllers:
            scheduled.next_ns = self.tick_ns

    def step(self) -> None:
        """Advance one tick (steps 1-7 of the tick order; pacing is the caller's)."""
        plant = self.plant
        image = plant.image
        image.latch()
        ctx = plant.tick
        ctx.now_ns = self.now_ns
        plant.update(ctx)
        ctx.world.step()
        plant.sense(ctx)
        changed = image.commit()
        self.now_ns += self.tick_ns
        self.ticks += 1
        now = self.now_ns
        if changed:
            for listener in self.listeners:
                listener(now, changed)
        for monitor in self.monitors:
            monitor(now, changed)
        for scheduled in self._controllers:
            if now >= scheduled.next_ns:
                scheduled.next_ns += scheduled.period_ns
                writes = scheduled.controller.scan(now, image)
                if writes:
                    for name, value in writes.items():
                        image.stage(name, value)

    def run_for(self, duration_s: float) -> None:
        """Run ``duration_s`` of virtual time (paced in realtime mode)."""
        end = self.now_ns + s_to_ns(duration_s)
        self.run_until(lambda: self.now_ns >= end)

    @contextlib.contextmanager
    def pacing(self) -> Iterator[None]:
        """Around a paced run: anchor the pacer to now, give its real-time priority back after.

        A no-op in ``fast`` and ``lockstep``. The priority given back is the current pacer's:
        a reset during the run replaces the pacer.
        """
        if self.pacer is not None:
            self.pacer.start(self.now_ns)  # the wall clock may have moved on since the last run
        try:
            yield
        finally:
            if self.pacer is not None:
                self.pacer.release_priority()

    async def wait_for_tick(self) -> None:
        """In an event loop: wait until the next tick is due (realtime), else just yield."""
        pacer = self.pacer  # a reset replaces it
        if pacer is not None:
            await pacer.wait_until_async(self.now_ns)
        else:
            await asyncio.sleep(0)

    def run_until(self, done: Callable[[], bool], timeout_s: float | None = None) -> bool:
        """Step until ``done()`` is true; False if ``timeout_s`` of virtual time passed first."""
        limit = None if timeout_s is None else self.now_ns + s_to_ns(timeout_s)
        with self.pacing():
            pacer = self.pacer
            while not done():
                if limit is not None and self.now_ns >= limit:
                    return False
                if pacer is not None:
                    pacer.wait_until(self.now_ns)
                self.step()
            return True

    async def run_until_async(
        self, done: Callable[[], bool], timeout_s: float | None = None
    ) -> bool:
        """:meth:`run_until` in an event loop (paced in realtime mode, else yielding each tick)."""
        limit = None if timeout_s is None else self.now_ns + s_to_ns(timeout_s)
        with self.pacing():
            while not done():
                if limit is not None and self.now_ns >= limit:
                    return False
                await self.wait_for_tick()
                self.step()
            return True

    async def run_async(self, duration_s: float | None = None) -> None:
        """Run in an event loop beside protocol servers; forever if no duration.

        Paced in ``realtime`` mode (or when a pacer was given); otherwise as fast as possible,
        yielding to the loop after every tick and never reading the wall clock.
        """
        end = None if duration_s is None else self.now_ns + s_to_ns(duration_s)
        with self.pacing():
            while end is None or self.now_ns < end:
                await self.wait_for_tick()
                self.step()
