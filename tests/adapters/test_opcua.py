"""OPC UA server: address space, staged writes, subscriptions, security; asyncua and node-opcua.

The in-process client is asyncua's (the server's own stack); node-opcua, run with ``node`` as a
subprocess from ``tests/adapters/node``, is the independent one.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import shutil
import signal
import socket

import pytest
from asyncua import Client, Node, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.helpers import NODE_DIR, SORTING_LINE
from tests.peers import node_opcua_env, require_tool
from vcommission.adapters.opcua import (
    OpcUaSecurity,
    OpcUaServer,
    SecurityPolicy,
    address_space_cache_dir,
)
from vcommission.addressing import opcua_namespace, opcua_node_id
from vcommission.config.model import load_model
from vcommission.errors import ConfigError, VcommissionError
from vcommission.plant.plant import Plant
from vcommission.signals import Direction, ProcessImage, Signal, SignalTable, SignalType
from vcommission.simulator import Simulator

# Every test serves OPC UA on a loopback port (the address-space cache: tests/conftest.py).
pytestmark = pytest.mark.wire

MODEL = "sorting_line"
NAMESPACE = opcua_namespace(MODEL)
#: Bound on every wait for a client, a subprocess or a notification (seconds).
WAIT = 30


@pytest.fixture
async def served():
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        async with OpcUaServer(model, plant.image, port=0) as server:
            sim.listeners.append(server.on_commit)
            yield sim, server


@pytest.fixture
async def client(served):
    _, server = served
    async with Client(server.endpoint, timeout=10) as client:
        yield client


async def tag_node(client: Client, tag: str, model: str = MODEL) -> Node:
    """The node of ``tag``, from the node id string vcommission promises (``nsu=...;s=tag``)."""
    expanded = ua.NodeId.from_string(opcua_node_id(model, tag))
    index = await client.get_namespace_index(expanded.NamespaceUri)
    return client.get_node(ua.NodeId(expanded.Identifier, index))


async def write(node: Node, value: object, variant_type: ua.VariantType) -> None:
    await node.write_value(ua.DataValue(ua.Variant(value, variant_type)))


async def children(node: Node) -> dict[str, Node]:
    return {(await child.read_browse_name()).Name: child for child in await node.get_children()}


# -- address space ----------------------------------------------------------------------------


async def test_address_space_has_model_component_and_operator_folders(client):
    index = await client.get_namespace_index(NAMESPACE)
    model_folder = await client.nodes.objects.get_child(f"{index}:{MODEL}")
    folders = await children(model_folder)
    assert {"belt", "pusher", "pe_entry", "estop", "infeed", "bin_tall", "Operator"} <= set(folders)
    for name, folder in folders.items():
        assert (await folder.read_browse_name()).NamespaceIndex == index, name
        assert await folder.read_node_class() == ua.NodeClass.Object
    belt = await children(folders["belt"])
    assert set(belt) == {"speed_actual", "conveyor_run", "speed_sp", "belt.reverse"}
    assert belt["speed_sp"].nodeid == ua.NodeId("speed_sp", index)
    assert (await belt["speed_sp"].read_browse_name()) == ua.QualifiedName("speed_sp", index)
    operator = await children(folders["Operator"])
    assert set(operator) == {
        "start_pb.pressed",
        "stop_pb.pressed",
        "reset_pb.pressed",
        "estop.pressed",
    }
    # An operator signal lives in the Operator folder only; the contact stays with its button.
    assert set(await children(folders["start_pb"])) == {"start_pb"}


async def test_variables_have_types_descriptions_units_ranges_and_access(client):
    expected = {
        "pe_entry": (ua.VariantType.Boolean, False, False),
        "stop_pb_nc": (ua.VariantType.Boolean, True, False),
        "speed_actual": (ua.VariantType.Int16, 0, False),
        "conveyor_run": (ua.VariantType.Boolean, False, True),
        "speed_sp": (ua.VariantType.Int16, 400, True),
        "infeed.count": (ua.VariantType.Int32, 0, False),
        "pusher.position": (ua.VariantType.Float, 0.0, False),
        "start_pb.pressed": (ua.VariantType.Boolean, False, True),
    }
    for tag, (variant_type, value, writable) in expected.items():
        node = await tag_node(client, tag)
        assert await node.read_data_type() == ua.NodeId(variant_type.value), tag
        data = await node.read_data_value()
        assert data.Value.VariantType == variant_type and data.Value.Value == value, tag
        access = await node.read_attribute(ua.AttributeIds.AccessLevel)
        assert bool(access.Value.Value & ua.AccessLevel.CurrentWrite.mask) is writable, tag
    speed_sp = await tag_node(client, "speed_sp")
    description = await speed_sp.read_description()
    assert description.Text == "belt speed setpoint, mm/s, 0..1000, power-on value 400"
    units = await (await speed_sp.get_child("0:EngineeringUnits")).read_value()
    assert units.DisplayName.Text == "mm/s"
    assert units.UnitId == int.from_bytes(b"C16", "big")  # UNECE millimetre per second
    assert units.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
    eu_range = await (await speed_sp.get_child("0:EURange")).read_value()
    assert (eu_range.Low, eu_range.High) == (0.0, 1000.0)
    position = await tag_node(client, "pusher.position")
    assert set(await children(position)) == {"EngineeringUnits"}  # a unit but no range
    assert await (await tag_node(client, "pe_entry")).get_children() == []


def all_types_model():
    """The sorting line's model with a synthetic table: one actuator per IEC type."""
    model = load_model(SORTING_LINE)
    signals = [Signal(f"v_{t.value.lower()}", t, Direction.TO_PLANT) for t in SignalType]
    signals.append(Signal("level", SignalType.LREAL, Direction.FROM_PLANT, unit="mm"))
    wiring = {f"io.{s.name}": i for i, s in enumerate(signals)}
    return dataclasses.replace(
        model, name="types", table=SignalTable(tuple(signals)), wiring=wiring, addresses={}
    )


