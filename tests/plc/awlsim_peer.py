"""awlsim as an independent soft PLC peer: run S7 AWL/STL cycle by cycle on virtual time.

awlsim (PyPI ``awlsim``, GPL-2.0-or-later, a test-only dependency) is a second, independent
PLC implementation against which the semantics of our own Structured Text soft PLC are
cross-checked. It is driven in-process: no server, no hardware module, no sleeping.

Usage::

    rows = run_awl(
        "A I 0.0\\nL S5T#50MS\\nSD T 1\\nA T 1\\n= Q 0.1\\n",
        cycles=[{"I 0.0": True}] + [{}] * 9,
        cycle_ms=10,
        outputs=["Q 0.1"],
    )

``source`` is either a full AWL source (``ORGANIZATION_BLOCK OB 1``, ``FUNCTION_BLOCK``,
``DATA_BLOCK``, ...) or a *flat* one: bare instructions, which awlsim takes as the body of
OB1. English mnemonics by default (``mnemonics="de"`` or ``"auto"`` otherwise).

Addresses (case-insensitive, the space is optional; the German area letters ``E``, ``A``
and ``Z`` work as ``I``, ``Q`` and ``C``):

- ``I 0.0``, ``Q 1.7``, ``M 10.3``, ``DB1.DBX 0.0``: BOOL;
- ``IB 0``, ``QB``, ``MB``, ``DB1.DBB 0``: BYTE, unsigned 0..255;
- ``IW 2``, ``QW``, ``MW``, ``DB1.DBW 2``: INT, signed 16 bit (big-endian, as in S7);
- ``ID 4``, ``QD``, ``MD``, ``DB1.DBD 4``: DINT, signed 32 bit;
- ``T 1``: timer status bit; ``C 1``: counter value in binary (both read only).

A ``:TYPE`` suffix overrides how a byte, word or double word is read: ``:BYTE``, ``:SINT``,
``:INT``, ``:WORD``, ``:DINT``, ``:DWORD``, ``:TIME`` (signed ms), ``:REAL`` (IEEE single),
e.g. ``"MD 4:REAL"``, ``"QW 0:WORD"``. A write takes any value of the width's signed or
unsigned range and stores its two's complement. Instance data is at its DB, e.g. the ``PT``
of a TON (SFB 4) in DB 10 is ``"DB10.DBD 2:TIME"``.

Cycles: before each cycle the given values are written (they persist until overwritten, as
a field device holds its inputs; M and DB addresses can be forced the same way), then
exactly one OB1 cycle runs, then the outputs are read. OB100, if any, runs once before
cycle 0. An endless loop is stopped by a wall-clock watchdog (``watchdog_s``).

Time is virtual: cycle ``k`` (0-based; startup too is at 0) starts at ``k * cycle_ms`` ms
and nothing in the run reads the wall clock (the S5 timers, the IEC timer SFBs TP/TON/TOF =
SFB 3/4/5 and the clock memory byte all read ``S7CPU.now``, which changes only between
cycles here). A timer started in cycle ``i`` with a preset ``P`` that is a multiple of
``cycle_ms`` is done in cycle ``i + P / cycle_ms`` exactly, on every run; for other presets
in the first cycle with elapsed time >= ``P``. To make that hold despite float rounding
(awlsim keeps time in float seconds, and 0.01 + 0.05 > 0.06) each cycle advances the clock
by ``cycle_ms`` plus one nanosecond; within :data:`MAX_CYCLES` and :data:`MAX_VIRTUAL_MS`
the extra nanoseconds stay below a millisecond, so ``TIME`` values (``ET`` of the IEC
timers) are exact multiples of ``cycle_ms``. Unlike awlsim's own startup (100 ms before the
31-bit ``TIME`` wrap), ``TIME`` starts at 0. SFC 1 (READ_CLK) still reads the real date.

S5TIME caveats: an S5 timer (SP/SE/SD/SS/SF, German SI/SV/SE/SS/SA) holds three BCD digits
in a time base of 10 ms, 100 ms, 1 s or 10 s chosen by the preset's magnitude, and awlsim
rounds a literal to it (``S5T#12S340MS`` is 12.3 s, ``S5T#12S360MS`` is 12.4 s, anything
from 10 s on has 100 ms resolution). ``L T n`` reads the remaining time in that time base.
awlsim computes expiry from the preset exactly, where a real S7 counts asynchronous
time-base ticks, so a real CPU may be up to one tick off.
"""

