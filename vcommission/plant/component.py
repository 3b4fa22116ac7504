"""Component base class: declared typed ports, build into a world, update and sense per tick.

A component declares its ports in ``__init__`` (``self.run = self.declare_input("run",
SignalType.BOOL)``), creates its bodies in :meth:`Component.build`, and takes part in every
tick twice: :meth:`Component.update` before physics (read input ports, command actuators)
and :meth:`Component.sense` after physics (compute output ports). Port values live in the
plant's process image; each port knows its index there once the plant has wired it, so the
per-tick code is plain list indexing.

Per-run state (positions, timers, counters) is created in :meth:`Component.build` and
reset by building again; a unit test can build one component into a bare
:class:`~vcommission.plant.world.World`, set input values in a list and step it.

A component records the bodies it builds with :meth:`Component.own` and reports them with
:meth:`Component.bodies`, in named groups of static and moving bodies, so checks measure
them without knowing the kind. What else a component can do (hold parts, drop parts, be
slowed, carry a gripper, be stopped by a safety relay) it says by implementing the protocols
of :mod:`vcommission.plant.capabilities`.

A component that works with another one (a gripper on a robot's flange, a safety relay
stopping robots, a teach point relative to a fixture) names it in its parameters and
resolves the name in :meth:`Component.connect`, which the model loader also calls, so a bad
reference is a located load error. Anything that needs the other's *bodies* (a constraint to
a flange link) is done in :meth:`Component.attach`, after every component is built. Files a
kind reads (a robot's URDF) resolve against :attr:`Component.base_dir`, the model file's
directory.
:func:`vcommission.plant.checker.check_component` tells whether a kind keeps these rules.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from vcommission.errors import PlantError
from vcommission.plant.capabilities import BodyGroup
from vcommission.signals import SignalType, Value

if TYPE_CHECKING:
    from vcommission.plant.parts import PartTracker, PartVariant
    from vcommission.plant.world import World

__all__ = ["Component", "NoParams", "Port", "PortKind", "TickContext"]


class PortKind(str, Enum):
    """Which way a port's value flows."""

    #: Read by the component: actuator commands, setpoints.
    INPUT = "input"
    #: Written by the component: sensor readings, counts.
    OUTPUT = "output"
    #: Written by a person: a button being pressed, a door being opened.
    OPERATOR = "operator"


@dataclass(eq=False)
class Port:
    """A typed connection point of a component."""

    component: str
    name: str
    type: SignalType
    kind: PortKind
    unit: str = ""
    default: Value = False
    description: str = ""
    #: Position of the wired signal in the process image; set by the plant.
    index: int = -1

    @property
    def path(self) -> str:
        """``component.port``: the name of the auto-created signal when the port is unwired."""
        return f"{self.component}.{self.name}"


@dataclass(frozen=True)
class NoParams:
    """Parameters of a component kind that takes none."""


@dataclass
class TickContext:
    """What a component sees during a tick."""

    #: Virtual time at the *start* of the tick, nanoseconds.
    now_ns: int
    #: Tick length, nanoseconds.
    dt_ns: int
    #: The process image's working buffer, indexed by ``Port.index``.
    values: list[Value]
    world: World
    parts: PartTracker

    @property
    def dt(self) -> float:
        """Tick length in seconds (physics code works in SI units)."""
        return self.dt_ns * 1e-9