async def test_every_iec_type_has_its_opcua_data_type_and_round_trips():
    model = all_types_model()
    image = ProcessImage(model.table)
    extremes = {
        SignalType.BOOL: (True, ua.VariantType.Boolean),
        SignalType.INT: (-32768, ua.VariantType.Int16),
        SignalType.DINT: (-(2**31), ua.VariantType.Int32),
        SignalType.UINT: (65535, ua.VariantType.UInt16),
        SignalType.UDINT: (2**32 - 1, ua.VariantType.UInt32),
        SignalType.WORD: (0xBEEF, ua.VariantType.UInt16),
        SignalType.DWORD: (0xDEADBEEF, ua.VariantType.UInt32),
        SignalType.REAL: (1.5, ua.VariantType.Float),
        SignalType.LREAL: (-2.25e300, ua.VariantType.Double),
    }
    async with (
        OpcUaServer(model, image, port=0) as server,
        Client(server.endpoint, timeout=10) as client,
    ):
        for type_, (value, variant_type) in extremes.items():
            node = await tag_node(client, f"v_{type_.value.lower()}", "types")
            assert await node.read_data_type() == ua.NodeId(variant_type.value), type_
            await write(node, value, variant_type)
        image.latch()
        server.on_commit(0, image.commit())
        for type_, (value, _) in extremes.items():
            assert image[f"v_{type_.value.lower()}"] == value
            node = await tag_node(client, f"v_{type_.value.lower()}", "types")
            assert await node.read_value() == value, type_
        level = await tag_node(client, "level", "types")
        units = await (await level.get_child("0:EngineeringUnits")).read_value()
        assert units.UnitId == int.from_bytes(b"MMT", "big")


# -- reads, writes, operator channel ----------------------------------------------------------


async def test_writes_are_staged_and_reads_serve_committed_values(served, client):
    sim, _ = served
    conveyor_run = await tag_node(client, "conveyor_run")
    speed_sp = await tag_node(client, "speed_sp")
    await write(conveyor_run, True, ua.VariantType.Boolean)
    await write(speed_sp, 750, ua.VariantType.Int16)
    assert sim.image["conveyor_run"] is False and sim.image["speed_sp"] == 400  # staged only
    assert await conveyor_run.read_value() is False  # reads serve the committed image
    sim.step()
    assert sim.image["conveyor_run"] is True and sim.image["speed_sp"] == 750
    assert await conveyor_run.read_value() is True and await speed_sp.read_value() == 750
    sim.step()
    assert await (await tag_node(client, "speed_actual")).read_value() == sim.image["speed_actual"]
    assert sim.image["speed_actual"] > 0


