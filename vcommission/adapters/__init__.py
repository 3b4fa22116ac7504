"""Protocol adapters at the edge: each serves a plant's process image over one protocol.

Only :mod:`vcommission.adapters.modbus` imports pymodbus; importing this package imports
neither protocol library, so the core stays free of them.
"""

from __future__ import annotations

__all__: list[str] = []
