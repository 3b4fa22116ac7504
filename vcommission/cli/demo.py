"""``vcommission demo``: a model driven by its ST program in virtual time, summarised.

Any model: the start button is found by name (or ``--start TAG``), and the summary lists
the parts spawned, each bin's parts and every sensor's edges. A model whose bins are named
per variant (``bin_<variant>``) is judged as a sorter (missorted parts fail); any other, by
parts reaching its bins.
"""

from __future__ import annotations

import argparse
from collections import Counter
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
        "demo", help="run a model (default: the bundled sorting line) driven by its ST program, "
        "in virtual time, and summarise it",
    )  # fmt: skip
    demo.add_argument(
        "--model", type=model_path, default=None, metavar="MODEL",
        help="model file or folder, or a bundled name (default: sorting_line)",
    )  # fmt: skip
    demo.add_argument(
        "--plc", type=Path, default=None, metavar="PROGRAM.st",
        help="default: the model's own (the one .st in its plc/)",
    )  # fmt: skip
    demo.add_argument(
        "--duration", type=positive_float, default=60.0, metavar="SECONDS",
        help="virtual seconds to run (default 60)",
    )  # fmt: skip
    demo.add_argument("--seed", type=seed, default=None, help="plant seed (default: the model's)")
    demo.add_argument(
        "--start", default=None, metavar="TAG",
        help="the operator input pressed at 0.5 s to start (a tag or a push button's name; "
        "default: the model's one push button named like start, if any)",
    )  # fmt: skip
    add_coverage_option(demo)
    demo.set_defaults(handler=handle)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {v}" for v, n in sorted(counter.items()))


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.demo import BUNDLED_MODEL, run_demo

    model = args.model or BUNDLED_MODEL
    out.print(f"checking {model}", markup=False, highlight=False)
    summary = run_demo(model, args.duration, args.seed, args.plc, args.start)

    def say(text: str) -> None:
        out.print(text, markup=False, highlight=False)

    say(
        f"ran {summary.model} for {summary.virtual_s:.1f} s virtual in {summary.wall_s:.2f} s "
        f"wall ({summary.real_time_factor:.0f}x real time), seed {summary.seed}"
    )
    pressed = summary.start or "nothing (no start button: name one with --start TAG)"
    say(f"pressed: {pressed}")
    say(f"spawned: {_counts(summary.spawned) or 'none'}")
    for bin_name, counts in summary.bins.items():
        say(f"{bin_name}: {_counts(counts) or 'empty'}")
    edges = ", ".join(f"{name} {n}" for name, n in summary.edges.items()) or "no sensors"
    say(f"sensor edges: {edges}")
    if summary.coverage is not None:
        cov = summary.coverage
        say(
            f"{summary.program}: statements {cov.statement_percent:.0f}% covered, branches "
            f"{cov.branch_percent:.0f}%"
        )
        write_coverage(args.coverage, cov, out)
    if summary.fault is not None:
        err.print(f"FAILED: PLC fault: {summary.fault}", markup=False, highlight=False)
        return ExitCode.FAILED
    delivered = summary.delivered
    if summary.sorting:
        if summary.missorted or not delivered:
            err.print(
                f"FAILED: {summary.missorted} missorted, {delivered} sorted",
                markup=False,
                highlight=False,
            )
            return ExitCode.FAILED
        say(f"OK: {delivered} sorted, 0 missorted")
        return ExitCode.OK
    if summary.bins and not delivered:
        bins = ", ".join(summary.bins)
        err.print(f"FAILED: no part reached {bins}", markup=False, highlight=False)
        return ExitCode.FAILED
    where = ", ".join(f"{n} {sum(c.values())}" for n, c in summary.bins.items())
    say(f"OK: {delivered} part{'s' if delivered != 1 else ''} delivered ({where or 'no bins'})")
    return ExitCode.OK
