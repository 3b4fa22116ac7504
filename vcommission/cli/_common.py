"""What the command modules share: the parser class, argument types, the coverage option.

Nothing here imports more than the standard library, :mod:`vcommission.resources` and
:mod:`vcommission.cli.exitcodes` at import time: ``vcommission --help`` and the light commands
must not pay for the physics engine or the protocol stacks.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TypeAlias

from vcommission.cli.exitcodes import ExitCode
from vcommission.resources import resolve_model, resolve_suite

if TYPE_CHECKING:
    from rich.console import Console

    from vcommission.errors import ConfigError, PlcCompileError

__all__ = [
    "Handler",
    "Parser",
    "Subparsers",
    "add_coverage_option",
    "at_least",
    "endpoint",
    "executor_url",
    "jobs",
    "make_executor",
    "model_path",
    "non_negative_float",
    "positive_float",
    "print_issues",
    "seed",
    "suite_path",
    "write_coverage",
]

#: A command's handler: parsed arguments, stdout and stderr consoles -> exit code.
Handler: TypeAlias = Callable[[argparse.Namespace, "Console", "Console"], ExitCode]
#: What each command module's ``register`` adds its subparser to.
Subparsers: TypeAlias = argparse._SubParsersAction


class Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad arguments; here 2 means a harness error, so use USAGE."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(ExitCode.USAGE, f"{self.prog}: error: {message}\n")


def positive_float(text: str) -> float:
    """An argparse type: a finite number > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    """An argparse type: 0, or a finite number > 0."""
    return 0.0 if text in ("0", "0.0") else positive_float(text)


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse type: an integer of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {text}")
        return value

    return parse


#: Plant seeds and worker counts.
seed = at_least(0)
jobs = at_least(1)


def executor_url(text: str) -> str:
    """An argparse type: ``dask://HOST:PORT``, the scheduler of a Dask cluster."""
    scheme, sep, rest = text.partition("://")
    host, colon, port = rest.rpartition(":")
    if scheme != "dask" or not sep or not colon or not host or not port.isdigit():
        raise argparse.ArgumentTypeError(
            f"{text!r}: an executor is dask://HOST:PORT (the Dask scheduler's address)"
        )
    return text


def make_executor(url: str | None) -> Any:
    """The Dask executor for an ``--executor`` URL, or None for this machine's pool.

    Raises:
        VcommissionError: the scheduler cannot be reached, or the dask extra is missing.
    """
    if url is None:
        return None
    from vcommission.executors.dask import DaskExecutor, parse_address

    return DaskExecutor(parse_address(url))


def endpoint(default_port: int) -> Callable[[str], tuple[str, int] | None]:
    """An argparse type: ``HOST:PORT`` (``:PORT``, ``HOST``, ``off``) with a default port."""

    def parse(text: str) -> tuple[str, int] | None:
        from vcommission.serve import parse_endpoint

        try:
            return parse_endpoint(text, default_port)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def model_path(text: str) -> Path:
    """An argparse type: a model's file or folder, or the name of a bundled model.

    A path that does not exist is a usage error (exit 3), the same for every command that
    takes one (``check``, ``io-list``, ``render``, ``serve``, ``demo --model``, ...).
    """
    path = resolve_model(text)
    if not path.exists():
        from vcommission.resources import bundled_models

        names = ", ".join(bundled_models()) or "none"
        raise argparse.ArgumentTypeError(
            f"{text}: no such file or folder (bundled models: {names})"
        )
    return path


def suite_path(text: str) -> Path:
    """An argparse type: a scenario file or folder, or the name of a bundled suite."""
    return resolve_suite(text)


def add_coverage_option(parser: argparse.ArgumentParser) -> None:
    """``--coverage FILE`` (repeatable) of the commands that run an ST program."""
    parser.add_argument(
        "--coverage",
        type=Path,
        action="append",
        default=[],
        metavar="FILE",
        help="write the ST program's statement and branch coverage: FILE.json as JSON, "
        "any other name as an annotated listing (repeatable)",
    )


def add_rt_priority_option(parser: argparse.ArgumentParser) -> None:
    """``--rt-priority N`` of the commands that pace a plant in real time (serve, train)."""
    from vcommission.clock import DEFAULT_RT_PRIORITY

    parser.add_argument(
        "--rt-priority",
        type=_rt_priority,
        default=DEFAULT_RT_PRIORITY,
        metavar="N",
        help="SCHED_FIFO priority of the ticking thread, where the OS allows it (root, "
        f"CAP_SYS_NICE or an rtprio limit); 0: normal priority (default {DEFAULT_RT_PRIORITY})",
    )


def _rt_priority(text: str) -> int:
    value = at_least(0)(text)
    if value > 99:
        raise argparse.ArgumentTypeError(f"must be <= 99, got {text}")
    return value


def print_issues(err: Console, exc: ConfigError | PlcCompileError) -> None:
    """Every located problem of ``exc``, one ``file:line: path: message`` line each."""
    for issue in exc.issues:
        err.print(str(issue), markup=False, highlight=False)


def write_coverage(paths: list[Path], coverage: object, out: Console) -> None:
    """Write ``coverage`` to every ``--coverage`` file, JSON or listing by its suffix."""
    from vcommission.fileio import write_atomic
    from vcommission.plc import Coverage

    assert isinstance(coverage, Coverage)
    for path in paths:
        if path.suffix.lower() == ".json":
            write_atomic(path, json.dumps(coverage.to_json(), indent=2) + "\n")
        else:
            write_atomic(path, coverage.listing())
        out.print(f"coverage written to {path}", markup=False, highlight=False)
