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
    plc.add_argument(
        "program", type=Path, metavar="PROGRAM", help="an ST file, or a PLCopen XML project (.xml)"
    )
    plc.add_argument(
        "--export-plcopen",
        type=Path,
        default=None,
        metavar="OUT.xml",
        help="write the ST program as a PLCopen TC6 XML project and exit (runs nothing)",
    )
    plc.add_argument(
        "--export-st",
        type=Path,
        default=None,
        metavar="OUT.st",
        help="write a PLCopen XML project's program as ST text and exit (runs nothing)",
    )
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


def _export(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    """``--export-plcopen`` / ``--export-st``: convert between ST and PLCopen XML."""
    from vcommission.fileio import write_atomic
    from vcommission.plc import compile_program
    from vcommission.plc.plcopen import export_plcopen, is_plcopen, read_plcopen

    if args.export_plcopen is not None and args.export_st is not None:
        err.print("give one of --export-plcopen or --export-st", markup=False)
        return ExitCode.USAGE
    if not args.program.is_file():
        err.print(f"{args.program}: no such file", markup=False)
        return ExitCode.USAGE
    if args.export_st is not None:
        if not is_plcopen(args.program):
            err.print(f"{args.program}: --export-st reads a PLCopen project (.xml)", markup=False)
            return ExitCode.USAGE
        target, text = args.export_st, read_plcopen(args.program).text
    else:
        if is_plcopen(args.program):
            err.print(f"{args.program}: --export-plcopen reads an ST file", markup=False)
            return ExitCode.USAGE
        raw = args.program.read_bytes()
        try:
            source = raw.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = raw.count(b"\n", 0, error.start) + 1
            err.print(f"{args.program}:{line}: not UTF-8 text (save the file as UTF-8)")
            return ExitCode.FAILED
        target, text = args.export_plcopen, export_plcopen(source, str(args.program))
    model = None
    if args.model is not None:
        from vcommission.config.model import load_model

        model = load_model(args.model)
    # Only a program that compiles is worth writing: check it (and its binding) first.
    compile_program(args.program, model, coverage=False)
    write_atomic(target, text)
    out.print(f"wrote {target}", markup=False, highlight=False)
    return ExitCode.OK


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    import asyncio

    from vcommission.config.model import load_model
    from vcommission.plc import SoftPlc, compile_program

    if args.export_plcopen is not None or args.export_st is not None:
        return _export(args, out, err)
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
    from vcommission.session import stop_on_signals

    stop = asyncio.Event()
    with stop_on_signals(stop):
        return await run_remote(plc, io_link, duration_s=duration, speed=speed, stop=stop)
