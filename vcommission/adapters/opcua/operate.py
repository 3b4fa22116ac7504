"""Operating a served plant from a shell: write an operator input (or any writable tag) once.

``vcommission operate URL TAG [--set VALUE | --pulse S]`` is a small OPC UA client: it
connects to the endpoint ``serve`` prints (``opc.tcp://host:port/vcommission/<model>``),
finds the tag's variable by its node id (``ns=<urn:vcommission:<model>>;s=<tag>``, as
``io-list`` lists them), and writes the value in the variable's own data type, or, for a
pulse, TRUE, waits, and FALSE: a push button pressed and released.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlparse

from asyncua import Client, ua

from vcommission.addressing import opcua_namespace
from vcommission.errors import VcommissionError

__all__ = ["operate", "parse_value"]

_TRUE = {"true", "1", "on", "yes"}
_FALSE = {"false", "0", "off", "no"}


def parse_value(text: str, variant_type: ua.VariantType) -> bool | int | float:
    """``text`` as a value of ``variant_type`` (TRUE/FALSE/1/0/on/off for Boolean)."""
    if variant_type is ua.VariantType.Boolean:
        word = text.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise VcommissionError(f"{text!r} is not a BOOL: give TRUE or FALSE")
    try:
        if variant_type in (ua.VariantType.Float, ua.VariantType.Double):
            return float(text)
        return int(text, 0)
    except ValueError:
        raise VcommissionError(f"{text!r} is not a {variant_type.name} value") from None


def _model_of(url: str) -> str:
    path = urlparse(url).path.rstrip("/")
    if not url.startswith("opc.tcp://") or "/vcommission/" not in f"{path}/" or "/" not in path:
        raise VcommissionError(
            f"{url!r} is not a served plant's endpoint (opc.tcp://HOST:PORT/vcommission/MODEL)"
        )
    return path.rsplit("/", 1)[1]


async def operate(
    url: str,
    tag: str,
    *,
    value: str | None = None,
    pulse_s: float | None = None,
    user: str | None = None,
    password: str | None = None,
    timeout_s: float = 10.0,
) -> str:
    """Write ``value`` to ``tag`` (or pulse it TRUE for ``pulse_s``); a line saying what was done.

    Raises:
        VcommissionError: The server cannot be reached, the tag does not exist, the value
            does not fit, or the server refused the write (its status code named).
    """
    model = _model_of(url)
    client = Client(url, timeout=timeout_s)
    if user is not None:
        client.set_user(user)
        client.set_password(password or "")
    try:
        await client.connect()
    except (TimeoutError, OSError, ua.UaError) as exc:
        raise VcommissionError(f"cannot connect to {url}: {exc or type(exc).__name__}") from None
    try:
        index = await client.get_namespace_index(opcua_namespace(model))
        node = client.get_node(ua.NodeId(tag, index))
        try:
            variant_type = await node.read_data_type_as_variant_type()
        except ua.UaStatusCodeError:
            raise VcommissionError(
                f"{model} has no tag {tag!r} (see vcommission io-list)"
            ) from None
        if pulse_s is not None:
            if variant_type is not ua.VariantType.Boolean:
                raise VcommissionError(f"{tag} is a {variant_type.name}: only a BOOL can be pulsed")
            await _write(node, tag, True, variant_type)
            await asyncio.sleep(pulse_s)
            await _write(node, tag, False, variant_type)
            return f"{tag} = TRUE for {pulse_s:g} s, then FALSE"
        assert value is not None
        parsed = parse_value(value, variant_type)
        await _write(node, tag, parsed, variant_type)
        shown = str(parsed).upper() if isinstance(parsed, bool) else str(parsed)
        return f"{tag} = {shown}"
    except ValueError as exc:  # asyncua: the namespace is not on this server
        raise VcommissionError(f"{url}: not a vcommission server for {model!r} ({exc})") from None
    finally:
        await client.disconnect()


async def _write(node: object, tag: str, value: object, variant_type: ua.VariantType) -> None:
    try:
        await node.write_value(ua.DataValue(ua.Variant(value, variant_type)))  # type: ignore[attr-defined]
    except ua.UaStatusCodeError as exc:
        raise VcommissionError(
            f"the server refused {tag} := {value}: {type(exc).__name__}"
        ) from None
