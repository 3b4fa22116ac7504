"""Replaying what the PLC saw: a mutant needs the plant only once it writes something else.

A scenario run is deterministic: the same plant, seed and steps, and the same writes of the
PLC at the same scans, give the same inputs to the PLC at every scan, and so the same trace.
So a mutant that, fed the inputs the original program read in a scenario, writes exactly
what the original wrote at every scan, would have run that scenario exactly as the original
did: it passes it, and its trace is the original's. Finding that out takes only the PLC's
scans (some microseconds each), not the physics (milliseconds per tick).

:func:`record` makes a :class:`Tape` of one scenario from the original program's trace: the
PLC's inputs as the trace committed them, tick by tick, and the original's writes at every
scan, replayed. It checks the tape before anyone relies on it: the writes must be what the
trace shows reaching the plant (each output's committed changes, one tick after the scan
that wrote them). A scenario whose PLC does not read the image as committed (an external
PLC, a fault on the link: a lost connection freezes the inputs, a latency delays the writes,
a fault kind registered from elsewhere) gets no tape, and nor does one whose check fails:
its mutants run in full, as without tapes.

:func:`replay` runs a compiled mutant against a tape and returns the virtual time of the
first scan whose writes differ from the original's (a PLC fault counts), or None if none
does. Only a mutant that diverges needs the real run.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from vcommission.plc import PlcProgram, SoftPlc
from vcommission.signals import Value

if TYPE_CHECKING:
    from vcommission.scenario.schema import Scenario
    from vcommission.scenario.trace import Trace
    from vcommission.signals import SignalTable

__all__ = ["Tape", "record", "replay"]

#: Fault kinds that act on the plant only: the PLC still reads the committed image and its
#: writes are committed at the next tick, so the trace shows what it read and wrote.
PLANT_FAULTS = frozenset(
    {
        "sensor_stuck",
        "sensor_chatter",
        "wire_break",
        "actuator_stuck",
        "actuator_slow",
        "belt_slip",
        "jam",
        "part_dropped",
    }
)

_NO_WRITES: dict[str, Value] = {}


@dataclass(frozen=True)
class Tape:
    """What the original program read and wrote in one scenario, scan by scan."""

    scenario: str
    tick_ns: int
    period_ns: int
    end_ns: int
    #: The committed image at time 0 (every signal, in table order).
    initial: tuple[Value, ...]
    #: Changes of the signals the PLC reads: (time ns, signal index, value), in time order.
    inputs: tuple[tuple[int, int, Value], ...]
    #: Scan time (ns) -> the original's writes at that scan; scans that wrote nothing absent.
    writes: dict[int, dict[str, Value]]
    #: The original's trace digest: a mutant that replays without diverging has this one.
    trace_sha256: str | None


def replayable(scenario: Scenario) -> bool:
    """Whether the scenario's PLC reads the image as committed (see the module docstring)."""
    if scenario.spec.plc.external is not None:
        return False
    for step in scenario.spec.steps:
        if step.action == "fault":
            kind = getattr(step.spec.kind, "value", step.spec.kind)
            if kind not in PLANT_FAULTS:
                return False
    return True


def _scan_times(tick_ns: int, period_ns: int, end_ns: int) -> Iterator[int]:
    """The simulator's scan schedule: first after the first tick, then every period."""
    period_ns = max(period_ns, tick_ns)
    due = tick_ns
    now = tick_ns
    while now <= end_ns:
        if now >= due:
            due += period_ns
            yield now
        now += tick_ns


class _Image:
    """The part of a process image a :class:`SoftPlc` reads: the table and committed values."""

    def __init__(self, table: SignalTable, initial: Sequence[Value]) -> None:
        self.table = table
        self.committed = list(initial)


def _play(
    program: PlcProgram,
    table: SignalTable,
    tick_ns: int,
    period_ns: int,
    end_ns: int,
    initial: Sequence[Value],
    inputs: Sequence[tuple[int, int, Value]],
) -> Iterator[tuple[int, dict[str, Value] | None, bool]]:
    """Scan ``program`` against the inputs: (scan time, its writes, PLC running) per scan."""
    plc = SoftPlc(program)
    image = _Image(table, initial)
    committed = image.committed
    position, count = 0, len(inputs)
    for now in _scan_times(tick_ns, period_ns, end_ns):
        while position < count and inputs[position][0] <= now:
            _, index, value = inputs[position]
            committed[index] = value
            position += 1
        writes = plc.scan(now, image)  # type: ignore[arg-type]  # reads table and committed
        yield now, writes, plc.fault is None


def record(
    scenario: Scenario,
    program: PlcProgram,
    table: SignalTable,
    tick_ns: int,
    trace: Trace,
    trace_sha256: str | None,
) -> Tape | None:
    """The tape of ``scenario`` from the original's ``trace``, checked; None if not usable."""
    if not replayable(scenario):
        return None
    names = {name: i for i, name in enumerate(trace.names)}
    read = {names[p.tag] for p in program.io if p.tag is not None and not p.output}
    written = {p.tag: names[p.tag] for p in program.io if p.tag is not None and p.output}
    inputs = tuple(change for change in trace.changes if change[1] in read)
    writes: dict[int, dict[str, Value]] = {}
    for now, scan_writes, running in _play(
        program, table, tick_ns, program.scan_period_ns, trace.end_ns, trace.initial, inputs
    ):
        if not running:
            return None  # the original never faults in a suite that passes it
        if scan_writes:
            writes[now] = dict(scan_writes)
    if not _writes_match(trace, written, writes, tick_ns):
        return None
    return Tape(
        scenario.name,
        tick_ns,
        program.scan_period_ns,
        trace.end_ns,
        tuple(trace.initial),
        inputs,
        writes,
        trace_sha256,
    )


def _writes_match(
    trace: Trace, written: dict[str, int], writes: dict[int, dict[str, Value]], tick_ns: int
) -> bool:
    """Whether the replayed writes are the committed output changes the trace recorded."""
    current: dict[str, Any] = {tag: trace.initial[i] for tag, i in written.items()}
    expected: list[tuple[int, int, Any]] = []
    for now in sorted(writes):
        if now + tick_ns > trace.end_ns:
            continue  # written at the last scan: never committed within the run
        for tag, value in writes[now].items():
            if tag in current and value != current[tag]:
                current[tag] = value
                expected.append((now + tick_ns, written[tag], value))
    indices = set(written.values())
    seen = [change for change in trace.changes if change[1] in indices]
    return sorted(expected) == sorted(seen)


def replay(program: PlcProgram, table: SignalTable, tape: Tape) -> int | None:
    """Time (ns) of the first scan whose writes differ from the original's, or None."""
    if program.scan_period_ns != tape.period_ns:
        return 0  # another task interval: another scan schedule altogether
    reference = tape.writes
    for now, writes, running in _play(
        program, table, tape.tick_ns, tape.period_ns, tape.end_ns, tape.initial, tape.inputs
    ):
        if not running or (writes or _NO_WRITES) != reference.get(now, _NO_WRITES):
            return now
    return None
