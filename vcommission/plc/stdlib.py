"""What compiled Structured Text calls at run time: helpers and the standard function blocks.

Generated code runs in a namespace seeded with :func:`namespace`. Helpers raise ordinary
Python exceptions (``ZeroDivisionError``, ``IndexError``, ...); the runtime maps the frame
back to the ST line and stops the PLC. Standard function blocks (TON, CTU, R_TRIG, ...)
are Python classes with the same member names the compiler gives user blocks: lower case,
with ``_`` appended to a Python keyword (``IN`` is ``in_``).
"""

from __future__ import annotations

import copy
import math
import struct
from dataclasses import dataclass

__all__ = ["STANDARD_FBS", "PlcClock", "namespace"]


@dataclass
class PlcClock:
    """The PLC's notion of now (virtual nanoseconds) and its per-scan loop budget."""

    now: int = 0
    #: Loop iterations left in this scan; a loop that uses them up faults the PLC.
    budget: int = 0


class LoopBudgetExceeded(RuntimeError):
    """A loop ran more iterations in one scan than the watchdog allows."""


def _idiv(a: int, b: int) -> int:
    # IEC integer division truncates toward zero; Python's // floors.
    if b == 0:
        raise ZeroDivisionError("integer division by zero")
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _imod(a: int, b: int) -> int:
    if b == 0:
        raise ZeroDivisionError("MOD by zero")
    return a - _idiv(a, b) * b


def _fdiv(a: float, b: float) -> float:
    if b == 0:
        raise ZeroDivisionError("division by zero")
    return a / b


def _expt(a: float, b: float) -> float:
    try:
        result = float(a) ** b
    except ZeroDivisionError:
        raise ZeroDivisionError("0 ** negative exponent") from None
    if isinstance(result, complex):
        raise ValueError(f"{a} ** {b} has no real value")
    return result


def _ix(i: int, low: int, high: int) -> int:
    if not low <= i <= high:
        raise IndexError(f"array index {i} outside {low}..{high}")
    return i - low


_F32 = struct.Struct("f")


def _f32(x: float) -> float:
    """Round to single precision (REAL); infinities pass, overflow becomes infinity."""
    try:
        return _F32.unpack(_F32.pack(x))[0]
    except OverflowError:
        return math.copysign(math.inf, x)


def _setbit(word: int, bit: int, value: bool) -> int:
    return word | (1 << bit) if value else word & ~(1 << bit)


def _round(x: float) -> int:
    """REAL_TO_INT rounding: to nearest, halves away from zero."""
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"cannot convert {x} to an integer")
    return math.floor(abs(x) + 0.5) * (1 if x >= 0 else -1)


def _trunc(x: float) -> int:
    if math.isnan(x) or math.isinf(x):
        raise ValueError(f"cannot convert {x} to an integer")
    return int(x)


def _to_bool_text(text: str) -> bool:
    return text.strip().upper() in ("TRUE", "1")


