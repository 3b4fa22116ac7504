"""Contract test of the asyncua internals the OPC UA adapter relies on.

Each test checks one touch listed in :mod:`vcommission.adapters.opcua._asyncua_internals`
against a bare asyncua server (one writable Int16 variable, one read-only one) and a bare
asyncua client, without the adapter's server around them: when an asyncua upgrade moves or
changes an internal, the test named after it fails here, before the adapter's own tests fail
in less obvious ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, Server, ua
from asyncua.crypto import permission_rules
from asyncua.server.address_space import AttributeService, AttributeValue, NodeData
from asyncua.server.standard_address_space import standard_address_space

from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.adapters.opcua.cache import initialised_server, prepare_address_space_cache

WAIT = 10.0
NAMESPACE = "urn:vcommission:contract"


@dataclass
class Bare:
    """A started asyncua server and what a test needs of it."""

    server: Server
    url: str
    #: The writable Int16 variable and the read-only one.
    writable: ua.NodeId
    read_only: ua.NodeId


@pytest.fixture(scope="module")
def cache() -> Path:
    return asyncio.run(prepare_address_space_cache())


@pytest.fixture
async def bare(cache: Path) -> AsyncIterator[Bare]:
    server = await initialised_server({}, cache)
    server.disable_clock(True)
    server.set_endpoint("opc.tcp://127.0.0.1:0/contract")
    idx = await server.register_namespace(NAMESPACE)
    writable = await server.nodes.objects.add_variable(
        ua.NodeId("w", idx), ua.QualifiedName("w", idx), ua.Variant(0, ua.VariantType.Int16)
    )
    await writable.set_writable()
    read_only = await server.nodes.objects.add_variable(
        ua.NodeId("r", idx), ua.QualifiedName("r", idx), ua.Variant(0, ua.VariantType.Int16)
    )
    await server.start()
    url = f"opc.tcp://127.0.0.1:{internals.bound_port(server)}/contract"
    try:
        yield Bare(server, url, writable.nodeid, read_only.nodeid)
    finally:
        await server.stop()
        await internals.close_kept_sessions(server)


async def until(condition: Callable[[], bool]) -> None:
    deadline = asyncio.get_running_loop().time() + WAIT
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


def int16(value: int) -> ua.DataValue:
    return ua.DataValue(ua.Variant(value, ua.VariantType.Int16))


# -- the import-time check ---------------------------------------------------------------------


def test_check_passes_on_this_asyncua():
    internals.check()


@pytest.mark.parametrize(
    ("owner", "name"),
    [
        (AttributeService, "write"),
        (permission_rules, "USER_TYPES"),
        (internals.UaClient, "write_attributes"),
        (internals.InternalServer, "load_standard_address_space"),
    ],
)
def test_check_names_what_is_missing_and_the_asyncua_version(monkeypatch, owner, name):
    monkeypatch.delattr(owner, name)
    with pytest.raises(internals.AsyncuaInternalsError, match=f"asyncua {version('asyncua')}"):
        internals.check()


def test_a_missing_instance_attribute_is_the_same_clear_error():
    with pytest.raises(internals.AsyncuaInternalsError, match=r"Server\.iserver"):
        internals.value_attribute(object(), ua.NodeId(1))  # type: ignore[arg-type]


# -- 1, 2: publishing values -------------------------------------------------------------------


async def test_1_a_value_stored_in_the_value_attribute_is_what_clients_read(bare):
    attribute = internals.value_attribute(bare.server, bare.writable)
    assert isinstance(attribute, AttributeValue)
    assert internals.publish(attribute, int16(7)) is False  # nobody subscribed
    assert bare.server.read_attribute_value(bare.writable).Value.Value == 7
    async with Client(bare.url, timeout=WAIT) as client:
        assert await client.get_node(bare.writable).read_value() == 7


async def test_2_notify_sends_the_value_to_a_subscription(bare):
    received: asyncio.Queue[Any] = asyncio.Queue()

    class Handler:
        def datachange_notification(self, node: Any, value: Any, data: Any) -> None:
            received.put_nowait(value)

    attribute = internals.value_attribute(bare.server, bare.writable)
    async with Client(bare.url, timeout=WAIT) as client:
        subscription = await client.create_subscription(0, Handler())
        await subscription.subscribe_data_change(client.get_node(bare.writable))
        assert await asyncio.wait_for(received.get(), WAIT) == 0  # the initial value
        assert attribute.datachange_callbacks  # the subscription monitors the node
        assert internals.publish(attribute, int16(9)) is True
        await internals.notify(attribute, int16(9), "w")
        assert await asyncio.wait_for(received.get(), WAIT) == 9


async def test_2_a_failing_callback_does_not_stop_the_others(bare, caplog):
    attribute = AttributeValue(int16(0))
    seen: list[int] = []

    async def broken(handle: int, data: ua.DataValue) -> None:
        raise RuntimeError("broken")

    async def fine(handle: int, data: ua.DataValue) -> None:
        seen.append(handle)

    attribute.datachange_callbacks.update({1: broken, 2: fine})
    await internals.notify(attribute, int16(1), "w")
    assert seen == [2]
    assert "OPC UA notification for w failed" in caplog.text


# -- 3, 4, 9: client writes --------------------------------------------------------------------


async def test_3_the_wrapped_attribute_write_sees_every_client_write(bare):
    seen: list[list[ua.NodeId]] = []

    def wrap(forward: internals.WriteService) -> internals.WriteService:
        async def write(params: ua.WriteParameters, user: Any = None) -> list[ua.StatusCode]:
            seen.append([item.NodeId for item in params.NodesToWrite])
            return await forward(params, user=user)

        return write

    internals.wrap_attribute_write(bare.server, wrap)
    async with Client(bare.url, timeout=WAIT) as client:
        await client.get_node(bare.writable).write_value(int16(5))
        assert await client.get_node(bare.writable).read_value() == 5
    assert seen == [[bare.writable]]


async def test_4_a_prewrite_callback_raising_fails_the_request_before_any_setter(bare):
    from asyncua.common.callback import CallbackType

    set_by_setter: list[Any] = []
    bare.server.set_attribute_value_setter(
        bare.writable, lambda node, attribute, data: set_by_setter.append(data)
    )

    def refuse(event: Any, dispatcher: Any) -> None:
        if event.is_external:
            raise internals.refuse_request(ua.StatusCodes.BadOutOfRange)

    bare.server.subscribe_server_callback(CallbackType.PreWrite, refuse)
    async with Client(bare.url, timeout=WAIT) as client:
        with pytest.raises(ua.UaStatusCodeError) as refused:
            await client.get_node(bare.writable).write_value(int16(3))
    assert refused.value.code == ua.StatusCodes.BadOutOfRange
    assert set_by_setter == []


async def test_9_a_value_setter_gets_node_data_with_the_node_id(bare):
    nodes: list[Any] = []
    bare.server.set_attribute_value_setter(
        bare.writable, lambda node, attribute, data: nodes.append(node)
    )
    async with Client(bare.url, timeout=WAIT) as client:
        await client.get_node(bare.writable).write_value(int16(4))
    (node,) = nodes
    assert isinstance(node, NodeData) and node.nodeid == bare.writable


def test_8_user_request_types_allow_reads_writes_and_calls():
    types = internals.user_request_types()
    for request in ("ReadRequest", "WriteRequest", "CallRequest", "CreateSubscriptionRequest"):
        encoding = getattr(ua.ObjectIds, f"{request}_Encoding_DefaultBinary")
        assert ua.NodeId(encoding) in types, request


# -- 5, 6: connections and sessions ------------------------------------------------------------


async def test_5_the_bound_port_is_where_clients_connect_and_connections_are_counted(bare):
    port = internals.bound_port(bare.server)
    assert port and f":{port}/" in bare.url
    events: list[bool] = []
    internals.watch_connections(bare.server, events.append)
    assert internals.connection_count(bare.server) == 0
    client = Client(bare.url, timeout=WAIT)
    await client.connect()
    await until(lambda: internals.connection_count(bare.server) == 1)
    assert events == [True]
    await client.disconnect()
    await until(lambda: internals.connection_count(bare.server) == 0)
    assert events == [True, False]


async def test_5_connections_made_before_the_watch_are_reported_coming_and_going(bare):
    client = Client(bare.url, timeout=WAIT)
    await client.connect()
    await until(lambda: internals.connection_count(bare.server) == 1)
    events: list[bool] = []
    internals.watch_connections(bare.server, events.append)
    assert events == [True]
    await client.disconnect()
    await until(lambda: events == [True, False])
    assert internals.connection_count(bare.server) == 0


async def test_6_a_dropped_session_with_subscriptions_is_kept_until_closed(cache):
    server = await initialised_server({}, cache)
    server.disable_clock(True)
    server.set_endpoint("opc.tcp://127.0.0.1:0/contract")
    await server.start()
    url = f"opc.tcp://127.0.0.1:{internals.bound_port(server)}/contract"
    client = Client(url, timeout=WAIT)
    await client.connect()

    class Handler:
        def datachange_notification(self, *args: Any) -> None:
            pass

    subscription = await client.create_subscription(100, Handler())
    await subscription.subscribe_data_change(client.nodes.server_state)
    internals.drop_connection(client)  # touch 10 too: the link drops without a goodbye
    await until(lambda: internals.connection_count(server) == 0)
    kept = list(server.iserver._external_sessions.values())
    assert kept, "asyncua no longer keeps a dropped session: close_kept_sessions may go"
    await server.stop()
    assert server.iserver._external_sessions, "Server.stop() now closes kept sessions itself"
    await internals.close_kept_sessions(server)
    assert server.iserver._external_sessions == {}
    await asyncio.sleep(0)
    assert all(s._timeout_task is None or s._timeout_task.done() for s in kept)
    with contextlib.suppress(Exception):
        await client.disconnect()


# -- 7: the shelf ------------------------------------------------------------------------------


async def test_7_a_shelf_is_found_only_at_its_path_and_mark_shelf_puts_a_file_there(
    cache, tmp_path, monkeypatch
):
    folder = tmp_path / "cache"
    shutil.copytree(cache, folder)
    shelf = folder / "aspace"

    def no_build(*args: Any) -> None:
        raise AssertionError("built the standard address space instead of loading the shelf")

    monkeypatch.setattr(standard_address_space, "fill_address_space", no_build)
    if shelf.is_file() and shelf.stat().st_size == 0:  # the marker of a dbm.dumb shelf
        shelf.unlink()
        with pytest.raises(AssertionError, match="instead of loading"):
            await Server().init(shelf)
        internals.mark_shelf(shelf)
        assert shelf.is_file()
    await Server().init(shelf)  # loads, does not build
    internals.mark_shelf(shelf)  # a shelf found already is left alone


# -- 10: the client's link ---------------------------------------------------------------------


async def test_10_write_values_answers_a_status_per_item_without_raising(bare):
    async with Client(bare.url, timeout=WAIT) as client:
        results = await internals.write_values(
            client, [bare.writable, bare.read_only], [int16(6), int16(6)]
        )
        assert [r.is_good() for r in results] == [True, False]
        assert await client.get_node(bare.writable).read_value() == 6
        assert await client.get_node(bare.read_only).read_value() == 0


async def test_10_drop_connection_closes_the_link_at_once_and_never_raises(bare):
    client = Client(bare.url, timeout=WAIT)
    await client.connect()
    await until(lambda: internals.connection_count(bare.server) == 1)
    internals.drop_connection(client)
    await until(lambda: internals.connection_count(bare.server) == 0)
    internals.drop_connection(client)  # again: nothing left to close
    internals.drop_connection(object())  # type: ignore[arg-type]


async def test_11_connection_limits_close_extra_and_never_activated_connections(cache):
    server = await initialised_server({}, cache)
    server.disable_clock(True)
    server.set_endpoint("opc.tcp://127.0.0.1:0/contract")
    internals.apply_connection_limits(server, max_connections=1, pending_activation_s=0.3)
    accepted: list[Any] = []
    await server.start()
    try:
        internals.watch_connections(server, lambda connected: None, accepted.append)
        port = internals.bound_port(server)
        loop = asyncio.get_running_loop()
        started = loop.time()
        first_reader, first_writer = await asyncio.open_connection("127.0.0.1", port)
        await until(lambda: internals.connection_count(server) == 1)
        assert len(accepted) == 1 and accepted[0] is not None  # the transport's socket
        assert accepted[0].getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM
        extra_reader, extra_writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(extra_reader.read(1), WAIT) == b""  # over the limit
        # The first never says HEL, let alone activates a session: closed after 0.3 s.
        assert await asyncio.wait_for(first_reader.read(1), WAIT) == b""
        assert loop.time() - started >= 0.3
        first_writer.close()
        extra_writer.close()
    finally:
        await server.stop()


def test_12_the_client_loggers_are_the_ones_asyncua_logs_to():
    for name in internals.CLIENT_LOGGERS:
        source = inspect.getsource(importlib.import_module(name))
        assert "logging.getLogger(__name__)" in source
