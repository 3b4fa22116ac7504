"""The soft PLC: a compiled program bound to a plant's I/O, scanned cyclically.

:func:`compile_program` parses, checks and translates an ST file and binds its I/O;
:class:`SoftPlc` runs it. A scan is: copy inputs into the program's variables, run every
task that is due (programs in task order), copy changed outputs out. The same
:class:`SoftPlc` serves both ways of running:

- in-process, as a simulator controller (:meth:`SoftPlc.scan` with the process image);
- over the wire (:mod:`vcommission.plc.remote`), where a Modbus master fills and drains
  :meth:`SoftPlc.run_cycle`'s input and output values.

A runtime fault (division by zero, index out of range, an endless loop) stops the PLC,
as a CPU goes to STOP: outputs drop to their de-energised values and :attr:`SoftPlc.fault`
names the ST line.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.addressing import ModbusAddress, ModbusTable, Scaling, register_count
from vcommission.errors import PlcCompileError, PlcFault, SourceIssue, VcommissionError
from vcommission.plc.compiler import (
    NO_PROGRAM,
    CompiledUnit,
    TaskSpec,
    Var,
    compile_library,
    py_attr,
)
from vcommission.plc.parser import parse
from vcommission.plc.plcopen import is_plcopen, read_plcopen
from vcommission.plc.stdlib import PlcClock, namespace
from vcommission.plc.types import ElementaryType
from vcommission.signals import Direction, ProcessImage, Signal, SignalType, Value

if TYPE_CHECKING:
    from vcommission.config.model import Model

__all__ = [
    "Coverage",
    "IoPoint",
    "PlcProgram",
    "SoftPlc",
    "compile_program",
    "compile_source",
    "model_program",
]

logger = logging.getLogger(__name__)

#: Loop iterations one scan may run before the PLC faults (a deterministic watchdog).
DEFAULT_LOOP_BUDGET = 1_000_000

_LOCATION = re.compile(r"^%([IQM])([XBWDL]?)(\d+)(?:\.(\d+))?$")
_SIZE_BITS = {"": 1, "X": 1, "B": 8, "W": 16, "D": 32, "L": 64}


@dataclass(frozen=True)
class IoPoint:
    """One PLC variable bound to the plant: where it lives in the program and on the wire."""

    #: ``""`` for a global, else the program instance that holds it.
    owner: str
    #: The ST variable's name.
    name: str
    #: Attribute of the owner object in the generated code.
    attr: str
    #: Its ST type name (``BOOL``, ``INT``, ...).
    st_type: str
    #: True for an output (the PLC writes it), False for an input.
    output: bool
    #: Modbus table and address it reads or writes (OpenPLC convention for located ones).
    table: ModbusTable
    address: int
    #: Located address as written (``%IX0.4``), or None for a variable bound by name.
    location: str | None = None
    #: The plant signal, when a model is known.
    tag: str | None = None
    #: Wire scaling of that signal (a located variable sees the raw register value).
    scaling: Scaling | None = None
    #: Type of that signal (its engineering value), when a model is known.
    signal_type: str | None = None

    @property
    def registers(self) -> int:
        return register_count(SignalType(self.st_type)) if self.st_type != "BOOL" else 1


@dataclass
class PlcProgram:
    """A compiled, bound PLC program: immutable, and instantiated by :class:`SoftPlc`."""

    file: str
    source: str
    unit: CompiledUnit
    code: object
    io: list[IoPoint]
    model_name: str | None = None

    @property
    def tasks(self) -> list[TaskSpec]:
        return self.unit.tasks

    @property
    def scan_period_ns(self) -> int:
        """How often the PLC must be scanned: the greatest common divisor of task intervals."""
        return math.gcd(*(t.interval_ns for t in self.unit.tasks)) if self.unit.tasks else 0

    def st_line(self, python_line: int) -> int:
        line_map = self.unit.line_map
        return line_map[python_line - 1] if 0 < python_line <= len(line_map) else 0


def model_program(model_path: str | Path) -> Path:
    """A model's own PLC program: the one ``.st`` file in its ``plc/`` folder.

    Raises:
        VcommissionError: the folder holds none or several (naming what it found).
    """
    folder = Path(model_path)
    folder = folder if folder.is_dir() else folder.parent
    candidates = sorted((folder / "plc").glob("*.st"))
    if len(candidates) != 1:
        found = ", ".join(p.name for p in candidates) or "none"
        raise VcommissionError(f"the model's plc/ folder has not exactly one .st file ({found})")
    return candidates[0]


def compile_program(
    path: str | Path, model: Model | None = None, *, coverage: bool = True
) -> PlcProgram:
    """Compile the ST file at ``path`` and bind its I/O to ``model`` (if given).

    A ``.xml`` path is read as a PLCopen TC6 XML project (:mod:`vcommission.plc.plcopen`).

    Raises:
        PlcCompileError: with every syntax, type and binding error found, each located.
    """
    file = str(path)
    if is_plcopen(path):
        return _compile_plcopen(path, model, coverage=coverage)
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise PlcCompileError([SourceIssue(file, 0, 0, f"cannot read: {error.strerror}")]) from None
    try:
        source = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        issue = SourceIssue(file, line, 0, "not UTF-8 text (save the file as UTF-8)")
        raise PlcCompileError([issue]) from None
    return compile_source(source, model, file=file, coverage=coverage)


def _compile_plcopen(path: str | Path, model: Model | None, *, coverage: bool) -> PlcProgram:
    """A PLCopen XML project: its ST text compiled, every issue located in the XML file."""
    file = str(path)
    st = read_plcopen(path)
    try:
        return compile_source(st.text, model, file=file, coverage=coverage)
    except PlcCompileError as error:
        raise PlcCompileError([st.locate(issue, file) for issue in error.issues]) from None


def compile_source(
    source: str, model: Model | None = None, *, file: str = "<string>", coverage: bool = True
) -> PlcProgram:
    """Like :func:`compile_program`, from text."""
    library, issues = parse(source, file)
    unit, check_issues = compile_library(library, coverage=coverage)
    if issues:
        # A program lost to a syntax error is not missing: say only what is wrong.
        check_issues = [i for i in check_issues if i.message != NO_PROGRAM]
    issues += check_issues
    io = _bind(unit.io_candidates, model, file, issues) if unit is not None else []
    if issues or unit is None:
        raise PlcCompileError(issues)
    code = compile(unit.python, f"<st:{file}>", "exec")
    return PlcProgram(file, source, unit, code, io, model.name if model else None)


def _bind(
    candidates: list[tuple[str, Var]], model: Model | None, file: str, issues: list[SourceIssue]
) -> list[IoPoint]:
    """Bind located variables through the Modbus map and globals named like tags."""
    by_address: dict[tuple[ModbusTable, int], Signal] = {}
    tags: dict[str, Signal] = {}
    if model is not None:
        for signal in model.table:
            address = model.addresses.get(signal.name)
            if address is not None:
                by_address[(address.table, address.address)] = signal
            if signal.direction in (Direction.TO_PLANT, Direction.FROM_PLANT):
                tags.setdefault(signal.name.lower(), signal)
    points: list[IoPoint] = []
    written: dict[tuple[ModbusTable, int], str] = {}
    for owner, var in candidates:
        if var.location is not None:
            point = _located(owner, var, model, by_address, file, issues)
        elif owner == "" and var.name.lower() in tags and model is not None:
            point = _named(var, tags[var.name.lower()], model, file, issues)
        else:
            continue
        if point is None:
            continue
        if point.output:
            where = (point.table, point.address)
            if where in written:
                issues.append(
                    _issue(
                        file,
                        var,
                        f"{where[0].short} {where[1]} is already written by {written[where]}",
                    )
                )
                continue
            written[where] = var.name
        points.append(point)
    return points


def _issue(file: str, var: Var, message: str) -> SourceIssue:
    return SourceIssue(file, var.line, var.col, f"{var.name}: {message}")


def _located(
    owner: str,
    var: Var,
    model: Model | None,
    by_address: dict[tuple[ModbusTable, int], Signal],
    file: str,
    issues: list[SourceIssue],
) -> IoPoint | None:
    match = _LOCATION.match(var.location or "")
    if match is None or match.group(1) == "M":
        return None  # %M is PLC memory; malformed addresses were reported by the checker
    area, size, number, bit = match.groups()
    is_input = area == "I"
    if size in ("", "X"):
        table = ModbusTable.DISCRETE_INPUT if is_input else ModbusTable.COIL
        address = int(number) * 8 + int(bit or 0)
    elif size in ("W", "D", "L"):
        table = ModbusTable.INPUT_REGISTER if is_input else ModbusTable.HOLDING_REGISTER
        address = int(number)
    else:
        issues.append(_issue(file, var, f"{var.location}: byte addresses have no Modbus mapping"))
        return None
    st_type = var.type.name if isinstance(var.type, ElementaryType) else str(var.type)
    type_bits = var.type.bits if isinstance(var.type, ElementaryType) else 0
    if type_bits != _SIZE_BITS[size]:
        return None  # the checker has reported that the type does not fit the address
    if st_type not in SignalType.__members__:
        issues.append(
            _issue(
                file,
                var,
                f"{st_type} has no Modbus encoding here; use one of "
                f"{', '.join(SignalType.__members__)}",
            )
        )
        return None
    if model is None:
        return IoPoint(
            owner, var.name, py_attr(var.name), st_type, not is_input, table, address, var.location
        )
    signal = by_address.get((table, address))
    iec = ModbusAddress(table, address)
    if signal is None:
        issues.append(
            _issue(
                file,
                var,
                f"unbound: no signal at {var.location} ({iec}) in model {model.name!r} "
                "(see `vcommission io-list`)",
            )
        )
        return None
    wire = model.wire_type(signal)
    if not _fits(st_type, wire):
        issues.append(
            _issue(
                file,
                var,
                f"mistyped: {var.location} is {signal.name} : {wire.value.upper()} on the wire, "
                f"declared {st_type}",
            )
        )
        return None
    return IoPoint(
        owner,
        var.name,
        py_attr(var.name),
        st_type,
        not is_input,
        table,
        address,
        var.location,
        signal.name,
        model.scaling.get(signal.name),
        signal.type.value,
    )


def _fits(st_type: str, wire: SignalType) -> bool:
    if st_type == wire.value.upper():
        return True
    try:
        declared = SignalType(st_type)
    except ValueError:
        return False
    # Same width and both integers: the PLC reinterprets the bits, as a real one does.
    return declared.is_integer and wire.is_integer and declared.bits == wire.bits


def _named(
    var: Var, signal: Signal, model: Model, file: str, issues: list[SourceIssue]
) -> IoPoint | None:
    st_type = var.type.name if isinstance(var.type, ElementaryType) else str(var.type)
    expected = signal.type.value.upper()
    if st_type != expected:
        issues.append(
            _issue(file, var, f"mistyped: tag {signal.name} is {expected}, declared {st_type}")
        )
        return None
    address = model.addresses.get(signal.name)
    output = signal.direction is Direction.TO_PLANT
    table = (
        address.table
        if address
        else (ModbusTable.HOLDING_REGISTER if output else ModbusTable.INPUT_REGISTER)
    )
    return IoPoint(
        "",
        var.name,
        py_attr(var.name),
        st_type,
        output,
        table,
        address.address if address else -1,
        None,
        signal.name,
        None,
        signal.type.value,
    )


# ---- running -----------------------------------------------------------------------------------


@dataclass
class _Task:
    spec: TaskSpec
    bodies: list[object]
    next_ns: int = 0


@dataclass
class Coverage:
    """Statement and branch hit counts of one run, with the source to annotate."""

    file: str
    source: str
    #: (line, col, hits) per statement.
    statements: list[tuple[int, int, int]]
    #: (line, label, hits) per branch.
    branches: list[tuple[int, str, int]]

    @staticmethod
    def _percent(hit: int, total: int) -> float:
        return 100.0 * hit / total if total else 100.0

    @property
    def statement_percent(self) -> float:
        return self._percent(sum(1 for *_, h in self.statements if h), len(self.statements))

    @property
    def branch_percent(self) -> float:
        return self._percent(sum(1 for *_, h in self.branches if h), len(self.branches))

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            "statements": {
                "total": len(self.statements),
                "covered": sum(1 for *_, h in self.statements if h),
                "percent": round(self.statement_percent, 2),
                "items": [{"line": ln, "col": c, "hits": h} for ln, c, h in self.statements],
            },
            "branches": {
                "total": len(self.branches),
                "covered": sum(1 for *_, h in self.branches if h),
                "percent": round(self.branch_percent, 2),
                "items": [{"line": ln, "branch": b, "hits": h} for ln, b, h in self.branches],
            },
        }

    def listing(self) -> str:
        """The source with hit counts in the margin, gcov style: ``#####`` never ran."""
        hits: dict[int, int] = {}
        for line, _, count in self.statements:
            hits[line] = max(hits.get(line, 0), count)
        missed_branches: dict[int, list[str]] = {}
        for line, label, count in self.branches:
            if count == 0:
                missed_branches.setdefault(line, []).append(label)
        out = [
            f"{'hits':>9} | {self.file}: statements {self.statement_percent:.1f}%, "
            f"branches {self.branch_percent:.1f}%"
        ]
        for number, text in enumerate(self.source.splitlines(), start=1):
            if number in hits:
                margin = f"{hits[number]:>9}" if hits[number] else "    #####"
            else:
                margin = " " * 9
            note = ""
            if number in missed_branches:
                note = f"   <-- branch never taken: {', '.join(missed_branches[number])}"
            out.append(f"{margin} | {text}{note}")
        return "\n".join(out) + "\n"


