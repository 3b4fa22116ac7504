"""``vcommission io-list``: a model's I/O list with its addresses, or declarations of it.

As a table, CSV or JSON, or as text to paste into a PLC project: an ST program skeleton
(``--format st``) or a CODESYS global variable list (``--format codesys``); or as a tool's tag
table (:mod:`vcommission.config.tagtables`): a TIA Portal PLC tag table (``--format tia``,
CSV, or xlsx with ``-o FILE.xlsx`` / ``--xlsx``) or a Factory I/O tag CSV (``--format
factoryio``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, model_path
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from vcommission.config.model import IoRow

__all__ = ["handle", "register"]

_IO_COLUMNS = ("tag", "type", "dir", "modbus", "iec", "opcua", "unit", "description")
_PLC_DIRECTION = {"from_plant": "in", "to_plant": "out"}


def register(commands: Subparsers) -> None:
    io_list = commands.add_parser("io-list", help="print a model's I/O list with addresses")
    io_list.add_argument(
        "model", type=model_path, metavar="MODEL", help="model file or folder, or a bundled name"
    )
    io_list.add_argument(
        "--format",
        choices=("table", "csv", "json", "st", "codesys", "tia", "factoryio"),
        default="table",
        help="table, csv, json; st: a program skeleton with every PLC-facing signal "
        "declared at its address (compiles as it is); codesys: a global variable list; "
        "tia: a TIA Portal PLC tag table (CSV; xlsx with -o FILE.xlsx or --xlsx); "
        "factoryio: a Factory I/O tag CSV",
    )
    io_list.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="FILE",
        help="write to FILE instead of stdout (a .xlsx name writes --format tia as xlsx)",
    )
    io_list.add_argument(
        "--xlsx", action="store_true", help="--format tia as an xlsx workbook (needs -o FILE)"
    )
    io_list.add_argument("--all", action="store_true", help="include internal and operator signals")
    io_list.set_defaults(handler=handle)


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


def _emit(data: str | bytes, target: Path | None, out: Console) -> ExitCode:
    if target is None:
        assert isinstance(data, str)
        sys.stdout.write(data)
        sys.stdout.flush()
        return ExitCode.OK
    from vcommission.fileio import write_atomic

    write_atomic(target, data)
    out.print(f"wrote {target}", markup=False, highlight=False)
    return ExitCode.OK


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.config.model import load_model

    model = load_model(args.model)
    xlsx = args.xlsx or (args.output is not None and args.output.suffix.lower() == ".xlsx")
    if xlsx and (args.format != "tia" or args.output is None):
        err.print("xlsx is for --format tia, written to a file (-o FILE.xlsx)", markup=False)
        return ExitCode.USAGE
    if args.format in ("tia", "factoryio"):
        from vcommission.config import tagtables

        if args.all:
            err.print("--all: internal signals have no PLC address to declare", markup=False)
            return ExitCode.USAGE
        if xlsx:
            data: str | bytes = tagtables.tia_xlsx(model)
        elif args.format == "tia":
            data = tagtables.tia_csv(model)
        else:
            data = tagtables.factoryio_csv(model)
        return _emit(data, args.output, out)
    if args.output is not None:
        err.print("-o is for --format tia and factoryio", markup=False)
        return ExitCode.USAGE
    if args.format in ("st", "codesys"):
        from vcommission.config.export import codesys_gvl, st_skeleton

        if args.all:
            err.print("--all: internal signals have no PLC address to declare", markup=False)
            return ExitCode.USAGE
        sys.stdout.write(st_skeleton(model) if args.format == "st" else codesys_gvl(model))
        return ExitCode.OK
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
        from rich.table import Table

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