async def test_sensor_and_internal_writes_are_refused(served, client):
    sim, _ = served
    for tag in ("pe_entry", "infeed.count"):
        node = await tag_node(client, tag)
        value, variant_type = (True, ua.VariantType.Boolean)
        if tag == "infeed.count":
            value, variant_type = (5, ua.VariantType.Int32)
        with pytest.raises(ua.uaerrors.BadNotWritable):
            await write(node, value, variant_type)
    sim.step()
    assert sim.image["pe_entry"] is False and sim.image["infeed.count"] == 0


async def test_a_request_mixing_a_sensor_and_an_actuator_is_answered_item_by_item(served, client):
    sim, _ = served
    items = []
    for tag in ("pe_entry", "conveyor_run"):
        node = await tag_node(client, tag)
        items.append(
            ua.WriteValue(
                NodeId=node.nodeid,
                AttributeId=ua.AttributeIds.Value,
                Value=ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)),
            )
        )
    request = ua.WriteParameters(NodesToWrite=items)
    results = await client.uaclient.write(request)
    assert [r.name for r in results] == ["BadNotWritable", "Good"]
    sim.step()
    assert sim.image["conveyor_run"] is True and sim.image["pe_entry"] is False


async def test_refused_values_get_bad_status_and_stage_nothing(served, client):
    sim, _ = served
    speed_sp = await tag_node(client, "speed_sp")
    conveyor_run = await tag_node(client, "conveyor_run")
    with pytest.raises(ua.uaerrors.BadOutOfRange):
        await write(speed_sp, 5000, ua.VariantType.Int16)  # range 0..1000
    with pytest.raises(ua.uaerrors.BadTypeMismatch):
        await write(speed_sp, 500, ua.VariantType.Int32)  # an INT is an Int16
    with pytest.raises(ua.uaerrors.BadTypeMismatch):
        await write(conveyor_run, 1, ua.VariantType.Int16)
    # One refused value refuses its whole request: the good write in it is not staged either.
    request = ua.WriteParameters()
    for node, value, variant_type in (
        (conveyor_run, True, ua.VariantType.Boolean),
        (speed_sp, -1, ua.VariantType.Int16),
    ):
        request.NodesToWrite.append(
            ua.WriteValue(
                NodeId=node.nodeid,
                AttributeId=ua.AttributeIds.Value,
                Value=ua.DataValue(ua.Variant(value, variant_type)),
            )
        )
    with pytest.raises(ua.uaerrors.BadOutOfRange):
        await client.uaclient.write(request)
    sim.step()
    assert sim.image["speed_sp"] == 400 and sim.image["conveyor_run"] is False
    await write(speed_sp, 1000, ua.VariantType.Int16)  # the server keeps serving
    sim.step()
    assert sim.image["speed_sp"] == 1000


async def test_operator_press_reaches_the_plc_contact_at_the_next_tick(served, client):
    sim, _ = served
    pressed = await tag_node(client, "start_pb.pressed")
    contact = await tag_node(client, "start_pb")
    await write(pressed, True, ua.VariantType.Boolean)
    assert await contact.read_value() is False
    sim.step()
    assert sim.image["start_pb"] is True
    assert await contact.read_value() is True and await pressed.read_value() is True
    await write(pressed, False, ua.VariantType.Boolean)
    sim.step()
    assert await contact.read_value() is False


