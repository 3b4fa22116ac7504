"""Plant model files: schema, strict loading and cross-checks into an immutable :class:`Model`.

A model file (``plant_models/<name>/model.yaml``) has these sections::

    name: sorting_line
    seed: 1                      # default seed of the plant's random streams
    physics: {tick: 0.01, substeps: 2}
    parts:                       # workpiece variants
      small: {size: [0.2, 0.2, 0.10], mass: 1.0}
    components:                  # each: kind + that kind's parameters
      belt: {kind: belt_conveyor, start: [0, 0, 0.8], length: 4.0, width: 0.5}
    signals:                     # PLC-facing tags: the I/O list
      conveyor_run: {port: belt.run, type: BOOL, direction: to_plant, modbus: coil 0}

Every component port is a signal. A port named under ``signals:`` takes that tag name, its
address and description; every other port gets an automatic signal ``component.port``
(``internal``, or ``operator`` for things a person operates), which scenarios and checks
can read and write. Everything wrong in a file is reported at once, each with file, line
and YAML path.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vcommission.addressing import (
    ModbusAddress,
    ModbusTable,
    Scaling,
    WordOrder,
    opcua_node_id,
)
from vcommission.config.yamlload import Document, build, load_document, mapping_entries
from vcommission.errors import ConfigError, RegistryError, SignalError
from vcommission.plant import registry
from vcommission.plant.component import Component, Port, PortKind
from vcommission.plant.parts import PartVariant
from vcommission.plant.physics import PhysicsConfig
from vcommission.signals import Direction, Signal, SignalTable, SignalType, Value, is_identifier
from vcommission.watchdog import WatchdogConfig

__all__ = [
    "ComponentSpec",
    "IoRow",
    "ModbusOptions",
    "Model",
    "SignalSpec",
    "find_models",
    "load_model",
]

MODEL_FILE = "model.yaml"


@dataclass(frozen=True)
class SignalSpec:
    """One entry of ``signals:``: a tag wired to a component port."""

    #: ``component.port`` the tag is wired to; a list lets one PLC output drive several inputs.
    port: str | list[str]
    #: Expected type; checked against the port (derived from the port when omitted).
    type: SignalType | None = None
    #: Expected direction; checked against the port (derived from the port when omitted).
    direction: Direction | None = None
    #: Modbus table and 0-based address, e.g. ``DI 0``; assigned in declaration order when omitted.
    modbus: ModbusAddress | None = None
    #: Engineering unit; defaults to the port's.
    unit: str | None = None
    #: Power-on value; defaults to the port's.
    default: bool | int | float | None = None
    #: Inclusive engineering range [min, max]; writes outside it are refused.
    range: tuple[float, float] | None = None
    #: One line for the I/O list.
    description: str = ""
    #: Modbus integer scaling of a number: ``raw = value * scale + offset`` on the wire.
    scale: float | None = None
    #: Offset of the scaling (only with ``scale``).
    offset: float = 0.0
    #: Integer type of the scaled raw value on the wire (only with ``scale``).
    raw_type: SignalType = SignalType.INT

    @property
    def ports(self) -> list[str]:
        return [self.port] if isinstance(self.port, str) else list(self.port)


@dataclass(frozen=True)
class ModbusOptions:
    """Model-wide Modbus options (``modbus:``)."""

    #: Word order of 32/64-bit values.
    word_order: WordOrder = WordOrder.BIG


@dataclass(frozen=True)
class ModelFile:
    """The top level of a model file, as written."""

    #: Model name; used for OPC UA folders and reports.
    name: str
    #: What the machine does.
    description: str = ""
    #: Default seed for the plant's random streams (spawner mixes).
    seed: int = 0
    #: Solver settings.
    physics: PhysicsConfig = field(default_factory=PhysicsConfig)
    #: Workpiece variants by name.
    parts: dict[str, PartVariant] = field(default_factory=dict)
    #: Components by name; each mapping has ``kind`` and that kind's parameters.
    components: dict[str, Any] = field(default_factory=dict)
    #: PLC-facing tags by name, in I/O-list order.
    signals: dict[str, SignalSpec] = field(default_factory=dict)
    #: Modbus options.
    modbus: ModbusOptions = field(default_factory=ModbusOptions)
    #: What happens when an external PLC stops writing.
    plc_watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)

    def __post_init__(self) -> None:
        if not is_identifier(self.name):
            raise ConfigError(f"name {self.name!r} must be an identifier (letters, digits, _)")
        if self.seed < 0:
            raise ConfigError(f"seed={self.seed} must be >= 0")
        bad = [name for name in self.parts if not is_identifier(name)]
        if bad:
            raise ConfigError(f"part variant names {bad} must be identifiers (they name tags)")


@dataclass(frozen=True)
class ComponentSpec:
    """A validated component entry: enough to instantiate it again for each plant."""

    name: str
    kind: str
    params: Any


@dataclass(frozen=True)
class IoRow:
    """One row of the I/O list."""

    tag: str
    type: SignalType
    direction: Direction
    modbus: ModbusAddress | None
    iec: str
    unit: str
    description: str
    port: str
    #: OPC UA node id of the tag's variable.
    opcua: str = ""


@dataclass(frozen=True)
class Model:
    """A validated plant model: immutable definitions, no runtime state."""

    #: Model file the model was loaded from.
    path: str
    name: str
    description: str
    seed: int
    physics: PhysicsConfig
    variants: dict[str, PartVariant]
    components: tuple[ComponentSpec, ...]
    table: SignalTable
    #: ``component.port`` -> index of its signal in :attr:`table`.
    wiring: dict[str, int]
    #: Tag -> Modbus address, for PLC-facing signals.
    addresses: dict[str, ModbusAddress]
    word_order: WordOrder
    #: Tag -> integer scaling on the Modbus wire, for the tags that have one.
    scaling: dict[str, Scaling] = field(default_factory=dict)
    watchdog: WatchdogConfig = field(default_factory=WatchdogConfig)
    #: Absolute directory of the model file, fixed at load time: components resolve the
    #: files they read (a robot's URDF) against it, whatever the working directory later.
    base_dir: str | None = None

    def instantiate(self, seed: int | None = None) -> list[Component]:
        """Fresh component instances (per-run state is theirs), ports wired to the table."""
        seed = self.seed if seed is None else seed
        base_dir = self.base_dir
        instances = []
        for spec in self.components:
            component = registry.make(
                spec.kind,
                spec.name,
                spec.params,
                variants=self.variants,
                seed=seed,
                base_dir=base_dir,
            )
            for port in component.ports.values():
                port.index = self.wiring[port.path]
            instances.append(component)
        peers = {c.name: c for c in instances}
        for component in instances:
            component.connect(peers)
        return instances

    def having(self, capability: type) -> list[str]:
        """Names of the components that have ``capability`` (a protocol or class).

        Asked of unbuilt instances, so scenario files can be checked against capabilities
        (``Model.having(PartSource)``: the spawners) without building a world.
        """
        return [c.name for c in self.instantiate() if isinstance(c, capability)]

    def wire_type(self, signal: Signal) -> SignalType:
        """The type a signal has on the Modbus wire: its own, or its scaling's raw type."""
        scaling = self.scaling.get(signal.name)
        return scaling.raw if scaling else signal.type

    def io_rows(self, *, include_internal: bool = False) -> list[IoRow]:
        """The I/O list in table order: PLC-facing signals, optionally the rest too."""
        port_of = {}
        for path, index in self.wiring.items():
            port_of.setdefault(index, path)
        rows = []
        for index, signal in enumerate(self.table):
            address = self.addresses.get(signal.name)
            if address is None and not include_internal:
                continue
            rows.append(
                IoRow(
                    signal.name,
                    signal.type,
                    signal.direction,
                    address,
                    address.iec(self.wire_type(signal)) if address else "",
                    signal.unit,
                    signal.description,
                    port_of.get(index, ""),
                    opcua_node_id(self.name, signal.name),
                )
            )
        return rows