class Component:
    """Base of every plant component kind; subclasses register under a ``kind`` name."""

    #: Parameters dataclass of this kind, loaded strictly from the model YAML.
    Params: ClassVar[type] = NoParams
    #: Smallest valid parameters as the YAML writes them (required keys only): the component
    #: catalogue (``vcommission kinds``) builds an instance from them to list the ports.
    example: ClassVar[Mapping[str, Any]] = {}
    #: Kind name used in YAML; set by subclasses.
    kind: ClassVar[str] = ""
    #: True when the operator input springs back on release (a push button), False when it
    #: stays where the person left it (an e-stop, a door). HMIs press the first, toggle the second.
    momentary: ClassVar[bool] = False

    def __init__(
        self,
        name: str,
        params: Any = None,
        variants: Mapping[str, PartVariant] | None = None,
        seed: int = 0,
        base_dir: str | None = None,
    ) -> None:
        self.name = name
        #: Directory of the model file (None when built without one): relative file
        #: parameters (a URDF) resolve against it.
        self.base_dir = base_dir
        self.params = params if params is not None else self.Params()
        self.variants: Mapping[str, PartVariant] = variants or {}
        self.ports: dict[str, Port] = {}
        # Per-component stream from the plant seed and the component's name, so adding a
        # component never changes the random draws of another.
        self.rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        self._seed = seed
        self._bodies: dict[str, BodyGroup] = {}

    # -- declaring ports ------------------------------------------------------------------

    def _declare(self, name: str, type_: SignalType, kind: PortKind, **extra: Any) -> Port:
        if name in self.ports:
            raise PlantError(f"{self.name}: port {name!r} declared twice")
        default = extra.pop("default", 0.0 if type_.is_float else (False if type_.is_bool else 0))
        port = Port(self.name, name, type_, kind, default=default, **extra)
        self.ports[name] = port
        return port

    def declare_input(self, name: str, type_: SignalType, **extra: Any) -> Port:
        return self._declare(name, type_, PortKind.INPUT, **extra)

    def declare_output(self, name: str, type_: SignalType, **extra: Any) -> Port:
        return self._declare(name, type_, PortKind.OUTPUT, **extra)

    def declare_operator(self, name: str, type_: SignalType, **extra: Any) -> Port:
        return self._declare(name, type_, PortKind.OPERATOR, **extra)

    # -- lifecycle --------------------------------------------------------------------------

    def connect(self, peers: Mapping[str, Component]) -> None:
        """Resolve the other components this one names in its parameters. Default: none.

        Called once every component of the model is instantiated and wired (ports have
        their indices), before any is built: by the model loader, so that a bad reference
        is reported at its place in the file, and again for every plant run. Look names up
        in ``peers`` and check their capabilities here; keep the objects, not their bodies
        (those come with :meth:`build`). Raise
        ``ConfigError(message, path=("mount",))`` for a bad reference: the path is relative
        to this component's entry in the model file.
        """

    def build(self, world: World) -> None:
        """Create bodies and fresh per-run state. Default: nothing physical.

        Subclasses call this first: it restarts the random stream and forgets the bodies
        of the previous build (they went with the previous world).
        """
        self.rng = np.random.default_rng([self._seed, zlib.crc32(self.name.encode())])
        self._bodies = {}

    def attach(self, world: World) -> None:
        """After every component of the plant is built: join bodies of different components.

        Default: nothing. E.g. a gripper creates its body at its mount's flange here, since
        the robot it is mounted on may come after it in the model file.
        """

    # -- bodies -----------------------------------------------------------------------------

    def own(self, group: str, *, static: Iterable[int] = (), moving: Iterable[int] = ()) -> None:
        """Record bodies this component built (pybullet body ids) under ``group``.

        Called from :meth:`build`; adding to a group again extends it. Workpieces are not
        a component's own: a spawner does not record the parts it drops.
        """
        old = self._bodies.get(group, BodyGroup())
        self._bodies[group] = BodyGroup(
            old.static + tuple(int(b) for b in static),
            old.moving + tuple(int(b) for b in moving),
        )

    def bodies(self) -> Mapping[str, BodyGroup]:
        """The bodies this component built, in named groups (empty when it has none).

        E.g. a belt conveyor: ``surface`` (moving: the transport surface) and ``guides``
        (static rails); a sink: ``bin`` (static floor and walls); a cylinder: ``plate``.
        Valid until the next :meth:`build`.
        """
        return self._bodies

    def update(self, ctx: TickContext) -> None:
        """Before physics: read input ports and command actuators. Default: nothing."""

    def sense(self, ctx: TickContext) -> None:
        """After physics: compute output ports. Default: nothing."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"
