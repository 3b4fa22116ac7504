"""Modbus TCP server: register codec, and real masters (mbpoll, libmodbus) on loopback."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from tests.helpers import SORTING_LINE, sorting_line_text, write_model
from tests.peers import missing_peer, require_tool
from vcommission.adapters.modbus import ModbusServer, decode_registers, encode_registers
from vcommission.addressing import WordOrder
from vcommission.clock import RealTimePacer
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.signals import SignalType
from vcommission.simulator import Simulator


@pytest.fixture
def needs_mbpoll_fixture():
    require_tool("mbpoll")


def needs_mbpoll(test: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a test that drives the served plant with mbpoll, over a real socket."""
    for mark in (
        pytest.mark.usefixtures("needs_mbpoll_fixture"),
        pytest.mark.wire,
        pytest.mark.peer,
    ):
        test = mark(test)
    return test


@pytest.mark.parametrize(
    ("type_", "value", "big"),
    [
        (SignalType.INT, -2, [0xFFFE]),
        (SignalType.UINT, 65535, [0xFFFF]),
        (SignalType.DINT, 0x12345678, [0x1234, 0x5678]),
        (SignalType.DINT, -1, [0xFFFF, 0xFFFF]),
        (SignalType.REAL, 1.5, [0x3FC0, 0x0000]),
        (SignalType.LREAL, -2.0, [0xC000, 0, 0, 0]),
    ],
)
def test_register_codec_and_word_order(type_, value, big):
    assert encode_registers(type_, value, WordOrder.BIG) == big
    assert encode_registers(type_, value, WordOrder.LITTLE) == big[::-1]
    for order in WordOrder:
        assert decode_registers(type_, encode_registers(type_, value, order), order) == value


@pytest.fixture
async def served():
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        async with ModbusServer(model, plant.image, port=0) as server:
            sim.listeners.append(server.store.on_commit)
            yield sim, server


