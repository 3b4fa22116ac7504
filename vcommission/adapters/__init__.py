"""Protocol adapters at the edge: each serves a plant's process image over one protocol.

Only :mod:`vcommission.adapters.modbus` imports pymodbus and only
:mod:`vcommission.adapters.opcua` imports asyncua; importing this package imports neither, so
the core stays free of them. :mod:`vcommission.adapters.inprocess` is the in-process link.
"""

from __future__ import annotations

__all__: list[str] = []
