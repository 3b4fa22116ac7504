"""Virtual time in integer nanoseconds, clock modes and real-time pacing.

Time inside vcommission is an ``int`` of nanoseconds, so tick arithmetic is exact and a run
is reproducible bit for bit; seconds appear only at the edges (YAML, reports). The wall
clock is read only by :class:`RealTimePacer`, i.e. only in ``realtime`` mode.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "DEFAULT_RT_PRIORITY",
    "NS_PER_S",
    "ClockMode",
    "Overrun",
    "RealTimePacer",
    "ns_to_s",
    "s_to_ns",
]

NS_PER_S = 1_000_000_000

log = logging.getLogger(__name__)

#: SCHED_FIFO priority ``serve`` and ``train`` ask for their pacing thread: above every
#: normal process (a browser drawing the 3D view, a compiler), below the kernel's interrupt
#: threads (50), as soft-PLC runtimes on Linux run their cyclic tasks.
DEFAULT_RT_PRIORITY = 10
#: A pacing thread that has not slept for this long gives its real-time priority back: a
#: plant too heavy for real time, or paced so fast that it only spins between ticks
#: (``--speed 20`` of 10 ms ticks), would otherwise hold a core at a priority nothing else
#: can preempt.
_SLEEPLESS_RELEASE_NS = 1_000_000_000


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


#: Overruns kept (the most recent); every one is counted in ``late_ticks``.
_KEPT_OVERRUNS = 1_000
#: Microsecond lateness buckets (up to 20 ms), then millisecond ones (up to 10 s).
_FINE_BUCKETS = 20_000
_COARSE_BUCKETS = 10_000


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
    #: The most recent overruns (bounded: a plant served for days must not grow);
    #: :attr:`late_ticks` counts them all.
    overruns: deque[Overrun] = field(default_factory=lambda: deque(maxlen=_KEPT_OVERRUNS))
    #: Lateness of the most recent paced ticks (bounded), for the live view and benchmarks.
    lateness_ns: deque[int] = field(default_factory=lambda: deque(maxlen=100_000))
    #: Ticks paced, late ones, and the largest lateness seen, over the pacer's whole life.
    ticks: int = 0
    late_ticks: int = 0
    max_lateness_ns: int = 0
    #: The wall clock, in nanoseconds (a test drives the pacer's bookkeeping with its own).
    clock: Callable[[], int] = time.monotonic_ns
    #: Lateness histogram over the whole life, for an exact p99 in bounded memory:
    #: microsecond buckets up to 20 ms, then millisecond buckets up to 10 s, then one more.
    _fine: list[int] = field(default_factory=lambda: [0] * _FINE_BUCKETS)
    _coarse: list[int] = field(default_factory=lambda: [0] * (_COARSE_BUCKETS + 1))
    #: SCHED_FIFO priority (1-99) of the thread that paces, taken at :meth:`start` where the
    #: OS allows it (root, CAP_SYS_NICE, or an rtprio limit); 0 leaves the scheduler alone.
    #: On two cores a browser drawing WebGL in software otherwise keeps a woken tick waiting
    #: for a core for milliseconds (measured: tools/bench/web.py, README "The training pages").
    rt_priority: int = 0
    #: What the pacing thread runs at: "normal", "SCHED_FIFO <n>", or why not (for banners).
    priority: str = "normal"
    _anchor_ns: int | None = None
    _virtual_start_ns: int = 0
    #: The thread holding real-time priority (None: none), and since when it has not slept.
    _prioritised: int | None = None
    _sleepless_since_ns: int | None = None

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"speed={self.speed} must be > 0")
        if not 0 <= self.rt_priority <= 99:
            raise ValueError(f"rt_priority={self.rt_priority} must be within 0..99")

    def start(self, virtual_now_ns: int) -> None:
        """Anchor the wall clock to ``virtual_now_ns``; take real-time priority if asked."""
        self._anchor_ns = self.clock()
        self._virtual_start_ns = virtual_now_ns
        self._sleepless_since_ns = None
        self.take_priority()

    def take_priority(self) -> str:
        """Put the calling thread on SCHED_FIFO at :attr:`rt_priority`, if asked and allowed.

        Called by :meth:`start`; callable before it (to say in a banner what the ticks run
        at). Returns :attr:`priority`.
        """
        if self.rt_priority and self._prioritised is None:
            self._set_fifo()
        return self.priority

    def _set_fifo(self) -> None:
        setscheduler = getattr(os, "sched_setscheduler", None)
        if setscheduler is None:
            self.priority = "normal (real-time priority is not offered on this platform)"
            return
        try:
            # Threads and processes started from this thread (the OPC UA child, executor
            # threads) start at normal priority again.
            setscheduler(
                0, os.SCHED_FIFO | os.SCHED_RESET_ON_FORK, os.sched_param(self.rt_priority)
            )
        except OSError as exc:
            self.priority = (
                f"normal (real-time priority refused: {exc.strerror}; run as root, or grant "
                "CAP_SYS_NICE or an rtprio limit)"
            )
            log.info("pacing at normal priority: %s", exc)
            return
        self._prioritised = threading.get_ident()
        self.priority = f"SCHED_FIFO {self.rt_priority}"

    def release_priority(self, reason: str = "") -> None:
        """Put the pacing thread back on the normal scheduler (at the end of a paced run).

        Only from the thread that took it; a no-op when it holds none.
        """
        if self._prioritised is None or self._prioritised != threading.get_ident():
            return
        os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
        self._prioritised = None
        self.priority = f"normal ({reason})" if reason else "normal"

    def _sleeps(self, sleeping: bool) -> None:
        # Real-time priority is for a thread that waits for its ticks: one that has not slept
        # for a whole second (behind real time, or spinning from tick to tick) gives it back
        # rather than starve the machine. Without the priority there is nothing to watch.
        if self._prioritised is None or sleeping:
            self._sleepless_since_ns = None
        elif self._sleepless_since_ns is None:
            self._sleepless_since_ns = self.clock()
        elif self.clock() - self._sleepless_since_ns > _SLEEPLESS_RELEASE_NS:
            self._sleepless_since_ns = None
            log.warning("the ticks leave no time to sleep: real-time priority given back")
            self.release_priority("given back: no time left to sleep between ticks")

    def _due(self, virtual_ns: int) -> int:
        if self._anchor_ns is None:
            self.start(virtual_ns)
        assert self._anchor_ns is not None
        return self._anchor_ns + round((virtual_ns - self._virtual_start_ns) / self.speed)

    def _record(self, virtual_ns: int, due: int) -> None:
        late = self.clock() - due
        self.lateness_ns.append(max(late, 0))
        self.ticks += 1
        self.max_lateness_ns = max(self.max_lateness_ns, late)
        micros = max(late, 0) // 1_000
        if micros < _FINE_BUCKETS:
            self._fine[micros] += 1
        else:
            self._coarse[min(micros // 1_000, _COARSE_BUCKETS)] += 1
        if late > self.tolerance_ns:
            self.late_ticks += 1
            self.overruns.append(Overrun(virtual_ns, late))

    def lateness_percentile_ns(self, fraction: float) -> int:
        """Lateness that ``fraction`` of all paced ticks stayed within (nearest rank).

        From the whole-life histogram: exact to the microsecond below 20 ms and to the
        millisecond above (never above the largest lateness seen).
        """
        if not self.ticks:
            return 0
        rank = min(self.ticks - 1, int(fraction * self.ticks))
        seen = 0
        for micros, count in enumerate(self._fine):
            seen += count
            if seen > rank:
                return micros * 1_000
        for millis, count in enumerate(self._coarse):
            seen += count
            if seen > rank:
                return min(millis * 1_000_000, self.max_lateness_ns)
        return self.max_lateness_ns

    def summary(self) -> dict[str, float]:
        """Paced ticks, late ones (overruns), and lateness p99 and max in milliseconds.

        Over the pacer's whole life, however long, in bounded memory.
        """
        return {
            "ticks": self.ticks,
            "late_ticks": self.late_ticks,
            "lateness_p99_ms": round(self.lateness_percentile_ns(0.99) / 1e6, 3),
            "lateness_max_ms": round(self.max_lateness_ns / 1e6, 3),
        }

    def wait_until(self, virtual_ns: int) -> None:
        """Block until virtual time ``virtual_ns`` is due on the wall clock.

        Sleeps until :attr:`early_wake_ns` before the deadline, then spins: the kernel's sleep
        overshoots by up to a millisecond or two, which would make most ticks late.
        """
        due = self._due(virtual_ns)
        remaining = due - self.clock()
        self._sleeps(remaining > self.early_wake_ns)
        if remaining > self.early_wake_ns:
            time.sleep((remaining - self.early_wake_ns) / NS_PER_S)
        while self.clock() < due:
            pass
        self._record(virtual_ns, due)

    async def wait_until_async(self, virtual_ns: int) -> None:
        """Like :meth:`wait_until`, yielding to the event loop (servers run beside us)."""
        due = self._due(virtual_ns)
        remaining = due - self.clock()
        self._sleeps(remaining > self.early_wake_ns)
        if remaining > self.early_wake_ns:
            # The event loop's timers round up to whole milliseconds (epoll), so wake early...
            await asyncio.sleep((remaining - self.early_wake_ns) / NS_PER_S)
        # ...then yield until due: protocol callbacks keep running meanwhile, and even a late
        # tick lets them run once.
        await asyncio.sleep(0)
        while self.clock() < due:
            await asyncio.sleep(0)
        self._record(virtual_ns, due)
