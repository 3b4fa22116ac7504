"""What bounds a plant server: connection limit, idle timeout, TCP keepalive, log rate.

A plant server faces whatever is on the network: a scanner holding thousands of sockets, a
master that vanished without a FIN, a fuzzer sending one bad frame after another. None of
that may cost the tick: past :attr:`ServerLimits.max_connections` a new client is accepted
and closed at once (so the descriptor is freed before the process runs out of them), a
connection that sends nothing for :attr:`ServerLimits.idle_timeout_s` is closed, the kernel
probes quiet peers (keepalive) so a dead one is noticed, and each kind of event is logged
once per interval with a count of the repeats, never one line (or traceback) per frame.

The log's interval is wall-clock time: it paces what a human reads and never reaches a
trace or a verdict. This module imports no protocol library.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "RateLimitFilter",
    "RateLimitedLog",
    "ServerLimits",
    "enable_keepalive",
    "rate_limit_logger",
]


@dataclass(frozen=True)
class ServerLimits:
    """The bounds every plant server applies to its clients."""

    #: Clients served at once; one more is accepted and closed at once. 0: no limit.
    max_connections: int = 64
    #: Seconds without a request after which a connection is closed. 0: never. Masters poll
    #: every few milliseconds to seconds; two minutes of silence is a master that is gone.
    idle_timeout_s: float = 120.0
    #: Seconds of silence before the kernel probes the peer (then every third of that, three
    #: times). 0: no keepalive.
    keepalive_s: float = 30.0

    def __post_init__(self) -> None:
        for name in ("max_connections", "idle_timeout_s", "keepalive_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, not {getattr(self, name)}")

    def full(self, connections: int) -> bool:
        """Whether a new client would exceed the limit with ``connections`` already served."""
        return 0 < self.max_connections <= connections


def enable_keepalive(sock: socket.socket | Any, idle_s: float) -> None:
    """Turn on TCP keepalive with ``idle_s`` before the first probe (no-op for 0 or None)."""
    if sock is None or idle_s <= 0:
        return
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    idle = max(1, int(idle_s))
    # Linux and macOS spell the knobs differently; a platform without them keeps its defaults.
    for option, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPALIVE", idle),
        ("TCP_KEEPINTVL", max(1, idle // 3)),
        ("TCP_KEEPCNT", 3),
    ):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)


@dataclass
class _Tally:
    last_logged: float
    suppressed: int = 0


@dataclass
class _Throttle:
    """Once per ``interval_s`` per key: the bookkeeping both rate-limited logs share."""

    interval_s: float
    clock: Callable[[], float]
    _tallies: dict[object, _Tally] = field(default_factory=dict)

    def admit(self, key: object) -> int | None:
        """None to hold this event back; else how many were held back since the last one."""
        now = self.clock()
        tally = self._tallies.get(key)
        if tally is not None and now - tally.last_logged < self.interval_s:
            tally.suppressed += 1
            return None
        self._tallies[key] = _Tally(now)
        return tally.suppressed if tally is not None else 0

    def held_back(self, key: object) -> int:
        tally = self._tallies.get(key)
        return tally.suppressed if tally is not None else 0

    def note(self, held_back: int) -> str:
        """What a line let through says of the ones held back ("" when none were)."""
        return f" (and {held_back} more in the last {self.interval_s:g} s)" if held_back else ""


@dataclass
class RateLimitedLog:
    """Logs each event class at most once per ``interval_s``, counting what it held back.

    ``event(key, message, *args)`` logs at once the first time ``key`` is seen and then
    again only after ``interval_s``, saying how many were held back in between: a storm of
    ten thousand refused connections is two lines, not ten thousand.
    """

    logger: logging.Logger
    interval_s: float = 10.0
    level: int = logging.WARNING
    clock: Callable[[], float] = time.monotonic
    _throttle: _Throttle = field(init=False)

    def __post_init__(self) -> None:
        self._throttle = _Throttle(self.interval_s, self.clock)

    def event(
        self,
        key: str,
        message: str,
        *args: object,
        level: int | None = None,
        exc_info: bool = False,
    ) -> bool:
        """Record one event of class ``key``; returns whether a line was logged.

        ``level`` overrides the log's own for this class. With ``exc_info`` the logged
        line carries the current exception's traceback (so a harness fault shows its cause
        once per interval, not once per request).
        """
        held_back = self._throttle.admit(key)
        if held_back is None:
            return False
        message += self._throttle.note(held_back)
        self.logger.log(self.level if level is None else level, message, *args, exc_info=exc_info)
        return True

    def held_back(self, key: str) -> int:
        """Events of ``key`` not logged since its last line."""
        return self._throttle.held_back(key)


class RateLimitFilter(logging.Filter):
    """A :class:`logging.Filter` that lets each message template through once per interval.

    For loggers we do not own (a protocol library's), which log a line and a traceback per
    bad frame: records are keyed by logger and unformatted message, and the one let through
    after a quiet spell says how many were held back.
    """

    def __init__(self, interval_s: float = 10.0, clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._throttle = _Throttle(interval_s, clock)

    def filter(self, record: logging.LogRecord) -> bool:
        held_back = self._throttle.admit((record.name, str(record.msg)))
        if held_back is None:
            return False
        if held_back:
            record.msg = f"{record.msg}{self._throttle.note(held_back)}"
        return True


def rate_limit_logger(name: str, interval_s: float = 10.0) -> RateLimitFilter:
    """Install (once) a :class:`RateLimitFilter` on the logger ``name``; returns it."""
    logger = logging.getLogger(name)
    for existing in logger.filters:
        if isinstance(existing, RateLimitFilter):
            return existing
    installed = RateLimitFilter(interval_s)
    logger.addFilter(installed)
    return installed
