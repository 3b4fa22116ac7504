"""PLC communication watchdog: a silent PLC puts the machine in its safe state.

A real machine's fieldbus coupler drops its outputs when the PLC stops talking; a plant served
to an external PLC must do the same, or a crashed soft PLC would leave a belt running into a
jam forever. The watchdog is a simulator monitor: once a PLC has written at least once, if no
``to_plant`` write arrives for ``timeout`` seconds of virtual time (wall time in ``serve``,
which runs in real time), it stages the model's safe state and records the event; the first
write after that resumes normal operation (the PLC's writes take effect as usual).

What counts as the PLC talking is a heartbeat counter: by default the process image's count of
``to_plant`` writes (a PLC over Modbus or OPC UA writes its outputs every cycle); an in-process
PLC writes only changed outputs, so its link's count of delivered scans is given instead.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from vcommission.clock import s_to_ns
from vcommission.errors import ConfigError
from vcommission.signals import Direction, ProcessImage, Value

__all__ = ["CommWatchdog", "WatchdogConfig", "WatchdogEvent"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WatchdogConfig:
    """``plc_watchdog:`` in a model file."""

    #: Seconds without a PLC write before the safe state is applied; 0 disables it.
    timeout: float = 1.0
    #: Values of PLC outputs in the safe state; outputs not named keep their value, except
    #: BOOL outputs, which go FALSE ("actuators off") unless named here.
    safe_state: dict[str, bool | int | float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.timeout < 0:
            raise ConfigError(f"timeout={self.timeout} must be >= 0 (0 disables the watchdog)")


@dataclass(frozen=True)
class WatchdogEvent:
    """The watchdog tripped or the PLC came back."""

    time_ns: int
    #: ``tripped`` or ``resumed``.
    kind: str


class CommWatchdog:
    """Simulator monitor applying the safe state while the PLC is silent."""

    def __init__(
        self,
        image: ProcessImage,
        config: WatchdogConfig,
        heartbeat: Callable[[], int] | None = None,
    ) -> None:
        self.image = image
        self._heartbeat = heartbeat or (lambda: image.plc_writes)
        self.timeout_ns = s_to_ns(config.timeout)
        self.safe_state: dict[int, Value] = {}
        for signal in image.table:
            if signal.direction is Direction.TO_PLANT and signal.type.is_bool:
                self.safe_state[image.table.index(signal.name)] = False
        for name, value in config.safe_state.items():
            signal = image.table[name]
            if signal.direction is not Direction.TO_PLANT:
                raise ConfigError(f"safe_state: {name} is not a PLC output")
            self.safe_state[image.table.index(name)] = signal.coerce(value)
        self.events: list[WatchdogEvent] = []
        self.tripped = False
        self._seen = self._heartbeat()
        self._last_write_ns: int | None = None

    def __call__(self, now_ns: int, changed: list[int]) -> None:
        writes = self._heartbeat()
        if writes != self._seen:
            self._seen = writes
            self._last_write_ns = now_ns
            if self.tripped:
                self.tripped = False
                self.events.append(WatchdogEvent(now_ns, "resumed"))
                log.warning("PLC writes resumed at %.3f s", now_ns / 1e9)
            return
        if (
            self.timeout_ns
            and not self.tripped
            and self._last_write_ns is not None
            and now_ns - self._last_write_ns > self.timeout_ns
        ):
            self.tripped = True
            self.events.append(WatchdogEvent(now_ns, "tripped"))
            log.warning("no PLC write for %.3f s: safe state applied", self.timeout_ns / 1e9)
            for index, value in self.safe_state.items():
                self.image.stage(index, value)
            # Our own staging is not the PLC talking.
            self._seen = self._heartbeat()
