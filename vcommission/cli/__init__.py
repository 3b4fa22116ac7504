"""The ``vcommission`` command line: a thin layer over the library.

Subcommands: ``check`` (validate models and ST programs), ``io-list`` (the I/O list of a
model), ``import-tags`` (a tool's tag table into a model), ``kinds`` (component kinds, their
parameters and ports), ``render`` (a labelled picture of a model), ``serve`` (a model's I/O
over Modbus/OPC UA in real time), ``operate`` (press a served plant's buttons), ``run``
(scenario files and bundled suites), ``mutate`` (mutation testing of an ST program against
scenarios), ``report`` (the FAT report of a run, HTML/PDF), ``diff`` (two traces), ``trace``
(show or export one), ``plc`` (the built-in soft PLC over the wire) and ``demo`` (the main job:
the bundled model driven by the bundled ST program). Output goes through rich on a terminal and
is plain when piped; exit codes are :class:`ExitCode`.

One module per command, each with ``register(commands)`` (its subparser, with the handler as
the ``handler`` default) and ``handle(args, out, err) -> ExitCode``; a command module imports
what its job needs inside ``handle``, so ``--help`` and the light commands stay light. A new
command is a new module named in :data:`COMMANDS`.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import signal
import sys
import threading
from collections.abc import Sequence
from importlib import import_module

from vcommission.cli._common import Handler, Parser, print_issues
from vcommission.cli.exitcodes import ExitCode
from vcommission.errors import ConfigError, PlcCompileError, VcommissionError

__all__ = ["COMMANDS", "ExitCode", "build_parser", "main"]

#: The command modules (``vcommission.cli.<name>``), in ``--help`` order.
COMMANDS = (
    "check", "io_list", "import_tags", "kinds", "render", "serve", "operate", "run", "mutate",
    "report", "diff", "trace", "plc", "demo", "train",
)  # fmt: skip


def build_parser() -> Parser:
    """The argument parser with every command's subparser."""
    parser = Parser(prog="vcommission", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=Parser,
        help="what to do (vcommission COMMAND --help for its options)",
    )
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``vcommission`` console script; returns the exit code."""
    from rich.console import Console

    # `kill -USR1 PID` prints every thread's stack to stderr: a hung run can say where.
    if hasattr(signal, "SIGUSR1") and threading.current_thread() is threading.main_thread():
        # Needs a real file descriptor: an embedding that replaced stderr (pytest's capsys)
        # has none, and goes without.
        with contextlib.suppress(AttributeError, ValueError, OSError):
            faulthandler.register(signal.SIGUSR1, all_threads=True)
    args = build_parser().parse_args(argv)
    # Soft wrap: a located error must stay on one line when piped, not wrap at 80 columns.
    out = Console(soft_wrap=True)
    err = Console(stderr=True, soft_wrap=True)
    handler: Handler = args.handler
    try:
        return int(handler(args, out, err))
    except (ConfigError, PlcCompileError) as exc:
        print_issues(err, exc)
        return int(ExitCode.FAILED)
    except VcommissionError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return int(ExitCode.ERROR)
    except BrokenPipeError:
        # The reader went away (`io-list | head`): not an error, and no traceback at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.OK)
    except KeyboardInterrupt as interrupt:
        # 128 + the signal, as a shell reports it: 130 for Ctrl-C, 143 for SIGTERM (which
        # `run` turns into an interrupt so that it can report first).
        return 128 + int(getattr(interrupt, "signum", signal.SIGINT))
    except Exception as exc:  # a bug in vcommission: say so, with the exit code for errors
        err.print(f"internal error: {type(exc).__name__}: {exc}", markup=False, highlight=False)
        err.print("please report this with the command and input that caused it", markup=False)
        return int(ExitCode.ERROR)
