"""Client mode: the plant polls a PLC's own Modbus server, as Factory I/O's client driver does.

The "PLC" is a stock pymodbus server holding plain memory; the PLC program's side of the
exchange (setting its outputs, reading its inputs) is done with mbpoll, independently of our
client.
"""

from __future__ import annotations

import asyncio

import pytest
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from tests.adapters.test_modbus import mbpoll, values_of
from tests.helpers import SORTING_LINE
from tests.peers import require_tool
from vcommission.adapters.modbus import ClientMap, ModbusClientLink, load_client_map
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator


async def plc_memory() -> tuple[ModbusTcpServer, int]:
    """A PLC's Modbus server: 256 coils and 256 holding registers of plain memory."""
    device = SimDevice(
        1,
        simdata=(
            [SimData(0, count=256, values=False, datatype=DataType.BITS)],
            [SimData(0, count=16, values=False, datatype=DataType.BITS)],
            [SimData(0, count=256, values=0, datatype=DataType.REGISTERS)],
            [SimData(0, count=16, values=0, datatype=DataType.REGISTERS)],
        ),
    )
    server = ModbusTcpServer(device, address=("127.0.0.1", 0))
    await server.serve_forever(background=True)
    return server, server.transport.sockets[0].getsockname()[1]


async def run_plant(sim: Simulator, seconds: float) -> None:
    """Step the plant in virtual time while the poller (real time) gets the loop in between."""
    for _ in range(round(seconds / 0.01)):
        sim.step()
        await asyncio.sleep(0.001)


def test_default_map_reads_outputs_and_writes_sensors_100_higher():
    model = load_model(SORTING_LINE)
    mapping = ClientMap.default(model)
    reads = {block.tags[0]: str(block.at) for block in mapping.read}
    writes = {block.tags[0]: str(block.at) for block in mapping.write}
    assert reads["conveyor_run"] == "coil 0" and reads["speed_sp"] == "HR 0"
    assert writes["start_pb"] == "coil 100" and writes["pe_entry"] == "coil 104"
    assert writes["speed_actual"] == "HR 100"
    assert len(reads) + len(writes) == len(model.addresses)


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.peer
async def test_plant_polls_the_plc_and_runs_the_line():
    require_tool("mbpoll")
    server, port = await plc_memory()
    try:
        model = load_model(SORTING_LINE)
        with Plant(model) as plant:
            sim = Simulator(plant)
            mapping = ClientMap.default(model)
            async with ModbusClientLink(model, plant.image, "127.0.0.1", port, mapping) as link:
                # The PLC program switches its outputs on: belt, infeed, speed 600 mm/s.
                code, out = await mbpoll(
                    port, "-a", "1", "-t", "0", "-r", "0", "127.0.0.1", "1", "0", "1", "0", "0", "1"
                )
                assert code == 0, out
                code, out = await mbpoll(port, "-a", "1", "-t", "4", "-r", "0", "127.0.0.1", "600")
                assert code == 0, out
                for _ in range(100):
                    await run_plant(sim, 0.1)
                    if plant.image["pe_entry"]:
                        break
                assert plant.image["conveyor_run"] and plant.image["light_green"]
                assert plant.image["speed_sp"] == 600 and plant.image["pe_entry"]
                await asyncio.sleep(0.1)  # a poll or two: the sensors reach the PLC
                code, out = await mbpoll(
                    port, "-a", "1", "-t", "0", "-r", "100", "-c", "10", "127.0.0.1"
                )
                # The PLC's coils 100.. hold the plant's committed discrete inputs 0..9.
                sensors = sorted(
                    (a.address, t) for t, a in model.addresses.items() if a.table.short == "DI"
                )
                assert values_of(out) == [int(plant.image[tag]) for _, tag in sensors]
                assert values_of(out)[4] == 1  # pe_entry: the box is there
                code, out = await mbpoll(
                    port, "-a", "1", "-t", "4", "-r", "100", "-c", "1", "127.0.0.1"
                )
                assert values_of(out) == [600]  # speed_actual
                assert link.polls > 0 and link.errors == 0
    finally:
        await server.shutdown()


@pytest.mark.realtime
@pytest.mark.wire
async def test_lost_plc_is_retried_and_the_plant_keeps_running():
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        mapping = ClientMap(poll=0.02, read=ClientMap.default(model).read)
        # Nothing listens on this port yet: errors are counted, the plant runs on.
        server, port = await plc_memory()
        await server.shutdown()
        async with ModbusClientLink(model, plant.image, "127.0.0.1", port, mapping) as link:
            await run_plant(sim, 0.3)
            assert link.errors > 0 and link.polls == 0
            assert sim.now_ns == 300_000_000


def test_client_map_file_is_checked_against_the_model(tmp_path):
    model = load_model(SORTING_LINE)
    path = tmp_path / "map.yaml"
    path.write_text(
        "poll: 0.05\n"
        "read:\n"
        "  - {tags: [conveyor_run, pusher_extend], at: coil 10}\n"
        "  - {tags: [pe_entry], at: coil 20}\n"
        "write:\n"
        "  - {tags: [speed_actual], at: IR 5}\n"
        "  - {tags: [nope], at: HR 5}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_client_map(path, model)
    found = {(i.line, i.path, i.message) for i in info.value.issues}
    assert (4, "read[1].tags[0]", "pe_entry is not a to_plant signal") in found
    assert (6, "write[0].at", "input_register cannot be written by a master") in found
    assert (7, "write[1].tags[0]", "unknown tag 'nope'") in found
    path.write_text("read:\n  - {tags: [conveyor_run, pusher_extend], at: coil 10}\n")
    mapping = load_client_map(path, model)
    assert mapping.poll == 0.02 and str(mapping.read[0].at) == "coil 10"
