"""The in-process link: a PLC, an HMI or a test in the same process as the plant.

One link for everything that talks to the plant without a socket. By tag, it reads committed
values and stages writes for the next tick, exactly as over Modbus or OPC UA (:meth:`read`,
:meth:`write`, :meth:`operate`). As a simulator controller it carries an in-process PLC's
scans (:meth:`scan`): the PLC reads the committed image and its writes are staged, through
filters that link faults install (a latency), and it can be cut (:attr:`up`) the way
:class:`~vcommission.adapters.proxy.LinkProxy` cuts a wire. :attr:`delivered` counts the scans
that reached the plant, which is what the PLC watchdog watches for an in-process PLC (a soft
PLC writes only changed outputs, so counting writes would call a steady PLC silent).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from vcommission.signals import Direction, ProcessImage, Value

__all__ = ["InProcessLink", "ScannedPlc"]


class ScannedPlc(Protocol):
    """What the link scans: the soft PLC, or a Python stand-in with the same ``scan``."""

    def scan(self, now_ns: int, image: ProcessImage) -> Mapping[str, Value] | None: ...


class _FrozenImage:
    """What a PLC reads while its link is down: the inputs as they were when it broke."""

    def __init__(self, image: ProcessImage) -> None:
        self.table = image.table
        self.committed = image.committed


#: Maps the writes a scan returns (``(now_ns, writes) -> writes``): a link fault's filter.
Outbound = Callable[[int, dict[str, Value]], dict[str, Value]]


class InProcessLink:
    """Reads and writes a process image by tag name, and carries an in-process PLC's scans."""

    def __init__(self, image: ProcessImage, plc: ScannedPlc | None = None) -> None:
        self.image = image
        self.plc = plc
        #: Filters of the PLC's writes, applied in order (latency faults).
        self.outbound: list[Outbound] = []
        #: Scans whose writes reached the plant (the watchdog's heartbeat).
        self.delivered = 0
        #: Called at each scan while the link is cut, ``(now_ns, lost writes, inputs the PLC
        #: read, live inputs)``: how a lost-connection fault sees that it changed something.
        self.on_cut: Callable[[int, Mapping[str, Value], Any, Any], None] | None = None
        self._frozen: _FrozenImage | None = None

    # -- by tag, as an HMI or a test does

    def read(self, tag: str) -> Value:
        """Committed value of ``tag``."""
        return self.image[tag]

    def write(self, tag: str, value: Value) -> None:
        """Write an actuator (``to_plant``) as the PLC does; effective at the next tick."""
        self.image.stage(tag, value)

    def operate(self, tag: str, value: Value) -> None:
        """Operate a panel device (``operator`` signal) as a person does."""
        self.image.stage(tag, value, allowed=(Direction.OPERATOR,))

    # -- the PLC's wire

    @property
    def up(self) -> bool:
        return self._frozen is None

    @up.setter
    def up(self, value: bool) -> None:
        """Cut the link (the PLC reads inputs frozen as now, its writes are lost), or restore it."""
        if value:
            self._frozen = None
        elif self._frozen is None:
            self._frozen = _FrozenImage(self.image)

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value] | None:
        """One PLC scan over the link: inputs in, writes through the filters, out."""
        assert self.plc is not None, "an InProcessLink without a PLC is not a controller"
        frozen = self._frozen
        seen: Any = image if frozen is None else frozen
        writes = self.plc.scan(now_ns, seen) or {}
        if frozen is not None:
            if self.on_cut is not None:
                self.on_cut(now_ns, writes, frozen.committed, image.committed)
            return None
        for outbound in self.outbound:
            writes = outbound(now_ns, writes)
        self.delivered += 1
        return writes

    def resend(self) -> None:
        """Have the PLC write every output at its next scan (after the link came back).

        A PLC that writes only changed outputs counts the ones lost on the wire as written;
        one without ``resend_outputs`` (a Python stand-in) is left as it is.
        """
        resend_outputs = getattr(self.plc, "resend_outputs", None)
        if resend_outputs is not None:
            resend_outputs()

    def heartbeat(self) -> int:
        """How many scans reached the plant so far (see the module docstring)."""
        return self.delivered
