"""The address space of a model: folders, variables, their types, units and ranges.

``Objects/<model>/<component>/<tag>`` for every signal of the model, the component being the
one of the signal's first port; operator signals (push buttons, e-stops) sit under
``Objects/<model>/Operator/<tag>`` instead, so an HMI, a trainer or a test finds the buttons in
one place. Browse names are in the model's namespace and every variable's node id is exactly
:func:`~vcommission.addressing.opcua_node_id` (a string id). Variables carry the OPC UA data
type of the signal's IEC type, its description, an ``EngineeringUnits`` property where a unit
is given and an ``EURange`` property where the signal has a range.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asyncua import Server, ua

from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.signals import Direction, Signal, SignalType, Value

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = [
    "OPERATOR_FOLDER",
    "VARIANT_TYPES",
    "WRITERS",
    "ValueSetter",
    "Variable",
    "build_address_space",
    "plain_value",
    "read_only_node_ids",
]


#: OPC UA variant type of each IEC type (the data type node id is the same number in ns 0).
VARIANT_TYPES: dict[SignalType, ua.VariantType] = {
    SignalType.BOOL: ua.VariantType.Boolean,
    SignalType.INT: ua.VariantType.Int16,
    SignalType.DINT: ua.VariantType.Int32,
    SignalType.UINT: ua.VariantType.UInt16,
    SignalType.UDINT: ua.VariantType.UInt32,
    SignalType.WORD: ua.VariantType.UInt16,
    SignalType.DWORD: ua.VariantType.UInt32,
    SignalType.REAL: ua.VariantType.Float,
    SignalType.LREAL: ua.VariantType.Double,
}

#: Who may write a signal over OPC UA, by direction; absent directions are read-only.
WRITERS: dict[Direction, tuple[Direction, ...]] = {
    Direction.TO_PLANT: (Direction.TO_PLANT,),
    Direction.OPERATOR: (Direction.OPERATOR,),
}

#: UNECE Recommendation 20 common codes of the units plant models use (OPC UA Part 8 EUInformation).
_UNECE_CODES: dict[str, str] = {
    "mm": "MMT",
    "m": "MTR",
    "mm/s": "C16",
    "m/s": "MTS",
    "s": "SEC",
    "ms": "C26",
    "%": "P1",
    "degC": "CEL",
    "°C": "CEL",
    "deg": "DD",
    "°": "DD",
    "Hz": "HTZ",
    "kg": "KGM",
    "g": "GRM",
    "N": "NEW",
    "bar": "BAR",
    "V": "VLT",
    "A": "AMP",
    "W": "WTT",
    "kW": "KWT",
}
_UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"

#: Name of the folder holding the operator signals, beside the component folders.
OPERATOR_FOLDER = "Operator"


@dataclass
class Variable:
    """One signal's variable node."""

    index: int
    signal: Signal
    variant_type: ua.VariantType
    #: The node's Value attribute in asyncua's address space (see :func:`internals.publish`).
    value: internals.AttributeValue


def _eu_information(unit: str) -> ua.EUInformation:
    code = _UNECE_CODES.get(unit)
    unit_id = -1  # OPC UA Part 8: -1 when the unit has no UNECE code here
    if code is not None:
        unit_id = 0
        for char in code:
            unit_id = unit_id << 8 | ord(char)
    return ua.EUInformation(
        NamespaceUri=_UNECE_NAMESPACE,
        UnitId=unit_id,
        DisplayName=ua.LocalizedText(unit),
        Description=ua.LocalizedText(unit),
    )


#: A value setter: called by asyncua for each client write of a writable variable's value.
ValueSetter = Callable[["internals.NodeData", ua.AttributeIds, ua.DataValue], None]


async def build_address_space(
    server: Server,
    model: Model,
    committed: tuple[Value, ...] | list[Value],
    namespace_index: int,
    setter: ValueSetter,
) -> tuple[list[Variable | None], dict[ua.NodeId, Variable]]:
    """Add the model's folders and variables to ``server``, valued ``committed``.

    Args:
        server: An initialised asyncua server, before it starts.
        model: The model whose signals become variables.
        committed: The values they start with (the process image's committed values).
        namespace_index: Index of the model's namespace in ``server``.
        setter: Value setter of the writable variables (``to_plant`` and ``operator``).

    Returns:
        The variable of each signal by index, and the writable ones by node id.
    """
    idx = namespace_index
    variables: list[Variable | None] = [None] * len(model.table)
    writable: dict[ua.NodeId, Variable] = {}
    component_of: dict[int, str] = {}
    for path, index in model.wiring.items():
        component_of.setdefault(index, path.partition(".")[0])
    # A null identifier in our namespace: asyncua numbers folders and properties; only
    # the variables have the node ids the I/O list promises.
    new = ua.NodeId(0, idx)
    model_folder = await server.nodes.objects.add_folder(new, ua.QualifiedName(model.name, idx))
    folders: dict[str, Any] = {}
    for index, signal in enumerate(model.table):
        if signal.direction is Direction.OPERATOR:
            name: str | None = OPERATOR_FOLDER
        else:
            name = component_of.get(index)
        parent = model_folder
        if name is not None:
            parent = folders.get(name)
            if parent is None:
                parent = folders[name] = await model_folder.add_folder(
                    new, ua.QualifiedName(name, idx)
                )
        variant_type = VARIANT_TYPES[signal.type]
        node = await parent.add_variable(
            ua.NodeId(signal.name, idx),
            ua.QualifiedName(signal.name, idx),
            ua.Variant(committed[index], variant_type),
            datatype=ua.NodeId(variant_type.value, 0),
        )
        if signal.description:
            await node.write_attribute(
                ua.AttributeIds.Description,
                ua.DataValue(ua.Variant(ua.LocalizedText(signal.description))),
            )
        if signal.unit:
            await node.add_property(
                new,
                ua.QualifiedName("EngineeringUnits", 0),
                _eu_information(signal.unit),
                datatype=ua.NodeId(ua.ObjectIds.EUInformation),
            )
        if signal.range is not None:
            await node.add_property(
                new,
                ua.QualifiedName("EURange", 0),
                ua.Range(Low=float(signal.range[0]), High=float(signal.range[1])),
                datatype=ua.NodeId(ua.ObjectIds.Range),
            )
        attribute = internals.value_attribute(server, node.nodeid)
        variable = Variable(index, signal, variant_type, attribute)
        variables[index] = variable
        if signal.direction in WRITERS:
            await node.set_writable()
            writable[node.nodeid] = variable
            server.set_attribute_value_setter(node.nodeid, setter)  # type: ignore[arg-type]
    return variables, writable


def read_only_node_ids(model: Model, namespace_index: int) -> set[ua.NodeId]:
    """Node ids of the sensor and internal variables, which nobody may write."""
    return {
        ua.NodeId(signal.name, namespace_index)
        for signal in model.table
        if signal.direction in (Direction.FROM_PLANT, Direction.INTERNAL)
    }


def plain_value(signal_type: SignalType, value: Value) -> Value:
    """``value`` as the Python type asyncua encodes for ``signal_type``'s variant."""
    if signal_type is SignalType.BOOL:
        return bool(value)
    return float(value) if signal_type.is_float else int(value)