class Notifications:
    """asyncua subscription handler: every data change into a queue."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[object] = asyncio.Queue()

    def datachange_notification(self, node, value, data) -> None:
        self.queue.put_nowait(value)

    def status_change_notification(self, status) -> None:
        pass  # the server went away (a test that stops it)


async def step_until_notified(sim: Simulator, queue: asyncio.Queue, expected: object) -> int:
    """Step the plant, yielding to the loop after each tick, until ``expected`` is notified."""
    for tick in range(3000):  # bounded: a box reaches pe_entry after ~190 ticks
        while not queue.empty():
            if queue.get_nowait() == expected:
                return tick
        sim.step()
        await asyncio.sleep(0)
    raise AssertionError(f"no notification {expected!r} in 3000 ticks")


async def test_a_commit_in_another_thread_is_published_on_the_server_loop(served, client):
    sim, _ = served
    sim.image.stage("conveyor_run", True)
    await asyncio.to_thread(sim.step)
    await asyncio.sleep(0)  # the publication was handed to this loop
    assert await (await tag_node(client, "conveyor_run")).read_value() is True


async def test_subscription_sees_pe_entry_when_a_box_arrives(served, client):
    sim, _ = served
    handler = Notifications()
    subscription = await client.create_subscription(0, handler)
    await subscription.subscribe_data_change(await tag_node(client, "pe_entry"))
    assert await asyncio.wait_for(handler.queue.get(), WAIT) is False  # the initial value
    sim.image.stage("conveyor_run", True)
    sim.image.stage("infeed_enable", True)
    await asyncio.wait_for(step_until_notified(sim, handler.queue, True), WAIT)
    assert sim.image["pe_entry"] is True
    await subscription.delete()


async def test_every_monitored_item_of_a_node_sees_every_change_in_order(served, client):
    """The server hands one value object to every monitored item (asyncua's per-item deep
    copy cost 256 us each under 20 clients x 200 items): change detection must still work."""
    sim, _ = served
    handlers = [Notifications(), Notifications()]
    node = await tag_node(client, "conveyor_run")
    subscriptions = []
    for handler in handlers:
        subscription = await client.create_subscription(0, handler)
        await subscription.subscribe_data_change([node, node, node])  # three items each
        subscriptions.append(subscription)

    async def three_each() -> list[list[object]]:
        return [
            [await asyncio.wait_for(handler.queue.get(), WAIT) for _ in range(3)]
            for handler in handlers
        ]

    assert await three_each() == [[False] * 3] * 2  # the initial value, per item
    for value in (True, False, True):
        sim.image.stage("conveyor_run", value)
        sim.step()
        assert await three_each() == [[value] * 3] * 2
    await asyncio.sleep(0.2)
    assert all(handler.queue.empty() for handler in handlers)  # no repeated notification
    for subscription in subscriptions:
        await subscription.delete()


def test_a_shared_data_value_is_its_own_deep_copy_and_encodes_as_a_data_value():
    import copy

    from asyncua.common.utils import Buffer
    from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary

    from vcommission.adapters.opcua._asyncua_internals import SharedDataValue

    shared = SharedDataValue(ua.Variant(12.5, ua.VariantType.Double))
    assert copy.deepcopy(shared) is shared
    plain = ua.DataValue(ua.Variant(12.5, ua.VariantType.Double))
    decoded = struct_from_binary(ua.DataValue, Buffer(struct_to_binary(shared)))
    assert struct_to_binary(shared) == struct_to_binary(plain)
    assert decoded.Value == plain.Value


# -- node-opcua, an independent client ----------------------------------------------------------


@pytest.fixture(scope="module")
def node_env(tmp_path_factory):
    """Environment for the node-opcua scripts; skips (fails under CI) without node-opcua."""
    # One PKI folder per module and worker: node-opcua writes its certificates on first use.
    return node_opcua_env(tmp_path_factory.mktemp("node-opcua-config"))


async def node_script(env, script: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        require_tool("node"),
        str(NODE_DIR / script),
        *args,
        cwd=NODE_DIR,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def json_lines(text: str) -> list[dict]:
    """The scripts' JSON lines; node-opcua also logs its own lines to stdout."""
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def read_json_line(process: asyncio.subprocess.Process) -> dict:
    while True:
        line = await asyncio.wait_for(process.stdout.readline(), WAIT)
        assert line, (await process.stderr.read()).decode()[-2000:]
        if line.startswith(b"{"):
            return json.loads(line)


@pytest.mark.peer
async def test_a_write_with_an_index_range_into_a_scalar_is_refused_and_stages_nothing(
    served, client
):
    sim, _ = served
    conveyor_run = await tag_node(client, "conveyor_run")
    request = ua.WriteParameters(
        NodesToWrite=[
            ua.WriteValue(
                NodeId=conveyor_run.nodeid,
                AttributeId=ua.AttributeIds.Value,
                IndexRange="0",
                Value=ua.DataValue(ua.Variant(True, ua.VariantType.Boolean)),
            )
        ]
    )
    with pytest.raises(ua.uaerrors.BadIndexRangeInvalid):
        await client.uaclient.write(request)
    sim.step()
    assert sim.image["conveyor_run"] is False


