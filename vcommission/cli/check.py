"""``vcommission check``: validate models (files or folders) and ST programs (``.st`` files)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, model_path
from vcommission.cli.exitcodes import ExitCode
from vcommission.errors import ConfigError, PlcCompileError, VcommissionError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    check = commands.add_parser(
        "check", help="validate models (files or folders) and ST programs (.st files)"
    )
    check.add_argument("paths", nargs="+", type=model_path, metavar="PATH")
    check.add_argument(
        "--model",
        type=model_path,
        default=None,
        metavar="MODEL",
        help="bind .st programs' I/O to it",
    )
    check.set_defaults(handler=handle)


def _is_program(path: Path) -> bool:
    return path.suffix.lower() == ".st"


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.config.model import find_models, load_model

    files: list[Path] = []
    programs: list[Path] = []
    for path in args.paths:
        if not path.exists():
            err.print(f"{path}: no such file or folder", markup=False)
            return ExitCode.USAGE
        if _is_program(path):
            programs.append(path)
        else:
            files.extend(find_models(path))
    if programs:
        if files:
            err.print("check models and ST programs in separate runs", markup=False)
            return ExitCode.USAGE
        return _check_programs(programs, args.model, out, err)
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


def _check_programs(
    programs: list[Path], model_file: Path | None, out: Console, err: Console
) -> ExitCode:
    from vcommission.config.model import load_model
    from vcommission.plc import compile_program

    model = load_model(model_file) if model_file is not None else None
    failed = 0
    for file in programs:
        try:
            program = compile_program(file, model)
        except PlcCompileError as exc:
            failed += 1
            for issue in exc.issues:
                err.print(str(issue), markup=False, highlight=False)
            continue
        tasks = ", ".join(
            f"{t.name} every {t.interval_ns / 1e6:g} ms: {', '.join(t.instances)}"
            for t in program.tasks
        )
        bound = f", {len(program.io)} I/O bound to {model.name}" if model else ""
        out.print(f"ok {file}: {tasks}{bound}", markup=False, highlight=False)
    if failed:
        err.print(f"{failed} of {len(programs)} program(s) invalid", markup=False)
        return ExitCode.FAILED
    return ExitCode.OK
