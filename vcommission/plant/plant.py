"""A plant: one run of a model, with its world, components, process image and parts.

Importing this module does not import pybullet: the world (the one pybullet user) is
imported when a plant is first built, so code that only names :class:`Plant` (the CLI's
``check`` and ``io-list``, type hints) stays free of the physics engine.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol, TypeVar

from vcommission.errors import PlantError
from vcommission.plant.capabilities import PartSink
from vcommission.plant.component import Component, TickContext
from vcommission.plant.parts import PartTracker
from vcommission.plant.physics import PhysicsConfig
from vcommission.signals import ProcessImage, SignalTable

if TYPE_CHECKING:
    from vcommission.plant.world import World

__all__ = ["PhaseWrapper", "Plant", "PlantModel"]


class PlantModel(Protocol):
    """What a plant is built from: a validated model (``vcommission.config.Model``).

    A protocol, so the plant layer does not depend on the config layer that loads models.
    """

    table: SignalTable
    physics: PhysicsConfig
    seed: int

    def instantiate(self, seed: int) -> list[Component]:
        """Fresh component instances, seeded from ``seed``."""
        ...


#: ``wrapper(original, ctx)``: runs instead of a component's phase and may call the original.
PhaseWrapper = Callable[[Callable[[TickContext], None], TickContext], None]

T = TypeVar("T")


def _overrides(component: Component, method: str) -> bool:
    return getattr(type(component), method) is not getattr(Component, method)


class Plant:
    """The runtime side of a model (:class:`PlantModel`: a ``vcommission.config.Model``).

    Owns one :class:`World`; :meth:`reset` builds everything again from the model so a
    scenario always starts from power-on. Use as a context manager, or call :meth:`close`.
    """

    def __init__(self, model: PlantModel, seed: int | None = None) -> None:
        self.model = model
        self.seed = model.seed if seed is None else seed
        #: Records kept per event kind; None keeps all (see :meth:`bound_history`).
        self.history_limit: int | None = None
        self.image = ProcessImage(model.table)
        self.world: World | None = None
        self.reset()

    def reset(self, seed: int | None = None) -> None:
        """Power-on: a fresh world, fresh component state, default signal values."""
        if seed is not None:
            self.seed = seed
        from vcommission.plant.world import World  # pybullet, on first build only

        if self.world is not None:
            self.world.close()
        self.world = World(self.model.physics)
        self.parts = PartTracker(self.history_limit)
        try:
            self.components: list[Component] = self.model.instantiate(self.seed)
            self.by_name = {c.name: c for c in self.components}
            self._bound_sinks()
            for component in self.components:
                component.build(self.world)
            for component in self.components:
                if _overrides(component, "attach"):
                    component.attach(self.world)
        except BaseException:
            self.close()  # do not leak the physics client of a half-built plant
            raise
        #: (component name, phase) -> wrappers, innermost first (see :meth:`wrap`).
        self._wrappers: dict[tuple[str, str], list[PhaseWrapper]] = {}
        self._schedule()
        self.image.reset()
        #: The context every tick reuses (the simulator sets ``now_ns``).
        self.tick = self.context(0)
        # Sense once so outputs (end switches, healthy circuits) are right before tick 0.
        self.sense(self.tick)
        self.image.commit()

    def bound_history(self, limit: int | None) -> None:
        """Keep at most ``limit`` records of each per-event kind (None: keep all).

        For a plant that runs for days (``serve``): retired parts and bin arrivals keep
        only the most recent ``limit``; counts and signals stay exact. A scenario run keeps
        everything, since its checks read the records afterwards.
        """
        self.history_limit = limit
        self.parts.retired_limit = limit
        self._bound_sinks()

    def _bound_sinks(self) -> None:
        for sink in self.having(PartSink):
            if hasattr(sink, "arrivals_limit"):
                sink.arrivals_limit = self.history_limit
                kept = sink.arrivals
                sink.arrivals = (
                    list(kept) if self.history_limit is None else deque(kept, self.history_limit)
                )

    def _schedule(self) -> None:
        # Per-tick loops call only the components that do something in that phase.
        self._updaters = [
            self._phase(c, "update")
            for c in self.components
            if _overrides(c, "update") or (c.name, "update") in self._wrappers
        ]
        self._sensors = [
            self._phase(c, "sense")
            for c in self.components
            if _overrides(c, "sense") or (c.name, "sense") in self._wrappers
        ]

    def _phase(self, component: Component, phase: str) -> Callable[[TickContext], None]:
        call: Callable[[TickContext], None] = getattr(component, phase)
        for wrapper in self._wrappers.get((component.name, phase), []):
            call = functools.partial(wrapper, call)
        return call

    def wrap(self, name: str, phase: str, wrapper: PhaseWrapper) -> Callable[[], None]:
        """Route a component's ``update`` or ``sense`` through ``wrapper(original, ctx)``.

        This is how faults attach without touching component code: a stuck sensor wraps
        ``sense`` and overwrites the output it computed; a slow actuator wraps ``update``.
        Wrappers nest (the latest outermost) and last until :meth:`reset` or the returned
        undo is called.
        """
        if phase not in ("update", "sense"):
            raise PlantError(f"phase must be 'update' or 'sense', not {phase!r}")
        if name not in self.by_name:
            raise PlantError(f"no component {name!r}")
        self._wrappers.setdefault((name, phase), []).append(wrapper)
        self._schedule()

        def undo() -> None:
            wrappers = self._wrappers.get((name, phase), [])
            if wrapper in wrappers:
                wrappers.remove(wrapper)
                if not wrappers:
                    del self._wrappers[(name, phase)]
                self._schedule()

        return undo

    def component(self, name: str) -> Component:
        return self.by_name[name]

    def find(self, name: str, capability: type[T]) -> T | None:
        """The component ``name`` if it has ``capability`` (a protocol or class), else None.

        ``plant.find("bin_tall", PartSink)``: scenario code asks for what it needs, not for
        a concrete kind.
        """
        component = self.by_name.get(name)
        return component if isinstance(component, capability) else None

    def having(self, capability: type[T]) -> list[T]:
        """Every component with ``capability`` (a protocol or class), in model order."""
        return [c for c in self.components if isinstance(c, capability)]

    def context(self, now_ns: int) -> TickContext:
        assert self.world is not None
        return TickContext(
            now_ns, self.model.physics.tick_ns, self.image.values, self.world, self.parts
        )

    def update(self, ctx: TickContext) -> None:
        """Every component commands its actuators from its inputs (before physics)."""
        for update in self._updaters:
            update(ctx)

    def sense(self, ctx: TickContext) -> None:
        """Cast all beams once, then every component computes its outputs (after physics)."""
        ctx.world.cast_rays()
        for sense in self._sensors:
            sense(ctx)

    def close(self) -> None:
        if self.world is not None:
            self.world.close()
            self.world = None

    def __enter__(self) -> Plant:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
