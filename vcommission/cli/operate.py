"""``vcommission operate``: press a button (or set a tag) of a served plant from a shell."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, positive_float
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    operate = commands.add_parser(
        "operate", help="press a button or set a tag of a served plant (over OPC UA)"
    )
    operate.add_argument("url", metavar="URL", help="the OPC UA endpoint serve printed")
    operate.add_argument("tag", metavar="TAG", help="e.g. start_pb.pressed (see io-list --all)")
    what = operate.add_mutually_exclusive_group()
    what.add_argument("--set", dest="value", default=None, metavar="VALUE", help="write VALUE")
    what.add_argument(
        "--pulse", type=positive_float, default=None, metavar="S",
        help="write TRUE, wait S seconds, write FALSE (the default, for 0.5 s)",
    )  # fmt: skip
    operate.add_argument("--user", default=None, help="OPC UA user (serve --users)")
    operate.add_argument("--password", default=None, help="the OPC UA user's password")
    operate.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    from vcommission.adapters.opcua.operate import operate

    # Neither --set nor --pulse: a press of a push button, held as long as serve's keys do.
    pulse = None if args.value is not None else (args.pulse or 0.5)
    done = asyncio.run(
        operate(
            args.url, args.tag, value=args.value, pulse_s=pulse, user=args.user,
            password=args.password,
        )
    )  # fmt: skip
    out.print(done, markup=False, highlight=False)
    return ExitCode.OK
