"""A soft PLC's I/O over OPC UA: one batched read and one batched write per cycle."""

from __future__ import annotations

from typing import Any

from asyncua import Client, ua

from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.adapters.opcua.address_space import VARIANT_TYPES, plain_value
from vcommission.addressing import opcua_node_id
from vcommission.errors import VcommissionError
from vcommission.signals import SignalType, Value

__all__ = ["OpcUaPlcIo"]


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
            internals.drop_connection(client)

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
            variant = ua.Variant(plain_value(signal_type, value), VARIANT_TYPES[signal_type])
            nodes.append(self._nodes[id(point)])
            data.append(ua.DataValue(variant))
        try:
            results = await internals.write_values(client, [n.nodeid for n in nodes], data)
        except (OSError, TimeoutError, ua.UaError) as exc:
            raise ConnectionError(f"OPC UA write: {exc}") from None
        for node, status in zip(nodes, results, strict=True):
            if not status.is_good():
                raise ConnectionError(f"OPC UA write {node.nodeid.to_string()}: {status.name}")

    def _require(self) -> Client:
        if self._client is None:
            raise ConnectionError("not connected")
        return self._client
