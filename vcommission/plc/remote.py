"""The soft PLC over the wire: scans in real time against a plant's Modbus or OPC UA server.

This is how a hardware PLC sees the plant: every task interval of wall time it reads its
inputs from the server, runs the program, and writes its outputs back (all of them,
every cycle, as OpenPLC does with its slave devices). A cycle that ends after the next is
due is an **overrun**: it is counted, and the next cycle starts at once.

The I/O itself is an adapter (``ModbusPlcIo``, ``OpcUaPlcIo``), so this module imports no
protocol library.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from vcommission.errors import PlcFault
from vcommission.plc.runtime import IoPoint, SoftPlc
from vcommission.signals import Value

__all__ = ["PlcIo", "RemoteStats", "run_remote"]

logger = logging.getLogger(__name__)


class PlcIo(Protocol):
    """How a remote soft PLC reaches the plant's I/O."""

    @property
    def connected(self) -> bool: ...

    async def connect(self) -> None: ...

    def close(self) -> None: ...

    async def read_inputs(self) -> list[tuple[IoPoint, Value]]: ...

    async def write_outputs(self, values: Sequence[tuple[IoPoint, Value]]) -> None: ...


@dataclass
class RemoteStats:
    """What a remote run did: cycles, overruns and I/O trouble, with wall-clock figures."""

    cycles: int = 0
    overruns: int = 0
    io_errors: int = 0
    #: Longest cycle (read + scan + write), seconds of wall time.
    longest_s: float = 0.0
    #: Wall-clock length of every cycle, seconds (for percentiles).
    cycle_s: list[float] = field(default_factory=list)
    fault: PlcFault | None = None


async def run_remote(
    plc: SoftPlc,
    io: PlcIo,
    *,
    duration_s: float | None = None,
    speed: float = 1.0,
    stop: asyncio.Event | None = None,
    reconnect_s: float = 1.0,
) -> RemoteStats:
    """Scan ``plc`` against ``io`` in real time until ``duration_s``, ``stop`` or a fault.

    Args:
        plc: The PLC to scan.
        io: Its connection to the plant.
        duration_s: Wall-clock seconds to run (times ``speed``: virtual seconds); None runs
            until ``stop`` is set.
        speed: Virtual seconds per wall second. The PLC's timers run on virtual time, so
            a plant served with the same ``--speed`` sees a consistent PLC.
        stop: Set it to end the run from outside (a signal handler).
        reconnect_s: Wait between connection attempts while the plant does not answer.

    A lost connection is retried; meanwhile the program is not scanned (as a PLC whose
    I/O bus failed would stop updating). A runtime fault writes the de-energised outputs
    once and ends the run.
    """
    period_s = plc.program.scan_period_ns / 1e9 / speed
    stats = RemoteStats()
    started = time.monotonic()
    due = started
    failing = False
    while stop is None or not stop.is_set():
        now = time.monotonic()
        if duration_s is not None and (now - started) * speed >= duration_s:
            break
        try:
            if not io.connected:
                await io.connect()
            inputs = await io.read_inputs()
            plc.set_inputs(inputs)
            virtual_ns = round((time.monotonic() - started) * speed * 1e9)
            ok = plc.run_cycle(virtual_ns)
            await io.write_outputs(plc.output_values())
            if failing:
                logger.warning("PLC I/O: the plant answers again")
            failing = False
        except (ConnectionError, OSError, TimeoutError) as error:
            stats.io_errors += 1
            if not failing:
                logger.warning("PLC I/O: %s", error)
            failing = True
            io.close()
            await _sleep_or_stop(reconnect_s, stop)
            due = time.monotonic()
            continue
        if not ok:
            stats.fault = plc.fault
            break
        elapsed = time.monotonic() - now
        stats.cycles += 1
        stats.cycle_s.append(elapsed)
        stats.longest_s = max(stats.longest_s, elapsed)
        due += period_s
        wait = due - time.monotonic()
        if wait < 0:
            stats.overruns += 1
            due = time.monotonic()  # re-phase rather than run a burst of late cycles
        else:
            await _sleep_or_stop(wait, stop)
    io.close()
    return stats


async def _sleep_or_stop(seconds: float, stop: asyncio.Event | None) -> None:
    if stop is None:
        await asyncio.sleep(seconds)
        return
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