def _to_int_text(text: str) -> int:
    try:
        return int(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not an integer") from None


def _to_real_text(text: str) -> float:
    try:
        return float(text.strip().replace("_", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None


def _time_text(ns: int) -> str:
    """``T#1s500ms`` spelling of a duration."""
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    parts = []
    for unit, size in (("d", 86_400 * 10**9), ("h", 3_600 * 10**9), ("m", 60 * 10**9)):
        if ns >= size:
            parts.append(f"{ns // size}{unit}")
            ns %= size
    for unit, size in (("s", 10**9), ("ms", 10**6), ("us", 10**3), ("ns", 1)):
        if ns >= size:
            parts.append(f"{ns // size}{unit}")
            ns %= size
    return f"T#{sign}{''.join(parts) or '0s'}"


def _real_text(x: float) -> str:
    return repr(float(x))


def _shl(value: int, n: int, bits: int) -> int:
    return (value << n) & ((1 << bits) - 1) if n < bits else 0


def _shr(value: int, n: int, bits: int) -> int:
    return (value & ((1 << bits) - 1)) >> n


def _rol(value: int, n: int, bits: int) -> int:
    n %= bits
    value &= (1 << bits) - 1
    return ((value << n) | (value >> (bits - n))) & ((1 << bits) - 1)


def _ror(value: int, n: int, bits: int) -> int:
    return _rol(value, bits - (n % bits), bits)


def _mux(k: int, *inputs: object) -> object:
    if not 0 <= k < len(inputs):
        raise IndexError(f"MUX selector {k} outside 0..{len(inputs) - 1}")
    return inputs[k]


# String functions: positions are 1-based, as in IEC 61131-3.


def _mid(text: str, length: int, position: int) -> str:
    if position < 1 or length < 0:
        raise IndexError(f"MID({length}, {position}) outside the string")
    return text[position - 1 : position - 1 + length]


def _insert(text: str, other: str, position: int) -> str:
    if not 0 <= position <= len(text):
        raise IndexError(f"INSERT position {position} outside 0..{len(text)}")
    return text[:position] + other + text[position:]


def _delete(text: str, length: int, position: int) -> str:
    if position < 1 or length < 0:
        raise IndexError(f"DELETE({length}, {position}) outside the string")
    return text[: position - 1] + text[position - 1 + length :]


def _replace(text: str, other: str, length: int, position: int) -> str:
    if position < 1 or length < 0:
        raise IndexError(f"REPLACE({length}, {position}) outside the string")
    return text[: position - 1] + other + text[position - 1 + length :]


def _find(text: str, other: str) -> int:
    return text.find(other) + 1


def _left(text: str, length: int) -> str:
    if length < 0:
        raise IndexError(f"LEFT length {length} < 0")
    return text[:length]


def _right(text: str, length: int) -> str:
    if length < 0:
        raise IndexError(f"RIGHT length {length} < 0")
    return text[len(text) - length :] if length else ""


def _with(instance: object, **values: object) -> object:
    """``instance`` with members set: structure and FB-instance initialisers ``(a := 1)``."""
    for name, value in values.items():
        setattr(instance, name, value)
    return instance


def _budget_exceeded() -> None:
    raise LoopBudgetExceeded(
        "loop watchdog: too many loop iterations in one scan (an endless loop?)"
    )


# ---- standard function blocks (IEC 61131-3 3rd edition, 6.6.3.5) ------------------------------


class _Timer:
    """Members and power-on state shared by TON, TOF and TP."""

    __slots__ = ("_clock", "_start", "et", "in_", "pt", "q")

    def __init__(self, clock: PlcClock) -> None:
        self._clock = clock
        self.in_ = False
        self.pt = 0
        self.q = False
        self.et = 0
        self._start: int | None = None


class TON(_Timer):
    """On-delay timer: Q goes TRUE once IN has been TRUE for PT."""

    __slots__ = ()

    def __call__(self) -> None:
        if not self.in_:
            self.q, self.et, self._start = False, 0, None
            return
        if self._start is None:
            self._start = self._clock.now
        elapsed = self._clock.now - self._start
        if elapsed >= self.pt:
            self.q, self.et = True, self.pt
        else:
            self.q, self.et = False, elapsed


class TOF(_Timer):
    """Off-delay timer: Q follows IN up at once and drops PT after IN falls."""

    __slots__ = ()

    def __call__(self) -> None:
        if self.in_:
            self.q, self.et, self._start = True, 0, None
            return
        if not self.q:
            return
        if self._start is None:
            self._start = self._clock.now
        elapsed = self._clock.now - self._start
        if elapsed >= self.pt:
            self.q, self.et = False, self.pt
        else:
            self.et = elapsed


class TP(_Timer):
    """Pulse timer: a rising IN starts a pulse of exactly PT that IN cannot cut short."""

    __slots__ = ()

    def __call__(self) -> None:
        now = self._clock.now
        if self._start is None:
            if self.in_ and self.et == 0:
                self._start = now
            else:
                if not self.in_:
                    self.et = 0
                return
        elapsed = now - self._start
        if elapsed >= self.pt:
            self.q, self.et, self._start = False, self.pt, None
            if not self.in_:
                self.et = 0
        else:
            self.q, self.et = True, elapsed


class R_TRIG:
    """Rising-edge detector: Q is TRUE for one call when CLK goes TRUE."""

    __slots__ = ("_m", "clk", "q")

    def __init__(self, clock: PlcClock) -> None:
        self.clk = False
        self.q = False
        self._m = False

    def __call__(self) -> None:
        self.q = self.clk and not self._m
        self._m = self.clk


class F_TRIG:
    """Falling-edge detector: Q is TRUE for one call when CLK goes FALSE."""

    __slots__ = ("_m", "clk", "q")

    def __init__(self, clock: PlcClock) -> None:
        self.clk = False
        self.q = False
        # The standard declares M := 1, so an input that is FALSE at power-on does not fire.
        self._m = True

    def __call__(self) -> None:
        self.q = not self.clk and not self._m
        self._m = not self.clk


class SR:
    """Set-dominant bistable."""

    __slots__ = ("q1", "r", "s1")

    def __init__(self, clock: PlcClock) -> None:
        self.s1 = False
        self.r = False
        self.q1 = False

    def __call__(self) -> None:
        self.q1 = self.s1 or (not self.r and self.q1)


class RS:
    """Reset-dominant bistable."""

    __slots__ = ("q1", "r1", "s")

    def __init__(self, clock: PlcClock) -> None:
        self.s = False
        self.r1 = False
        self.q1 = False

    def __call__(self) -> None:
        self.q1 = not self.r1 and (self.s or self.q1)


_INT_MAX = 32767
_INT_MIN = -32768


class CTU:
    """Up counter: counts rising edges of CU up to PV; R resets."""

    __slots__ = ("_m", "cu", "cv", "pv", "q", "r")

    def __init__(self, clock: PlcClock) -> None:
        self.cu = False
        self.r = False
        self.pv = 0
        self.q = False
        self.cv = 0
        self._m = False

    def __call__(self) -> None:
        edge = self.cu and not self._m
        self._m = self.cu
        if self.r:
            self.cv = 0
        elif edge and self.cv < _INT_MAX:
            self.cv += 1
        self.q = self.cv >= self.pv


class CTD:
    """Down counter: LD loads PV; rising edges of CD count down to the INT minimum."""

    __slots__ = ("_m", "cd", "cv", "ld", "pv", "q")

    def __init__(self, clock: PlcClock) -> None:
        self.cd = False
        self.ld = False
        self.pv = 0
        self.q = False
        self.cv = 0
        self._m = False

    def __call__(self) -> None:
        edge = self.cd and not self._m
        self._m = self.cd
        if self.ld:
            self.cv = self.pv
        elif edge and self.cv > _INT_MIN:
            self.cv -= 1
        self.q = self.cv <= 0


class CTUD:
    """Up-down counter."""

    __slots__ = ("_md", "_mu", "cd", "cu", "cv", "ld", "pv", "qd", "qu", "r")

    def __init__(self, clock: PlcClock) -> None:
        self.cu = False
        self.cd = False
        self.r = False
        self.ld = False
        self.pv = 0
        self.qu = False
        self.qd = False
        self.cv = 0
        self._mu = False
        self._md = False

    def __call__(self) -> None:
        up = self.cu and not self._mu
        down = self.cd and not self._md
        self._mu, self._md = self.cu, self.cd
        if self.r:
            self.cv = 0
        elif self.ld:
            self.cv = self.pv
        elif not (up and down):
            if up and self.cv < _INT_MAX:
                self.cv += 1
            elif down and self.cv > _INT_MIN:
                self.cv -= 1
        self.qu = self.cv >= self.pv
        self.qd = self.cv <= 0


_TIMER = (("IN", "BOOL", "I"), ("PT", "TIME", "I"), ("Q", "BOOL", "O"), ("ET", "TIME", "O"))
_TRIGGER = (("CLK", "BOOL", "I"), ("Q", "BOOL", "O"))

#: Standard FB name -> (class, interface: (member, type name, I or O) in declaration order).
STANDARD_FBS: dict[str, tuple[type, tuple[tuple[str, str, str], ...]]] = {
    "TON": (TON, _TIMER),
    "TOF": (TOF, _TIMER),
    "TP": (TP, _TIMER),
    "R_TRIG": (R_TRIG, _TRIGGER),
    "F_TRIG": (F_TRIG, _TRIGGER),
    "SR": (SR, (("S1", "BOOL", "I"), ("R", "BOOL", "I"), ("Q1", "BOOL", "O"))),
    "RS": (RS, (("S", "BOOL", "I"), ("R1", "BOOL", "I"), ("Q1", "BOOL", "O"))),
    "CTU": (CTU, (("CU", "BOOL", "I"), ("R", "BOOL", "I"), ("PV", "INT", "I"),
                  ("Q", "BOOL", "O"), ("CV", "INT", "O"))),
    "CTD": (CTD, (("CD", "BOOL", "I"), ("LD", "BOOL", "I"), ("PV", "INT", "I"),
                  ("Q", "BOOL", "O"), ("CV", "INT", "O"))),
    "CTUD": (CTUD, (("CU", "BOOL", "I"), ("CD", "BOOL", "I"), ("R", "BOOL", "I"),
                    ("LD", "BOOL", "I"), ("PV", "INT", "I"), ("QU", "BOOL", "O"),
                    ("QD", "BOOL", "O"), ("CV", "INT", "O"))),
}  # fmt: skip


def namespace() -> dict[str, object]:
    """Globals for a freshly executed compiled program (helpers and standard FB classes)."""
    names: dict[str, object] = {
        name: value
        for name, value in globals().items()
        if name.startswith("_") and callable(value) and not name.startswith("__")
    }
    names.update({f"SFB_{name}": cls for name, (cls, _) in STANDARD_FBS.items()})
    names.update(
        {
            "_math": math,
            "_copy": copy.deepcopy,
            "_time_text": _time_text,
            "_real_text": _real_text,
        }
    )
    return names
