"""``vcommission train``: operator training in the browser (3D view, panel, faults, exercises)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import (
    Subparsers,
    add_rt_priority_option,
    at_least,
    endpoint,
    model_path,
    positive_float,
)
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    train = commands.add_parser(
        "train",
        help="operator training in the browser: 3D view, panel, instructor faults, exercises",
    )
    train.add_argument(
        "model", type=model_path, metavar="MODEL", help="a model folder or bundled model name"
    )
    train.add_argument(
        "--exercise",
        type=Path,
        default=None,
        metavar="FILE",
        help="a scenario file: its steps are the instructor's script, its checks score the "
        "trainee (results JSON and trace at its end)",
    )
    train.add_argument(
        "--plc",
        type=Path,
        default=None,
        metavar="PROGRAM.st",
        help="ST program for the built-in PLC (default: the exercise's or the model's own; "
        "with --modbus/--opcua and no --plc an external PLC drives the plant)",
    )
    train.add_argument(
        "--modbus",
        type=endpoint(502),
        default=None,
        metavar="HOST:PORT",
        help="also serve Modbus TCP here (an external PLC, or clients watching)",
    )
    train.add_argument(
        "--opcua",
        type=endpoint(4840),
        default=None,
        metavar="HOST:PORT",
        help="also serve OPC UA here (an external PLC, or clients watching)",
    )
    train.add_argument(
        "--web",
        type=endpoint(8080),
        default=("127.0.0.1", 8080),
        metavar="HOST:PORT",
        help="the pages' endpoint (default 127.0.0.1:8080; port 0 picks a free one)",
    )
    train.add_argument(
        "--speed",
        type=positive_float,
        default=1.0,
        metavar="FACTOR",
        help="against the wall clock (default 1; the instructor can change it)",
    )
    add_rt_priority_option(train)
    train.add_argument(
        "--duration",
        type=positive_float,
        default=None,
        metavar="SECONDS",
        help="stop after this much virtual time (default: until Ctrl-C)",
    )
    train.add_argument(
        "--seed",
        type=at_least(0),
        default=None,
        metavar="N",
        help="the plant's random seed (default: the exercise's or the model's)",
    )
    train.add_argument(
        "--json",
        type=Path,
        default=None,
        metavar="FILE",
        help="the exercise's results JSON (default: <exercise>-results.json here)",
    )
    train.add_argument(
        "--trace-dir", type=Path, default=None, metavar="DIR", help="the trace's folder"
    )
    train.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    if args.web is None:
        err.print("--web off: training needs its pages", markup=False)
        return ExitCode.USAGE
    try:
        from vcommission.web import TrainOptions, train
    except ImportError as exc:
        err.print(
            f"vcommission train needs the web extra ({exc.name} is missing): "
            "pip install 'vcommission[web]'",
            markup=False,
        )
        return ExitCode.ERROR
    options = TrainOptions(
        exercise=args.exercise,
        plc=args.plc,
        modbus=args.modbus,
        opcua=args.opcua,
        web=args.web,
        speed=args.speed,
        rt_priority=args.rt_priority,
        duration=args.duration,
        json=args.json,
        trace_dir=args.trace_dir,
        seed=args.seed,
    )
    asyncio.run(train(args.model, options, out))
    return ExitCode.OK