async def test_node_opcua_browses_reads_writes_and_is_refused_on_a_sensor(served, node_env):
    sim, server = served
    process = await node_script(node_env, "explore.js", server.endpoint, NAMESPACE, MODEL)
    out, err = await asyncio.wait_for(process.communicate(), WAIT)
    assert process.returncode == 0, (out + err).decode()[-3000:]
    report = json_lines(out.decode())[-1]
    tree = report["tree"]
    assert [name for name, _ in tree["belt"]] == [
        "speed_actual",
        "conveyor_run",
        "speed_sp",
        "belt.reverse",
    ]
    assert [name for name, _ in tree["Operator"]] == [
        "start_pb.pressed",
        "stop_pb.pressed",
        "reset_pb.pressed",
        "estop.pressed",
    ]
    assert dict(tree["pe_entry"])["pe_entry"].endswith(";s=pe_entry")
    reads = report["reads"]
    assert reads["pe_entry"] == {
        "value": False,
        "dataType": "Boolean",
        "description": "low beam at the scan station, TRUE while any box blocks it",
        "writable": False,
    }
    assert reads["stop_pb_nc"]["value"] is True
    assert reads["speed_sp"] == {
        "value": 400,
        "dataType": "Int16",
        "description": "belt speed setpoint, mm/s, 0..1000, power-on value 400",
        "writable": True,
    }
    assert reads["infeed.count"]["dataType"] == "Int32"
    assert reads["pusher.position"]["dataType"] == "Float"
    assert report["properties"] == {
        "EngineeringUnits": {"unitId": int.from_bytes(b"C16", "big"), "displayName": "mm/s"},
        "EURange": {"low": 0, "high": 1000},
    }
    writes = report["writes"]
    assert writes["conveyor_run"] == "Good" and writes["speed_sp"] == "Good"
    assert writes["start_pb.pressed"] == "Good"
    assert writes["pe_entry"] == "BadNotWritable"
    assert "BadOutOfRange" in writes["speed_sp_out_of_range"]
    sim.step()
    assert sim.image["conveyor_run"] is True and sim.image["speed_sp"] == 650
    assert sim.image["start_pb"] is True and sim.image["pe_entry"] is False


