"""Every use of asyncua's internals, in one place, checked against the asyncua installed.

asyncua (written against 2.1) has no public API for what follows; the rest of
:mod:`vcommission.adapters.opcua` uses only its public API (``Server``, ``Client``, ``Node``,
``ua``, server callbacks, value setters, user managers, permission rulesets, certificate
generation) and reaches asyncua's internals only through the functions here. Each touch,
and why:

1. **The Value attribute of a node** (``server.iserver.aspace[nodeid].attributes[Value]``, an
   ``asyncua.server.address_space.AttributeValue``): :func:`publish` stores a committed value
   into ``.value`` synchronously, because every public write is a coroutine and the
   simulator's commit listener must not wait (:func:`value_attribute`, :func:`publish`).
2. **Its data-change callbacks** (``AttributeValue.datachange_callbacks``, handle ->
   coroutine): after storing a value, :func:`notify` calls them as
   ``AddressSpace.write_attribute_value`` does (``await callback(handle, data)``), which
   queues a notification on each subscription monitoring the node.
3. **The attribute service's write** (``server.iserver.attribute_service.write``, which
   ``InternalSession.write`` calls after the PreWrite callbacks): replaced by a wrapper
   (monkey-patched) so that writes to sensor variables are answered ``BadNotWritable`` item
   by item, where asyncua says ``BadUserAccessDenied`` (:func:`wrap_attribute_write`).
4. **A PreWrite callback that raises** ``ua.UaStatusCodeError`` fails the whole write
   request with that code before any value setter runs (asyncua's request processor turns
   it into a service fault): :func:`refuse_request`.
5. **The binary server** (``Server.bserver``, ``asyncua.server.binary_server_asyncio
   .BinaryServer``): ``.port`` is the bound port when port 0 was asked for
   (:func:`bound_port`); ``.clients`` is the list of TCP connections, which each
   ``OPCUAProtocol`` appends itself to in ``connection_made`` and removes itself from in
   ``connection_lost`` (it holds the list it was given by ``_make_protocol``, which hands
   every new connection ``bserver.clients``): :func:`connection_count`, and
   :func:`watch_connections`, which swaps in a list that reports those two calls (asyncua has
   no connect event).
6. **Sessions kept after their connection dropped** (``server.iserver._external_sessions``,
   private): asyncua keeps an activated session with subscriptions open when its connection
   drops (Part 4 6.7: the client may come back) and ``Server.stop()`` leaves it open, its
   watchdog task pending; :func:`close_kept_sessions` closes them.
7. **How a shelf is found** (``InternalServer.load_standard_address_space``): the standard
   address space is loaded from a shelf only when the path or ``path.db`` is a file, but
   ``dbm.dumb`` (the only dbm of a Python built without gdbm and ndbm) writes ``path.dat``
   and ``path.dir``: :func:`mark_shelf` puts an empty file at the path.
8. **The request types asyncua allows a user**
   (``asyncua.crypto.permission_rules.USER_TYPES``, undocumented): the anonymous-read-only
   ruleset allows the same but writes and calls (:func:`user_request_types`).
9. **The value setter's node** (``asyncua.server.address_space.NodeData``, which asyncua's
   docstring calls internal): a setter reads only its ``.nodeid`` (:data:`NodeData`).
10. **The client's low-level link** (``Client.uaclient``): ``uaclient.write_attributes``
    writes a batch and answers a status per item without raising (:func:`write_values`);
    ``uaclient.protocol.transport.close()`` drops the link synchronously, where
    ``Client.disconnect`` is a coroutine (:func:`drop_connection`).
11. **The internal server's connection bounds** (``server.iserver.max_connections``, beyond
    which ``OPCUAProtocol.connection_made`` closes a new connection at once, and
    ``max_pending_activation_seconds``, after which a connection that never activated a
    session is closed) and **the connection's transport** (``OPCUAProtocol.transport``, for
    TCP keepalive): :func:`apply_connection_limits`, and ``on_accept`` of
    :func:`watch_connections`.
12. **The names of asyncua's server loggers** (:data:`CLIENT_LOGGERS`), which log an error
    and a traceback per malformed message: a filter on each lets one line per message kind
    through per interval.
13. **The monitored item's copy of each value**
    (``MonitoredItemValues.set_current_datavalue`` deep-copies every DataValue it is handed,
    "to prevent referencing the inner value", once per monitored item): with 20 clients of
    200 items that copy was a third of the serving process's time (256 us a call, measured
    with tools/bench/soak.py). :class:`SharedDataValue`, which the server publishes, is never
    changed after it is made, so its deep copy is itself (``__deepcopy__``): asyncua's
    comparison of old and new values sees the same values, without the copies.

:func:`check` runs at import and raises :class:`AsyncuaInternalsError`, naming the asyncua
version, when a class, function or parameter these rely on is missing; instance attributes
are checked on first use, with the same error. ``tests/adapters/test_asyncua_contract.py``
checks that each behaves as assumed, so that an asyncua upgrade fails there first.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

from asyncua import Client, Server, ua
from asyncua.client.ua_client import UaClient
from asyncua.crypto import permission_rules
from asyncua.server.address_space import AddressSpace, AttributeService, AttributeValue, NodeData
from asyncua.server.internal_server import InternalServer
from asyncua.server.internal_session import InternalSession

from vcommission.errors import VcommissionError

__all__ = [
    "CLIENT_LOGGERS",
    "AsyncuaInternalsError",
    "AttributeValue",
    "NodeData",
    "WriteService",
    "apply_connection_limits",
    "bound_port",
    "check",
    "close_kept_sessions",
    "connection_count",
    "drop_connection",
    "mark_shelf",
    "notify",
    "publish",
    "refuse_request",
    "user_request_types",
    "value_attribute",
    "watch_connections",
    "wrap_attribute_write",
    "write_values",
]

log = logging.getLogger(__name__)

#: The internal server's attributes :func:`apply_connection_limits` sets.
_CONNECTION_BOUNDS = ("max_connections", "max_pending_activation_seconds")

#: The attribute service's write: ``await write(params, user=user)`` -> a status per item.
WriteService = Callable[..., Awaitable[list[ua.StatusCode]]]

#: The asyncua release these internals were read from.
WRITTEN_FOR = "2.1"


class AsyncuaInternalsError(VcommissionError):
    """Raised when the installed asyncua lacks an internal the OPC UA adapter relies on."""


def _missing(what: str) -> AsyncuaInternalsError:
    return AsyncuaInternalsError(
        f"asyncua {version('asyncua')}: {what} is missing or changed; vcommission's OPC UA "
        f"adapter relies on it and was written against asyncua {WRITTEN_FOR} (see "
        "vcommission/adapters/opcua/_asyncua_internals.py and "
        "tests/adapters/test_asyncua_contract.py)"
    )


def _attribute(owner: object, name: str, what: str) -> Any:
    """``owner.name``, or :class:`AsyncuaInternalsError` naming ``what``."""
    try:
        return getattr(owner, name)
    except AttributeError:
        raise _missing(what) from None


def check() -> None:
    """Check that the classes, functions and parameters relied on exist.

    Raises:
        AsyncuaInternalsError: One is missing; the message names it and asyncua's version.
    """
    attribute = AttributeValue(ua.DataValue())
    for name in ("value", "datachange_callbacks"):
        if not hasattr(attribute, name):
            raise _missing(f"AttributeValue.{name}")
    if not isinstance(attribute.datachange_callbacks, dict):
        raise _missing("AttributeValue.datachange_callbacks (a dict)")
    if not isinstance(getattr(NodeData(ua.NodeId()), "attributes", None), dict):
        raise _missing("NodeData.attributes")
    if not hasattr(AddressSpace, "__getitem__"):
        raise _missing("AddressSpace[nodeid]")
    for owner, name in ((AttributeService, "write"), (InternalSession, "write")):
        if not inspect.iscoroutinefunction(getattr(owner, name, None)):
            raise _missing(f"{owner.__name__}.{name} (a coroutine)")
    if not inspect.iscoroutinefunction(getattr(UaClient, "write_attributes", None)):
        raise _missing("UaClient.write_attributes (a coroutine)")
    loader = getattr(InternalServer, "load_standard_address_space", None)
    if loader is None or "shelf_file" not in inspect.signature(loader).parameters:
        raise _missing("InternalServer.load_standard_address_space(shelf_file)")
    if not isinstance(getattr(permission_rules, "USER_TYPES", None), list | tuple | set):
        raise _missing("asyncua.crypto.permission_rules.USER_TYPES")
    for name in _CONNECTION_BOUNDS:
        if name not in inspect.getsource(InternalServer.__init__):
            raise _missing(f"InternalServer.{name}")


check()


# -- 1, 2: publishing values ----------------------------------------------------------------


def value_attribute(server: Server, nodeid: ua.NodeId) -> AttributeValue:
    """The Value attribute of ``nodeid`` in ``server``'s address space (touch 1)."""
    aspace = _attribute(_attribute(server, "iserver", "Server.iserver"), "aspace", "aspace")
    try:
        return aspace[nodeid].attributes[ua.AttributeIds.Value]
    except (KeyError, AttributeError, TypeError):
        raise _missing(f"the Value attribute of {nodeid.to_string()} in iserver.aspace") from None


