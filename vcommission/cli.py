"""The ``vcommission`` command line: a thin layer over the library.

Subcommands: ``check`` (validate models and ST programs), ``io-list`` (the I/O list of a
model), ``serve`` (a model's I/O over Modbus/OPC UA in real time), ``plc`` (the built-in soft
PLC over the wire) and ``demo`` (the main job: the bundled model driven by the bundled ST
program). Output goes through rich on a terminal and is plain when piped; exit codes are
:class:`ExitCode`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn

from rich.console import Console
from rich.table import Table

from vcommission.config.model import IoRow, find_models, load_model
from vcommission.errors import ConfigError, PlcCompileError, VcommissionError

__all__ = ["ExitCode", "main"]


class ExitCode(IntEnum):
    """Process exit codes of every subcommand."""

    #: Everything checked out.
    OK = 0
    #: The input was read and found wrong (invalid model, failed checks).
    FAILED = 1
    #: vcommission itself could not do the job (harness error).
    ERROR = 2
    #: Bad command-line arguments.
    USAGE = 3
    #: Nothing to work on (no model found).
    NO_INPUT = 4


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments; here 2 means a harness error, so use USAGE."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="vcommission", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    check = commands.add_parser(
        "check", help="validate models (files or folders) and ST programs (.st files)"
    )
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    check.add_argument(
        "--model", type=Path, default=None, metavar="MODEL", help="bind .st programs' I/O to it"
    )

    io_list = commands.add_parser("io-list", help="print a model's I/O list with addresses")
    io_list.add_argument("model", type=Path, metavar="MODEL")
    io_list.add_argument("--format", choices=("table", "csv", "json"), default="table")
    io_list.add_argument("--all", action="store_true", help="include internal and operator signals")

    serve = commands.add_parser("serve", help="run a model in real time and serve its I/O")
    serve.add_argument("model", type=Path, metavar="MODEL")
    serve.add_argument(
        "--modbus",
        type=_endpoint(502),
        default=("127.0.0.1", 502),
        metavar="HOST:PORT",
        help="Modbus TCP endpoint (default 127.0.0.1:502; port 0 picks a free one; 'off')",
    )
    serve.add_argument(
        "--opcua",
        type=_endpoint(4840),
        default=("127.0.0.1", 4840),
        metavar="HOST:PORT",
        help="OPC UA endpoint (default 127.0.0.1:4840; port 0 picks a free one; 'off')",
    )
    serve.add_argument(
        "--modbus-client",
        type=_endpoint(502),
        default=None,
        metavar="HOST:PORT",
        help="client mode: poll this PLC's Modbus server (Factory I/O's 'Modbus client')",
    )
    serve.add_argument(
        "--client-map",
        type=Path,
        default=None,
        metavar="FILE",
        help="YAML map of tags to the PLC server's addresses (default: see README)",
    )
    serve.add_argument("--unit-id", type=int, default=None, help="answer only this unit id")
    serve.add_argument("--speed", type=_positive_float, default=1.0, metavar="FACTOR")
    serve.add_argument("--duration", type=_positive_float, default=None, metavar="SECONDS")
    serve.add_argument(
        "--watchdog",
        type=_non_negative_float,
        default=None,
        metavar="SECONDS",
        help="PLC write timeout before the safe state (default: the model's; 0 disables)",
    )

    run = commands.add_parser("run", help="run scenario files (or folders of them) and report")
    run.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    run.add_argument(
        "--plc",
        type=Path,
        default=None,
        metavar="PROGRAM.st",
        help="ST program for scenarios that name none",
    )
    run.add_argument("--seed", type=_seed, default=None, help="plant seed for every scenario")
    run.add_argument(
        "-j",
        "--jobs",
        type=_jobs,
        default=None,
        metavar="N",
        help="worker processes (default: one per core)",
    )
    run.add_argument("--junit", type=Path, default=None, metavar="FILE")
    run.add_argument("--json", type=Path, default=None, metavar="FILE")
    run.add_argument("--trace-dir", type=Path, default=None, metavar="DIR")
    run.add_argument(
        "-k",
        dest="keyword",
        default=None,
        metavar="EXPR",
        help="only scenarios matching: words, and, or, not, ( ) as in pytest",
    )
    run.add_argument("-v", "--verbose", action="store_true")

    diff = commands.add_parser("diff", help="where two traces (.npz) first differ")
    diff.add_argument("left", type=Path, metavar="A")
    diff.add_argument("right", type=Path, metavar="B")

    plc = commands.add_parser(
        "plc", help="run an ST program as a soft PLC polling a plant's server in real time"
    )
    plc.add_argument("program", type=Path, metavar="PROGRAM.st")
    plc.add_argument(
        "--modbus", type=_endpoint(502), default=None, metavar="HOST:PORT", help="plant's server"
    )
    plc.add_argument(
        "--opcua", default=None, metavar="URL", help="plant's OPC UA server (needs --model)"
    )
    plc.add_argument(
        "--model", type=Path, default=None, metavar="MODEL", help="check and bind I/O against it"
    )
    plc.add_argument("--speed", type=_positive_float, default=1.0, metavar="FACTOR")
    plc.add_argument("--duration", type=_positive_float, default=None, metavar="SECONDS")
    plc.add_argument("--unit-id", type=int, default=1)
    _coverage_option(plc)

    demo = commands.add_parser(
        "demo", help="run the bundled model driven by the bundled ST program, in virtual time"
    )
    demo.add_argument("--model", type=Path, default=None, metavar="MODEL")
    demo.add_argument(
        "--plc", type=Path, default=None, metavar="PROGRAM.st", help="default: the bundled one"
    )
    demo.add_argument("--duration", type=_positive_float, default=60.0, metavar="SECONDS")
    demo.add_argument("--seed", type=_seed, default=None)
    _coverage_option(demo)
    return parser


def _coverage_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--coverage",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="write the ST program's statement and branch coverage: FILE.json as JSON, "
        "any other name as an annotated listing (repeatable)",
    )


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def _non_negative_float(text: str) -> float:
    return 0.0 if text in ("0", "0.0") else _positive_float(text)


def _at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
        return value

    return parse


_seed = _at_least(0)
_jobs = _at_least(1)


def _endpoint(default_port: int):
    def parse(text: str) -> tuple[str, int] | None:
        from vcommission.serve import parse_endpoint

        try:
            return parse_endpoint(text, default_port)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _serve(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    from vcommission.serve import ServeOptions, serve

    if args.unit_id is not None and not 0 <= args.unit_id <= 255:
        err.print(f"--unit-id {args.unit_id} must be 0..255", markup=False)
        return ExitCode.USAGE
    options = ServeOptions(
        modbus=args.modbus,
        opcua=args.opcua,
        unit_id=args.unit_id,
        speed=args.speed,
        duration=args.duration,
        watchdog=args.watchdog,
        modbus_client=args.modbus_client,
        client_map=args.client_map,
    )
    asyncio.run(serve(args.model, options, out))
    return ExitCode.OK


def _is_program(path: Path) -> bool:
    return path.suffix.lower() == ".st"


def _check(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    files: list[Path] = []
    programs: list[Path] = []
    for path in args.paths:
        if not path.exists():
            err.print(f"{path}: no such file or folder", markup=False)
            return ExitCode.USAGE
        if _is_program(path):
            programs.append(path)
        else:
            files.extend(find_models(path))
    if programs:
        if files:
            err.print("check models and ST programs in separate runs", markup=False)
            return ExitCode.USAGE
        return _check_programs(programs, args.model, out, err)
    if not files:
        err.print(f"no model.yaml found under {', '.join(map(str, args.paths))}", markup=False)
        return ExitCode.NO_INPUT
    failed = 0
    for file in files:
        try:
            model = load_model(file)
        except ConfigError as exc:
            failed += 1
            for issue in exc.issues:
                err.print(str(issue), markup=False, highlight=False)
            continue
        except VcommissionError as exc:  # one broken file must not hide the others' results
            failed += 1
            err.print(f"{file}: {exc}", markup=False, highlight=False)
            continue
        out.print(
            f"ok {file}: {len(model.components)} components, {len(model.table)} signals, "
            f"{len(model.addresses)} PLC I/O",
            markup=False,
            highlight=False,
        )
    if failed:
        err.print(f"{failed} of {len(files)} model(s) invalid", markup=False)
        return ExitCode.FAILED
    return ExitCode.OK


def _check_programs(
    programs: list[Path], model_path: Path | None, out: Console, err: Console
) -> ExitCode:
    from vcommission.plc import compile_program

    model = load_model(model_path) if model_path is not None else None
    failed = 0
    for file in programs:
        try:
            program = compile_program(file, model)
        except PlcCompileError as exc:
            failed += 1
            for issue in exc.issues:
                err.print(str(issue), markup=False, highlight=False)
            continue
        tasks = ", ".join(
            f"{t.name} every {t.interval_ns / 1e6:g} ms: {', '.join(t.instances)}"
            for t in program.tasks
        )
        bound = f", {len(program.io)} I/O bound to {model.name}" if model else ""
        out.print(f"ok {file}: {tasks}{bound}", markup=False, highlight=False)
    if failed:
        err.print(f"{failed} of {len(programs)} program(s) invalid", markup=False)
        return ExitCode.FAILED
    return ExitCode.OK


def _write_coverage(paths: list[Path], coverage: object, out: Console) -> None:
    from vcommission.fileio import write_atomic
    from vcommission.plc import Coverage

    assert isinstance(coverage, Coverage)
    for path in paths:
        if path.suffix.lower() == ".json":
            write_atomic(path, json.dumps(coverage.to_json(), indent=2) + "\n")
        else:
            write_atomic(path, coverage.listing())
        out.print(f"coverage written to {path}", markup=False, highlight=False)


def _plc(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    from vcommission.plc import SoftPlc, compile_program

    if (args.modbus is None) == (args.opcua is None):
        err.print("give exactly one of --modbus HOST:PORT or --opcua URL", markup=False)
        return ExitCode.USAGE
    if args.opcua is not None and args.model is None:
        err.print("--opcua needs --model (to find each tag's node)", markup=False)
        return ExitCode.USAGE
    model = load_model(args.model) if args.model is not None else None
    program = compile_program(args.program, model)
    if args.modbus is not None:
        from vcommission.adapters.modbus import ModbusPlcIo
        from vcommission.addressing import WordOrder

        host, port = args.modbus
        order = model.word_order if model else WordOrder.BIG
        io_link: object = ModbusPlcIo(host, port, program.io, order, unit_id=args.unit_id)
        where = f"modbus {host}:{port}"
    else:
        from vcommission.adapters.opcua import OpcUaPlcIo

        assert model is not None
        io_link = OpcUaPlcIo(args.opcua, model.name, program.io)
        where = args.opcua
    plc = SoftPlc(program)
    tasks = ", ".join(f"{t.name} {t.interval_ns / 1e6:g} ms" for t in program.tasks)
    out.print(
        f"plc {args.program}: {len(program.io)} I/O via {where}; tasks {tasks}",
        markup=False,
        highlight=False,
    )
    stats = asyncio.run(_run_plc(plc, io_link, args.duration, args.speed))
    _write_coverage(args.coverage, plc.coverage(), out)
    longest = stats.longest_s * 1e3
    out.print(
        f"stopped after {stats.cycles} cycles: {stats.overruns} overruns, longest cycle "
        f"{longest:.2f} ms, {stats.io_errors} I/O errors",
        markup=False,
        highlight=False,
    )
    if stats.fault is not None:
        err.print(f"PLC fault: {stats.fault}", markup=False, highlight=False)
        return ExitCode.FAILED
    return ExitCode.OK


async def _run_plc(plc: Any, io_link: Any, duration: float | None, speed: float) -> Any:
    import asyncio

    from vcommission.plc.remote import run_remote
    from vcommission.serve import stop_on_signals

    stop = asyncio.Event()
    with stop_on_signals(stop):
        return await run_remote(plc, io_link, duration_s=duration, speed=speed, stop=stop)


def _run(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import dataclasses
    import time

    from vcommission.reporting import ConsoleReporter, Hooks, JsonReporter, JUnitReporter
    from vcommission.scenario.keywords import KeywordError, matcher
    from vcommission.scenario.loader import find_scenarios, load_scenarios
    from vcommission.scenario.results import ScenarioResult, Verdict
    from vcommission.scenario.suite import default_jobs, run_suite

    for path in args.paths:
        if not path.exists():
            err.print(f"{path}: no such file or folder", markup=False)
            return ExitCode.USAGE
    try:
        wanted = matcher(args.keyword) if args.keyword else None
    except KeywordError as exc:
        err.print(f"-k: {exc}", markup=False)
        return ExitCode.USAGE
    scenarios = []
    broken: list[ScenarioResult] = []
    for file in find_scenarios(list(args.paths)):
        try:
            loaded = load_scenarios(file, args.plc)
        except ConfigError as exc:
            # One broken file must not lose the others' results: it is an error verdict.
            for issue in exc.issues:
                err.print(str(issue), markup=False, highlight=False)
            broken.append(ScenarioResult(str(file), str(file), Verdict.ERROR, error=str(exc)))
            continue
        for scenario in loaded:
            if wanted is None or wanted(scenario):
                if args.seed is not None:
                    scenario = dataclasses.replace(scenario, seed=args.seed)
                scenarios.append(scenario)
    if not scenarios and not broken:
        err.print(f"no scenario found under {', '.join(map(str, args.paths))}", markup=False)
        return ExitCode.NO_INPUT
    reporters = [ConsoleReporter(out, verbose=args.verbose)]
    if args.junit:
        reporters.append(JUnitReporter(args.junit))
    if args.json:
        reporters.append(JsonReporter(args.json))
    hooks = Hooks(reporters)
    jobs = args.jobs or default_jobs()
    started = time.perf_counter()
    hooks.run_start(scenarios)
    results: list[ScenarioResult] = list(broken)
    try:
        results += run_suite(scenarios, jobs, args.trace_dir, hooks.suite_events(scenarios))
    finally:
        # Also on Ctrl-C: the reports say what did run, and the progress display stops.
        hooks.run_finish(results, time.perf_counter() - started)
    verdicts = [r.verdict for r in results]
    if Verdict.ERROR in verdicts:
        return ExitCode.ERROR
    return ExitCode.FAILED if Verdict.FAILED in verdicts else ExitCode.OK


def _diff(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.scenario.trace import Trace, first_divergence

    left, right = Trace.load(args.left), Trace.load(args.right)
    divergence = first_divergence(left, right)
    if divergence is None:
        out.print(
            f"identical: {len(left.changes)} changes, {len(left.parts)} parts",
            markup=False,
            highlight=False,
        )
        return ExitCode.OK
    out.print(f"first divergence at {divergence}", markup=False, highlight=False)
    return ExitCode.FAILED


_IO_COLUMNS = ("tag", "type", "dir", "modbus", "iec", "opcua", "unit", "description")
_PLC_DIRECTION = {"from_plant": "in", "to_plant": "out"}


def _io_values(row: IoRow) -> list[str]:
    return [
        row.tag,
        row.type.value,
        _PLC_DIRECTION.get(row.direction.value, row.direction.value),
        str(row.modbus) if row.modbus else "",
        row.iec,
        row.opcua,
        row.unit,
        row.description,
    ]


def _io_list(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    model = load_model(args.model)
    rows = model.io_rows(include_internal=args.all)
    if args.format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(_IO_COLUMNS)
        writer.writerows(_io_values(r) for r in rows)
        sys.stdout.write(buffer.getvalue())
    elif args.format == "json":
        records = [dict(zip(_IO_COLUMNS, _io_values(r), strict=True)) for r in rows]
        for record, row in zip(records, rows, strict=True):
            record["port"] = row.port
            record["direction"] = row.direction.value
        json.dump({"model": model.name, "signals": records}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif out.is_terminal:
        table = Table(title=f"{model.name}: I/O list")
        for column in _IO_COLUMNS:
            table.add_column(column)
        for row in rows:
            table.add_row(*_io_values(row))
        out.print(table)
    else:
        values = [list(_IO_COLUMNS), *(_io_values(r) for r in rows)]
        widths = [max(len(v[i]) for v in values) for i in range(len(_IO_COLUMNS))]
        for v in values:
            sys.stdout.write(
                "  ".join(c.ljust(w) for c, w in zip(v, widths, strict=True)).rstrip() + "\n"
            )
    return ExitCode.OK


def _demo(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.demo import BUNDLED_MODEL, run_demo

    model_path = args.model or BUNDLED_MODEL
    out.print(f"checking {model_path}", markup=False, highlight=False)
    summary = run_demo(model_path, args.duration, args.seed, args.plc)
    spawned = ", ".join(f"{n} {v}" for v, n in sorted(summary.spawned.items())) or "none"
    out.print(
        f"ran {summary.model} for {summary.virtual_s:.1f} s virtual in {summary.wall_s:.2f} s "
        f"wall ({summary.real_time_factor:.0f}x real time), seed {summary.seed}",
        markup=False,
        highlight=False,
    )
    out.print(f"spawned: {spawned}", markup=False, highlight=False)
    for bin_name, counts in summary.bins.items():
        detail = ", ".join(f"{n} {v}" for v, n in sorted(counts.items())) or "empty"
        out.print(f"{bin_name}: {detail}", markup=False, highlight=False)
    edges = ", ".join(f"{name} {n}" for name, n in summary.edges.items())
    out.print(f"sensor edges: {edges}", markup=False, highlight=False)
    if summary.coverage is not None:
        cov = summary.coverage
        out.print(
            f"{summary.program}: statements {cov.statement_percent:.0f}% covered, branches "
            f"{cov.branch_percent:.0f}%",
            markup=False,
            highlight=False,
        )
        _write_coverage(args.coverage, cov, out)
    if summary.fault is not None:
        err.print(f"FAILED: PLC fault: {summary.fault}", markup=False, highlight=False)
        return ExitCode.FAILED
    in_bins = sum(sum(c.values()) for c in summary.bins.values())
    if summary.missorted or not in_bins:
        err.print(
            f"FAILED: {summary.missorted} missorted, {in_bins} sorted",
            markup=False,
            highlight=False,
        )
        return ExitCode.FAILED
    out.print(f"OK: {in_bins} sorted, 0 missorted", markup=False, highlight=False)
    return ExitCode.OK


_COMMANDS = {
    "check": _check,
    "io-list": _io_list,
    "serve": _serve,
    "plc": _plc,
    "run": _run,
    "diff": _diff,
    "demo": _demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vcommission`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    # Soft wrap: a located error must stay on one line when piped, not wrap at 80 columns.
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    try:
        return int(_COMMANDS[args.command](args, out, err))
    except (ConfigError, PlcCompileError) as exc:
        for issue in exc.issues:
            err.print(str(issue), markup=False, highlight=False)
        return int(ExitCode.FAILED)
    except VcommissionError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return int(ExitCode.ERROR)
    except BrokenPipeError:
        # The reader went away (`io-list | head`): not an error, and no traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug in vcommission: say so, with the exit code for errors
        err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False, highlight=False)
        err.print("please report this with the command and input that caused it", markup=False)
        return int(ExitCode.ERROR)


if __name__ == "__main__":
    sys.exit(main())
