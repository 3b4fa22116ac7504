"""``vcommission diff``: where two recorded traces (``.npz``) first differ."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    diff = commands.add_parser("diff", help="where two traces (.npz) first differ")
    diff.add_argument("left", type=Path, metavar="A", help="a trace (.npz)")
    diff.add_argument("right", type=Path, metavar="B", help="the trace to compare it with")
    diff.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
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
