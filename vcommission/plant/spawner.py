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

__all__ = ["PartSpawner", "PartSpawnerParams"]


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
        #: Parts a scenario asked for: [variant, how many more, interval ns, next due ns].
        self._requests: list[list] = []

    def request(self, variant: str, count: int, interval_ns: int, now_ns: int) -> None:
        """Drop ``count`` parts of ``variant`` ``interval_ns`` apart, whatever ``enable`` says.

        As a person putting boxes on the belt would: each waits for a clear drop zone.
        """
        if variant not in self.variants:
            known = ", ".join(sorted(self.variants))
            raise PlantError(f"{self.name}: unknown part variant {variant!r} ({known})")
        self._requests.append([variant, count, interval_ns, now_ns])

    def zone_clear(self, ctx: TickContext) -> bool:
        return not ctx.world.overlapping(*self._zone, ctx.parts.is_part)

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
        variant, _, interval_ns, due_ns = request
        if ctx.now_ns < due_ns or not self.zone_clear(ctx):
            return
        self.spawn(ctx, variant)
        request[1] -= 1
        request[3] = ctx.now_ns + interval_ns
        if request[1] == 0:
            self._requests.pop(0)

    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.count.index] = self._spawned
