"""Part spawner: drops workpieces of a seeded variant mix onto the line while enabled."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vcommission.clock import s_to_ns
from vcommission.errors import ConfigError, PlantError
from vcommission.plant.component import Component, TickContext
from vcommission.plant.parts import Part
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["PartSpawner", "PartSpawnerParams", "SpawnRequest"]


@dataclass
class SpawnRequest:
    """Parts a scenario asked a spawner for (a ``spawn`` step), and how far it got.

    A part is dropped once it is due and the drop zone is clear of parts; while one waits,
    :attr:`waiting_since_ns` says since when and :attr:`blocked_by` which part is in the way.
    A drop zone inside the machine (a static body, a belt) or below the floor can never take
    a part: the request is given up with :attr:`refused` saying why.
    """

    spawner: str
    variant: str
    count: int
    interval_ns: int
    #: When the next part is due, virtual ns.
    due_ns: int
    placed: int = 0
    #: Since when the part due has waited for a clear drop zone (None: it is not waiting).
    waiting_since_ns: int | None = None
    #: The part (its run id) that was in the drop zone when it was last found occupied.
    blocked_by: int | None = None
    #: Why no part of this request can be placed (then none more are tried).
    refused: str | None = None
    #: The machine bodies the drop zone overlaps, when :attr:`refused` (pybullet body ids).
    inside: tuple[int, ...] = ()
    #: What asked for the parts, in words (the scenario step), for reports.
    step: str = ""

    @property
    def remaining(self) -> int:
        """Parts asked for and not placed (yet)."""
        return self.count - self.placed


@dataclass(frozen=True)
class PartSpawnerParams:
    """Parameters of a ``spawner``."""

    #: Where parts appear: centre of the part's bottom face (x, y, z), metres.
    position: tuple[float, float, float]
    #: Shortest time between two parts, seconds.
    interval: float
    #: Variant weights, e.g. ``{small: 1, tall: 1}``; drawn from the seeded stream.
    mix: dict[str, float] = field(default_factory=dict)
    #: Do not drop a part while the drop zone is still occupied (as a real infeed waits).
    wait_until_clear: bool = True

    def __post_init__(self) -> None:
        if not self.interval > 0:
            raise ConfigError(f"interval={self.interval} must be > 0")
        if not self.mix:
            raise ConfigError("mix must name at least one part variant")
        if any(w < 0 for w in self.mix.values()) or not sum(self.mix.values()) > 0:
            raise ConfigError(f"mix weights {dict(self.mix)} must be >= 0 with a positive sum")


class PartSpawner(Component):
    """Creates parts at most once per ``interval`` while ``enable`` is TRUE.

    A part comes as soon as ``enable`` is TRUE, at least ``interval`` has passed since the
    previous one (so the very first comes at once), and the drop zone is clear. Variants are
    drawn from the component's own seeded stream, so their sequence depends only on the seed.

    Ports:
        enable (input BOOL): spawning allowed.
        count (output DINT): parts spawned so far.

    No bodies of its own (the parts it drops are workpieces). A
    :class:`~vcommission.plant.capabilities.PartSource`.
    """

    kind = "spawner"
    example = {"position": [0.2, 0.0, 0.8], "interval": 3.0, "mix": {"<variant>": 1}}
    Params = PartSpawnerParams

    def __init__(self, name: str, params: PartSpawnerParams, **kwargs: object) -> None:
        super().__init__(name, params, **kwargs)
        unknown = sorted(set(self.params.mix) - set(self.variants))
        if unknown:
            known = ", ".join(sorted(self.variants)) or "none defined"
            raise ConfigError(f"mix names unknown part variants {unknown}; parts: {known}")
        self.enable = self.declare_input("enable", SignalType.BOOL, description="spawning allowed")
        self.count = self.declare_output("count", SignalType.DINT, description="parts spawned")
        names = sorted(self.params.mix)
        total = sum(self.params.mix[n] for n in names)
        self._names = names
        self._weights = [self.params.mix[n] / total for n in names]
        self._interval_ns = s_to_ns(self.params.interval)
        # The drop zone is the footprint of the largest variant, a little above the drop point.
        sx = max(self.variants[n].size[0] for n in names)
        sy = max(self.variants[n].size[1] for n in names)
        sz = max(self.variants[n].size[2] for n in names)
        x, y, z = self.params.position
        self._zone = ((x - sx / 2, y - sy / 2, z + 0.01), (x + sx / 2, y + sy / 2, z + sz))

    def build(self, world: World) -> None:
        super().build(world)
        self._last_ns: int | None = None
        self._spawned = 0
        #: Parts a scenario asked for, served in order; a finished one leaves the queue.
        self._requests: list[SpawnRequest] = []

    def request(self, variant: str, count: int, interval_ns: int, now_ns: int) -> SpawnRequest:
        """Drop ``count`` parts of ``variant`` ``interval_ns`` apart, whatever ``enable`` says.

        As a person putting boxes on the belt would: each waits for a clear drop zone. The
        returned request says how many were placed, and what kept the others back.
        """
        if variant not in self.variants:
            known = ", ".join(sorted(self.variants))
            raise PlantError(f"{self.name}: unknown part variant {variant!r} ({known})")
        request = SpawnRequest(self.name, variant, count, interval_ns, now_ns)
        self._requests.append(request)
        return request

    def zone_clear(self, ctx: TickContext) -> bool:
        return not ctx.world.overlapping(*self._zone, ctx.parts.is_part)

    def _in_the_way(self, ctx: TickContext) -> list[int]:
        """Machine bodies in the drop zone that will never leave it (not parts, not movers)."""
        world = ctx.world
        travelling = set(world.urdfs)
        for driven in world.kinematic:
            if getattr(driven, "surface", True) is False:  # a plate, a tool: it moves on
                travelling.add(driven.body)
            for entry in getattr(driven, "bodies", ()):  # a tool driver's bodies
                travelling.add(entry[0].body)
        return world.overlapping(
            *self._zone,
            lambda body: (
                body != world.ground and not ctx.parts.is_part(body) and body not in travelling
            ),
        )

    def spawn(self, ctx: TickContext, variant: str | None = None) -> Part:
        """Create one part now (a scenario may call this directly); returns it."""
        if variant is None:
            variant = self._names[int(self.rng.choice(len(self._names), p=self._weights))]
        body = ctx.world.add_part(self.variants[variant], tuple(self.params.position))
        self._last_ns = ctx.now_ns
        self._spawned += 1
        return ctx.parts.add(variant, body, ctx.now_ns, self.name)

    def update(self, ctx: TickContext) -> None:
        if self._requests:
            self._serve_request(ctx)
        if not ctx.values[self.enable.index]:
            return
        if self._last_ns is not None and ctx.now_ns - self._last_ns < self._interval_ns:
            return
        if self.params.wait_until_clear and not self.zone_clear(ctx):
            return
        self.spawn(ctx)

    def _serve_request(self, ctx: TickContext) -> None:
        request = self._requests[0]
        if ctx.now_ns < request.due_ns:
            return
        if request.placed == 0 and request.waiting_since_ns is None:
            inside = self._in_the_way(ctx)
            if inside or self.params.position[2] < 0:
                request.inside = tuple(sorted(inside))
                request.refused = "inside the machine" if inside else "below the floor"
                self._requests.pop(0)
                return
        occupying = ctx.world.overlapping(*self._zone, ctx.parts.is_part)
        if occupying:
            if request.waiting_since_ns is None:
                request.waiting_since_ns = ctx.now_ns
            part = ctx.parts.by_body(occupying[0])
            request.blocked_by = part.id if part is not None else None
            return
        request.waiting_since_ns = None
        self.spawn(ctx, request.variant)
        request.placed += 1
        request.due_ns = ctx.now_ns + request.interval_ns
        if request.remaining == 0:
            self._requests.pop(0)

    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.count.index] = self._spawned
