"""Traces: every signal change and every part's journey of a run, saved compressed, diffable.

:class:`TraceRecorder` is a simulator monitor; at the end of a run :meth:`TraceRecorder.trace`
gives a :class:`Trace`, which saves to a compressed ``.npz`` (numpy's own format: no extra
dependency, loads in any numpy) and loads back for reports and :func:`first_divergence`.
Times are integer nanoseconds of virtual time throughout.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vcommission.errors import VcommissionError
from vcommission.fileio import write_atomic
from vcommission.plant.parts import PartTracker
from vcommission.signals import SignalType, Value
from vcommission.simulator import ChangeRecorder

__all__ = ["Divergence", "Trace", "TraceRecorder", "first_divergence", "window"]

FORMAT = "vcommission-trace-1"


@dataclass
class Trace:
    """A recorded run."""

    #: Signal names and their types, in table order.
    names: list[str]
    types: list[str]
    #: Committed values at time 0.
    initial: list[Value]
    #: Every change: time (ns), signal index, new value; in time order.
    changes: list[tuple[int, int, Value]]
    #: One dict per part: id, variant, spawned_ns, destination, journey [(ns, event, where)].
    parts: list[dict[str, Any]] = field(default_factory=list)
    #: Scenario, model, seed, program: what produced it.
    meta: dict[str, Any] = field(default_factory=dict)
    end_ns: int = 0

    def index(self, tag: str) -> int:
        try:
            return self.names.index(tag)
        except ValueError:
            raise VcommissionError(f"the trace has no signal {tag!r}") from None

    def changes_of(self, tag: str) -> list[tuple[int, Value]]:
        i = self.index(tag)
        return [(t, v) for t, j, v in self.changes if j == i]

    def value_at(self, tag: str, time_ns: int) -> Value:
        """The committed value of ``tag`` at ``time_ns`` (after that tick's changes)."""
        value = self.initial[self.index(tag)]
        for t, v in self.changes_of(tag):
            if t > time_ns:
                break
            value = v
        return value

    def window(
        self, tags: list[str] | tuple[str, ...], start_ns: int, end_ns: int
    ) -> list[tuple[int, str, Value]]:
        """Changes of ``tags`` between two times, preceded by each tag's value at the start."""
        wanted = {self.index(tag): tag for tag in tags}
        return window(self.initial, self.changes, wanted, start_ns, end_ns)

    # -- files

    def save(self, path: str | Path) -> None:
        """Write a compressed ``.npz`` atomically."""
        times = np.array([t for t, _, _ in self.changes], dtype=np.int64)
        indices = np.array([i for _, i, _ in self.changes], dtype=np.int32)
        values = np.array([float(v) for _, _, v in self.changes], dtype=np.float64)
        header = {
            "format": FORMAT,
            "names": self.names,
            "types": self.types,
            "initial": [float(v) for v in self.initial],
            "parts": self.parts,
            "meta": self.meta,
            "end_ns": self.end_ns,
        }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.array(json.dumps(header)),
            times=times,
            indices=indices,
            values=values,
        )
        write_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                times, indices, values = data["times"], data["indices"], data["values"]
        except (OSError, ValueError, KeyError) as exc:
            raise VcommissionError(f"{path}: not a vcommission trace ({exc})") from None
        if header.get("format") != FORMAT:
            raise VcommissionError(f"{path}: unknown trace format {header.get('format')!r}")
        types = header["types"]
        cast = [_caster(t) for t in types]
        changes = [
            (int(t), int(i), cast[int(i)](v))
            for t, i, v in zip(times.tolist(), indices.tolist(), values.tolist(), strict=True)
        ]
        initial = [cast[i](v) for i, v in enumerate(header["initial"])]
        parts = header["parts"]
        for part in parts:
            part["journey"] = [tuple(event) for event in part["journey"]]
        return cls(
            header["names"], types, initial, changes, parts, header["meta"], header["end_ns"]
        )


def _caster(type_name: str) -> Any:
    kind = SignalType(type_name)
    if kind.is_bool:
        return lambda v: bool(v)
    if kind.is_float:
        return float
    return lambda v: int(v)


def window(
    initial: Sequence[Value],
    changes: Sequence[tuple[int, int, Value]],
    wanted: dict[int, str],
    start_ns: int,
    end_ns: int,
) -> list[tuple[int, str, Value]]:
    """Each wanted signal's value at ``start_ns``, then its changes up to ``end_ns``.

    ``wanted`` maps signal index to name; rows are (time ns, name, value).
    """
    state = {i: initial[i] for i in wanted}
    rows: list[tuple[int, str, Value]] = []
    for t, i, v in changes:
        if t > end_ns:
            break
        if i in wanted:
            if t <= start_ns:
                state[i] = v
            else:
                rows.append((t, wanted[i], v))
    return [(start_ns, wanted[i], state[i]) for i in wanted] + rows


@dataclass
class TraceRecorder(ChangeRecorder):
    """A :class:`ChangeRecorder` that also keeps the values at the start, for a :class:`Trace`."""

    initial: list[Value] = field(init=False)

    def __post_init__(self) -> None:
        self.initial = list(self.image.committed)

    def trace(self, parts: PartTracker, end_ns: int, meta: dict[str, Any]) -> Trace:
        table = self.image.table
        return Trace(
            names=[s.name for s in table.signals],
            types=[s.type.value for s in table.signals],
            initial=list(self.initial),
            changes=list(self.changes),
            parts=[
                {
                    "id": p.id,
                    "variant": p.variant,
                    "spawned_ns": p.spawned_ns,
                    "destination": p.destination,
                    "journey": [(e.time_ns, e.event, e.where) for e in p.journey],
                }
                for p in parts.parts
            ],
            meta=meta,
            end_ns=end_ns,
        )


@dataclass(frozen=True)
class Divergence:
    """Where two traces first differ."""

    time_ns: int
    what: str
    left: object
    right: object

    def __str__(self) -> str:
        return f"t={self.time_ns / 1e9:.3f} s: {self.what}: {self.left!r} vs {self.right!r}"


def first_divergence(a: Trace, b: Trace) -> Divergence | None:
    """The earliest difference between two traces (signals, then parts), or None."""
    if a.names != b.names:
        extra = sorted(set(a.names) ^ set(b.names))
        return Divergence(0, "signal tables differ", extra[:5], len(a.names) - len(b.names))
    for i, (x, y) in enumerate(zip(a.initial, b.initial, strict=True)):
        if x != y:
            return Divergence(0, f"initial {a.names[i]}", x, y)
    for left, right in zip(a.changes, b.changes, strict=False):
        if left != right:
            t = min(left[0], right[0])
            tag = a.names[left[1]] if left[0] <= right[0] else b.names[right[1]]
            return Divergence(t, f"{tag} changes", _change_text(a, left), _change_text(b, right))
    if len(a.changes) != len(b.changes):
        shorter = min(len(a.changes), len(b.changes))
        longer = a.changes if len(a.changes) > shorter else b.changes
        t, i, _ = longer[shorter]
        return Divergence(
            t, f"{a.names[i]} changes in one trace only", len(a.changes), len(b.changes)
        )
    for pa, pb in zip(a.parts, b.parts, strict=False):
        if pa != pb:
            return Divergence(pa["spawned_ns"], f"part {pa['id']}", pa, pb)
    if len(a.parts) != len(b.parts):
        return Divergence(a.end_ns, "part count", len(a.parts), len(b.parts))
    return None


def _change_text(trace: Trace, change: tuple[int, int, Value]) -> str:
    t, i, v = change
    return f"{trace.names[i]} -> {v!r} at {t / 1e9:.3f} s"
