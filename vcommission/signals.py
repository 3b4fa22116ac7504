"""Typed signals, the immutable signal table and the double-buffered process image.

A *signal* is one named value that crosses a boundary: PLC to plant (an actuator command),
plant to PLC (a sensor), operator to plant (a button a person presses) or plant-internal
(a bin's part count, kept for checks). The :class:`SignalTable` is built once per model and
never changes; values live in a :class:`ProcessImage`.

The process image is double buffered the way a PLC's is: writers from outside the simulator
(protocol adapters, the built-in PLC, scenarios) only *stage* values; the simulator *latches*
everything staged once per tick, before the components update, and *commits* the values the
components computed after physics. Readers outside the simulator see only committed values,
so a half-computed tick is never visible.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from itertools import compress
from operator import ne

from vcommission.errors import SignalError

__all__ = [
    "Direction",
    "ProcessImage",
    "Signal",
    "SignalTable",
    "SignalType",
    "Value",
    "is_identifier",
]

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def is_identifier(name: str) -> bool:
    """True for an IEC 61131-3 identifier (ASCII letters, digits, underscores; no leading digit).

    Tag names, component names, part variants and lamp names must be identifiers: they become
    tags a PLC program binds by name and OPC UA browse names.
    """
    return bool(_IDENTIFIER.match(name))


#: A signal value: ``bool`` for BOOL, ``int`` for integer types, ``float`` for REAL/LREAL.
Value = bool | int | float


class SignalType(str, Enum):
    """IEC 61131-3 elementary types a signal can have."""

    BOOL = "BOOL"
    INT = "INT"
    DINT = "DINT"
    UINT = "UINT"
    UDINT = "UDINT"
    WORD = "WORD"
    DWORD = "DWORD"
    REAL = "REAL"
    LREAL = "LREAL"

    @property
    def is_bool(self) -> bool:
        return self is SignalType.BOOL

    @property
    def is_integer(self) -> bool:
        return self in _INTEGER_LIMITS

    @property
    def is_float(self) -> bool:
        return self in (SignalType.REAL, SignalType.LREAL)

    @property
    def bits(self) -> int:
        """Width on the wire: 1 for BOOL, 16 or 32 for numbers (LREAL is 64)."""
        return _BITS[self]

    @property
    def limits(self) -> tuple[int, int] | None:
        """Inclusive (min, max) for integer types, None otherwise."""
        return _INTEGER_LIMITS.get(self)

    @property
    def zero(self) -> Value:
        """FALSE, 0 or 0.0: the power-on default and what a de-energised wire reads."""
        return False if self.is_bool else 0.0 if self.is_float else 0

    def reinterpret(self, value: int) -> int:
        """The low bits of an integer read as this integer type (a WORD's bits as an INT)."""
        bits = self.bits
        value = int(value) & ((1 << bits) - 1)
        low, _ = self.limits  # type: ignore[misc]
        return value - (1 << bits) if low < 0 and value >= 1 << (bits - 1) else value


_INTEGER_LIMITS: dict[SignalType, tuple[int, int]] = {
    SignalType.INT: (-(2**15), 2**15 - 1),
    SignalType.DINT: (-(2**31), 2**31 - 1),
    SignalType.UINT: (0, 2**16 - 1),
    SignalType.UDINT: (0, 2**32 - 1),
    SignalType.WORD: (0, 2**16 - 1),
    SignalType.DWORD: (0, 2**32 - 1),
}
_BITS: dict[SignalType, int] = {
    SignalType.BOOL: 1,
    SignalType.INT: 16,
    SignalType.UINT: 16,
    SignalType.WORD: 16,
    SignalType.DINT: 32,
    SignalType.UDINT: 32,
    SignalType.DWORD: 32,
    SignalType.REAL: 32,
    SignalType.LREAL: 64,
}


class Direction(str, Enum):
    """Who writes a signal."""

    #: Written by the PLC, read by the plant: actuator commands (coils, holding registers).
    TO_PLANT = "to_plant"
    #: Written by the plant, read by the PLC: sensors (discrete inputs, input registers).
    FROM_PLANT = "from_plant"
    #: Written by a person (scenario, HMI, trainer): push buttons, e-stops, doors. Never by
    #: the PLC; the PLC sees the *contact* signal the device derives from it.
    OPERATOR = "operator"
    #: Plant-internal state kept for checks and reports (bin counts); not PLC I/O.
    INTERNAL = "internal"


@dataclass(frozen=True)
class Signal:
    """Definition of one signal; immutable. Its value lives in a :class:`ProcessImage`."""

    #: Tag name, unique in the model (``conveyor_run``, ``bin_tall.count``).
    name: str
    #: Elementary type.
    type: SignalType
    #: Who writes it.
    direction: Direction
    #: Engineering unit, e.g. ``mm/s``; empty when dimensionless.
    unit: str = ""
    #: Power-on value; None means the type's zero (FALSE, 0, 0.0).
    default: Value | None = None
    #: Optional inclusive engineering range (min, max); writes outside it are refused.
    range: tuple[float, float] | None = None
    #: One line for the I/O list and OPC UA description.
    description: str = ""

    def __post_init__(self) -> None:
        if self.default is None:
            object.__setattr__(self, "default", self.type.zero)
        object.__setattr__(self, "default", self.coerce(self.default))

    def coerce(self, value: object) -> Value:
        """Return ``value`` as this signal's Python type, or raise :class:`SignalError`.

        Integers must fit the type and the signal's range; floats must be finite. BOOL
        accepts only ``bool`` and the integers 0/1 (what coils carry on the wire).
        """
        kind = self.type
        if kind is SignalType.BOOL:
            if isinstance(value, bool):
                return value
            if isinstance(value, int) and value in (0, 1):
                return bool(value)
            raise SignalError(f"{self.name}: BOOL needs true/false, got {value!r}")
        if kind.is_integer:
            if isinstance(value, bool) or not isinstance(value, int):
                if isinstance(value, float) and value.is_integer():
                    value = int(value)
                else:
                    raise SignalError(f"{self.name}: {kind.value} needs an integer, got {value!r}")
            low, high = kind.limits  # type: ignore[misc]
            if not low <= value <= high:
                raise SignalError(f"{self.name}: {value} outside {kind.value} range {low}..{high}")
            self._check_range(value)
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SignalError(f"{self.name}: {kind.value} needs a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise SignalError(f"{self.name}: {kind.value} must be finite, got {value!r}")
        self._check_range(value)
        return value

    def _check_range(self, value: float) -> None:
        if self.range is not None and not self.range[0] <= value <= self.range[1]:
            raise SignalError(
                f"{self.name}: {value} outside range {self.range[0]:g}..{self.range[1]:g}"
            )


@dataclass(frozen=True)
class SignalTable:
    """The model's signals in declaration order; immutable and indexed by name."""

    signals: tuple[Signal, ...]
    _index: Mapping[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, int] = {}
        for position, signal in enumerate(self.signals):
            if signal.name in index:
                raise SignalError(f"duplicate signal name {signal.name!r}")
            index[signal.name] = position
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.signals)

    def __iter__(self) -> Iterator[Signal]:
        return iter(self.signals)

    def __contains__(self, name: object) -> bool:
        return name in self._index

    def __getitem__(self, name: str) -> Signal:
        return self.signals[self.index(name)]

    def index(self, name: str) -> int:
        """Return the position of ``name``, or raise :class:`SignalError` naming close matches."""
        try:
            return self._index[name]
        except KeyError:
            import difflib

            close = difflib.get_close_matches(name, self._index, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            raise SignalError(f"unknown signal {name!r}{hint}") from None

    def names(self, direction: Direction | None = None) -> list[str]:
        """Signal names in declaration order, optionally only those of one direction."""
        return [s.name for s in self.signals if direction is None or s.direction is direction]


class ProcessImage:
    """Current values of a :class:`SignalTable`, double buffered.

    ``values`` is the simulator's working buffer: components read their inputs from it and
    write their outputs into it during a tick. :meth:`stage` is how everybody else writes;
    :meth:`latch` applies staged values at the start of a tick; :meth:`commit` publishes the
    working buffer as :attr:`committed` and returns which signals changed.
    """

    def __init__(self, table: SignalTable) -> None:
        self.table = table
        self.values: list[Value] = [s.default for s in table.signals]
        self.committed: tuple[Value, ...] = tuple(self.values)
        self._staged: dict[int, Value] = {}
        #: How many ``to_plant`` writes were staged so far, whichever link they came by: the
        #: PLC communication watchdog watches this to tell a live PLC from a silent one.
        self.plc_writes = 0

    def __getitem__(self, name: str) -> Value:
        """Committed value of ``name``: what a PLC reading the plant sees now."""
        return self.committed[self.table.index(name)]

    def snapshot(self) -> dict[str, Value]:
        """Committed values by name."""
        return dict(zip((s.name for s in self.table.signals), self.committed, strict=True))

    def stage(
        self,
        name: str | int,
        value: object,
        allowed: Iterable[Direction] = (Direction.TO_PLANT,),
    ) -> None:
        """Stage a write that takes effect at the next :meth:`latch`.

        Args:
            name: Signal name or index.
            value: New value; coerced and range-checked now, so a bad value is refused at
                the door (a protocol adapter answers it with an exception code).
            allowed: Directions this writer may write. A PLC adapter keeps the default; a
                scenario or HMI passes ``OPERATOR`` (and ``INTERNAL`` for fault injection).

        Raises:
            SignalError: unknown name, a direction the writer may not write, or a bad value.
        """
        position = name if isinstance(name, int) else self.table.index(name)
        signal = self.table.signals[position]
        if signal.direction not in tuple(allowed):
            raise SignalError(
                f"{signal.name}: {signal.direction.value} signal is not writable here"
            )
        self._staged[position] = signal.coerce(value)
        if signal.direction is Direction.TO_PLANT:
            self.plc_writes += 1

    def pending(self, name: str | int) -> Value:
        """The value ``name`` has after the next latch: the write staged for it, else its own."""
        position = name if isinstance(name, int) else self.table.index(name)
        return self._staged.get(position, self.values[position])

    def latch(self) -> None:
        """Apply every staged write to the working buffer (start of a tick)."""
        if self._staged:
            # Swap first so a write staged while we apply lands in the next tick, not lost.
            staged, self._staged = self._staged, {}
            values = self.values
            for position, value in staged.items():
                values[position] = value

    def commit(self) -> list[int]:
        """Publish the working buffer; return the indices whose committed value changed."""
        previous = self.committed
        current = tuple(self.values)
        self.committed = current
        if current == previous:
            return []
        # compress/map run in C: a tenth of a Python comprehension over a hundred signals,
        # and some value changes nearly every tick (a robot's TCP speed).
        return list(compress(range(len(current)), map(ne, previous, current)))

    def reset(self) -> None:
        """Return every signal to its power-on value, drop staged writes, forget the PLC's.

        The write count restarts too: "the PLC has written" must mean in this run, or a kept
        plant's second scenario would start its clock before the external PLC connected.
        """
        self.values[:] = [s.default for s in self.table.signals]
        self.committed = tuple(self.values)
        self._staged.clear()
        self.plc_writes = 0