async def mbpoll(port: int, *args: str) -> tuple[int, str]:
    """Run mbpoll once against the server (0-based addresses); returns (exit code, output)."""
    process = await asyncio.create_subprocess_exec(
        require_tool("mbpoll"),
        "-m",
        "tcp",
        "-p",
        str(port),
        "-0",
        "-1",
        "-o",
        "1",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    return process.returncode, out.decode()


def values_of(output: str) -> list[int]:
    """The values of mbpoll's ``[n]: value`` lines."""
    return [int(line.split(":")[1]) for line in output.splitlines() if line.startswith("[")]


@needs_mbpoll
async def test_mbpoll_reads_every_table_at_the_io_list_addresses(served):
    sim, server = served
    port = server.port
    # DI 0..9: stop_pb_nc, estop_ok and pusher_retracted are TRUE at rest.
    code, out = await mbpoll(port, "-t", "1", "-r", "0", "-c", "10", "127.0.0.1")
    assert code == 0, out
    assert values_of(out) == [0, 1, 0, 1, 0, 0, 0, 0, 1, 0]
    code, out = await mbpoll(port, "-t", "4", "-r", "0", "-c", "1", "127.0.0.1")
    assert values_of(out) == [400]  # speed_sp power-on value
    sim.operate("start_pb.pressed", True)
    sim.image.stage("conveyor_run", True)
    sim.step()
    sim.step()
    code, out = await mbpoll(port, "-t", "1", "-r", "0", "-c", "1", "127.0.0.1")
    assert values_of(out) == [1]
    code, out = await mbpoll(port, "-t", "3", "-r", "0", "-c", "1", "127.0.0.1")
    assert values_of(out) == [sim.image["speed_actual"]] and values_of(out)[0] > 0
    code, out = await mbpoll(port, "-t", "0", "-r", "0", "-c", "6", "127.0.0.1")
    assert values_of(out) == [1, 0, 0, 0, 0, 0]


@needs_mbpoll
async def test_mbpoll_writes_are_staged_and_take_effect_at_the_next_tick(served):
    sim, server = served
    code, out = await mbpoll(server.port, "-t", "0", "-r", "0", "127.0.0.1", "1", "0", "1")
    assert code == 0, out
    code, out = await mbpoll(server.port, "-t", "4", "-r", "0", "127.0.0.1", "750")
    assert code == 0, out
    assert sim.image["conveyor_run"] is False and sim.image["speed_sp"] == 400  # staged only
    sim.step()
    assert sim.image["conveyor_run"] is True and sim.image["light_green"] is True
    assert sim.image["pusher_extend"] is False and sim.image["speed_sp"] == 750
    code, out = await mbpoll(server.port, "-t", "4", "-r", "0", "-c", "1", "127.0.0.1")
    assert values_of(out) == [750]


@needs_mbpoll
async def test_bad_requests_get_exceptions_and_the_server_keeps_serving(served):
    sim, server = served
    code, out = await mbpoll(server.port, "-t", "4", "-r", "1", "-c", "1", "127.0.0.1")
    assert code != 0 and "Illegal data address" in out
    code, out = await mbpoll(server.port, "-t", "1", "-r", "8", "-c", "4", "127.0.0.1")
    assert code != 0 and "Illegal data address" in out  # DI 10, 11 are unmapped
    code, out = await mbpoll(server.port, "-t", "4", "-r", "0", "127.0.0.1", "5000")
    assert code != 0 and "Illegal data value" in out  # speed_sp range is 0..1000
    code, out = await mbpoll(server.port, "-t", "0", "-r", "6", "127.0.0.1", "1")
    assert code != 0 and "Illegal data address" in out
    sim.step()
    assert sim.image["speed_sp"] == 400
    code, out = await mbpoll(server.port, "-t", "4", "-r", "0", "-c", "1", "127.0.0.1")
    assert code == 0 and values_of(out) == [400]


@needs_mbpoll
async def test_unit_id_filter(tmp_path):
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        async with ModbusServer(model, plant.image, port=0, unit_id=3) as server:
            code, out = await mbpoll(server.port, "-a", "3", "-t", "4", "-r", "0", "127.0.0.1")
            assert code == 0 and values_of(out) == [400]
            code, out = await mbpoll(server.port, "-a", "1", "-t", "4", "-r", "0", "127.0.0.1")
            assert code != 0


@pytest.mark.realtime
@needs_mbpoll
async def test_writing_run_and_infeed_over_modbus_makes_boxes_reach_pe_entry(served):
    sim, server = served
    sim.pacer = RealTimePacer(speed=20.0)  # as `serve --speed 20` paces it
    plant_task = asyncio.create_task(sim.run_async())
    try:
        code, out = await mbpoll(server.port, "-t", "0", "-r", "0", "127.0.0.1", "1")
        assert code == 0, out
        code, out = await mbpoll(server.port, "-t", "0", "-r", "5", "127.0.0.1", "1")
        assert code == 0, out
        for _ in range(200):  # bounded: about 10 s of wall time at most
            code, out = await mbpoll(server.port, "-t", "1", "-r", "4", "-c", "1", "127.0.0.1")
            if values_of(out) == [1]:
                break
            await asyncio.sleep(0.05)
        assert values_of(out) == [1]
        assert len(sim.plant.parts) >= 1
    finally:
        plant_task.cancel()


LIBMODBUS_CLIENT = r"""
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <modbus.h>
int main(int argc, char **argv) {
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    if (ctx == NULL || modbus_connect(ctx) == -1) { printf("connect failed\n"); return 2; }
    uint8_t bits[10]; uint16_t regs[1];
    if (modbus_read_input_bits(ctx, 0, 10, bits) != 10) return 3;
    printf("di");
    for (int i = 0; i < 10; i++) printf(" %d", bits[i]);
    printf("\n");
    uint16_t sp[1] = {650};
    if (modbus_write_registers(ctx, 0, 1, sp) != 1) return 4;
    if (modbus_write_bit(ctx, 5, 1) != 1) return 5;
    if (modbus_read_registers(ctx, 0, 1, regs) != 1) return 6;
    printf("hr %d\n", regs[0]);
    if (modbus_read_registers(ctx, 7, 1, regs) == -1) printf("hr7 %s\n", modbus_strerror(errno));
    if (modbus_read_input_registers(ctx, 0, 1, regs) != 1) return 7;
    printf("ir %d\n", regs[0]);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
"""


@pytest.fixture(scope="module")
def libmodbus_client(tmp_path_factory):
    gcc = require_tool("gcc")
    flags = subprocess.run(
        [require_tool("pkg-config"), "--cflags", "--libs", "libmodbus"],
        capture_output=True,
        text=True,
        check=False,
    )
    if flags.returncode != 0:
        missing_peer("libmodbus-dev")
    folder = tmp_path_factory.mktemp("libmodbus")
    source = folder / "client.c"
    source.write_text(LIBMODBUS_CLIENT)
    binary = folder / "client"
    subprocess.run([gcc, "-O1", "-o", str(binary), str(source), *flags.stdout.split()], check=True)
    return binary


@pytest.mark.wire
@pytest.mark.peer
async def test_libmodbus_master_reads_writes_and_sees_illegal_address(served, libmodbus_client):
    sim, server = served
    process = await asyncio.create_subprocess_exec(
        str(libmodbus_client), str(server.port), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, out
    lines = out.decode().splitlines()
    assert lines[0] == "di 0 1 0 1 0 0 0 0 1 0"
    assert lines[1] == "hr 650"  # reads back what it wrote before the next tick
    assert lines[2] == "hr7 Illegal data address"
    assert lines[3] == "ir 0"
    sim.step()
    assert sim.image["speed_sp"] == 650 and sim.image["infeed_enable"] is True


EXTRA_COMPONENTS = """\
  belt2: {kind: belt_conveyor, start: [0.0, 3.0, 0.8], length: 1.0, width: 0.3}
  ram:
    kind: cylinder
    origin: [0.0, 5.0, 0.5]
    direction: [1.0, 0.0, 0.0]
    stroke: 0.3
    extend_time: 0.3
    retract_time: 0.3
"""
EXTRA_SIGNALS = """\
  pusher_mm: {port: pusher.position, modbus: IR 1, scale: 10}
  spawned: {port: infeed.count, modbus: IR 2}
  ram_mm: {port: ram.position, modbus: IR 4}
  belt2_sp: {port: belt2.speed_setpoint, modbus: HR 1, scale: 10, raw_type: UINT,
             range: [0, 1000]}
"""


@pytest.fixture
async def wide_types(tmp_path):
    text = sorting_line_text()
    text = text.replace("\nsignals:\n", "\n" + EXTRA_COMPONENTS + "\nsignals:\n") + EXTRA_SIGNALS
    write_model(tmp_path, text)
    model = load_model(tmp_path)
    with Plant(model) as plant:
        sim = Simulator(plant)
        async with ModbusServer(model, plant.image, port=0) as server:
            sim.listeners.append(server.store.on_commit)
            yield sim, server, model


def numbers_of(output: str) -> list[float]:
    return [float(line.split(":")[1]) for line in output.splitlines() if line.startswith("[")]


@needs_mbpoll
async def test_32_bit_values_float_and_integer_scaling_on_the_wire(wide_types):
    sim, server, model = wide_types
    rows = {row.tag: row for row in model.io_rows()}
    assert (str(rows["spawned"].modbus), rows["spawned"].iec) == ("IR 2", "%ID2")
    assert (str(rows["pusher_mm"].modbus), rows["pusher_mm"].iec) == ("IR 1", "%IW1")
    sim.image.stage("pusher_extend", True)
    sim.image.stage("infeed_enable", True)
    sim.operate("ram.extend", True)
    sim.run_for(0.2)
    position = sim.image["pusher_mm"]
    assert 0 < position < 550
    port = server.port
    code, out = await mbpoll(port, "-t", "3", "-r", "1", "-c", "1", "127.0.0.1")
    assert values_of(out) == [round(position * 10)]  # 0.1 mm steps as an INT
    code, out = await mbpoll(port, "-t", "3:int", "-B", "-r", "2", "-c", "1", "127.0.0.1")
    assert values_of(out) == [1]  # a DINT over IR 2-3, big-endian words
    code, out = await mbpoll(port, "-t", "3:float", "-B", "-r", "4", "-c", "1", "127.0.0.1")
    assert numbers_of(out)[0] == pytest.approx(sim.image["ram_mm"], rel=1e-6)
    code, out = await mbpoll(port, "-t", "4", "-r", "1", "127.0.0.1", "3000")
    assert code == 0, out
    sim.step()
    assert sim.image["belt2_sp"] == 300  # raw 3000 / scale 10
    code, out = await mbpoll(port, "-t", "4", "-r", "1", "-c", "1", "127.0.0.1")
    assert values_of(out) == [3000]
    code, out = await mbpoll(port, "-t", "4", "-r", "1", "127.0.0.1", "65535")
    assert code != 0 and "Illegal data value" in out  # 6553.5 mm/s is outside 0..1000


def test_scaling_is_checked_where_it_is_written(tmp_path):
    text = sorting_line_text()
    text += "  extra: {port: infeed.count, direction: internal, scale: 10}\n"
    text = text.replace("modbus: HR 0,", "modbus: HR 0, scale: 0,")
    write_model(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_model(tmp_path)
    messages = [f"{i.path}: {i.message}" for i in info.value.issues]
    assert "signals.speed_sp.scale: scale must not be 0" in messages
    assert "signals.extra.scale: only PLC-facing numbers can be scaled" in messages
