"""A trace as text other tools read: CSV for spreadsheets and scripts, VCD for waveform viewers.

* **CSV** (``time_s,tag,value``): the value of every selected tag at time 0, then every
  change in time order, one row each; BOOLs as ``TRUE``/``FALSE`` as a PLC engineer writes
  them, numbers as the trace holds them. Times in seconds with nanosecond digits.
* **VCD** (IEEE 1364 value change dump, the format GTKWave and every logic analyser tool
  open), written with pyvcd (the ``vcd`` extra): timescale 1 ns, one variable per tag in a
  scope named after the model, with dotted tag names as nested scopes
  (``start_pb.pressed`` is ``pressed`` in scope ``sorting_line.start_pb``); BOOL as a 1-bit
  wire, integer types as integers of their width, REAL/LREAL as reals. No date is written,
  so the same trace gives the same file.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from vcommission.errors import VcommissionError
from vcommission.signals import SignalType

if TYPE_CHECKING:
    from vcommission.scenario.trace import Trace

__all__ = ["selected_indices", "to_csv", "to_vcd"]

#: VCD integer widths of the integer signal types.
_WIDTHS = {
    SignalType.INT: 16, SignalType.UINT: 16, SignalType.WORD: 16,
    SignalType.DINT: 32, SignalType.UDINT: 32, SignalType.DWORD: 32,
}  # fmt: skip


def selected_indices(trace: Trace, tags: Sequence[str] | None) -> list[int]:
    """Indices of ``tags`` in the trace (all of them for None), unknown names refused."""
    if not tags:
        return list(range(len(trace.names)))
    unknown = [tag for tag in tags if tag not in trace.names]
    if unknown:
        raise VcommissionError(f"the trace has no signal {', '.join(map(repr, unknown))}")
    return [trace.names.index(tag) for tag in tags]


def _shown(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


def to_csv(trace: Trace, tags: Sequence[str] | None = None) -> str:
    """The initial values and changes of ``tags`` (default: every signal) as CSV text."""
    wanted = selected_indices(trace, tags)
    chosen = set(wanted)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("time_s", "tag", "value"))
    for index in wanted:
        writer.writerow(("0.000000000", trace.names[index], _shown(trace.initial[index])))
    for time_ns, index, value in trace.changes:
        if index in chosen:
            writer.writerow((f"{time_ns / 1e9:.9f}", trace.names[index], _shown(value)))
    return buffer.getvalue()


def to_vcd(trace: Trace, model: str, tags: Sequence[str] | None = None) -> str:
    """The trace of ``tags`` (default: every signal) as VCD text.

    Raises:
        VcommissionError: pyvcd is not installed, or a tag is not in the trace.
    """
    try:
        from vcd import VCDWriter
    except ImportError:
        raise VcommissionError("VCD export needs pyvcd: pip install 'vcommission[vcd]'") from None
    wanted = selected_indices(trace, tags)
    buffer = io.StringIO()
    variables = {}
    with VCDWriter(buffer, timescale="1 ns", date="", version="vcommission") as writer:
        for index in wanted:
            name = trace.names[index]
            *path, leaf = [model, *name.split(".")]
            type_ = SignalType(trace.types[index])
            initial = trace.initial[index]
            if type_ is SignalType.BOOL:
                var = writer.register_var(path, leaf, "wire", size=1, init=bool(initial))
            elif type_ in _WIDTHS:
                var = writer.register_var(path, leaf, "integer", _WIDTHS[type_], int(initial))
            else:
                var = writer.register_var(path, leaf, "real", init=float(initial))
            variables[index] = (var, type_)
        for time_ns, index, value in trace.changes:
            if index in variables:
                var, type_ = variables[index]
                if type_ is SignalType.BOOL:
                    value = bool(value)
                elif type_ in _WIDTHS:
                    value = int(value)
                else:
                    value = float(value)
                writer.change(var, time_ns, value)
        writer.flush(trace.end_ns)
    return buffer.getvalue()
