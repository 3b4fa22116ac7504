"""Protocol adapters at the edge: each serves a plant's process image over one protocol.

Every server is a :class:`~vcommission.adapters.base.PlantServer` (async context manager,
port, endpoint, connections, one commit listener). Only the :mod:`vcommission.adapters.modbus`
package imports pymodbus and only the :mod:`vcommission.adapters.opcua` package imports
asyncua; importing this package imports neither, so the core stays free of them.
:mod:`vcommission.adapters.inprocess` is the in-process link.
"""

from __future__ import annotations

from vcommission.adapters.base import PlantServer

__all__ = ["PlantServer"]