@pytest.mark.peer
async def test_node_opcua_subscription_sees_pe_entry_while_the_plant_steps(served, node_env):
    sim, server = served
    process = await node_script(
        node_env,
        "subscribe.js",
        server.endpoint,
        opcua_node_id(MODEL, "pe_entry"),
        "true",
        str(WAIT * 1000),
    )
    try:
        seen = []
        while "subscribed" not in (line := await read_json_line(process)):
            seen.append(line)
        sim.image.stage("conveyor_run", True)
        sim.image.stage("infeed_enable", True)
        for _ in range(3000):  # bounded; a box reaches pe_entry after ~190 ticks
            if sim.image["pe_entry"]:
                break  # the box stays in the beam: no more ticks needed
            sim.step()
            await asyncio.sleep(0)
        assert sim.image["pe_entry"] is True
        out, err = await asyncio.wait_for(process.communicate(), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 0, (out + err).decode()[-3000:]
    seen += json_lines(out.decode())
    values = [line["value"] for line in seen if "value" in line]
    assert values[0] is False and values[-1] is True
    assert all(line["status"] == "Good" for line in seen if "status" in line)


@pytest.mark.peer
async def test_a_client_killed_mid_session_does_not_disturb_the_server(served, node_env):
    sim, server = served
    process = await node_script(
        node_env, "subscribe.js", server.endpoint, opcua_node_id(MODEL, "pe_entry"), "true", "60000"
    )
    while "subscribed" not in await read_json_line(process):
        pass
    process.send_signal(signal.SIGKILL)
    await asyncio.wait_for(process.wait(), WAIT)
    # Half a message, then gone: a broken client of another kind.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as raw:
        raw.sendall(b"HELF\x20\x00\x00\x00\x00")
    sim.image.stage("conveyor_run", True)
    sim.image.stage("infeed_enable", True)
    for _ in range(300):  # commits now publish to the dead client's subscription
        sim.step()
        await asyncio.sleep(0)
    async with Client(server.endpoint, timeout=10) as client:
        assert await (await tag_node(client, "conveyor_run")).read_value() is True
        handler = Notifications()
        subscription = await client.create_subscription(0, handler)
        await subscription.subscribe_data_change(await tag_node(client, "infeed.count"))
        count = await asyncio.wait_for(handler.queue.get(), WAIT)
        assert count == sim.image["infeed.count"] >= 1


# -- lifecycle ----------------------------------------------------------------------------------


async def test_stop_is_clean_with_a_client_still_connected():
    model = load_model(SORTING_LINE)
    before = asyncio.all_tasks()
    with Plant(model) as plant:
        sim = Simulator(plant)
        server = OpcUaServer(model, plant.image, port=0)
        await server.start()
        sim.listeners.append(server.on_commit)
        client = Client(server.endpoint, timeout=2)
        await client.connect()
        subscription = await client.create_subscription(0, Notifications())
        await subscription.subscribe_data_change(await tag_node(client, "speed_actual"))
        assert any(server_task(t) for t in asyncio.all_tasks())  # the check below can fail
        await asyncio.wait_for(server.stop(), WAIT)
        sim.step()  # a commit after stop is ignored
        with contextlib.suppress(Exception):
            await client.disconnect()
        with contextlib.suppress(Exception):
            await client.close_session()
    # The client's own tasks may linger for a moment; the server's must be gone.
    await asyncio.sleep(0.05)
    assert [t for t in asyncio.all_tasks() - before if server_task(t)] == []


def server_task(task: asyncio.Task) -> bool:
    """True for a task running code of asyncua's server or of the adapter."""
    code = getattr(task.get_coro(), "cr_code", None)
    filename = code.co_filename if code is not None else ""
    return "asyncua/server" in filename or "adapters/opcua/" in filename


async def test_a_busy_port_is_a_clear_error(served):
    _, server = served
    model = load_model(SORTING_LINE)
    other = OpcUaServer(model, ProcessImage(model.table), port=server.port)
    with pytest.raises(VcommissionError, match="cannot listen"):
        await other.start()


async def test_a_cached_address_space_serves_and_a_broken_cache_is_rebuilt(tmp_path):
    model = load_model(SORTING_LINE)
    image = ProcessImage(model.table)
    cache = tmp_path / "cache"
    if address_space_cache_dir().is_dir():  # copied: "broken" exercises building one
        shutil.copytree(address_space_cache_dir(), cache)
    for attempt in ("cached", "broken"):
        if attempt == "broken":
            for file in cache.iterdir():
                file.write_bytes(b"")
        async with (
            OpcUaServer(model, image, port=0, cache_dir=cache) as server,
            Client(server.endpoint, timeout=10) as client,
        ):
            status = await client.nodes.server_state.read_value()
            assert status == ua.ServerState.Running, attempt
            assert await (await tag_node(client, "stop_pb_nc")).read_value() is True, attempt
            assert server.connections == 1
        assert sum(f.stat().st_size for f in cache.iterdir()) > 1_000_000, attempt
    assert [p.name for p in tmp_path.iterdir()] == ["cache"]  # no build folder left over


def test_security_options_are_checked():
    with pytest.raises(ConfigError, match="cert_dir"):
        OpcUaSecurity(policies=(SecurityPolicy.BASIC256SHA256_SIGN,))
    with pytest.raises(ConfigError, match="policies"):
        OpcUaSecurity(policies=("Basic128Rsa15",))
    with pytest.raises(ConfigError, match="password"):
        OpcUaSecurity(users={"operator": ""})
    assert OpcUaSecurity(policies=("None",)).policies == (SecurityPolicy.NONE,)


# -- security -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def client_certificate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("client-pki")
    key, cert = folder / "client_key.pem", folder / "client_cert.der"
    asyncio.run(
        setup_self_signed_certificate(
            key,
            cert,
            "urn:vcommission:test-client",
            socket.gethostname(),
            [ExtendedKeyUsageOID.CLIENT_AUTH],
            {"commonName": "vcommission test client"},
        )
    )
    return cert, key


async def test_sign_and_encrypt_endpoint_accepts_a_client_with_a_certificate(
    tmp_path, client_certificate
):
    model = load_model(SORTING_LINE)
    image = ProcessImage(model.table)
    security = OpcUaSecurity(
        policies=(SecurityPolicy.BASIC256SHA256_SIGN_AND_ENCRYPT,), cert_dir=tmp_path / "pki"
    )
    async with OpcUaServer(model, image, port=0, security=security) as server:
        assert (tmp_path / "pki" / "server_cert.der").is_file()
        endpoints = await Client(server.endpoint, timeout=10).connect_and_get_server_endpoints()
        assert {(e.SecurityPolicyUri.rpartition("#")[2], e.SecurityMode) for e in endpoints} == {
            ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt)
        }
        secure = Client(server.endpoint, timeout=10)
        secure.application_uri = "urn:vcommission:test-client"  # as in its certificate
        cert, key = client_certificate
        await secure.set_security(
            SecurityPolicyBasic256Sha256,
            str(cert),
            str(key),
            mode=ua.MessageSecurityMode.SignAndEncrypt,
        )
        async with secure:
            assert await (await tag_node(secure, "stop_pb_nc")).read_value() is True
            await write(await tag_node(secure, "conveyor_run"), True, ua.VariantType.Boolean)
        image.latch()
        assert image.values[model.table.index("conveyor_run")] is True
        with pytest.raises(Exception):  # noqa: B017 - no None endpoint to talk to
            async with Client(server.endpoint, timeout=3) as plain:
                await (await tag_node(plain, "stop_pb_nc")).read_value()


