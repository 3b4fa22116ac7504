"""The OPC UA server in its own process: what clients see, what reaches the plant, who ends it.

Real asyncua clients against :class:`OpcUaProcessServer` (a child process running the same
server over a mirror of the image): commits reach reads and subscriptions, accepted writes are
staged in the parent's image, refused ones are answered in the child and stage nothing, the
connection count follows the child, a busy port is the child's clear error, and the child goes
when the serving process is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest
from asyncua import Client, ua

from tests.adapters.test_opcua import Notifications, tag_node, write
from tests.helpers import SORTING_LINE
from vcommission.adapters.opcua import OpcUaProcessServer
from vcommission.config.model import load_model
from vcommission.errors import VcommissionError
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator

pytestmark = pytest.mark.wire

#: Bound on every wait (seconds).
WAIT = 30.0


async def until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def model():
    return load_model(SORTING_LINE)


@pytest.fixture
async def served(model):
    with Plant(model) as plant:
        sim = Simulator(plant)
        events: list[bool] = []
        async with OpcUaProcessServer(model, plant.image, port=0, on_connect=events.append) as s:
            sim.listeners.append(s.on_commit)
            yield sim, s, events


async def test_clients_read_commits_write_into_the_parent_and_are_counted(served):
    sim, server, events = served
    assert server.pid != os.getpid() and server.port != 0 and server.connections == 0
    async with Client(server.endpoint, timeout=10) as client:
        await until(lambda: _is(server.connections == 1), "the connection count")
        assert events == [True]
        conveyor_run = await tag_node(client, "conveyor_run")
        await write(conveyor_run, True, ua.VariantType.Boolean)
        # The write went child -> parent and waits, staged, for the next tick here.
        await until(lambda: _is(sim.image.pending("conveyor_run") is True), "the staged write")
        assert sim.image["conveyor_run"] is False
        sim.step()
        assert sim.image["conveyor_run"] is True
        await until(lambda: _reads(conveyor_run, True), "the commit in the child")
        pressed = await tag_node(client, "start_pb.pressed")
        await write(pressed, True, ua.VariantType.Boolean)  # operator signals too
        await until(lambda: _is(sim.image.pending("start_pb.pressed") is True), "the press")
    await until(lambda: _is(server.connections == 0), "the disconnection")
    assert events == [True, False]


async def test_the_child_runs_below_the_serving_process_in_priority(served):
    # The tick and the Modbus link come first under OPC UA load.
    _, server, _ = served
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    if ours >= 19:
        pytest.skip("this process already runs at the lowest priority")
    assert server.niceness > 0
    assert os.getpriority(os.PRIO_PROCESS, server.pid) == min(19, ours + server.niceness)


async def test_refusals_are_answered_in_the_child_and_stage_nothing(served):
    sim, server, _ = served
    async with Client(server.endpoint, timeout=10) as client:
        speed_sp = await tag_node(client, "speed_sp")
        with pytest.raises(ua.uaerrors.BadOutOfRange):
            await write(speed_sp, 5000, ua.VariantType.Int16)  # range 0..1000
        with pytest.raises(ua.uaerrors.BadTypeMismatch):
            await write(speed_sp, 500, ua.VariantType.Int32)
        with pytest.raises(ua.uaerrors.BadNotWritable):
            await write(await tag_node(client, "pe_entry"), True, ua.VariantType.Boolean)
        await write(speed_sp, 750, ua.VariantType.Int16)  # and it keeps serving
        await until(lambda: _is(sim.image.pending("speed_sp") == 750), "the good write")
        sim.step()
        assert sim.image["speed_sp"] == 750 and sim.image["pe_entry"] is False


async def test_a_subscription_sees_a_box_reach_the_entry_beam(served):
    sim, server, _ = served
    async with Client(server.endpoint, timeout=10) as client:
        handler = Notifications()
        subscription = await client.create_subscription(10, handler)
        await subscription.subscribe_data_change(await tag_node(client, "pe_entry"))
        assert await asyncio.wait_for(handler.queue.get(), WAIT) is False  # the initial value
        sim.image.stage("conveyor_run", True)
        sim.image.stage("infeed_enable", True)
        for _ in range(3000):  # bounded: a box reaches pe_entry after ~190 ticks
            sim.step()
            await asyncio.sleep(0)
            if sim.image["pe_entry"]:
                break
        assert sim.image["pe_entry"] is True
        assert await asyncio.wait_for(handler.queue.get(), WAIT) is True


async def test_a_busy_port_is_the_childs_clear_error(model):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with Plant(model) as plant:
            server = OpcUaProcessServer(model, plant.image, port=taken.getsockname()[1])
            with pytest.raises(VcommissionError, match="cannot listen"):
                await server.start()
            assert server.connections == 0


SERVING = textwrap.dedent(
    """
    import asyncio, sys
    from vcommission.adapters.opcua import OpcUaProcessServer
    from vcommission.config.model import load_model
    from vcommission.signals import ProcessImage

    async def main():
        model = load_model(sys.argv[1])
        async with OpcUaProcessServer(model, ProcessImage(model.table), port=0) as server:
            print(server.pid, flush=True)
            await asyncio.sleep(600)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_child_goes_when_the_serving_process_dies(how):
    parent = subprocess.Popen(
        [sys.executable, "-c", SERVING, str(SORTING_LINE)], stdout=subprocess.PIPE, text=True
    )
    try:
        line = parent.stdout.readline()
        assert line.strip().isdigit(), line
        child = int(line)
        os.kill(child, 0)  # it runs
        parent.send_signal(how)
        parent.wait(WAIT)
        deadline = time.monotonic() + WAIT
        while _alive(child):
            assert time.monotonic() < deadline, "the OPC UA process outlived its parent"
            time.sleep(0.05)
    finally:
        parent.kill()
        parent.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by init) has gone too.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(")")[-1].split()[0] != "Z"


async def _is(value: bool) -> bool:
    return value


async def _reads(node, expected: object) -> bool:
    return await node.read_value() == expected