class SharedDataValue(ua.DataValue):
    """A DataValue nobody changes after it is made: a deep copy of it is the value itself.

    The server makes a new one for every committed value and hands the same object to
    every monitored item (touch 13); asyncua encodes it as the DataValue it is.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, object]) -> SharedDataValue:
        return self


def publish(attribute: AttributeValue, data: ua.DataValue) -> bool:
    """Store ``data`` as the attribute's value, synchronously (touch 1).

    Returns:
        True when a subscription monitors the node: :func:`notify` must then tell it.
    """
    attribute.value = data
    return bool(attribute.datachange_callbacks)


async def notify(attribute: AttributeValue, data: ua.DataValue, name: str) -> None:
    """Queue ``data`` on every subscription monitoring the attribute (touch 2).

    A failing callback is logged (``name`` says which variable) and does not stop the others.
    """
    for handle, callback in list(attribute.datachange_callbacks.items()):
        try:
            await callback(handle, data)
        except Exception:
            log.exception("OPC UA notification for %s failed", name)


# -- 3, 4: client writes --------------------------------------------------------------------


def wrap_attribute_write(server: Server, wrap: Callable[[WriteService], WriteService]) -> None:
    """Replace the attribute service's write with ``wrap(original)`` (touch 3)."""
    service = _attribute(
        _attribute(server, "iserver", "Server.iserver"),
        "attribute_service",
        "InternalServer.attribute_service",
    )
    service.write = wrap(_attribute(service, "write", "AttributeService.write"))


