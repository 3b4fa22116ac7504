"""``vcommission trace``: look into a trace (``.npz``), plot it, or export it (CSV, VCD)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, non_negative_float
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from vcommission.scenario.trace import Trace

__all__ = ["handle", "register"]


def _tags(text: str) -> list[str]:
    return [tag.strip() for tag in text.split(",") if tag.strip()]


_FILE_HELP = "a trace written by run --trace-dir"


def _add_window(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from", dest="start", type=non_negative_float, default=0.0, metavar="S",
        help="from this virtual time, seconds (default 0)",
    )  # fmt: skip
    parser.add_argument(
        "--to", dest="end", type=non_negative_float, default=None, metavar="S",
        help="up to this virtual time, seconds (default: the end)",
    )  # fmt: skip


def register(commands: Subparsers) -> None:
    trace = commands.add_parser("trace", help="show a trace (.npz), or export it as CSV or VCD")
    actions = trace.add_subparsers(
        dest="action", required=True, parser_class=type(trace), help="what to do with it"
    )
    show = actions.add_parser("show", help="what a trace holds, and the changes of some tags")
    show.add_argument("file", type=Path, metavar="TRACE.npz", help=_FILE_HELP)
    show.add_argument(
        "--tags", type=_tags, default=None, metavar="A,B,...", help="tags to list (default: all)"
    )
    _add_window(show)
    export = actions.add_parser("export", help="the trace as CSV, or VCD for GTKWave")
    export.add_argument("file", type=Path, metavar="TRACE.npz", help=_FILE_HELP)
    export.add_argument(
        "--format", choices=("csv", "vcd"), required=True, help="csv (time_s,tag,value) or vcd"
    )
    export.add_argument(
        "--tags", type=_tags, default=None, metavar="A,B,...", help="tags to export (default: all)"
    )
    export.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE", help="default: stdout"
    )
    plot = actions.add_parser("plot", help="a timing diagram of some tags, as SVG")
    plot.add_argument("file", type=Path, metavar="TRACE.npz", help=_FILE_HELP)
    plot.add_argument(
        "--tags", type=_tags, required=True, metavar="A,B,...", help="tags to draw, a row each"
    )
    plot.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE.svg", help="where to write it"
    )
    _add_window(plot)
    trace.set_defaults(handler=handle)


def _model_name(trace: Trace) -> str:
    model = Path(str(trace.meta.get("model", "plant")))
    return (model.parent.name if model.suffix in (".yaml", ".yml") else model.name) or "plant"


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.scenario.trace import Trace
    from vcommission.scenario.trace_export import selected_indices, to_csv, to_vcd

    trace = Trace.load(args.file)
    if args.action == "plot":
        return _plot(trace, args, out, err)
    if args.action == "export":
        text = (
            to_csv(trace, args.tags)
            if args.format == "csv"
            else to_vcd(trace, _model_name(trace), args.tags)
        )
        if args.output is None:
            sys.stdout.write(text)
        else:
            from vcommission.fileio import write_atomic

            write_atomic(args.output, text)
            out.print(f"{args.output}: {args.format} of {args.file}", markup=False)
        return ExitCode.OK
    meta = ", ".join(f"{k}={v}" for k, v in trace.meta.items() if v not in (None, {}, ""))
    out.print(f"{args.file}: {meta}", markup=False, highlight=False)
    out.print(
        f"{len(trace.names)} signals, {len(trace.changes)} changes, {len(trace.parts)} parts, "
        f"{trace.end_ns / 1e9:.3f} s",
        markup=False,
        highlight=False,
    )
    if args.tags is None:
        return ExitCode.OK
    selected_indices(trace, args.tags)  # unknown names are an error before any output
    end_ns = trace.end_ns if args.end is None else round(args.end * 1e9)
    for time_ns, tag, value in trace.window(args.tags, round(args.start * 1e9), end_ns):
        shown = str(value).upper() if isinstance(value, bool) else str(value)
        out.print(f"  t={time_ns / 1e9:9.3f} s  {tag} = {shown}", markup=False, highlight=False)
    return ExitCode.OK


def _plot(trace: Trace, args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    """A logic-analyser timing diagram of ``--tags``, drawn as the FAT report draws them."""
    if args.output.suffix.lower() != ".svg":
        err.print(f"{args.output}: the plot is an SVG; name it .svg", markup=False)
        return ExitCode.USAGE
    try:
        from vcommission.reporting.fat.build import rows_from_trace
        from vcommission.reporting.fat.plots import timing_diagram
    except ImportError:
        err.print("trace plot needs matplotlib: pip install 'vcommission[plot]'", markup=False)
        return ExitCode.ERROR
    from vcommission.fileio import write_atomic
    from vcommission.scenario.trace_export import selected_indices

    selected_indices(trace, args.tags)  # unknown names are an error before any drawing
    end_s = trace.end_ns / 1e9 if args.end is None else args.end
    rows = rows_from_trace(trace, args.tags, args.start, end_s)
    write_atomic(args.output, timing_diagram(rows, args.start, end_s, salt="trace"))
    out.print(f"{args.output}: {len(rows)} tags, {args.start:g} to {end_s:g} s", markup=False)
    return ExitCode.OK