def find_models(path: str | Path) -> list[Path]:
    """Model files at ``path``: the file itself, a folder's model.yaml, or all below it."""
    path = Path(path)
    if path.is_dir():
        direct = path / MODEL_FILE
        return [direct] if direct.is_file() else sorted(path.rglob(MODEL_FILE))
    return [path]


def load_model(path: str | Path) -> Model:
    """Load and validate a model file (or a folder holding ``model.yaml``).

    Raises:
        ConfigError: with every problem found, each located by file, line and YAML path.
    """
    path = Path(path)
    if path.is_dir():
        path = path / MODEL_FILE
    doc = load_document(path)
    raw = build(doc, ModelFile)
    if raw is None:
        doc.raise_if_issues()
        raise ConfigError(f"{path}: not a model file")
    return _Checker(doc, raw).model()


class _Checker:
    """Cross-checks a model file: kinds, ports, wiring, types, directions, addresses."""

    def __init__(self, doc: Document, raw: ModelFile) -> None:
        self.doc = doc
        self.raw = raw
        self.specs: list[ComponentSpec] = []
        self.components: dict[str, Component] = {}
        self.scaling: dict[str, Scaling] = {}
        self.base_dir = os.path.dirname(os.path.abspath(doc.file))

    def model(self) -> Model:
        self._components()
        signals, wiring, addresses = self._signals()
        self._safe_state(signals)
        self.doc.raise_if_issues()
        return Model(
            path=self.doc.file,
            name=self.raw.name,
            description=self.raw.description,
            seed=self.raw.seed,
            physics=self.raw.physics,
            variants=dict(self.raw.parts),
            components=tuple(self.specs),
            table=SignalTable(tuple(signals)),
            wiring=wiring,
            addresses=addresses,
            word_order=self.raw.modbus.word_order,
            scaling=self.scaling,
            watchdog=self.raw.plc_watchdog,
            base_dir=self.base_dir,
        )

    # -- components -------------------------------------------------------------------------

    def _components(self) -> None:
        doc = self.doc
        node = doc.node_at(("components",))
        if not isinstance(node, yaml.MappingNode):
            return
        for key_node, value_node in mapping_entries(node):
            name = key_node.value
            path = ("components", name)
            if not is_identifier(name):
                doc.issue(path, f"component name {name!r} must be an identifier")
                continue
            if not isinstance(value_node, yaml.MappingNode):
                doc.issue(path, "expected a mapping with 'kind' and parameters")
                continue
            entries = mapping_entries(value_node)
            kind_nodes = [v for k, v in entries if k.value == "kind"]
            if not kind_nodes or not isinstance(kind_nodes[0], yaml.ScalarNode):
                doc.issue(
                    path, f"missing required key 'kind' (one of: {', '.join(registry.kinds())})"
                )
                continue
            kind = kind_nodes[0].value
            try:
                cls = registry.load(kind)
            except RegistryError as exc:
                doc.issue((*path, "kind"), str(exc))
                continue
            params_node = yaml.MappingNode(
                value_node.tag,
                [(k, v) for k, v in entries if k.value != "kind"],
                value_node.start_mark,
                value_node.end_mark,
            )
            params = build(doc, cls.Params, path, node=params_node)
            if params is None:
                continue
            try:
                component = cls(
                    name,
                    params,
                    variants=dict(self.raw.parts),
                    seed=self.raw.seed,
                    base_dir=self.base_dir,
                )
            except (ConfigError, ValueError) as exc:
                self._component_issue(path, exc)
                continue
            self.components[name] = component
            self.specs.append(ComponentSpec(name, kind, params))
        for name, component in self.components.items():
            try:
                component.connect(self.components)
            except (ConfigError, ValueError) as exc:
                self._component_issue(("components", name), exc)

    def _component_issue(self, path: tuple, exc: Exception) -> None:
        """Record what a component kind raised, at the place in its entry it names."""
        where = (*path, *getattr(exc, "yaml_path", ()))
        for message in getattr(exc, "issues", None) or [exc]:
            self.doc.issue(where, getattr(message, "message", str(message)))

    def _safe_state(self, signals: list[Signal]) -> None:
        by_name = {s.name: s for s in signals}
        for name, value in self.raw.plc_watchdog.safe_state.items():
            path = ("plc_watchdog", "safe_state", name)
            signal = by_name.get(name)
            if signal is None or signal.direction is not Direction.TO_PLANT:
                self.doc.issue(path, f"{name!r} is not a PLC output (to_plant signal)")
                continue
            try:
                signal.coerce(value)
            except SignalError as exc:
                self.doc.issue(path, str(exc).removeprefix(f"{name}: "))

    # -- signals ----------------------------------------------------------------------------

    def _resolve_port(self, text: str, path: tuple) -> Port | None:
        component_name, dot, port_name = text.partition(".")
        component = self.components.get(component_name)
        if dot and component is None and component_name in self.raw.components:
            return None  # declared but invalid: already reported at the component
        if not dot or component is None:
            close = difflib.get_close_matches(component_name, self.raw.components, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            what = "write 'component.port'" if not dot else f"no component {component_name!r}"
            self.doc.issue(path, f"dangling port {text!r}: {what}{hint}")
            return None
        port = component.ports.get(port_name)
        if port is None:
            names = ", ".join(component.ports)
            self.doc.issue(path, f"dangling port {text!r}: {component_name} has ports {names}")
        return port

    def _signals(self) -> tuple[list[Signal], dict[str, int], dict[str, ModbusAddress]]:
        doc = self.doc
        signals: list[Signal] = []
        wiring: dict[str, int] = {}
        wired_by: dict[str, str] = {}
        explicit: dict[str, tuple[ModbusAddress, SignalType, tuple]] = {}
        pending: list[tuple[str, SignalType, Direction]] = []
        for name, spec in self.raw.signals.items():
            path = ("signals", name)
            if not is_identifier(name):
                doc.issue(path, f"tag {name!r} must be an identifier (letters, digits, _)")
            ports = []
            for i, text in enumerate(spec.ports):
                port_path = (*path, "port") if isinstance(spec.port, str) else (*path, "port", i)
                port = self._resolve_port(text, port_path)
                if port is None:
                    continue
                if port.path in wired_by:
                    doc.issue(
                        port_path, f"port {port.path} is already wired to {wired_by[port.path]!r}"
                    )
                    continue
                wired_by[port.path] = name
                ports.append(port)
            signal = self._signal(name, spec, ports, path)
            if signal is None:
                continue
            for port in ports:
                wiring[port.path] = len(signals)
            signals.append(signal)
            plc_facing = signal.direction in (Direction.TO_PLANT, Direction.FROM_PLANT)
            wire_type = self._scaling(name, signal, spec, path, plc_facing)
            if plc_facing:
                if spec.modbus is not None:
                    self._check_table(signal, spec.modbus, (*path, "modbus"))
                    explicit[name] = (spec.modbus, wire_type, (*path, "modbus"))
                else:
                    pending.append((name, wire_type, signal.direction))
            elif spec.modbus is not None:
                doc.issue(
                    (*path, "modbus"), f"{signal.direction.value} signals have no Modbus address"
                )
        # Every port not named under signals: gets an automatic signal component.port.
        for component in self.components.values():
            for port in component.ports.values():
                if port.path in wiring:
                    continue
                direction = (
                    Direction.OPERATOR if port.kind is PortKind.OPERATOR else Direction.INTERNAL
                )
                wiring[port.path] = len(signals)
                signals.append(
                    Signal(
                        port.path,
                        port.type,
                        direction,
                        port.unit,
                        port.default,
                        None,
                        port.description,
                    )
                )
        return signals, wiring, self._addresses(explicit, pending)

    def _signal(self, name: str, spec: SignalSpec, ports: list[Port], path: tuple) -> Signal | None:
        doc = self.doc
        if not ports:
            return None
        kinds = {p.kind for p in ports}
        types = {p.type for p in ports}
        if len(ports) > 1 and kinds != {PortKind.INPUT}:
            doc.issue(
                (*path, "port"),
                "only input ports can share one signal (a PLC output may "
                "drive several inputs; an output has exactly one writer)",
            )
            return None
        if len(types) > 1:
            doc.issue(
                (*path, "port"), f"ports have different types: {sorted(t.value for t in types)}"
            )
            return None
        port = ports[0]
        if spec.type is not None and spec.type is not port.type:
            doc.issue(
                (*path, "type"),
                f"type {spec.type.value} does not match port {port.path} ({port.type.value})",
            )
            return None
        allowed = {
            PortKind.INPUT: (Direction.TO_PLANT, Direction.INTERNAL),
            PortKind.OUTPUT: (Direction.FROM_PLANT, Direction.INTERNAL),
            PortKind.OPERATOR: (Direction.OPERATOR,),
        }[port.kind]
        direction = spec.direction or allowed[0]
        if direction not in allowed:
            doc.issue(
                (*path, "direction"),
                f"port {port.path} is an {port.kind.value}: direction must be "
                f"{' or '.join(d.value for d in allowed)}, not {direction.value}",
            )
            return None
        if spec.range is not None and (port.type.is_bool or spec.range[0] > spec.range[1]):
            problem = "a BOOL has no range" if port.type.is_bool else "write [min, max]"
            doc.issue((*path, "range"), f"range {list(spec.range)}: {problem}")
            return None
        default: Value = port.default if spec.default is None else spec.default
        try:
            return Signal(
                name,
                port.type,
                direction,
                port.unit if spec.unit is None else spec.unit,
                default,
                None if spec.range is None else (float(spec.range[0]), float(spec.range[1])),
                spec.description or port.description,
            )
        except SignalError as exc:
            doc.issue((*path, "default"), str(exc).removeprefix(f"{name}: "))
            return None

    def _scaling(
        self, name: str, signal: Signal, spec: SignalSpec, path: tuple, plc_facing: bool
    ) -> SignalType:
        """Record the tag's wire scaling, if any; return the type it has on the wire."""
        if spec.scale is None:
            if spec.offset != 0.0:
                self.doc.issue((*path, "offset"), "offset needs scale")
            return signal.type
        if not plc_facing or signal.type.is_bool:
            self.doc.issue((*path, "scale"), "only PLC-facing numbers can be scaled")
            return signal.type
        try:
            self.scaling[name] = Scaling(spec.scale, spec.offset, spec.raw_type)
        except ValueError as exc:
            self.doc.issue((*path, "scale"), str(exc))
            return signal.type
        return spec.raw_type

    def _check_table(self, signal: Signal, address: ModbusAddress, path: tuple) -> None:
        expected = ModbusTable.for_signal(signal.type, signal.direction)
        if address.table is not expected:
            self.doc.issue(
                path,
                f"{signal.type.value} {signal.direction.value} signals belong in {expected.value} "
                f"({expected.short}), not {address.table.value}",
            )

    def _addresses(
        self,
        explicit: dict[str, tuple[ModbusAddress, SignalType, tuple]],
        pending: list[tuple[str, SignalType, Direction]],
    ) -> dict[str, ModbusAddress]:
        occupied: dict[tuple[ModbusTable, int], str] = {}
        addresses: dict[str, ModbusAddress] = {}
        for name, (address, type_, path) in explicit.items():
            if address.span(type_).stop > 65536:
                self.doc.issue(
                    path, f"{address} with {type_.value} runs past the last address 65535"
                )
                continue
            clash = sorted(
                {
                    occupied[(address.table, a)]
                    for a in address.span(type_)
                    if (address.table, a) in occupied
                }
            )
            if clash:
                other = clash[0]
                line = self.doc.location(("signals", other, "modbus"))
                self.doc.issue(
                    path, f"{address} overlaps {other!r} at {addresses[other]} (line {line})"
                )
                continue
            for a in address.span(type_):
                occupied[(address.table, a)] = name
            addresses[name] = address
        # Signals without an explicit address take the lowest free addresses, in declaration order.
        for name, type_, direction in pending:
            table = ModbusTable.for_signal(type_, direction)
            start = 0
            while True:
                address = ModbusAddress(table, start)
                if all((table, a) not in occupied for a in address.span(type_)):
                    break
                start += 1
            for a in address.span(type_):
                occupied[(table, a)] = name
            addresses[name] = address
        return addresses
