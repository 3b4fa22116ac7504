"""``vcommission plc``: an ST program as a soft PLC polling a plant's server in real time."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcommission.cli._common import (
    Subparsers,
    add_coverage_option,
    endpoint,
    model_path,
    positive_float,
    write_coverage,
)
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    plc = commands.add_parser(
        "plc", help="run an ST program as a soft PLC polling a plant's server in real time"
    )
    plc.add_argument("program", type=Path, metavar="PROGRAM.st", help="the ST program to run")
    plc.add_argument(
        "--modbus", type=endpoint(502), default=None, metavar="HOST:PORT", help="plant's server"
    )
    plc.add_argument(
        "--opcua", default=None, metavar="URL", help="plant's OPC UA server (needs --model)"
    )
    plc.add_argument(
        "--model",
        type=model_path,
        default=None,
        metavar="MODEL",
        help="check and bind I/O against it",
    )
    plc.add_argument(
        "--speed", type=positive_float, default=1.0, metavar="FACTOR",
        help="scale the PLC clock to match serve --speed (default 1)",
    )  # fmt: skip
    plc.add_argument(
        "--duration", type=positive_float, default=None, metavar="SECONDS",
        help="stop after this long (default: until Ctrl-C)",
    )  # fmt: skip
    plc.add_argument("--unit-id", type=int, default=1, help="Modbus unit id to address (default 1)")
    add_coverage_option(plc)
    plc.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    from vcommission.config.model import load_model
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
    write_coverage(args.coverage, plc.coverage(), out)
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
