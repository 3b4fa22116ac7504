"""The ``vcommission`` command line: a thin layer over the library.

Subcommands: ``check`` (validate models), ``io-list`` (the I/O list of a model) and ``demo``
(the main job: the bundled model run with scripted actuators). Output goes through rich on
a terminal and is plain when piped; exit codes are :class:`ExitCode`.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import os
import sys
from collections.abc import Sequence
from enum import IntEnum
from pathlib import Path
from typing import NoReturn

from rich.console import Console
from rich.table import Table

from vcommission.config.model import IoRow, find_models, load_model
from vcommission.errors import ConfigError, VcommissionError

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

    check = commands.add_parser("check", help="validate models (files or folders)")
    check.add_argument("paths", nargs="+", type=Path, metavar="PATH")

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

    demo = commands.add_parser("demo", help="run the bundled model with scripted actuators")
    demo.add_argument("--model", type=Path, default=None, metavar="MODEL")
    demo.add_argument("--duration", type=_positive_float, default=60.0, metavar="SECONDS")
    demo.add_argument("--seed", type=_seed, default=None)
    return parser


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


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


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


def _check(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    files: list[Path] = []
    for path in args.paths:
        if not path.exists():
            err.print(f"{path}: no such file or folder", markup=False)
            return ExitCode.USAGE
        files.extend(find_models(path))
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
    summary = run_demo(model_path, args.duration, args.seed)
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


_COMMANDS = {"check": _check, "io-list": _io_list, "serve": _serve, "demo": _demo}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vcommission`` console script; returns the exit code."""
    args = _parser().parse_args(argv)
    # Soft wrap: a located error must stay on one line when piped, not wrap at 80 columns.
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    try:
        return int(_COMMANDS[args.command](args, out, err))
    except ConfigError as exc:
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
