"""SortingScript: a Python stand-in for the bundled ``sorting.st``, driving sorting_line.

Not part of the package: it is a test double and a benchmark baseline. Tests drive the
sorting line with it where the checks, not the PLC, are under test
(``tests/scenario/test_checks.py``, ``tests/test_sorting_line.py``), and the benchmarks
(``tools/bench/plant.py``, ``tools/bench/plc.py``, which put the repository root on
``sys.path``) measure the plant and the soft PLC against it. It lives in the ``tests``
package, importable as ``tests.sorting_script`` from the repository root, and is not
shipped in the wheel.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from vcommission.signals import ProcessImage, Value

__all__ = ["SortingScript"]


@dataclass
class SortingScript:
    """Scripted actuators for sorting_line: run the belt and infeed, push tall boxes.

    Reads only PLC inputs of the I/O contract and writes only PLC outputs, the way a PLC
    program would: a box's height is judged at the scan station (pe_tall blocked while
    pe_entry is), remembered in a FIFO, and acted on when the box reaches pe_pusher, where
    the belt is stopped (pusher and belt are interlocked), the pusher strokes, and the
    belt restarts once it is back. Like a PLC's output image, only changed outputs are
    written.
    """

    #: Belt speed setpoint, mm/s.
    speed: int = 400
    #: Keep the infeed enabled (set False to let the line run empty).
    infeed: bool = True
    _fifo: deque[bool] = field(default_factory=deque)
    _tall_seen: bool = False
    _state: str = "run"
    _index: dict[str, int] = field(default_factory=dict)
    _previous: dict[str, Value] = field(default_factory=dict)
    _written: dict[str, Value] = field(default_factory=dict)

    def _read(self, image: ProcessImage) -> dict[str, Value]:
        if not self._index:
            self._index = {name: image.table.index(name) for name in _SCRIPT_INPUTS}
        committed = image.committed
        return {name: committed[i] for name, i in self._index.items()}

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value]:
        inputs = self._read(image)
        previous = self._previous or inputs
        if inputs["pe_entry"] and inputs["pe_tall"]:
            self._tall_seen = True
        if previous["pe_entry"] and not inputs["pe_entry"]:
            self._fifo.append(self._tall_seen)
            self._tall_seen = False
        if self._state == "run" and inputs["pe_pusher"] and not previous["pe_pusher"]:
            if self._fifo.popleft() if self._fifo else False:
                self._state = "extend"
        elif self._state == "extend" and inputs["pusher_extended"]:
            self._state = "retract"
        elif self._state == "retract" and inputs["pusher_retracted"]:
            self._state = "run"
        self._previous = inputs
        outputs: dict[str, Value] = {
            "conveyor_run": self._state == "run",
            "pusher_extend": self._state == "extend",
            "infeed_enable": self.infeed,
            "speed_sp": self.speed,
            "light_green": True,
        }
        changed = {k: v for k, v in outputs.items() if self._written.get(k) != v}
        self._written.update(changed)
        return changed


_SCRIPT_INPUTS = ("pe_entry", "pe_tall", "pe_pusher", "pusher_extended", "pusher_retracted")
