"""OPC UA server over a plant's process image (the only module that imports asyncua).

Address space: ``Objects/<model>/<component>/<tag>`` for every signal of the model, the
component being the one of the signal's first port; operator signals (push buttons, e-stops)
sit under ``Objects/<model>/Operator/<tag>`` instead, so an HMI, a trainer or a test finds the
buttons in one place. Browse names are in the model's namespace
(:func:`~vcommission.addressing.opcua_namespace`) and every variable's node id is exactly
:func:`~vcommission.addressing.opcua_node_id` (a string id). Variables carry the OPC UA data
type of the signal's IEC type, its description, an ``EngineeringUnits`` property where a unit
is given and an ``EURange`` property where the signal has a range.

* Reads serve the last committed values. :meth:`OpcUaServer.on_commit` (a simulator listener)
  puts the changed values into the address space synchronously, so a read after a tick sees
  the tick; the notifications of subscribed items are sent by a flush task it wakes, because
  asyncua's monitored-item callbacks are coroutines and the listener must not block.
* Writes are accepted exactly on ``to_plant`` signals (PLC outputs, as a soft PLC or a test
  writes them) and on ``operator`` signals; they are checked by :meth:`Signal.coerce` and
  *staged*: they take effect at the next tick, and a read answers the committed value until
  then. A write request with a value a signal refuses is answered ``BadOutOfRange`` (a value
  of the wrong OPC UA type ``BadTypeMismatch``) and stages nothing of that request; a write to
  a sensor or internal variable is answered ``BadNotWritable`` for that item (asyncua itself
  would say ``BadUserAccessDenied``, i.e. "not for you", for any read-only node).
* Security: no security by default (meant for 127.0.0.1); :class:`OpcUaSecurity` adds
  Basic256Sha256 Sign / SignAndEncrypt endpoints with a generated self-signed certificate and
  username/password users. With users configured, anonymous sessions may browse, read and
  subscribe but not write.

Start time: asyncua's ``Server.init()`` builds the standard address space (about 6,200 nodes
of namespace 0) node by node, which costs 1.3 s of CPU on a CI machine, more than everything
else of a start together. asyncua can load that space lazily from a ``shelve`` file instead
(``Server.init(shelf_file)``, meant for slow devices); :class:`OpcUaServer` keeps one such
cache per asyncua and Python version under the user's cache folder, built by the first start
(:func:`prepare_address_space_cache` builds it ahead, e.g. in a CI setup step).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import Client, Server, ua
from asyncua.common.callback import CallbackType, ServerItemCallback
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from cryptography.x509.oid import ExtendedKeyUsageOID

from vcommission.addressing import opcua_namespace, opcua_node_id
from vcommission.errors import ConfigError, SignalError, VcommissionError
from vcommission.signals import Direction, ProcessImage, Signal, SignalType, Value

if TYPE_CHECKING:
    from asyncua.server.address_space import AttributeValue, NodeData

    from vcommission.config.model import Model

__all__ = [
    "OpcUaPlcIo",
    "OpcUaSecurity",
    "OpcUaServer",
    "SecurityPolicy",
    "address_space_cache_dir",
    "prepare_address_space_cache",
]

log = logging.getLogger(__name__)

#: OPC UA variant type of each IEC type (the data type node id is the same number in ns 0).
_VARIANT_TYPES: dict[SignalType, ua.VariantType] = {
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
_WRITERS: dict[Direction, tuple[Direction, ...]] = {
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
_OPERATOR_FOLDER = "Operator"


class SecurityPolicy(str, Enum):
    """Endpoints an :class:`OpcUaServer` offers."""

    #: No signing, no encryption: for 127.0.0.1 and closed test networks.
    NONE = "None"
    #: Basic256Sha256, messages signed.
    BASIC256SHA256_SIGN = "Basic256Sha256_Sign"
    #: Basic256Sha256, messages signed and encrypted.
    BASIC256SHA256_SIGN_AND_ENCRYPT = "Basic256Sha256_SignAndEncrypt"


_POLICY_TYPES: dict[SecurityPolicy, ua.SecurityPolicyType] = {
    SecurityPolicy.NONE: ua.SecurityPolicyType.NoSecurity,
    SecurityPolicy.BASIC256SHA256_SIGN: ua.SecurityPolicyType.Basic256Sha256_Sign,
    SecurityPolicy.BASIC256SHA256_SIGN_AND_ENCRYPT: (
        ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt
    ),
}


@dataclass(frozen=True)
class OpcUaSecurity:
    """Endpoints, server certificate and users of an :class:`OpcUaServer`.

    Client certificates are not validated (a self-signed one is accepted): the secure
    endpoints protect the channel, :attr:`users` decide who may write.
    """

    #: Security policies offered, one endpoint each.
    policies: tuple[SecurityPolicy, ...] = (SecurityPolicy.NONE,)
    #: Folder of the server's key (``server_key.pem``) and certificate (``server_cert.der``),
    #: generated there (self-signed, RSA 2048) when missing; needed by the signing policies.
    cert_dir: Path | None = None
    #: Username -> password. When given, only these users may write; anonymous sessions may
    #: still browse, read and subscribe.
    users: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            policies = tuple(SecurityPolicy(p) for p in self.policies)
        except ValueError as exc:
            choices = ", ".join(p.value for p in SecurityPolicy)
            raise ConfigError(
                f"opcua security: policies={self.policies!r}: {exc} ({choices})"
            ) from None
        if not policies:
            raise ConfigError("opcua security: policies=() offers no endpoint")
        object.__setattr__(self, "policies", policies)
        if self.cert_dir is not None:
            object.__setattr__(self, "cert_dir", Path(self.cert_dir))
        elif self.signs:
            raise ConfigError(
                f"opcua security: policies={[p.value for p in policies]} need a cert_dir "
                "for the server certificate"
            )
        for name, password in self.users.items():
            if not name or not password:
                raise ConfigError(f"opcua security: users: {name!r} needs a name and a password")

    @property
    def signs(self) -> bool:
        """True when an endpoint other than None is offered (a certificate is needed)."""
        return any(p is not SecurityPolicy.NONE for p in self.policies)


# -- start time: the standard address space cache ------------------------------------------


def address_space_cache_dir() -> Path:
    """Folder of the cached standard address space for the running asyncua and Python."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "vcommission" / f"asyncua-{version('asyncua')}-{sys.implementation.cache_tag}"


