"""IEC 61131-3 data types as the checker sees them, and how each maps to a Python value.

Values at run time: BOOL is ``bool``; integers and bit strings are ``int`` kept inside the
type's range (arithmetic wraps at the type width); REAL and LREAL are ``float`` (REAL is
rounded to single precision when stored); TIME is ``int`` nanoseconds; STRING is ``str``;
enumerations are ``int``; arrays are ``list``; structures and function block instances are
objects of generated classes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "ANY_INT",
    "ANY_REAL",
    "ELEMENTARY",
    "ERROR",
    "ArrayType",
    "DataType",
    "ElementaryType",
    "EnumType",
    "FbType",
    "LiteralType",
    "StringType",
    "StructType",
    "common_type",
    "implicitly_converts",
    "wrap_value",
]


class DataType:
    """Base of every type; ``name`` (each subclass has one) is what error messages show."""

    name: str

    @property
    def is_bool(self) -> bool:
        return False

    @property
    def is_integer(self) -> bool:
        return False

    @property
    def is_real(self) -> bool:
        return False

    @property
    def is_numeric(self) -> bool:
        return self.is_integer or self.is_real

    @property
    def is_bits(self) -> bool:
        return False

    @property
    def is_time(self) -> bool:
        return False

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True, eq=False)
class ElementaryType(DataType):
    name: str
    #: ``bool``, ``int`` (signed or unsigned), ``bits`` (BYTE..LWORD), ``real``, ``time``.
    kind: str
    bits: int = 0
    signed: bool = False

    @property
    def is_bool(self) -> bool:
        return self.kind == "bool"

    @property
    def is_integer(self) -> bool:
        return self.kind in ("int", "bits")

    @property
    def is_bits(self) -> bool:
        return self.kind == "bits"

    @property
    def is_real(self) -> bool:
        return self.kind == "real"

    @property
    def is_time(self) -> bool:
        return self.kind == "time"

    @property
    def low(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def high(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


def _elementary() -> dict[str, ElementaryType]:
    types = [ElementaryType("BOOL", "bool", 1)]
    for bits, signed_name, unsigned_name, bits_name in (
        (8, "SINT", "USINT", "BYTE"),
        (16, "INT", "UINT", "WORD"),
        (32, "DINT", "UDINT", "DWORD"),
        (64, "LINT", "ULINT", "LWORD"),
    ):
        types.append(ElementaryType(signed_name, "int", bits, signed=True))
        types.append(ElementaryType(unsigned_name, "int", bits))
        types.append(ElementaryType(bits_name, "bits", bits))
    types += [
        ElementaryType("REAL", "real", 32, signed=True),
        ElementaryType("LREAL", "real", 64, signed=True),
        # TIME counts nanoseconds in 64 bits, as LTIME does; a 32-bit millisecond TIME
        # would overflow after 24 days of virtual time.
        ElementaryType("TIME", "time", 64, signed=True),
        ElementaryType("LTIME", "time", 64, signed=True),
    ]
    return {t.name: t for t in types}


#: The elementary types by upper-case name (STRING is :class:`StringType`).
ELEMENTARY: dict[str, ElementaryType] = _elementary()
BOOL = ELEMENTARY["BOOL"]
TIME = ELEMENTARY["TIME"]
REAL = ELEMENTARY["REAL"]
LREAL = ELEMENTARY["LREAL"]
DINT = ELEMENTARY["DINT"]


class LiteralType(DataType):
    """Type of an untyped literal (``5``, ``2.5``): it takes its type from where it is used."""

    def __init__(self, name: str, kind: str) -> None:
        self.name = name
        self.kind = kind

    @property
    def is_integer(self) -> bool:
        return self.kind == "int"

    @property
    def is_real(self) -> bool:
        return self.kind == "real"


#: An integer literal (``5``) before it meets a type.
ANY_INT = LiteralType("integer literal", "int")
#: A real literal (``2.5``) before it meets a type.
ANY_REAL = LiteralType("real literal", "real")
#: The type of an expression already reported as wrong: it raises no further error.
ERROR = ElementaryType("<error>", "error")


@dataclass(frozen=True, eq=False)
class StringType(DataType):
    length: int = 80

    @property
    def name(self) -> str:  # type: ignore[override]
        return "STRING" if self.length == 80 else f"STRING[{self.length}]"


@dataclass(frozen=True, eq=False)
class ArrayType(DataType):
    element: DataType
    #: (low, high) bounds per dimension, inclusive.
    dims: tuple[tuple[int, int], ...]

    @property
    def name(self) -> str:  # type: ignore[override]
        bounds = ", ".join(f"{lo}..{hi}" for lo, hi in self.dims)
        return f"ARRAY[{bounds}] OF {self.element}"


@dataclass(eq=False)
class StructType(DataType):
    name: str
    #: Field name (lower case) -> (spelling, type).
    fields: dict[str, tuple[str, DataType]] = field(default_factory=dict)
    #: Python class name of the generated structure class.
    py_class: str = ""


@dataclass(eq=False)
class EnumType(DataType):
    name: str
    #: Value name (lower case) -> (spelling, integer).
    values: dict[str, tuple[str, int]] = field(default_factory=dict)
    default: int = 0

    def spelling(self, value: int) -> str:
        for text, number in self.values.values():
            if number == value:
                return text
        return str(value)


@dataclass(eq=False)
class FbType(DataType):
    """A function block type: its interface, for calls and ``instance.output`` access."""

    name: str
    #: Parameter name (lower case) -> (spelling, type, section): section is ``VAR_INPUT``,
    #: ``VAR_OUTPUT``, ``VAR_IN_OUT`` or ``VAR`` (internal, not accessible from outside).
    members: dict[str, tuple[str, DataType, str]] = field(default_factory=dict)
    #: Python class name (a generated class, or a standard FB of the runtime).
    py_class: str = ""
    standard: bool = False

    def inputs(self) -> list[str]:
        return [k for k, (_, _, s) in self.members.items() if s in ("VAR_INPUT", "VAR_IN_OUT")]


# IEC 61131-3 3rd edition, figure 11: the implicit (widening) conversions.
_WIDENS_TO: dict[str, tuple[str, ...]] = {
    "SINT": ("INT", "DINT", "LINT", "REAL", "LREAL"),
    "INT": ("DINT", "LINT", "REAL", "LREAL"),
    "DINT": ("LINT", "LREAL"),
    "USINT": ("UINT", "UDINT", "ULINT", "INT", "DINT", "LINT", "REAL", "LREAL"),
    "UINT": ("UDINT", "ULINT", "DINT", "LINT", "REAL", "LREAL"),
    "UDINT": ("ULINT", "LINT", "LREAL"),
    "REAL": ("LREAL",),
    "BYTE": ("WORD", "DWORD", "LWORD"),
    "WORD": ("DWORD", "LWORD"),
    "DWORD": ("LWORD",),
    "TIME": ("LTIME",),
}
# Smallest first: where two types meet.
_ORDER = [
    "SINT", "USINT", "BYTE", "INT", "UINT", "WORD", "DINT", "UDINT", "DWORD",
    "REAL", "LINT", "ULINT", "LWORD", "LREAL", "TIME", "LTIME",
]  # fmt: skip


def implicitly_converts(source: DataType, target: DataType) -> bool:
    """True when a ``source`` value may be used where ``target`` is expected without a *_TO_*."""
    if source is target:
        return True
    if isinstance(source, StringType) and isinstance(target, StringType):
        return True
    if isinstance(source, ElementaryType) and isinstance(target, ElementaryType):
        return target.name in _WIDENS_TO.get(source.name, ())
    return False


def common_type(a: DataType, b: DataType) -> DataType | None:
    """The smallest type both convert to implicitly (for ``a + b``, ``a = b``), or None."""
    if implicitly_converts(a, b):
        return b
    if implicitly_converts(b, a):
        return a
    for name in _ORDER:
        candidate = ELEMENTARY[name]
        if implicitly_converts(a, candidate) and implicitly_converts(b, candidate):
            return candidate
    return None


def wrap_value(value: int, t: DataType) -> int:
    """``value`` wrapped into the range of integer type ``t`` (two's complement)."""
    if not isinstance(t, ElementaryType) or t.kind not in ("int", "bits", "time"):
        return value
    mask = (1 << t.bits) - 1
    if t.signed:
        half = 1 << (t.bits - 1)
        return ((value + half) & mask) - half
    return value & mask
