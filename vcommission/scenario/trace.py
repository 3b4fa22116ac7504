"""Traces: every signal change and every part's journey of a run, saved compressed, diffable.

:class:`TraceRecorder` is a simulator monitor; at the end of a run :meth:`TraceRecorder.trace`
gives a :class:`Trace`, which saves to a compressed ``.npz`` (numpy's own format: no extra
dependency, loads in any numpy) and loads back for reports and :func:`first_divergence`.
Times are integer nanoseconds of virtual time throughout.

A recorder that follows the plant (:meth:`TraceRecorder.follow`, as every scenario run does)
also keeps the poses of the parts and moving bodies (:class:`PoseTrack`, sampled by
:class:`~vcommission.plant.poses.PoseSampler`), so a picture of any moment of the run can be
drawn afterwards (``vcommission render --at T --trace FILE``). Such a trace is format
``vcommission-trace-2``: version 1 plus the poses; one without poses is still written as
version 1, and both load.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from vcommission.errors import VcommissionError
from vcommission.fileio import write_atomic
from vcommission.plant.parts import PartTracker
from vcommission.plant.poses import DEFAULT_PERIOD_NS, SCALE, PoseRecord, PoseSampler, interpolate
from vcommission.signals import SignalType, Value
from vcommission.simulator import ChangeRecorder

if TYPE_CHECKING:
    from vcommission.plant.plant import Plant

__all__ = ["Divergence", "PoseTrack", "Trace", "TraceRecorder", "first_divergence", "window"]

#: Signals and part journeys only.
FORMAT = "vcommission-trace-1"
#: Version 1 plus the poses of parts and moving bodies (``poses`` in the header, and the
#: ``pose_times``, ``pose_keys`` and ``pose_values`` arrays).
FORMAT_POSES = "vcommission-trace-2"
_FORMATS = (FORMAT, FORMAT_POSES)


@dataclass
class PoseTrack:
    """The recorded poses of a run: per thing (a key), its pose whenever it changed.

    Keys are ``part:<id>`` and ``<component>/<group>/<n>`` (see :mod:`vcommission.plant.poses`);
    values are base position (m), orientation quaternion (x, y, z, w) and joint positions,
    as integers in units of :data:`~vcommission.plant.poses.SCALE`.
    """

    period_ns: int = DEFAULT_PERIOD_NS
    #: (time ns, key, values), in time order.
    records: list[PoseRecord] = field(default_factory=list)

    def keys(self) -> list[str]:
        """Every key, in order of its first record."""
        return list(dict.fromkeys(key for _, key, _ in self.records))

    def at(self, time_ns: int) -> dict[str, list[float]]:
        """Every key's pose at ``time_ns`` (metres, radians), interpolated between records.

        A key first recorded after ``time_ns`` takes its first pose.
        """
        before: dict[str, tuple[int, tuple[int, ...]]] = {}
        after: dict[str, tuple[int, tuple[int, ...]]] = {}
        for t, key, values in self.records:
            if t <= time_ns or key not in before:
                before[key] = (t, values)
            elif key not in after:
                after[key] = (t, values)
        return {
            key: interpolate(
                (t0, [v * SCALE for v in a]),
                (after[key][0], [v * SCALE for v in after[key][1]]) if key in after else None,
                time_ns,
            )
            for key, (t0, a) in before.items()
        }


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
    #: Poses of parts and moving bodies (format 2); None in a trace without them.
    poses: PoseTrack | None = None

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

    def moment(self, time_ns: int) -> tuple[dict[str, list[float]], dict[int, str]]:
        """Where everything was at ``time_ns``: poses by key, and the parts there then.

        The parts are those spawned by then and not yet removed, by id, with their variant.

        Raises:
            VcommissionError: the trace keeps no poses (format 1), or ``time_ns`` is outside
                the run.
        """
        if self.poses is None:
            raise VcommissionError(
                "the trace keeps no poses (recorded as vcommission-trace-1, before poses were "
                "kept): run the scenario again with --trace-dir to picture a moment of it"
            )
        if not 0 <= time_ns <= self.end_ns:
            raise VcommissionError(
                f"t={time_ns / 1e9:g} s is outside the run (0 to {self.end_ns / 1e9:g} s)"
            )
        poses = self.poses.at(time_ns)
        present = {}
        for part in self.parts:
            removed = any(t <= time_ns for t, event, _ in part["journey"] if event == "removed")
            key = f"part:{part['id']}"
            if part["spawned_ns"] <= time_ns and not removed and key in poses:
                present[int(part["id"])] = str(part["variant"])
        return poses, present

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
        header: dict[str, Any] = {
            "format": FORMAT if self.poses is None else FORMAT_POSES,
            "names": self.names,
            "types": self.types,
            "initial": [float(v) for v in self.initial],
            "parts": self.parts,
            "meta": self.meta,
            "end_ns": self.end_ns,
        }
        arrays: dict[str, np.ndarray] = {}
        if self.poses is not None:
            keys = self.poses.keys()
            number = {key: i for i, key in enumerate(keys)}
            widths = {key: 0 for key in keys}
            for _, key, record in self.poses.records:
                widths[key] = len(record)
            header["poses"] = {
                "period_ns": self.poses.period_ns,
                "scale": SCALE,
                "keys": keys,
                "widths": [widths[key] for key in keys],
            }
            records = self.poses.records
            arrays = {
                "pose_times": np.array([t for t, _, _ in records], dtype=np.int64),
                "pose_keys": np.array([number[k] for _, k, _ in records], dtype=np.int32),
                "pose_values": np.array(
                    [v for _, _, record in records for v in record], dtype=np.int32
                ),
            }
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            header=np.array(json.dumps(header)),
            times=times,
            indices=indices,
            values=values,
            **arrays,
        )
        write_atomic(path, buffer.getvalue())

    @classmethod
    def load(cls, path: str | Path) -> Trace:
        """Read a trace written by :meth:`save`."""
        try:
            with np.load(path, allow_pickle=False) as data:
                header = json.loads(str(data["header"]))
                times, indices, values = data["times"], data["indices"], data["values"]
                poses = None
                if header.get("format") == FORMAT_POSES:
                    poses = _load_poses(
                        header["poses"], data["pose_times"], data["pose_keys"], data["pose_values"]
                    )
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise VcommissionError(f"{path}: not a vcommission trace ({exc})") from None
        if header.get("format") not in _FORMATS:
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
            header["names"], types, initial, changes, parts, header["meta"], header["end_ns"], poses
        )


def _load_poses(
    header: dict[str, Any], times: np.ndarray, keys: np.ndarray, values: np.ndarray
) -> PoseTrack:
    names, widths = header["keys"], header["widths"]
    if len(names) != len(widths) or len(times) != len(keys):
        raise ValueError("pose arrays and header disagree")
    flat = values.tolist()
    records: list[PoseRecord] = []
    offset = 0
    for t, k in zip(times.tolist(), keys.tolist(), strict=True):
        width = widths[k]
        records.append((int(t), names[k], tuple(flat[offset : offset + width])))
        offset += width
    if offset != len(flat):
        raise ValueError("pose values and widths disagree")
    return PoseTrack(int(header["period_ns"]), records)


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
    #: Samples the plant's poses after every tick, once :meth:`follow` attached it.
    sampler: PoseSampler | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.initial = list(self.image.committed)

    def follow(self, plant: Plant, now_ns: int = 0, period_ns: int = DEFAULT_PERIOD_NS) -> None:
        """Also keep the poses of ``plant``'s parts and moving bodies, from ``now_ns`` on."""
        self.sampler = PoseSampler(plant, period_ns)
        self.sampler.sample(now_ns)

    def __call__(self, now_ns: int, changed: list[int]) -> None:
        super().__call__(now_ns, changed)
        if self.sampler is not None:
            self.sampler(now_ns)

    def trace(self, parts: PartTracker, end_ns: int, meta: dict[str, Any]) -> Trace:
        table = self.image.table
        poses = None
        if self.sampler is not None:
            self.sampler.sample(end_ns)  # the last moment, exactly
            poses = PoseTrack(self.sampler.period_ns, list(self.sampler.records))
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
            poses=poses,
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