class SoftPlc:
    """One running instance of a :class:`PlcProgram`.

    Use it as an in-process controller::

        plc = SoftPlc(compile_program("sorting.st", model))
        sim.add_controller(plc, period_s=plc.period_s)

    Args:
        program: The compiled program.
        loop_budget: Loop iterations allowed per scan before the PLC faults.
    """

    def __init__(self, program: PlcProgram, loop_budget: int = DEFAULT_LOOP_BUDGET) -> None:
        self.program = program
        self.loop_budget = loop_budget
        self.clock = PlcClock()
        self.fault: PlcFault | None = None
        self.scans = 0
        self._start()

    def _start(self, retained: dict[tuple[str, str], object] | None = None) -> None:
        unit = self.program.unit
        self._namespace = ns = namespace()
        ns["_rt"] = self.clock
        ns["_c"] = [0] * unit.counters
        #: Per statement, executions its run's counter counted that did not happen: the
        #: statements after one that raised (see :meth:`_uncount_after`).
        self._not_run = [0] * len(unit.statements)
        ns["_b"] = [0] * len(unit.branches)
        exec(self.program.code, ns)  # the program's own generated module, not user text
        ns["_G"] = ns["Globals"]()
        self.instances = {name: ns[cls]() for name, cls in unit.instances.items()}
        for (owner, attr), value in (retained or {}).items():
            setattr(self._owner(owner), attr, value)
        self._tasks = [
            _Task(spec, [self.instances[i] for i in spec.instances]) for spec in unit.tasks
        ]
        self._inputs: list[tuple[object, str, int, Callable[[Value], Value] | None]] = []
        self._outputs: list[tuple[object, str, str, Callable[[Value], Value] | None]] = []
        self._written: dict[str, Value] = {}
        self._bound_image: ProcessImage | None = None

    def _owner(self, owner: str) -> object:
        return self._namespace["_G"] if owner == "" else self.instances[owner]

    @property
    def period_s(self) -> float:
        return self.program.scan_period_ns / 1e9

    @property
    def running(self) -> bool:
        return self.fault is None

    def restart(self, *, warm: bool = False) -> None:
        """Cold restart (every variable to its initial value) or warm (RETAIN kept)."""
        retained = None
        if warm:
            retained = {
                (owner, attr): getattr(self._owner(owner), attr)
                for owner, attr in self.program.unit.retained
            }
        self.fault = None
        self.scans = 0
        self._start(retained)

    def variable(self, path: str) -> object:
        """Current value of ``Instance.var`` or a global ``var`` (dots go into structures)."""
        head, *rest = path.split(".")
        if head in self.instances:
            target: object = self.instances[head]
        else:
            target = self._namespace["_G"]
            rest = [head, *rest]
        for part in rest:
            target = getattr(target, py_attr(part))
        return target

    def set_variable(self, path: str, value: object) -> None:
        """Force ``Instance.var`` or a global ``var`` (tests, a watch table's "modify")."""
        head, _, last = path.rpartition(".")
        owner = self.variable(head) if head else self._namespace["_G"]
        setattr(owner, py_attr(last), value)

    # -- in-process: the simulator's controller protocol

    def _bind_image(self, image: ProcessImage) -> None:
        table = image.table
        self._inputs = []
        self._outputs = []
        for point in self.program.io:
            if point.tag is None:
                continue
            owner = self._owner(point.owner)
            signal = table[point.tag]
            if point.output:
                self._outputs.append((owner, point.attr, point.tag, _to_plant(point, signal)))
            else:
                self._inputs.append(
                    (owner, point.attr, table.index(point.tag), _to_plc(point, signal))
                )
        self._bound_image = image

    def scan(self, now_ns: int, image: ProcessImage) -> dict[str, Value] | None:
        """Read inputs from the committed image, run due tasks, return changed outputs."""
        if self.fault is not None:
            return None
        if image is not self._bound_image:
            self._bind_image(image)
        committed = image.committed
        for owner, attr, index, convert in self._inputs:
            value = committed[index]
            setattr(owner, attr, convert(value) if convert else value)
        if not self._run(now_ns):
            return self._safe_outputs()
        changes: dict[str, Value] = {}
        written = self._written
        for owner, attr, tag, convert in self._outputs:
            value = getattr(owner, attr)
            if convert is not None:
                value = convert(value)
            if written.get(tag, _UNSET) != value:
                written[tag] = value
                changes[tag] = value
        return changes

    def resend_outputs(self) -> None:
        """Write every output at the next scan, changed or not (after a link came back)."""
        self._written.clear()

    def _safe_outputs(self) -> dict[str, Value]:
        """Every output de-energised: what a CPU in STOP drives."""
        return {
            point.tag: SignalType(point.st_type).zero
            for point in self.program.io
            if point.output and point.tag
        }

    # -- the cycle itself

    def run_cycle(self, now_ns: int) -> bool:
        """Run the tasks due at ``now_ns`` (inputs already set); False if the PLC faulted."""
        if self.fault is not None:
            return False
        return self._run(now_ns)

    def _run(self, now_ns: int) -> bool:
        clock = self.clock
        clock.now = now_ns
        clock.budget = self.loop_budget
        try:
            for task in self._tasks:
                if now_ns >= task.next_ns:
                    # The first run sets the task's phase; a late run (an overrun) re-phases.
                    task.next_ns = max(task.next_ns or now_ns, now_ns - task.spec.interval_ns)
                    task.next_ns += task.spec.interval_ns
                    for body in task.bodies:
                        body()  # type: ignore[operator]
        except Exception as error:
            self.fault = self._locate(error, now_ns)
            logger.error("PLC stopped: %s", self.fault)
            return False
        self.scans += 1
        return True

    def _locate(self, error: BaseException, now_ns: int) -> PlcFault:
        line = 0
        name = f"<st:{self.program.file}>"
        traceback = error.__traceback__
        while traceback is not None:
            if traceback.tb_frame.f_code.co_filename == name:
                line = self.program.st_line(traceback.tb_lineno)
                self._uncount_after(traceback.tb_lineno - 1)
            traceback = traceback.tb_next
        message = str(error) or type(error).__name__
        if isinstance(error, RecursionError):
            message = "recursion: a POU calls itself (IEC 61131-3 forbids recursion)"
        elif isinstance(error, OverflowError):
            message = f"arithmetic overflow: {message}"
        return PlcFault(message, self.program.file, line, now_ns)

    def _uncount_after(self, python_line: int) -> None:
        """A statement raised at ``python_line`` (0-based): the rest of its run did not run.

        Its run's counter was bumped once for all of them; the innermost statement whose
        code holds the line is the one that raised.
        """
        unit = self.program.unit
        inside = [i for i, (first, last) in enumerate(unit.spans) if first <= python_line <= last]
        if not inside:
            return  # not in a statement (a declaration's initial value)
        raised = max(inside, key=lambda i: unit.spans[i][0])
        counter = unit.statement_counters[raised]
        for later in range(raised + 1, len(unit.statements)):
            if unit.statement_counters[later] != counter:
                break
            self._not_run[later] += 1

    def coverage(self) -> Coverage:
        unit = self.program.unit
        hits = self._namespace["_c"]
        branch_hits = self._namespace["_b"]
        counters, not_run = unit.statement_counters, self._not_run
        return Coverage(
            file=self.program.file,
            source=self.program.source,
            statements=[
                (ln, c, hits[counters[i]] - not_run[i]) for i, (ln, c) in enumerate(unit.statements)
            ],
            branches=[(ln, b, branch_hits[i]) for i, (ln, b) in enumerate(unit.branches)],
        )

    # -- over the wire: values by I/O point

    def set_inputs(self, values: Sequence[tuple[IoPoint, Value]]) -> None:
        for point, value in values:
            setattr(self._owner(point.owner), point.attr, value)

    def output_values(self) -> list[tuple[IoPoint, Value]]:
        if self.fault is not None:
            return [(p, SignalType(p.st_type).zero) for p in self.program.io if p.output]
        return [(p, getattr(self._owner(p.owner), p.attr)) for p in self.program.io if p.output]


_UNSET = object()


def _to_plc(point: IoPoint, signal: Signal) -> Callable[[Value], Value] | None:
    """Conversion of a committed signal value into the PLC variable's type, or None."""
    if point.scaling is not None:
        return point.scaling.to_raw  # type: ignore[return-value]
    if point.st_type == signal.type.value.upper():
        return None
    return SignalType(point.st_type).reinterpret  # type: ignore[return-value]


def _to_plant(point: IoPoint, signal: Signal) -> Callable[[Value], Value] | None:
    """Conversion of a PLC output variable's value into the signal's, or None."""
    if point.scaling is not None:
        return point.scaling.from_raw  # type: ignore[return-value]
    if point.st_type == signal.type.value.upper():
        return None
    return signal.type.reinterpret  # type: ignore[return-value]
