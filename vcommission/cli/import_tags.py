"""``vcommission import-tags``: a PLC or simulation tool's tag table into a model, or against it.

``import-tags FILE --format tia|codesys|factoryio|openplc --model MODEL -o model.yaml`` writes
the model file with its ``signals:`` section made from the table (each tag wired to a port
through the model: same name, else same address, else the port its name spells) and checks
the result loads; ``--diff`` lists the differences instead (missing, extra, type, direction,
address) and exits 1 when there are any. Bad rows are located errors (exit 1).
"""

from __future__ import annotations

import argparse
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, model_path, print_issues
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]

_TOP_LEVEL_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\s*:")


def register(commands: Subparsers) -> None:
    command = commands.add_parser(
        "import-tags",
        help="read a tag table (TIA Portal, CODESYS, Factory I/O, OpenPLC) into a model's "
        "signals: section, or list its differences from the model",
    )
    command.add_argument("file", type=Path, metavar="FILE", help="the tag table (.csv, .xlsx, .st)")
    command.add_argument(
        "--format",
        required=True,
        choices=("tia", "codesys", "factoryio", "openplc"),
        help="tia: TIA Portal PLC tag table (CSV or xlsx); codesys: a GVL; factoryio: "
        "Factory I/O tag CSV; openplc: an ST program's located variables",
    )
    command.add_argument(
        "--model", required=True, type=model_path, metavar="MODEL", help="the model to wire to"
    )
    action = command.add_mutually_exclusive_group(required=True)
    action.add_argument(
        "-o",
        "--output",
        type=Path,
        default=None,
        metavar="model.yaml",
        help="write the model file with its signals: section replaced (may be the model itself)",
    )
    action.add_argument(
        "--diff", action="store_true", help="list differences between the table and the model"
    )
    command.set_defaults(handler=handle)


def replace_signals(model_text: str, section: str) -> str:
    """``model_text`` with its top-level ``signals:`` section replaced by ``section``."""
    lines = model_text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(r"^signals\s*:", line)), None)
    if start is None:
        return model_text.rstrip("\n") + "\n" + section
    end = next(
        (i for i in range(start + 1, len(lines)) if _TOP_LEVEL_KEY.match(lines[i])), len(lines)
    )
    # Comments just above the next key belong to it, not to the old section.
    while end > start + 1 and lines[end - 1].startswith("#"):
        end -= 1
    return "".join(lines[:start]) + section + "".join(lines[end:])


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.config.model import MODEL_FILE, load_model
    from vcommission.config.tagtables import differences, read_tag_table, signals_section
    from vcommission.errors import ConfigError
    from vcommission.fileio import write_atomic

    if not args.file.is_file():
        err.print(f"{args.file}: no such file", markup=False)
        return ExitCode.USAGE
    model = load_model(args.model)
    rows = read_tag_table(args.file, args.format)
    if args.diff:
        found = differences(model, rows)
        for difference in found:
            where = f"{args.file}:{difference.line}: " if difference.line else f"{args.file}: "
            out.print(
                f"{where}{difference.kind}: {difference.tag}: {difference.message}",
                markup=False,
                highlight=False,
            )
        summary = f"{len(found)} difference(s)" if found else "no differences"
        (err if found else out).print(
            f"{summary} between {args.file} ({len(rows)} tags) and model {model.name}",
            markup=False,
        )
        return ExitCode.FAILED if found else ExitCode.OK
    section, unwired = signals_section(model, rows)
    model_file = Path(model.path)
    text = replace_signals(model_file.read_text(encoding="utf-8"), section)
    target = args.output / MODEL_FILE if args.output.is_dir() else args.output
    for row in unwired:
        err.print(
            f"{args.file}:{row.line}: {row.name}: no port of model {model.name} found for this "
            "tag: left as a comment in the signals: section",
            markup=False,
            highlight=False,
        )
    # The written file must load: a model it breaks is reported, and not written. It is
    # checked beside the model, where its relative paths (a robot's URDF) resolve.
    checked = model_file.with_name(f".{model_file.name}.import-tags")
    try:
        try:
            write_atomic(checked, text)
        except OSError:  # a read-only model folder (an installed package): check it at target
            checked = target.with_name(f".{target.name}.import-tags")
            write_atomic(checked, text)
        load_model(checked)
    except ConfigError as exc:
        err.print(f"{target}: not written: the model with these signals is invalid", markup=False)
        issues = [replace(i, file=str(target)) if i.file == str(checked) else i for i in exc.issues]
        print_issues(err, ConfigError(issues))
        return ExitCode.FAILED
    finally:
        checked.unlink(missing_ok=True)
    write_atomic(target, text)
    wired = len(rows) - len(unwired)
    out.print(f"wrote {target}: {wired} of {len(rows)} tags wired", markup=False, highlight=False)
    return ExitCode.FAILED if unwired else ExitCode.OK
