"""Workpieces: part variants (the catalogue) and the tracker that follows every part's journey.

A part's *journey* (spawned, beams passed, destination) is what scenario checks such as
``no_missort`` and the trace are built from, so it is recorded with virtual timestamps as the
plant runs rather than reconstructed afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from vcommission.errors import ConfigError

__all__ = ["Arrival", "Part", "PartEvent", "PartTracker", "PartVariant"]


@dataclass(frozen=True)
class PartVariant:
    """One kind of workpiece (``parts:`` in the model YAML). Boxes for now."""

    #: Outer size in metres, x (along the belt) by y by z (height).
    size: tuple[float, float, float]
    #: Mass in kg.
    mass: float = 1.0
    #: Coulomb friction coefficient against belts and other parts.
    friction: float = 0.5
    #: Display colour as RGBA 0..1 (used by viewers and reports).
    color: tuple[float, float, float, float] = (0.8, 0.6, 0.3, 1.0)

    def __post_init__(self) -> None:
        if any(not s > 0 for s in self.size):
            raise ConfigError(f"size={list(self.size)} must be > 0 in every axis")
        if not self.mass > 0:
            raise ConfigError(f"mass={self.mass} must be > 0")
        if self.friction < 0:
            raise ConfigError(f"friction={self.friction} must be >= 0")

    @property
    def half_extents(self) -> tuple[float, float, float]:
        return (self.size[0] / 2, self.size[1] / 2, self.size[2] / 2)


@dataclass(frozen=True)
class PartEvent:
    """Something that happened to a part: spawned, detected by a sensor, arrived in a sink."""

    #: Virtual time in nanoseconds.
    time_ns: int
    #: ``spawned``, ``detected``, ``arrived``, ``removed``, or ``gripped`` and ``released``
    #: by a tool.
    event: str
    #: Component that saw it.
    where: str


@dataclass(frozen=True)
class Arrival:
    """One part arriving in a sink: what a :class:`~.capabilities.PartSink` records."""

    time_ns: int
    part_id: int
    variant: str


@dataclass
class Part:
    """One workpiece in the world."""

    #: Sequential id, unique in a run (pybullet body ids are reused; these are not).
    id: int
    variant: str
    body: int
    spawned_ns: int
    journey: list[PartEvent] = field(default_factory=list)
    #: Sink the part arrived in, None while it is still travelling.
    destination: str | None = None
    #: False once the part's body has been removed from the world.
    alive: bool = True
    #: Name of the tool holding the part now (a gripper), None while free: sinks count a
    #: part once it is released inside them, not while it is carried through.
    held_by: str | None = None


class PartTracker:
    """All parts of one run, by id and by body.

    A scenario run keeps every part's record (its checks read them afterwards). A plant
    served for days would not: with ``retired_limit`` only that many of the parts already
    removed from the world are kept (the most recent), live parts always; :attr:`total`
    still counts every part ever made.
    """

    def __init__(self, retired_limit: int | None = None) -> None:
        self.parts: list[Part] = []
        self._by_body: dict[int, Part] = {}
        self.retired_limit = retired_limit
        #: Parts made over the tracker's life (ids are 1..total).
        self.total = 0
        self._retired = 0

    def add(self, variant: str, body: int, now_ns: int, where: str) -> Part:
        self.total += 1
        part = Part(self.total, variant, body, now_ns)
        part.journey.append(PartEvent(now_ns, "spawned", where))
        self.parts.append(part)
        self._by_body[body] = part
        return part

    def by_body(self, body: int) -> Part | None:
        """The live part whose body is ``body``, or None for machine bodies."""
        return self._by_body.get(body)

    def is_part(self, body: int) -> bool:
        """True if ``body`` is a live part (not a machine body)."""
        return body in self._by_body

    def retire(self, part: Part, now_ns: int, where: str) -> None:
        """Forget the part's body (it was removed from the world); keep its record."""
        part.alive = False
        part.journey.append(PartEvent(now_ns, "removed", where))
        self._by_body.pop(part.body, None)
        self._retired += 1
        limit = self.retired_limit
        if limit is not None and self._retired > 2 * limit:
            # Pruned in batches, so each retirement costs O(1) on average.
            retired = [p for p in self.parts if not p.alive]
            dropped = {id(p) for p in retired[: len(retired) - limit]}
            self.parts = [p for p in self.parts if id(p) not in dropped]
            self._retired = limit

    @property
    def alive(self) -> list[Part]:
        return [p for p in self.parts if p.alive]

    def __len__(self) -> int:
        return len(self.parts)