from __future__ import annotations

import functools
import re
import struct
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Value = int | bool | float

#: Cycles one run may last before the per-cycle nanosecond would add up to a millisecond.
MAX_CYCLES = 999_999
#: Virtual time limit (about 11.6 days): beyond it, float seconds are too coarse for the
#: per-cycle nanosecond to outweigh rounding.
MAX_VIRTUAL_MS = 1_000_000_000

_AREA = {"I": "I", "E": "I", "Q": "Q", "A": "Q", "M": "M"}
_WIDTH = {"": 1, "X": 1, "B": 8, "W": 16, "D": 32}
_DEFAULT_TYPE = {1: "BOOL", 8: "BYTE", 16: "INT", 32: "DINT"}
_TYPE_WIDTH = {
    "BOOL": 1,
    "BYTE": 8,
    "SINT": 8,
    "INT": 16,
    "WORD": 16,
    "DINT": 32,
    "DWORD": 32,
    "TIME": 32,
    "REAL": 32,
}
_SIGNED = {"SINT", "INT", "DINT", "TIME"}

_RE_IMAGE = re.compile(r"(?P<area>[IEQAM])(?P<size>[XBWD]?)\s*(?P<byte>\d+)(?:\.(?P<bit>[0-7]))?")
_RE_DB = re.compile(
    r"DB\s*(?P<db>\d+)\s*\.\s*DB(?P<size>[XBWD])\s*(?P<byte>\d+)(?:\.(?P<bit>[0-7]))?"
)
_RE_TC = re.compile(r"(?P<area>[TCZ])\s*(?P<index>\d+)")


class AwlsimPeerError(RuntimeError):
    """awlsim refused the program, failed while running it, or an address is invalid."""


@dataclass(frozen=True)
class Address:
    """One parsed address: area ``I``/``Q``/``M``/``DB``/``T``/``C``, location and type."""

    text: str
    area: str
    byte: int
    bit: int | None
    width: int
    dtype: str
    db: int | None = None


@functools.cache
def parse_address(text: str) -> Address:
    """Parse ``"I 0.0"``, ``"QW 2"``, ``"MD 4:REAL"``, ``"DB1.DBW 2"``, ``"T 1"``, ..."""
    body, _, suffix = text.strip().upper().partition(":")
    body = body.strip()
    dtype = suffix.strip() or None
    if m := _RE_TC.fullmatch(body):
        area = "T" if m["area"] == "T" else "C"
        if dtype is not None:
            raise AwlsimPeerError(f"{text!r}: timers and counters take no :TYPE")
        return Address(text, area, int(m["index"]), None, 1 if area == "T" else 16, area)
    if m := _RE_DB.fullmatch(body):
        area, db = "DB", int(m["db"])
    elif m := _RE_IMAGE.fullmatch(body):
        area, db = _AREA[m["area"]], None
    else:
        raise AwlsimPeerError(f"{text!r}: not an address (e.g. 'I 0.0', 'QW 2', 'DB1.DBD 4')")
    width = _WIDTH[m["size"]]
    if (width == 1) != (m["bit"] is not None):
        raise AwlsimPeerError(f"{text!r}: a bit address needs .bit, a byte/word/dword none")
    dtype = dtype or _DEFAULT_TYPE[width]
    if _TYPE_WIDTH.get(dtype) != width:
        raise AwlsimPeerError(f"{text!r}: type {dtype} does not fit a {width}-bit access")
    bit = None if m["bit"] is None else int(m["bit"])
    return Address(text, area, int(m["byte"]), bit, width, dtype, db)