#: Name of the shelf inside a cache folder; no dot in it, see ``_mark_shelf``.
_SHELF = "aspace"


def _mark_shelf(folder: Path) -> None:
    # asyncua 2.1 (InternalServer.load_standard_address_space) loads a shelf only if the path
    # or path.db is a file. dbm.dumb, the only dbm module of a Python built without gdbm and
    # ndbm (pyenv's default), writes path.dat and path.dir instead, so every start would build
    # the space again and rewrite the shelf. An empty file at the path satisfies the check;
    # dbm.whichdb still identifies a dumb database by its .dat/.dir pair.
    shelf = folder / _SHELF
    if not shelf.exists() and not shelf.with_suffix(".db").exists():
        shelf.touch()


def _install_cache(built: Path, cache: Path) -> None:
    """Move a freshly built cache folder into place atomically; a concurrent builder may win."""
    _mark_shelf(built)
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(built, cache)
    except OSError:  # another process installed its cache first: keep that one
        shutil.rmtree(built, ignore_errors=True)


async def _initialised_server(users: Mapping[str, str], cache: Path) -> Server:
    """A new asyncua server after ``init()``, from the address space cache when possible.

    Without a cache in place the start builds one (asyncua fills the space, then writes the
    shelf); a cache that cannot be read is dropped and built again. A cache folder exists
    only complete (see :func:`_install_cache`).
    """
    server = Server(user_manager=_Users(users))  # type: ignore[arg-type]
    if cache.is_dir():
        try:
            await server.init(cache / _SHELF)
            return server
        except Exception as exc:
            log.warning("OPC UA address space cache %s unusable, rebuilding it: %r", cache, exc)
            shutil.rmtree(cache, ignore_errors=True)
            server = Server(user_manager=_Users(users))  # type: ignore[arg-type]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=cache.parent))
    except OSError as exc:
        log.warning("OPC UA address space cache disabled (%s): %s", cache, exc)
        await server.init()
        return server
    log.info("building the OPC UA address space cache in %s (once per asyncua version)", cache)
    try:
        await server.init(building / _SHELF)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _install_cache(building, cache)
    return server


