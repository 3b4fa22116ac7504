"""Both servers behind one interface: a PlantServer attaches, counts clients and serves commits.

One test body over Modbus TCP and OPC UA: each is built with an ``on_connect`` callback,
entered as an async context manager, registered with the simulator through ``on_commit`` and
reached by a real client through its ``endpoint``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from vcommission.adapters import PlantServer
from vcommission.adapters.inprocess import InProcessLink
from vcommission.addressing import opcua_node_id
from vcommission.config.model import Model, load_model
from vcommission.plant.plant import Plant
from vcommission.signals import ProcessImage
from vcommission.simulator import Simulator

SORTING_LINE = Path(__file__).resolve().parents[2] / "plant_models" / "sorting_line"
WAIT = 10.0


class ModbusPeer:
    """A pymodbus master reading discrete inputs by the model's addresses."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.client: Any = None

    @staticmethod
    def server(model: Model, image: ProcessImage, on_connect: Callable[[bool], None]) -> Any:
        from vcommission.adapters.modbus import ModbusServer

        return ModbusServer(model, image, port=0, on_connect=on_connect)

    async def connect(self, endpoint: str) -> None:
        from pymodbus.client import AsyncModbusTcpClient

        host, _, port = endpoint.rpartition(":")
        self.client = AsyncModbusTcpClient(host, port=int(port), timeout=WAIT, retries=0)
        assert await self.client.connect()

    async def read(self, tag: str) -> object:
        address = self.model.addresses[tag]
        response = await self.client.read_discrete_inputs(address.address, count=1)
        assert not response.isError(), response
        return response.bits[0]

    async def close(self) -> None:
        self.client.close()


class OpcUaPeer:
    """An asyncua client reading nodes by the node ids vcommission promises."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.client: Any = None

    @staticmethod
    def server(model: Model, image: ProcessImage, on_connect: Callable[[bool], None]) -> Any:
        from vcommission.adapters.opcua import OpcUaServer

        return OpcUaServer(model, image, port=0, on_connect=on_connect)

    async def connect(self, endpoint: str) -> None:
        from asyncua import Client

        self.client = Client(endpoint, timeout=WAIT)
        await self.client.connect()

    async def read(self, tag: str) -> object:
        from asyncua import ua

        expanded = ua.NodeId.from_string(opcua_node_id(self.model.name, tag))
        index = await self.client.get_namespace_index(expanded.NamespaceUri)
        return await self.client.get_node(ua.NodeId(expanded.Identifier, index)).read_value()

    async def close(self) -> None:
        await self.client.disconnect()


async def until(condition: Callable[[], bool]) -> None:
    """Wait (bounded) for ``condition``, which the server's loop callbacks make true."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


@pytest.mark.parametrize("peer_class", [ModbusPeer, OpcUaPeer], ids=["modbus", "opcua"])
async def test_a_server_attaches_counts_clients_and_serves_commits(peer_class):
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        events: list[bool] = []
        server = peer_class.server(model, plant.image, events.append)
        assert isinstance(server, PlantServer)
        async with server as entered:
            assert entered is server
            assert server.port != 0 and str(server.port) in server.endpoint
            assert server.connections == 0 and events == []
            sim.listeners.append(server.on_commit)
            peer = peer_class(model)
            await peer.connect(server.endpoint)
            await until(lambda: server.connections == 1)
            assert events == [True]
            assert await peer.read("start_pb") is False
            sim.operate("start_pb.pressed", True)
            assert await peer.read("start_pb") is False  # not before the tick commits
            sim.step()
            assert await peer.read("start_pb") is True  # the commit reached the client
            await peer.close()
            await until(lambda: server.connections == 0)
            assert events == [True, False]


@pytest.mark.parametrize("peer_class", [ModbusPeer, OpcUaPeer], ids=["modbus", "opcua"])
async def test_a_commit_is_served_only_through_on_commit(peer_class):
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)  # the server is not among its listeners
        async with peer_class.server(model, plant.image, lambda _: None) as server:
            peer = peer_class(model)
            await peer.connect(server.endpoint)
            sim.operate("start_pb.pressed", True)
            sim.step()
            assert await peer.read("start_pb") is False
            server.on_commit(sim.now_ns, [model.table.index("start_pb")])
            assert await peer.read("start_pb") is True
            await peer.close()


def test_things_that_are_not_servers_are_not_plant_servers():
    model = load_model(SORTING_LINE)
    assert not isinstance(InProcessLink(ProcessImage(model.table)), PlantServer)
    assert not isinstance(object(), PlantServer)
