"""``vcommission check``: validate models, ST programs, scenario files and requirements files.

A path is checked by what it is: a ``.st`` file (or a PLCopen ``.xml`` project) is a program;
a ``requirements.yaml`` a suite's requirements; any other YAML file but ``model.yaml`` a
scenario file (with its ids checked against the requirements file beside it or in a parent,
up to the path named); a folder its models, or, when it holds none, its scenario files.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, model_path, print_issues
from vcommission.cli.exitcodes import ExitCode
from vcommission.errors import ConfigError, PlcCompileError, VcommissionError

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    check = commands.add_parser(
        "check",
        help="validate models (files or folders), ST programs (.st files, PLCopen .xml "
        "projects), scenario files and requirements files",
    )
    check.add_argument(
        "paths", nargs="+", type=model_path, metavar="PATH",
        help="model files or folders, .st programs, scenario files or folders, requirements.yaml",
    )  # fmt: skip
    check.add_argument(
        "--model",
        type=model_path,
        default=None,
        metavar="MODEL",
        help="bind the programs' I/O to it",
    )
    check.set_defaults(handler=handle)


def _is_program(path: Path) -> bool:
    return path.suffix.lower() in (".st", ".xml")


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.config.model import find_models, load_model
    from vcommission.scenario.collect import find_scenario_files, is_scenario_candidate
    from vcommission.scenario.requirements import REQUIREMENTS_FILE

    files: list[Path] = []
    programs: list[Path] = []
    suites: list[Path] = []
    for path in args.paths:
        if not path.exists():
            err.print(f"{path}: no such file or folder", markup=False)
            return ExitCode.USAGE
        if _is_program(path):
            programs.append(path)
        elif path.is_file() and (path.name == REQUIREMENTS_FILE or is_scenario_candidate(path)):
            suites.append(path)
        else:
            models = find_models(path)
            files.extend(models)
            if not models and path.is_dir() and find_scenario_files([path]):
                suites.append(path)
    if programs:
        if files or suites:
            err.print("check models and ST programs in separate runs", markup=False)
            return ExitCode.USAGE
        return _check_programs(programs, args.model, out, err)
    if not files and not suites:
        err.print(f"no model.yaml found under {', '.join(map(str, args.paths))}", markup=False)
        return ExitCode.NO_INPUT
    suites_failed = _check_suites(suites, out, err) if suites else 0
    failed = 0
    for file in files:
        try:
            model = load_model(file)
        except ConfigError as exc:
            failed += 1
            print_issues(err, exc)
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
    return ExitCode.FAILED if failed or suites_failed else ExitCode.OK


def _check_suites(paths: list[Path], out: Console, err: Console) -> int:
    """Check scenario and requirements files; return how many did not load."""
    from vcommission.scenario.collect import collect
    from vcommission.scenario.requirements import REQUIREMENTS_FILE, load_requirements

    failed = 0
    for path in paths:
        if path.name == REQUIREMENTS_FILE:
            try:
                requirements = load_requirements(path)
            except ConfigError as exc:
                failed += 1
                print_issues(err, exc)
                continue
            out.print(
                f"ok {path}: {len(requirements.items)} requirements",
                markup=False,
                highlight=False,
            )
            continue
        found = collect([path])
        for _file, exc in found.broken:
            failed += 1
            print_issues(err, exc)
        for requirements in found.requirements:
            out.print(
                f"ok {requirements.file}: {len(requirements.items)} requirements",
                markup=False,
                highlight=False,
            )
        files = dict.fromkeys(s.file for s in found.scenarios)
        for file in files:
            cases = sum(1 for s in found.scenarios if s.file == file)
            out.print(f"ok {file}: {cases} case{'s' if cases != 1 else ''}", markup=False)
    if failed:
        err.print(f"{failed} scenario or requirements file(s) invalid", markup=False)
    return failed


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
            print_issues(err, exc)
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