async def prepare_address_space_cache(cache_dir: str | Path | None = None) -> Path:
    """Build the standard address space cache now, so that no server start has to.

    Args:
        cache_dir: Cache folder; :func:`address_space_cache_dir` by default.

    Returns:
        The cache folder.
    """
    cache = Path(cache_dir) if cache_dir is not None else address_space_cache_dir()
    if not cache.is_dir():
        await _initialised_server({}, cache)
    return cache


# -- access control -------------------------------------------------------------------------


class _Users:
    """asyncua user manager: configured users log in, everybody else is anonymous.

    Never hands out asyncua's admin role, which would bypass the nodes' access levels.
    """

    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = dict(users)

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        if not self.users:
            return User(role=UserRole.User, name=username)
        if not username:
            return User(role=UserRole.Anonymous)
        expected = self.users.get(username)
        if expected is None or not hmac.compare_digest(
            expected.encode(), (password or "").encode()
        ):
            log.info("OPC UA login refused for %r", username)
            return None  # asyncua answers BadUserAccessDenied
        return User(role=UserRole.User, name=username)


class _AnonymousReadOnly(PermissionRuleset):
    """Services per role: users all that asyncua allows a user, anonymous the same but writes."""

    def __init__(self) -> None:
        user = frozenset(ua.NodeId(t) for t in USER_TYPES)
        write = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
        call = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)
        self._allowed = {
            UserRole.Admin: user,
            UserRole.User: user,
            UserRole.Anonymous: user - {write, call},
        }

    def check_validity(self, user: User, action_type_id: ua.NodeId, body: Any) -> bool:
        return action_type_id in self._allowed[user.role]


# -- the server -----------------------------------------------------------------------------


@dataclass
class _Variable:
    """One signal's variable node."""

    index: int
    signal: Signal
    variant_type: ua.VariantType
    #: The node's Value attribute in asyncua's address space (see ``OpcUaServer._publish``).
    value: AttributeValue


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