def refuse_request(code: int) -> ua.UaStatusCodeError:
    """The exception a PreWrite callback raises to fail the whole request with ``code`` (4)."""
    return ua.UaStatusCodeError(code)


def user_request_types() -> frozenset[ua.NodeId]:
    """Encodings of the requests asyncua's own ruleset allows a user (touch 8)."""
    return frozenset(ua.NodeId(t) for t in permission_rules.USER_TYPES)


# -- 5, 6: connections and sessions ---------------------------------------------------------


def _binary_server(server: Server) -> Any:
    return _attribute(server, "bserver", "Server.bserver")


def bound_port(server: Server) -> int | None:
    """The port the started server listens on (touch 5); None before it listens."""
    bserver = _binary_server(server)
    return None if bserver is None else _attribute(bserver, "port", "BinaryServer.port")


def connection_count(server: Server) -> int:
    """TCP connections to the server now, with or without a session (touch 5)."""
    bserver = _binary_server(server)
    if bserver is None:
        return 0
    return len(_attribute(bserver, "clients", "BinaryServer.clients"))


class _WatchedClients(list):
    """``BinaryServer.clients`` that reports each connection coming and going."""

    def __init__(
        self,
        clients: list[Any],
        on_connect: Callable[[bool], None],
        on_accept: Callable[[Any], None] | None = None,
    ) -> None:
        super().__init__(clients)
        self.on_connect = on_connect
        self.on_accept = on_accept

    def append(self, client: Any) -> None:
        super().append(client)
        if self.on_accept is not None:
            transport = getattr(client, "transport", None)
            self.on_accept(None if transport is None else transport.get_extra_info("socket"))
        self.on_connect(True)

    def remove(self, client: Any) -> None:
        super().remove(client)
        self.on_connect(False)


