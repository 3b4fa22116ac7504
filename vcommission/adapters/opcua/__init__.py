"""OPC UA over a plant's process image (the only package that imports asyncua).

Layers, one module each: :mod:`~vcommission.adapters.opcua.security` (endpoints, certificate,
users, who may write), :mod:`~vcommission.adapters.opcua.cache` (the standard address space
cache), :mod:`~vcommission.adapters.opcua.address_space` (the model's folders and variables),
:mod:`~vcommission.adapters.opcua.server` (:class:`OpcUaServer`: staged writes, published
commits), :mod:`~vcommission.adapters.opcua.process` (:class:`OpcUaProcessServer`: the same
server in a child process, which ``serve`` uses so subscribers cannot delay the tick) and
:mod:`~vcommission.adapters.opcua.plc_io` (the soft PLC as a client). Every use
of asyncua's internals is in :mod:`~vcommission.adapters.opcua._asyncua_internals`, which lists
them, checks at import that they exist (:class:`AsyncuaInternalsError` otherwise) and has a
contract test of its own.

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

from vcommission.adapters.opcua._asyncua_internals import AsyncuaInternalsError
from vcommission.adapters.opcua.cache import address_space_cache_dir, prepare_address_space_cache
from vcommission.adapters.opcua.plc_io import OpcUaPlcIo
from vcommission.adapters.opcua.process import OpcUaProcessServer
from vcommission.adapters.opcua.security import (
    OpcUaSecurity,
    SecurityPolicy,
    hash_password,
    load_users,
)
from vcommission.adapters.opcua.server import OpcUaServer

__all__ = [
    "AsyncuaInternalsError",
    "OpcUaPlcIo",
    "OpcUaProcessServer",
    "OpcUaSecurity",
    "OpcUaServer",
    "SecurityPolicy",
    "address_space_cache_dir",
    "hash_password",
    "load_users",
    "prepare_address_space_cache",
]