class OpcUaServer:
    """OPC UA server for a model's process image; an async context manager.

    ``port=0`` binds a free port; :attr:`port` and :attr:`endpoint` tell which after
    :meth:`start`. Append :meth:`on_commit` to the simulator's listeners.

    Args:
        model: The model whose signals are served.
        image: Its process image (writes are staged into it).
        host: Interface to listen on.
        port: TCP port; 0 picks a free one.
        realtime: Keep asyncua's one-second ``ServerStatus.CurrentTime`` clock running (only
            meaningful when virtual time follows the wall clock).
        security: Endpoints, certificate and users; no security and no users by default.
        cache_dir: Folder of the standard address space cache (see the module docstring);
            :func:`address_space_cache_dir` by default. A folder that cannot be written only
            costs start time.
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
    ) -> None:
        self.model = model
        self.image = image
        self.host = host
        self.port = port
        self.realtime = realtime
        self.security = security or OpcUaSecurity()
        self.cache_dir = Path(cache_dir) if cache_dir is not None else address_space_cache_dir()
        #: Namespace index of the model's namespace, known after :meth:`start`.
        self.namespace_index: int | None = None
        #: Wall-clock seconds the last :meth:`start` took.
        self.start_seconds: float | None = None
        self._server: Server | None = None
        self._variables: list[_Variable | None] = [None] * len(model.table)
        self._writable: dict[ua.NodeId, _Variable] = {}
        self._pending: dict[int, tuple[_Variable, ua.DataValue]] = {}
        self._wake = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None

    @property
    def endpoint(self) -> str:
        """``opc.tcp://host:port/vcommission/<model>`` (the bound port after :meth:`start`)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"opc.tcp://{host}:{self.port}/vcommission/{self.model.name}"

    @property
    def connections(self) -> int:
        """Clients connected now (TCP connections, with or without a session)."""
        server = self._server
        if server is None or server.bserver is None:
            return 0
        return len(server.bserver.clients)

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
        server = await _initialised_server(self.security.users, self.cache_dir)
        # The clock task rewrites ServerStatus every second of wall time and makes stop()
        # wait up to a second for its sleep; virtual time is not wall time anyway.
        server.disable_clock(not self.realtime)
        server.set_endpoint(self.endpoint)
        server.set_server_name(f"vcommission {self.model.name}")
        await server.set_application_uri(self.application_uri)
        await self._setup_security(server)
        self.namespace_index = await server.register_namespace(opcua_namespace(self.model.name))
        await self._build(server)
        server.subscribe_server_callback(CallbackType.PreWrite, self._check_writes)
        self._answer_read_only(server)
        try:
            await server.start()
        except OSError as exc:
            raise VcommissionError(
                f"OPC UA server cannot listen on {self.host}:{self.port}: {exc}"
            ) from exc
        self._server = server
        if server.bserver is not None:
            self.port = server.bserver.port  # the bound one when port was 0
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
        # asyncua 2.1 keeps an activated session that has subscriptions alive when its
        # connection drops (Part 4 6.7: the client may come back for them), watched by a task
        # of its own; Server.stop() leaves such sessions open, and their tasks would die
        # pending with the loop. The registry is private: no public list of sessions exists.
        sessions = getattr(server.iserver, "_external_sessions", {})
        for session in list(sessions.values()):
            await session.close_session(True)

    async def __aenter__(self) -> OpcUaServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _setup_security(self, server: Server) -> None:
        security = self.security
        if security.signs:
            folder = security.cert_dir
            assert folder is not None  # OpcUaSecurity checks it
            key, cert = folder / "server_key.pem", folder / "server_cert.der"
            try:
                folder.mkdir(parents=True, exist_ok=True)
                await setup_self_signed_certificate(
                    key,
                    cert,
                    self.application_uri,
                    socket.gethostname(),
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
                    {"commonName": f"vcommission {self.model.name}"},
                )
            except OSError as exc:
                raise VcommissionError(f"OPC UA server certificate in {folder}: {exc}") from exc
            await server.load_certificate(cert)
            await server.load_private_key(key)
        tokens: list[type] = [ua.AnonymousIdentityToken]
        if security.users:
            tokens.append(ua.UserNameIdentityToken)
            if SecurityPolicy.BASIC256SHA256_SIGN_AND_ENCRYPT not in security.policies:
                log.warning("OPC UA users but no encrypting endpoint: passwords may travel clear")
        server.set_identity_tokens(tokens)
        server.set_security_policy(
            [_POLICY_TYPES[p] for p in security.policies],
            permission_ruleset=_AnonymousReadOnly() if security.users else None,
        )

    # -- address space -----------------------------------------------------------------------

    async def _build(self, server: Server) -> None:
        model, idx = self.model, self.namespace_index
        assert idx is not None
        component_of: dict[int, str] = {}
        for path, index in model.wiring.items():
            component_of.setdefault(index, path.partition(".")[0])
        # A null identifier in our namespace: asyncua numbers folders and properties; only
        # the variables have the node ids the I/O list promises.
        new = ua.NodeId(0, idx)
        model_folder = await server.nodes.objects.add_folder(new, ua.QualifiedName(model.name, idx))
        folders: dict[str, Any] = {}
        committed = self.image.committed
        for index, signal in enumerate(model.table):
            if signal.direction is Direction.OPERATOR:
                name: str | None = _OPERATOR_FOLDER
            else:
                name = component_of.get(index)
            parent = model_folder
            if name is not None:
                parent = folders.get(name)
                if parent is None:
                    parent = folders[name] = await model_folder.add_folder(
                        new, ua.QualifiedName(name, idx)
                    )
            variant_type = _VARIANT_TYPES[signal.type]
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
            # asyncua 2.1 internal: the node's Value attribute, to publish commits
            # synchronously (no public synchronous write exists).
            attribute = server.iserver.aspace[node.nodeid].attributes[ua.AttributeIds.Value]
            variable = _Variable(index, signal, variant_type, attribute)
            self._variables[index] = variable
            if signal.direction in _WRITERS:
                await node.set_writable()
                self._writable[node.nodeid] = variable
                server.set_attribute_value_setter(node.nodeid, self._stage)  # type: ignore[arg-type]

    # -- client writes -----------------------------------------------------------------------

    def _answer_read_only(self, server: Server) -> None:
        """Answer writes to sensor and internal variables ``BadNotWritable``, item by item.

        asyncua answers every write to a node without CurrentWrite ``BadUserAccessDenied``,
        which tells a client it lacks rights; a sensor is not writable for anybody, which OPC
        UA says with ``BadNotWritable``. The other items of the request go on to asyncua.
        """
        idx = self.namespace_index
        read_only = {
            ua.NodeId(signal.name, idx)
            for signal in self.model.table
            if signal.direction in (Direction.FROM_PLANT, Direction.INTERNAL)
        }
        # asyncua 2.1 internal: InternalSession.write calls iserver.attribute_service.write.
        service = server.iserver.attribute_service
        forward = service.write

        async def write(params: ua.WriteParameters, user: Any = None) -> list[ua.StatusCode]:
            refused = [
                item.AttributeId == ua.AttributeIds.Value and item.NodeId in read_only
                for item in params.NodesToWrite
            ]
            if not any(refused):
                return await forward(params, user=user)
            rest = [item for item, no in zip(params.NodesToWrite, refused, strict=True) if not no]
            answers = iter(
                await forward(ua.WriteParameters(NodesToWrite=rest), user=user) if rest else []
            )
            not_writable = ua.StatusCode(ua.StatusCodes.BadNotWritable)
            return [not_writable if no else next(answers) for no in refused]

        service.write = write

    def _refusal(self, variable: _Variable, data: ua.DataValue) -> int | None:
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
            code = self._refusal(variable, item.Value)
            if code is not None:
                log.info("refused OPC UA write of %r to %s", item.Value.Value, variable.signal.name)
                raise ua.UaStatusCodeError(code)

    def _stage(self, node: NodeData, attribute: ua.AttributeIds, data: ua.DataValue) -> None:
        """Value setter of the writable nodes: stage the write; the node keeps its value."""
        variable = self._writable[node.nodeid]
        code = self._refusal(variable, data)
        if code is not None:  # internal writes skip _check_writes
            raise ua.UaStatusCodeError(code)
        assert data.Value is not None
        signal = variable.signal
        self.image.stage(variable.index, data.Value.Value, allowed=_WRITERS[signal.direction])

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
        variables = self._variables
        pending = self._pending
        for index in changed:
            variable = variables[index]
            if variable is None:
                continue
            data = ua.DataValue(
                ua.Variant(committed[index], variable.variant_type),
                SourceTimestamp=now,
                ServerTimestamp=now,
            )
            variable.value.value = data
            if variable.value.datachange_callbacks:
                pending[index] = (variable, data)
        if pending:
            self._wake.set()

    async def _flush(self) -> None:
        """Send the notifications of subscribed nodes, as soon as the loop is free."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            pending, self._pending = self._pending, {}
            for variable, data in pending.values():
                # asyncua 2.1: what AddressSpace.write_attribute_value does after storing a
                # value; each callback queues a notification on its subscription.
                for handle, callback in list(variable.value.datachange_callbacks.items()):
                    try:
                        await callback(handle, data)
                    except Exception:
                        log.exception("OPC UA notification for %s failed", variable.signal.name)


class OpcUaPlcIo:
    """A soft PLC's I/O over OPC UA: one batched read and one batched write per cycle.

    Every point must name a plant tag (compile the program with the model): the node of
    each is ``nsu=urn:vcommission:<model>;s=<tag>``. Nodes carry engineering values, so a
    located variable on a scaled signal is converted to and from its raw wire value here.
    """

    def __init__(
        self,
        url: str,
        model_name: str,
        points: list[Any],
        *,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 2.0,
    ) -> None:
        missing = [p.name for p in points if p.tag is None]
        if missing:
            raise VcommissionError(
                f"OPC UA I/O needs the model to find the nodes of {', '.join(missing)}"
            )
        self.url = url
        self.username = username
        self.password = password
        self.timeout = timeout
        self._inputs = [p for p in points if not p.output]
        self._outputs = [p for p in points if p.output]
        self._ids = {id(p): opcua_node_id(model_name, p.tag) for p in points}
        self._client: Client | None = None
        self._nodes: dict[int, Any] = {}

    @property
    def connected(self) -> bool:
        return self._client is not None

    async def connect(self) -> None:
        self.close()
        client = Client(self.url, timeout=self.timeout)
        if self.username:
            client.set_user(self.username)
            client.set_password(self.password or "")
        try:
            await client.connect()
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise ConnectionError(f"cannot connect to {self.url}: {exc}") from None
        self._client = client
        # The I/O list spells nodes nsu=<uri>;s=<tag>; a session addresses them by index.
        indices: dict[str, int] = {}
        self._nodes = {}
        for key, text in self._ids.items():
            expanded = ua.NodeId.from_string(text)
            uri = expanded.NamespaceUri
            if uri not in indices:
                try:
                    indices[uri] = await client.get_namespace_index(uri)
                except (ValueError, ua.UaError) as exc:
                    self.close()
                    raise ConnectionError(f"{self.url} does not serve {uri}: {exc}") from None
            self._nodes[key] = client.get_node(ua.NodeId(expanded.Identifier, indices[uri]))

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            # asyncua's disconnect is a coroutine; closing the transport is enough here.
            with contextlib.suppress(Exception):
                client.uaclient.protocol.transport.close()  # type: ignore[union-attr]

    async def read_inputs(self) -> list[tuple[Any, Value]]:
        client = self._require()
        try:
            values = await client.read_values([self._nodes[id(p)] for p in self._inputs])
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise ConnectionError(f"OPC UA read: {exc}") from None
        result: list[tuple[Any, Value]] = []
        for point, value in zip(self._inputs, values, strict=True):
            if point.scaling is not None:
                value = point.scaling.to_raw(value)
            result.append((point, value))
        return result

    async def write_outputs(self, values: list[tuple[Any, Value]]) -> None:
        client = self._require()
        nodes, data = [], []
        for point, value in values:
            signal_type = SignalType(point.signal_type)
            if point.scaling is not None:
                value = point.scaling.from_raw(value)
            elif point.st_type != point.signal_type:  # a WORD variable on an INT tag
                value = signal_type.reinterpret(int(value))
            variant = ua.Variant(_plain(signal_type, value), _VARIANT_TYPES[signal_type])
            nodes.append(self._nodes[id(point)])
            data.append(ua.DataValue(variant))
        try:
            results = await client.uaclient.write_attributes(
                [n.nodeid for n in nodes], data, ua.AttributeIds.Value
            )
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise ConnectionError(f"OPC UA write: {exc}") from None
        for node, status in zip(nodes, results, strict=True):
            if not status.is_good():
                raise ConnectionError(f"OPC UA write {node.nodeid.to_string()}: {status.name}")

    def _require(self) -> Client:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client


def _plain(signal_type: SignalType, value: Value) -> Value:
    if signal_type is SignalType.BOOL:
        return bool(value)
    return float(value) if signal_type.is_float else int(value)