async def test_with_users_anonymous_may_read_but_only_users_write(tmp_path):
    model = load_model(SORTING_LINE)
    image = ProcessImage(model.table)
    security = OpcUaSecurity(
        policies=(SecurityPolicy.NONE, SecurityPolicy.BASIC256SHA256_SIGN_AND_ENCRYPT),
        cert_dir=tmp_path / "pki",
        users={"operator": "s3cret"},
    )
    run = model.table.index("conveyor_run")
    async with OpcUaServer(model, image, port=0, security=security) as server:
        async with Client(server.endpoint, timeout=10) as anonymous:
            assert await (await tag_node(anonymous, "stop_pb_nc")).read_value() is True
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await write(await tag_node(anonymous, "conveyor_run"), True, ua.VariantType.Boolean)
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                await write(
                    await tag_node(anonymous, "start_pb.pressed"), True, ua.VariantType.Boolean
                )
        image.latch()
        assert image.values[run] is False
        user = Client(server.endpoint, timeout=10)
        user.set_user("operator")
        user.set_password("s3cret")
        async with user:
            await write(await tag_node(user, "conveyor_run"), True, ua.VariantType.Boolean)
        image.latch()
        assert image.values[run] is True
        intruder = Client(server.endpoint, timeout=10)
        intruder.set_user("operator")
        intruder.set_password("guess")
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await intruder.connect()
        with contextlib.suppress(Exception):
            await intruder.disconnect()


async def test_every_io_list_node_id_reads_and_every_output_writes_as_listed(served, client):
    sim, _ = served
    model = sim.plant.model
    rows = model.io_rows(include_internal=True)
    assert len(rows) == len(model.table)
    nodes = {}
    for row in rows:
        expanded = ua.NodeId.from_string(row.opcua)  # exactly the id io-list prints
        index = await client.get_namespace_index(expanded.NamespaceUri)
        nodes[row.tag] = client.get_node(ua.NodeId(expanded.Identifier, index))
        value = await nodes[row.tag].read_value()
        assert value == pytest.approx(sim.image[row.tag]), row.tag
    writes = {
        row.tag: (not sim.image[row.tag]) if row.type.value == "BOOL" else 7
        for row in rows
        if row.direction.value in ("to_plant", "operator")
    }
    for tag, value in writes.items():
        variant = ua.VariantType.Boolean if isinstance(value, bool) else ua.VariantType.Int16
        await write(nodes[tag], value, variant)
    sim.step()
    for tag, value in writes.items():
        assert sim.image[tag] == value, tag
        assert await nodes[tag].read_value() == value, tag
