"""Virtual time in integer nanoseconds, clock modes and real-time pacing.

Time inside vcommission is an ``int`` of nanoseconds, so tick arithmetic is exact and a run
is reproducible bit for bit; seconds appear only at the edges (YAML, reports). The wall
clock is read only by :class:`RealTimePacer`, i.e. only in ``realtime`` mode.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "NS_PER_S",
    "ClockMode",
    "Overrun",
    "RealTimePacer",
    "ns_to_s",
    "s_to_ns",
]

NS_PER_S = 1_000_000_000


def s_to_ns(seconds: float) -> int:
    """Convert seconds (as written in YAML) to integer nanoseconds, rounding to nearest."""
    return round(seconds * NS_PER_S)


def ns_to_s(nanoseconds: int) -> float:
    """Convert integer nanoseconds to float seconds, for reports."""
    return nanoseconds / NS_PER_S


class ClockMode(str, Enum):
    """How virtual time relates to the wall clock."""

    #: As fast as the machine can step; the default for scenarios and CI.
    FAST = "fast"
    #: Advanced only by an external driver (a runner or a PLC handshake), one tick at a time.
    LOCKSTEP = "lockstep"
    #: Paced against the wall clock at a speed factor; late ticks are recorded as overruns.
    REALTIME = "realtime"


@dataclass(frozen=True)
class Overrun:
    """A tick that started later than its real-time deadline."""

    #: Virtual time of the late tick.
    tick_ns: int
    #: How late it started, in wall-clock nanoseconds.
    late_ns: int


@dataclass
class RealTimePacer:
    """Keeps virtual time in step with the wall clock at ``speed`` x real time.

    The pacer anchors virtual time 0 to the wall clock at :meth:`start`; tick ``t`` is due
    at ``anchor + t / speed``. A tick that finds its deadline already passed by more than
    ``tolerance_ns`` is recorded as an :class:`Overrun` and the pacer does not try to catch
    up by skipping ticks (a PLC test wants every tick, late or not).
    """

    #: Speed factor: 1.0 is real time, 2.0 twice as fast.
    speed: float = 1.0
    #: Lateness below this is jitter, not an overrun.
    tolerance_ns: int = 1_000_000
    #: Stop sleeping this long before a deadline and spin or yield until it: sleeps overshoot
    #: by 1-2 ms here. Costs some CPU in real-time mode only (measured up to ~20% of a core).
    early_wake_ns: int = 2_000_000
    overruns: list[Overrun] = field(default_factory=list)
    #: Lateness of the most recent paced ticks (bounded), for the live view and benchmarks.
    lateness_ns: deque[int] = field(default_factory=lambda: deque(maxlen=100_000))
    #: Ticks paced, and the largest lateness seen, over the pacer's whole life.
    ticks: int = 0
    max_lateness_ns: int = 0
    _anchor_ns: int | None = None
    _virtual_start_ns: int = 0

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed={self.speed} must be > 0")

    def start(self, virtual_now_ns: int) -> None:
        """Anchor the wall clock to ``virtual_now_ns``."""
        self._anchor_ns = time.monotonic_ns()
        self._virtual_start_ns = virtual_now_ns

    def _due(self, virtual_ns: int) -> int:
        if self._anchor_ns is None:
            self.start(virtual_ns)
        assert self._anchor_ns is not None
        return self._anchor_ns + round((virtual_ns - self._virtual_start_ns) / self.speed)

    def _record(self, virtual_ns: int, due: int) -> None:
        late = time.monotonic_ns() - due
        self.lateness_ns.append(max(late, 0))
        self.ticks += 1
        self.max_lateness_ns = max(self.max_lateness_ns, late)
        if late > self.tolerance_ns:
            self.overruns.append(Overrun(virtual_ns, late))

    def summary(self) -> dict[str, float]:
        """Paced ticks, late ones (overruns), and lateness p99 and max in milliseconds."""
        lateness = sorted(self.lateness_ns)
        p99 = lateness[min(len(lateness) - 1, int(0.99 * len(lateness)))] if lateness else 0
        return {
            "ticks": self.ticks,
            "late_ticks": len(self.overruns),
            "lateness_p99_ms": round(p99 / 1e6, 3),
            "lateness_max_ms": round(self.max_lateness_ns / 1e6, 3),
        }

    def wait_until(self, virtual_ns: int) -> None:
        """Block until virtual time ``virtual_ns`` is due on the wall clock.

        Sleeps until :attr:`early_wake_ns` before the deadline, then spins: the kernel's sleep
        overshoots by up to a millisecond or two, which would make most ticks late.
        """
        due = self._due(virtual_ns)
        remaining = due - time.monotonic_ns()
        if remaining > self.early_wake_ns:
            time.sleep((remaining - self.early_wake_ns) / NS_PER_S)
        while time.monotonic_ns() < due:
            pass
        self._record(virtual_ns, due)

    async def wait_until_async(self, virtual_ns: int) -> None:
        """Like :meth:`wait_until`, yielding to the event loop (servers run beside us)."""
        due = self._due(virtual_ns)
        remaining = due - time.monotonic_ns()
        if remaining > self.early_wake_ns:
            # The event loop's timers round up to whole milliseconds (epoll), so wake early...
            await asyncio.sleep((remaining - self.early_wake_ns) / NS_PER_S)
        # ...then yield until due: protocol callbacks keep running meanwhile, and even a late
        # tick lets them run once.
        await asyncio.sleep(0)
        while time.monotonic_ns() < due:
            await asyncio.sleep(0)
        self._record(virtual_ns, due)
