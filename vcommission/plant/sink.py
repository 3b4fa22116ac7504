"""Sink / bin: an open box that records every part arriving in it, by variant."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from vcommission.clock import s_to_ns
from vcommission.errors import ConfigError
from vcommission.plant.component import Component, TickContext
from vcommission.plant.parts import Arrival, Part, PartEvent, PartTracker
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["Arrival", "Sink", "SinkParams"]

#: Distance kept between the arrival volume and the bin's walls and floor, metres.
_AABB_CLEARANCE = 0.03


@dataclass(frozen=True)
class SinkParams:
    """Parameters of a ``sink`` (a bin)."""

    #: Centre of the bin floor's top surface (x, y, z), metres.
    position: tuple[float, float, float]
    #: Inner size (x, y, wall height), metres.
    size: tuple[float, float, float]
    #: Wall thickness, metres.
    wall: float = 0.02
    #: Remove a part's body this many seconds after it arrived, keeping its record (the
    #: pile in a bin does not matter to the PLC and costs physics time); null keeps bodies.
    remove_after: float | None = 1.0

    def __post_init__(self) -> None:
        if any(not s > 0 for s in self.size) or not self.wall > 0:
            raise ConfigError(f"size={list(self.size)} and wall={self.wall} must be > 0")
        if self.remove_after is not None and self.remove_after < 0:
            raise ConfigError(f"remove_after={self.remove_after} must be >= 0 or null")


class Sink(Component):
    """A bin: counts each part whose bounding box enters its inner volume, once.

    Ports:
        count (output DINT): parts arrived.
        count_<variant> (output DINT): parts of each variant of the model's catalogue.

    Bodies: ``bin`` (static floor and walls). A :class:`~vcommission.plant.capabilities.PartSink`.
    """

    kind = "sink"
    example = {"position": [2.5, 0.62, 0.2], "size": [0.8, 0.7, 0.45]}
    Params = SinkParams

    #: Arrivals kept (the most recent), or None for all; see :meth:`Plant.bound_history`.
    arrivals_limit: int | None = None

    def __init__(self, name: str, params: SinkParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        self.count = self.declare_output("count", SignalType.DINT, description="parts arrived")
        self.count_by_variant = {
            variant: self.declare_output(
                f"count_{variant}", SignalType.DINT, description=f"{variant} parts arrived"
            )
            for variant in self.variants
        }
        x, y, z = self.params.position
        sx, sy, sz = self.params.size
        # Keep the query volume clear of the bin's own walls and floor (their bounding boxes
        # carry a collision margin), so the broadphase answers with parts only.
        inset = min(_AABB_CLEARANCE, sx / 4, sy / 4, sz / 4)
        self.low = (x - sx / 2 + inset, y - sy / 2 + inset, z + inset)
        self.high = (x + sx / 2 - inset, y + sy / 2 - inset, z + sz)
        self._remove_after_ns = (
            None if self.params.remove_after is None else s_to_ns(self.params.remove_after)
        )
        self.arrivals: list[Arrival] = []

    def build(self, world: World) -> None:
        super().build(world)
        (x, y, z), (sx, sy, sz), w = self.params.position, self.params.size, self.params.wall
        walls = [world.add_box((sx / 2 + w, sy / 2 + w, w / 2), (x, y, z - w / 2))]
        for sign in (-1, 1):
            walls.append(
                world.add_box(
                    (w / 2, sy / 2 + w, sz / 2), (x + sign * (sx / 2 + w / 2), y, z + sz / 2)
                )
            )
            walls.append(
                world.add_box((sx / 2, w / 2, sz / 2), (x, y + sign * (sy / 2 + w / 2), z + sz / 2))
            )
        self.own("bin", static=walls)
        self.arrivals: list[Arrival] | deque[Arrival] = (
            [] if self.arrivals_limit is None else deque(maxlen=self.arrivals_limit)
        )
        #: Parts arrived over the bin's life (``arrivals`` may keep only the latest).
        self.arrived = 0
        self._to_remove: list[tuple[int, Part]] = []
        self._counts = dict.fromkeys(self.variants, 0)

    @staticmethod
    def _uncounted(parts: PartTracker) -> Callable[[int], bool]:
        def uncounted(body: int) -> bool:
            part = parts.by_body(body)
            return part is not None and part.destination is None and part.held_by is None

        return uncounted

    def sense(self, ctx: TickContext) -> None:
        parts = ctx.parts
        now = ctx.now_ns + ctx.dt_ns
        arrived_before = self.arrived
        for body in ctx.world.overlapping(self.low, self.high, self._uncounted(parts)):
            part = parts.by_body(body)
            part.destination = self.name
            part.journey.append(PartEvent(now, "arrived", self.name))
            self.arrivals.append(Arrival(now, part.id, part.variant))
            self.arrived += 1
            self._counts[part.variant] += 1
            if self._remove_after_ns is not None:
                self._to_remove.append((now + self._remove_after_ns, part))
        while self._to_remove and self._to_remove[0][0] <= now:
            _, part = self._to_remove.pop(0)
            ctx.world.remove_body(part.body)
            parts.retire(part, now, self.name)
        if self.arrived != arrived_before:
            values = ctx.values
            values[self.count.index] = self.arrived
            for variant, port in self.count_by_variant.items():
                values[port.index] = self._counts[variant]