def watch_connections(
    server: Server,
    on_connect: Callable[[bool], None],
    on_accept: Callable[[Any], None] | None = None,
) -> None:
    """Call ``on_connect(True)`` when a client connects and ``on_connect(False)`` when it goes.

    Call it right after ``server.start()`` (touch 5). Connections made before are reported
    at once and moved to the watched list, so that their going is reported too.
    ``on_accept`` is given each new connection's socket first (touch 11), e.g. to set
    TCP keepalive.
    """
    bserver = _binary_server(server)
    if bserver is None:
        raise _missing("Server.bserver after start()")
    clients = _attribute(bserver, "clients", "BinaryServer.clients")
    if not isinstance(clients, list):
        raise _missing("BinaryServer.clients (a list)")
    watched = _WatchedClients(clients, on_connect, on_accept)
    for protocol in clients:
        _attribute(protocol, "clients", "OPCUAProtocol.clients")
        protocol.clients = watched
    bserver.clients = watched
    for _ in clients:
        on_connect(True)


async def close_kept_sessions(server: Server) -> None:
    """Close the sessions asyncua keeps after their connection dropped (touch 6).

    Call it after ``server.stop()``.
    """
    sessions = _attribute(
        _attribute(server, "iserver", "Server.iserver"),
        "_external_sessions",
        "InternalServer._external_sessions",
    )
    for session in list(sessions.values()):
        await session.close_session(True)


# -- 7: the address space shelf -------------------------------------------------------------


def mark_shelf(shelf: Path) -> None:
    """Make asyncua find the shelf at ``shelf`` whichever dbm module wrote it (touch 7).

    An empty file at the path satisfies asyncua's check; ``dbm.whichdb`` still identifies
    a dumb database by its ``.dat``/``.dir`` pair.
    """
    if not shelf.exists() and not shelf.with_suffix(".db").exists():
        shelf.touch()


# -- 10: the client's link ------------------------------------------------------------------


def _uaclient(client: Client) -> UaClient:
    return _attribute(client, "uaclient", "Client.uaclient")


async def write_values(
    client: Client, nodeids: list[ua.NodeId], data: list[ua.DataValue]
) -> list[ua.StatusCode]:
    """Write the Value attribute of each node in one request; a status per item (touch 10)."""
    return await _uaclient(client).write_attributes(nodeids, data, ua.AttributeIds.Value)


def drop_connection(client: Client) -> None:
    """Close the client's connection now, without a goodbye (touch 10); never raises."""
    with contextlib.suppress(Exception):
        _uaclient(client).protocol.transport.close()  # type: ignore[union-attr]


# -- 11, 12: bounds on clients ----------------------------------------------------------------

#: asyncua's loggers that log per client message or connection (touch 12).
CLIENT_LOGGERS = (
    "asyncua.server.binary_server_asyncio",
    "asyncua.server.uaprocessor",
    "asyncua.server.internal_session",
)


def apply_connection_limits(
    server: Server, max_connections: int, pending_activation_s: float
) -> None:
    """Bound the connections ``server`` accepts (touch 11); call before ``server.start()``.

    Args:
        server: The server, initialised but not started.
        max_connections: Connections served at once; one more is closed at once.
        pending_activation_s: Seconds a connection may stay without an activated session.
    """
    iserver = _attribute(server, "iserver", "Server.iserver")
    for name in _CONNECTION_BOUNDS:
        _attribute(iserver, name, f"InternalServer.{name}")
    iserver.max_connections = max_connections
    iserver.max_pending_activation_seconds = pending_activation_s
