"""One test body over every link: the plant behaves the same in-process and over the wire.

A link is how a PLC (or HMI) reaches the plant: reads see committed values, writes take
effect at the next tick. Pressing a button is a person's act: over a link with an operator
channel (in-process, OPC UA's Operator folder) it goes through the link; Modbus has none, so
there the press goes straight to the plant.
"""

from __future__ import annotations

import pytest

from tests.adapters.test_modbus import mbpoll, values_of
from tests.helpers import SORTING_LINE
from vcommission.adapters.inprocess import InProcessLink
from vcommission.adapters.modbus import ModbusServer
from vcommission.addressing import opcua_node_id
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator


class InProcessRig:
    def __init__(self, sim: Simulator) -> None:
        self.link = InProcessLink(sim.image)

    async def read(self, tag: str):
        return self.link.read(tag)

    async def write(self, tag: str, value) -> None:
        self.link.write(tag, value)

    async def press(self, tag: str, value: bool) -> None:
        self.link.operate(tag, value)


class ModbusRig:
    """Reads and writes through mbpoll, an independent Modbus master, by the model's addresses."""

    FLAGS = {"discrete_input": "1", "coil": "0", "input_register": "3", "holding_register": "4"}

    def __init__(self, sim: Simulator, port: int) -> None:
        self.sim = sim
        self.port = port
        self.addresses = sim.plant.model.addresses

    async def _mbpoll(self, tag: str, *values: str) -> list[int]:
        address = self.addresses[tag]
        args = ["-t", self.FLAGS[address.table.value], "-r", str(address.address)]
        if not values:
            args += ["-c", "1"]
        code, out = await mbpoll(self.port, *args, "127.0.0.1", *values)
        assert code == 0, out
        return values_of(out)

    async def read(self, tag: str):
        (value,) = await self._mbpoll(tag)
        return bool(value) if self.sim.image.table[tag].type.is_bool else value

    async def write(self, tag: str, value) -> None:
        await self._mbpoll(tag, str(int(value)))

    async def press(self, tag: str, value: bool) -> None:
        self.sim.operate(tag, value)  # no operator channel on Modbus: the person is at the panel


class OpcUaRig:
    """Reads and writes through an asyncua client; the operator channel is the Operator folder."""

    def __init__(self, sim: Simulator, client) -> None:
        self.sim = sim
        self.client = client
        self.nodes: dict[str, object] = {}

    async def _node(self, tag: str):
        from asyncua import ua

        if tag not in self.nodes:
            expanded = ua.NodeId.from_string(opcua_node_id(self.sim.plant.model.name, tag))
            index = await self.client.get_namespace_index(expanded.NamespaceUri)
            self.nodes[tag] = self.client.get_node(ua.NodeId(expanded.Identifier, index))
        return self.nodes[tag]

    async def read(self, tag: str):
        return await (await self._node(tag)).read_value()

    async def write(self, tag: str, value) -> None:
        from asyncua import ua

        variant = ua.VariantType.Boolean if isinstance(value, bool) else ua.VariantType.Int16
        await (await self._node(tag)).write_value(ua.DataValue(ua.Variant(value, variant)))

    async def press(self, tag: str, value: bool) -> None:
        await self.write(tag, value)


@pytest.fixture(
    params=[
        "inprocess",
        pytest.param("modbus", marks=[pytest.mark.wire, pytest.mark.peer]),  # mbpoll
        pytest.param("opcua", marks=pytest.mark.wire),
    ]
)
async def link(request):
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        if request.param == "inprocess":
            yield sim, InProcessRig(sim)
            return
        if request.param == "modbus":
            async with ModbusServer(model, plant.image, port=0) as server:
                sim.listeners.append(server.store.on_commit)
                yield sim, ModbusRig(sim, server.port)
            return
        from asyncua import Client

        from vcommission.adapters.opcua import OpcUaServer

        async with OpcUaServer(model, plant.image, port=0) as server:
            sim.listeners.append(server.on_commit)
            async with Client(server.endpoint, timeout=10) as client:
                yield sim, OpcUaRig(sim, client)


async def test_press_start_run_the_line_and_see_boxes_detected(link):
    sim, rig = link
    assert await rig.read("stop_pb_nc") is True and await rig.read("start_pb") is False
    await rig.press("start_pb.pressed", True)
    sim.step()
    assert await rig.read("start_pb") is True
    await rig.press("start_pb.pressed", False)
    await rig.write("conveyor_run", True)
    await rig.write("infeed_enable", True)
    await rig.write("speed_sp", 500)
    assert await rig.read("speed_actual") == 0  # nothing happens before the next tick
    sim.step()
    assert await rig.read("start_pb") is False
    seen = False
    for _ in range(40):  # bounded: 4 s of virtual time
        sim.run_for(0.1)
        if await rig.read("pe_entry"):
            seen = True
            break
    assert seen
    assert await rig.read("speed_actual") == 500
    # The box took the time the belt needs at 500 mm/s from the drop point to the beam.
    leading_edge_travel = 1.0 - (0.2 + 0.1)
    assert sim.now_ns / 1e9 == pytest.approx(leading_edge_travel / 0.5, abs=0.25)
