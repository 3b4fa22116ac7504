"""A soft PLC's I/O over Modbus TCP: it polls the plant as a master, as OpenPLC does."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from vcommission.adapters.modbus.codec import decode_registers, encode_registers
from vcommission.addressing import ModbusTable, WordOrder
from vcommission.signals import SignalType, Value

__all__ = ["ModbusPlcIo"]


@dataclass(frozen=True)
class _Run:
    """Contiguous addresses of one table that one request reads or writes."""

    table: ModbusTable
    address: int
    #: (point, offset of its first cell in the run, cell count)
    points: tuple[tuple[Any, int, int], ...]

    @property
    def count(self) -> int:
        return sum(size for _, _, size in self.points)


def _runs(points: Sequence[Any], output: bool) -> list[_Run]:
    """Group I/O points into runs of adjacent cells: one request each, no cell it doesn't own."""
    chosen = sorted(
        (p for p in points if p.output is output and p.address >= 0),
        key=lambda p: (p.table.value, p.address),
    )
    runs: list[_Run] = []
    current: list[tuple[Any, int, int]] = []
    for point in chosen:
        size = 1 if point.table.is_bit else point.registers
        if current:
            first, last = current[0][0], current[-1]
            adjacent = (
                first.table is point.table
                and last[0].address + last[2] == point.address
                and sum(s for *_, s in current) + size <= (1968 if point.table.is_bit else 123)
            )
            if not adjacent:
                runs.append(_Run(first.table, first.address, tuple(current)))
                current = []
        offset = sum(s for *_, s in current)
        current.append((point, offset, size))
    if current:
        runs.append(_Run(current[0][0].table, current[0][0].address, tuple(current)))
    return runs


class ModbusPlcIo:
    """A soft PLC's I/O over Modbus TCP: it polls the plant as a master, as OpenPLC does.

    Inputs are read with FC2 (discrete inputs) and FC4 (input registers); outputs are
    written every cycle, changed or not, with FC15 (coils) and FC16 (holding registers).
    Each run of adjacent addresses is one request. Located variables travel as raw wire
    values (the PLC program sees register contents, as a hardware PLC would).

    Args:
        points: The program's I/O points (:class:`vcommission.plc.IoPoint`).
        word_order: Order of the words of 32- and 64-bit values.
    """

    def __init__(
        self,
        host: str,
        port: int,
        points: Sequence[Any],
        word_order: WordOrder = WordOrder.BIG,
        unit_id: int = 1,
        timeout: float = 1.0,
    ) -> None:
        self.host = host
        self.port = port
        self.word_order = word_order
        self.unit_id = unit_id
        self.timeout = timeout
        self._reads = _runs(points, output=False)
        self._writes = _runs(points, output=True)
        self._client: AsyncModbusTcpClient | None = None

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Connect (or reconnect); raises ConnectionError if the plant does not answer."""
        self.close()
        client = AsyncModbusTcpClient(self.host, port=self.port, timeout=self.timeout, retries=0)
        if not await client.connect():
            client.close()
            raise ConnectionError(f"cannot connect to {self.host}:{self.port}")
        self._client = client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    async def read_inputs(self) -> list[tuple[Any, Value]]:
        try:
            return await self._read_inputs()
        except ModbusException as exc:  # a dropped link or a timeout, as pymodbus says it
            raise ConnectionError(f"modbus: {exc}") from None

    async def write_outputs(self, values: Sequence[tuple[Any, Value]]) -> None:
        try:
            await self._write_outputs(values)
        except ModbusException as exc:
            raise ConnectionError(f"modbus: {exc}") from None

    async def _read_inputs(self) -> list[tuple[Any, Value]]:
        client = self._require()
        values: list[tuple[Any, Value]] = []
        for run in self._reads:
            reader = (
                client.read_discrete_inputs
                if run.table is ModbusTable.DISCRETE_INPUT
                else client.read_input_registers
            )
            response = await reader(run.address, count=run.count, device_id=self.unit_id)
            if response.isError():
                raise ConnectionError(f"{run.table.short} {run.address}: {response}")
            cells = response.bits if run.table.is_bit else response.registers
            for point, offset, size in run.points:
                chunk = cells[offset : offset + size]
                if run.table.is_bit:
                    values.append((point, bool(chunk[0])))
                else:
                    type_ = SignalType(point.st_type)
                    values.append((point, decode_registers(type_, chunk, self.word_order)))
        return values

    async def _write_outputs(self, values: Sequence[tuple[Any, Value]]) -> None:
        client = self._require()
        by_point = {id(point): value for point, value in values}
        for run in self._writes:
            cells: list[Any] = []
            for point, _, _ in run.points:
                value = by_point[id(point)]
                if run.table.is_bit:
                    cells.append(bool(value))
                else:
                    type_ = SignalType(point.st_type)
                    cells.extend(encode_registers(type_, value, self.word_order))
            if run.table is ModbusTable.COIL:
                response = await client.write_coils(run.address, cells, device_id=self.unit_id)
            else:
                response = await client.write_registers(run.address, cells, device_id=self.unit_id)
            if response.isError():
                raise ConnectionError(f"{run.table.short} {run.address}: {response}")

    def _require(self) -> AsyncModbusTcpClient:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client