def _encode(addr: Address, value: Value) -> bytes:
    nbytes = addr.width // 8
    if addr.dtype == "REAL":
        return struct.pack(">f", float(value))
    if isinstance(value, float):
        raise AwlsimPeerError(f"{addr.text}: {value!r} is not an integer")
    value = int(value)
    lo, hi = -(1 << (addr.width - 1)), (1 << addr.width) - 1
    if not lo <= value <= hi:
        raise AwlsimPeerError(f"{addr.text}: {value} does not fit {addr.width} bits")
    return (value & hi).to_bytes(nbytes, "big")


def _decode(addr: Address, raw: bytes) -> Value:
    if addr.dtype == "REAL":
        return struct.unpack(">f", raw)[0]
    return int.from_bytes(raw, "big", signed=addr.dtype in _SIGNED)


_MNEMONICS = ("en", "de", "auto")


class AwlsimPeer:
    """One awlsim CPU with a loaded program, stepped one OB1 cycle at a time on virtual time.

    ``watchdog_s`` is a wall-clock limit per cycle (an endless loop in the program would
    otherwise hang: awlsim's own cycle-time check reads the now frozen virtual clock).
    """

    def __init__(
        self,
        source: str,
        *,
        cycle_ms: int = 10,
        mnemonics: str = "en",
        watchdog_s: float = 5.0,
    ) -> None:
        if not (isinstance(cycle_ms, int) and cycle_ms > 0):
            raise ValueError(f"cycle_ms must be a positive int, not {cycle_ms!r}")
        if mnemonics not in _MNEMONICS:
            raise ValueError(f"mnemonics must be one of {_MNEMONICS}, not {mnemonics!r}")
        # Imported here so that this module imports (and its tests skip) without awlsim.
        # awlsim.* directly, not awlsim_loader.*: the pure-Python core, even if the
        # AWLSIM_CYTHON variable is set (the clock hook below needs Python methods).
        # The core first: awlsim.awlcompiler and awlsim.core import each other, and importing
        # the compiler first leaves names missing in awlsim.core.cpu (NameError: RawAwlOB).
        # isort: off
        from awlsim.core.main import AwlSim
        from awlsim.core.cpu import S7CPU
        from awlsim.awlcompiler.tokenizer import AwlParser
        from awlsim.common.cpuconfig import S7CPUConfig
        from awlsim.common.exceptions import AwlParserError, AwlSimError

        # isort: on

        self._errors = (AwlSimError, AwlParserError)
        self._awlsim_error = AwlSimError
        self.cycle_ms = cycle_ms
        self.cycle_count = 0
        self._watchdog_s = watchdog_s
        self._deadline = float("inf")
        try:
            parser = AwlParser()
            parser.parseText(source, sourceName="awlsim_peer")
            self.sim = sim = AwlSim()
            sim.reset()
            cpu = self.cpu = sim.getCPU()
            cpu.getConf().setConfiguredMnemonics(
                {
                    "en": S7CPUConfig.MNEMONICS_EN,
                    "de": S7CPUConfig.MNEMONICS_DE,
                    "auto": S7CPUConfig.MNEMONICS_AUTO,
                }[mnemonics]
            )
            # No cycle padding: awlsim would sleep to reach a target cycle time.
            cpu.setCycleTimeTarget(0.0)
            sim.load(parser.getParseTree())
            sim.build()
            # The virtual clock. S7CPU.updateTimestamp(self, _getTime=monotonic_time) is the
            # only place the pure-Python core reads the time while running; an instance
            # attribute shadows the method for this CPU only (no global monkeypatch). Its
            # private offset (set from the wall clock in reset(), to start 100 ms before the
            # 31-bit TIME wrap) is zeroed so that S7CPU.now == virtual seconds from 0.
            cpu.updateTimestamp = functools.partial(
                S7CPU.updateTimestamp, cpu, _getTime=self._clock
            )
            cpu._S7CPU__nowOffset = 0.0
            self._guarded(cpu.startup)
        except self._errors as e:
            raise AwlsimPeerError(e.getReport()) from e

    @property
    def now_ms(self) -> int:
        """Virtual time at the start of the next cycle, in milliseconds."""
        return self.cycle_count * self.cycle_ms

    def _clock(self) -> float:
        if time.perf_counter() > self._deadline:
            raise self._awlsim_error(
                f"awlsim_peer: cycle {self.cycle_count} ran more than "
                f"{self._watchdog_s} s of wall-clock time (endless loop?)"
            )
        # cycle_ms plus 1 ns per cycle, see the module docstring.
        return self.cycle_count * (self.cycle_ms * 1_000_000 + 1) / 1e9

    def _guarded(self, run: Any) -> None:
        self._deadline = time.perf_counter() + self._watchdog_s
        try:
            run()
        finally:
            self._deadline = float("inf")

    def _memory(self, addr: Address) -> bytearray:
        cpu = self.cpu
        if addr.area == "DB":
            db = cpu.getDB(addr.db)
            if db is None:
                raise AwlsimPeerError(f"{addr.text}: DB {addr.db} does not exist")
            return db.structInstance.memory.getRawDataBytes()
        return {"I": cpu.inputs, "Q": cpu.outputs, "M": cpu.flags}[addr.area].getRawDataBytes()

    def _span(self, addr: Address, memory: bytearray) -> slice:
        end = addr.byte + max(1, addr.width // 8)
        if end > len(memory):
            raise AwlsimPeerError(f"{addr.text}: beyond the {len(memory)}-byte area")
        return slice(addr.byte, end)

    def write(self, address: str, value: Value) -> None:
        """Store ``value`` at ``address`` (process image, flags or a DB) now."""
        addr = parse_address(address)
        if addr.area in ("T", "C"):
            raise AwlsimPeerError(f"{address}: timers and counters are read only here")
        memory = self._memory(addr)
        span = self._span(addr, memory)
        if addr.bit is None:
            memory[span] = _encode(addr, value)
        elif value not in (0, 1):  # True/False are 1/0
            raise AwlsimPeerError(f"{address}: {value!r} is not a BOOL")
        else:
            mask = 1 << addr.bit
            memory[addr.byte] = memory[addr.byte] | mask if value else memory[addr.byte] & ~mask

    def read(self, address: str) -> Value:
        """Value at ``address`` now, typed as the address says."""
        addr = parse_address(address)
        try:
            if addr.area == "T":
                return bool(self.cpu.getTimer(addr.byte).get())
            if addr.area == "C":
                return int(self.cpu.getCounter(addr.byte).getValueBin())
        except self._errors as e:
            raise AwlsimPeerError(f"{address}: {e.getReport()}") from e
        memory = self._memory(addr)
        span = self._span(addr, memory)
        if addr.bit is not None:
            return bool(memory[addr.byte] >> addr.bit & 1)
        return _decode(addr, bytes(memory[span]))

    def cycle(
        self, inputs: Mapping[str, Value] | None = None, outputs: Sequence[str] = ()
    ) -> dict[str, Value]:
        """Write ``inputs``, run exactly one OB1 cycle, return ``outputs`` read after it."""
        if self.cycle_count >= MAX_CYCLES or self.now_ms >= MAX_VIRTUAL_MS:
            raise AwlsimPeerError(
                f"cycle {self.cycle_count} at {self.now_ms} ms: beyond MAX_CYCLES or"
                " MAX_VIRTUAL_MS, where virtual time is no longer exact"
            )
        for address, value in (inputs or {}).items():
            self.write(address, value)
        try:
            self._guarded(self.cpu.runCycle)
        except self._errors as e:
            raise AwlsimPeerError(e.getReport()) from e
        result = {address: self.read(address) for address in outputs}
        self.cycle_count += 1
        return result


def run_awl(
    source: str,
    cycles: Sequence[Mapping[str, Value]],
    cycle_ms: int = 10,
    outputs: Sequence[str] = ("QB 0",),
    *,
    mnemonics: str = "en",
) -> list[dict[str, Value]]:
    """Run ``source`` for ``len(cycles)`` OB1 cycles on virtual time; outputs per cycle.

    ``cycles[k]`` holds the values written before cycle ``k`` (which starts at
    ``k * cycle_ms`` ms); the result's ``k``-th dict holds ``outputs`` read after it.
    """
    peer = AwlsimPeer(source, cycle_ms=cycle_ms, mnemonics=mnemonics)
    return [peer.cycle(values, outputs) for values in cycles]
