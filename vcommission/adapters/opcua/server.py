"""The OPC UA server: serves a model's address space, stages writes, publishes commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback

from vcommission.adapters.limits import ServerLimits, enable_keepalive, rate_limit_logger
from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.adapters.opcua.address_space import (
    WRITERS,
    Variable,
    build_address_space,
    read_only_node_ids,
)
from vcommission.adapters.opcua.cache import address_space_cache_dir, initialised_server
from vcommission.adapters.opcua.security import OpcUaSecurity, setup_security
from vcommission.addressing import opcua_endpoint, opcua_namespace
from vcommission.errors import SignalError, VcommissionError
from vcommission.signals import ProcessImage, Value

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = ["OpcUaServer"]

log = logging.getLogger(__name__)


#: Variables whose subscribers are told before the flush lets other tasks run.
_NOTIFY_BATCH = 8


def _ignore(connected: bool) -> None:
    """The connection callback when nobody asked for one."""


class OpcUaServer:
    """OPC UA server for a model's process image; an async context manager.

    A :class:`~vcommission.adapters.base.PlantServer`: ``port=0`` binds a free port;
    :attr:`port` and :attr:`endpoint` tell which after :meth:`start`. Append
    :meth:`on_commit` to the simulator's listeners.

    * Reads serve the last committed values. :meth:`on_commit` puts the changed values into
      the address space synchronously, so a read after a tick sees the tick; the
      notifications of subscribed items are sent by a flush task it wakes, because asyncua's
      monitored-item callbacks are coroutines and the listener must not block.
    * Writes are accepted exactly on ``to_plant`` signals (PLC outputs, as a soft PLC or a
      test writes them) and on ``operator`` signals; they are checked by
      :meth:`Signal.coerce` and *staged*: they take effect at the next tick, and a read
      answers the committed value until then. A write request with a value a signal refuses
      is answered ``BadOutOfRange`` (a value of the wrong OPC UA type ``BadTypeMismatch``)
      and stages nothing of that request; a write to a sensor or internal variable is
      answered ``BadNotWritable`` for that item (asyncua itself would say
      ``BadUserAccessDenied``, i.e. "not for you", for any read-only node).

    Args:
        model: The model whose signals are served.
        image: Its process image (writes are staged into it).
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        realtime: Keep asyncua's one-second ``ServerStatus.CurrentTime`` clock running (only
            meaningful when virtual time follows the wall clock).
        security: Endpoints, certificate and users; no security and no users by default.
        cache_dir: Folder of the standard address space cache (see
            :mod:`vcommission.adapters.opcua.cache`); :func:`address_space_cache_dir` by
            default. A folder that cannot be written only costs start time.
        on_connect: Called with True when a client connects (a TCP connection, with or
            without a session) and False when it goes, as :attr:`connections` counts them.
        limits: Connection limit (past it asyncua closes a new connection at once),
            keepalive, and ``idle_timeout_s`` as the time a connection may stay without an
            activated session (an activated session is bounded by its own timeout, which
            the client asks for and the server caps); see :mod:`vcommission.adapters.limits`.
            asyncua's per-message error lines (with a traceback each) are let through once
            per kind per 10 s.
    """

    def __init__(
        self,
        model: Model,
        image: ProcessImage,
        host: str = "127.0.0.1",
        port: int = 4840,
        *,
        realtime: bool = False,
        security: OpcUaSecurity | None = None,
        cache_dir: str | Path | None = None,
        on_connect: Callable[[bool], None] | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self.model = model
        self.limits = limits if limits is not None else ServerLimits()
        self.image = image
        self.host = host
        self.port = port
        self.realtime = realtime
        self.security = security or OpcUaSecurity()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else address_space_cache_dir()
        #: Called with True when a client connects and False when it goes.
        self.on_connect = on_connect
        #: Namespace index of the model's namespace, known after :meth:`start`.
        self.namespace_index: int | None = None
        #: Wall-clock seconds the last :meth:`start` took.
        self.start_seconds: float | None = None
        self._server: Server | None = None
        self._variables: list[Variable | None] = [None] * len(model.table)
        self._writable: dict[ua.NodeId, Variable] = {}
        self._pending: dict[int, tuple[Variable, ua.DataValue]] = {}
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    @property
    def endpoint(self) -> str:
        """``opc.tcp://host:port/vcommission/<model>`` (the bound port after :meth:`start`)."""
        return opcua_endpoint(self.host, self.port, self.model.name)

    @property
    def connections(self) -> int:
        """Clients connected now (TCP connections, with or without a session)."""
        server = self._server
        return 0 if server is None else internals.connection_count(server)

    @property
    def application_uri(self) -> str:
        """The server's ApplicationUri (also in its certificate)."""
        return f"urn:{socket.gethostname()}:vcommission:{self.model.name}"

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Build the address space and listen.

        Raises:
            VcommissionError: The port cannot be bound or the certificate cannot be made.
        """
        started = time.perf_counter()
        self._variables = [None] * len(self.model.table)
        self._writable = {}
        server = await initialised_server(self.security.users, self.cache_dir)
        # The clock task rewrites ServerStatus every second of wall time and makes stop()
        # wait up to a second for its sleep; virtual time is not wall time anyway.
        server.disable_clock(not self.realtime)
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"vcommission {self.model.name}")
        await server.set_application_uri(self.application_uri)
        await setup_security(server, self.security, self.application_uri, self.model.name)
        self.namespace_index = await server.register_namespace(opcua_namespace(self.model.name))
        self._variables, self._writable = await build_address_space(
            server, self.model, self.image.committed, self.namespace_index, self._stage
        )
        internals.apply_connection_limits(
            server,
            # asyncua has no "unlimited": 0 means "no limit" here, as for Modbus.
            self.limits.max_connections or 1_000_000,
            self.limits.idle_timeout_s or 1e9,
        )
        for name in internals.CLIENT_LOGGERS:
            rate_limit_logger(name)
        server.subscribe_server_callback(CallbackType.PreWrite, self._check_writes)
        self._answer_read_only(server)
        try:
            await server.start()
        except OSError as exc:
            raise VcommissionError(
                f"OPC UA server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        self._server = server
        port = internals.bound_port(server)
        if port is not None:
            self.port = port  # the bound one when port was 0
        on_connect = self.on_connect if self.on_connect is not None else _ignore
        keepalive_s = self.limits.keepalive_s
        try:
            internals.watch_connections(
                server, on_connect, lambda sock: enable_keepalive(sock, keepalive_s)
            )
        except BaseException:
            await server.stop()  # a failed __aenter__ gets no __aexit__: stop listening
            raise
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._wake = asyncio.Event()
        self._flusher = asyncio.create_task(self._flush(), name="opcua-publish")
        self.start_seconds = time.perf_counter() - started
        log.info("OPC UA server on %s (%.2f s to start)", self.endpoint, self.start_seconds)

    async def stop(self) -> None:
        """Stop publishing, close every session and the listening socket."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        server, self._server = self._server, None
        self._pending.clear()
        if server is None:
            return
        await server.stop()
        # Sessions kept for a client that may come back would die pending with the loop.
        await internals.close_kept_sessions(server)

    async def __aenter__(self) -> OpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- client writes -----------------------------------------------------------------------

    def _answer_read_only(self, server: Server) -> None:
        """Answer writes to sensor and internal variables ``BadNotWritable``, item by item.

        asyncua answers every write to a node without CurrentWrite ``BadUserAccessDenied``,
        which tells a client it lacks rights; a sensor is not writable for anybody, which OPC
        UA says with ``BadNotWritable``. The other items of the request go on to asyncua.
        """
        assert self.namespace_index is not None
        read_only = read_only_node_ids(self.model, self.namespace_index)

        def wrap(forward: internals.WriteService) -> internals.WriteService:
            async def write(params: ua.WriteParameters, user: Any = None) -> list[ua.StatusCode]:
                refused = [
                    item.AttributeId == ua.AttributeIds.Value and item.NodeId in read_only
                    for item in params.NodesToWrite
                ]
                if not any(refused):
                    return await forward(params, user=user)
                rest = [i for i, no in zip(params.NodesToWrite, refused, strict=True) if not no]
                answers = iter(
                    await forward(ua.WriteParameters(NodesToWrite=rest), user=user) if rest else []
                )
                not_writable = ua.StatusCode(ua.StatusCodes.BadNotWritable)
                return [not_writable if no else next(answers) for no in refused]

            return write

        internals.wrap_attribute_write(server, wrap)

    def _refusal(self, variable: Variable, data: ua.DataValue) -> int | None:
        """The status code refusing a write of ``data``, or None when the signal takes it."""
        variant = data.Value
        if (
            variant is None
            or variant.VariantType is not variable.variant_type
            or (data.StatusCode is not None and not data.StatusCode.is_good())
        ):
            return ua.StatusCodes.BadTypeMismatch
        try:
            variable.signal.coerce(variant.Value)
        except SignalError:
            return ua.StatusCodes.BadOutOfRange
        return None

    def _check_writes(self, event: ServerItemCallback, dispatcher: Any) -> None:
        """PreWrite listener: refuse the whole request before asyncua applies any of it.

        A refused value must stage nothing; asyncua calls the value setters item by item, so
        a request is vetted here first and fails as one (a service fault carrying the code).
        """
        if not event.is_external:
            return
        for item in event.request_params.NodesToWrite:
            variable = self._writable.get(item.NodeId)
            if variable is None or item.AttributeId != ua.AttributeIds.Value:
                continue  # not ours, or read-only: asyncua's access check answers per item
            # Every served variable is a scalar, and an index range into a scalar is
            # invalid (Part 4, NumericRange); asyncua would write the whole value.
            code = (
                ua.StatusCodes.BadIndexRangeInvalid
                if item.IndexRange
                else self._refusal(variable, item.Value)
            )
            if code is not None:
                log.info("refused OPC UA write of %r to %s", item.Value.Value, variable.signal.name)
                raise internals.refuse_request(code)

    def _stage(
        self, node: internals.NodeData, attribute: ua.AttributeIds, data: ua.DataValue
    ) -> None:
        """Value setter of the writable nodes: stage the write; the node keeps its value."""
        variable = self._writable[node.nodeid]
        code = self._refusal(variable, data)
        if code is not None:  # internal writes skip _check_writes
            raise ua.UaStatusCodeError(code)
        assert data.Value is not None
        signal = variable.signal
        self.image.stage(variable.index, data.Value.Value, allowed=WRITERS[signal.direction])

    # -- publishing commits ------------------------------------------------------------------

    def on_commit(self, now_ns: int, changed: list[int]) -> None:
        """Simulator listener: publish the values that changed in this tick.

        Synchronous and cheap: new values go straight into the address space; subscribed
        nodes are handed to the flush task. Safe to call from another thread than the
        server's (the work is then handed to the server's loop).
        """
        if self._server is None:
            return
        committed = self.image.committed
        if threading.get_ident() != self._thread:
            assert self._loop is not None
            self._loop.call_soon_threadsafe(self._publish, list(changed), committed)
            return
        self._publish(changed, committed)

    def _publish(self, changed: list[int], committed: tuple[Value, ...]) -> None:
        if self._server is None:
            return
        now = datetime.now(UTC)
        publish = internals.publish
        variables = self._variables
        pending = self._pending
        for index in changed:
            variable = variables[index]
            if variable is None:
                continue
            data = internals.SharedDataValue(
                ua.Variant(committed[index], variable.variant_type),
                SourceTimestamp=now,
                ServerTimestamp=now,
            )
            if publish(variable.value, data):
                pending[index] = (variable, data)
        if pending:
            self._wake.set()

    async def _flush(self) -> None:
        """Send the notifications of subscribed nodes, as soon as the loop is free."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            for count, (variable, data) in enumerate(pending.values(), 1):
                await internals.notify(variable.value, data, variable.signal.name)
                if count % _NOTIFY_BATCH == 0:
                    # Each variable may feed hundreds of monitored items: let the tick and
                    # the Modbus link in between, rather than after the whole flush.
                    await asyncio.sleep(0)
