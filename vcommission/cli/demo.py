"""``vcommission demo``: the bundled model driven by its ST program in virtual time, summarised."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import (
    Subparsers,
    add_coverage_option,
    model_path,
    positive_float,
    seed,
    write_coverage,
)
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    demo = commands.add_parser(
        "demo", help="run the bundled model driven by the bundled ST program, in virtual time"
    )
    demo.add_argument("--model", type=model_path, default=None, metavar="MODEL")
    demo.add_argument(
        "--plc", type=Path, default=None, metavar="PROGRAM.st", help="default: the bundled one"
    )
    demo.add_argument("--duration", type=positive_float, default=60.0, metavar="SECONDS")
    demo.add_argument("--seed", type=seed, default=None)
    add_coverage_option(demo)
    demo.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.demo import BUNDLED_MODEL, run_demo

    model = args.model or BUNDLED_MODEL
    out.print(f"checking {model}", markup=False, highlight=False)
    summary = run_demo(model, args.duration, args.seed, args.plc)
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
        write_coverage(args.coverage, cov, out)
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
