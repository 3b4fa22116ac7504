"""``vcommission kinds [KIND]``: the component kinds, their parameters and their ports.

Read from the code (:mod:`vcommission.config.catalog`): the parameter dataclasses and the
ports a kind declares, so the list is what the model loader accepts. Without ``KIND`` one
line per registered kind (third-party kinds included); with it, the kind's parameters (name,
type, unit, default, description) and ports. ``--format markdown`` prints what the README's
component table is made of, ``--format json`` the same for tools.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from vcommission.config.catalog import KindDoc

__all__ = ["handle", "register"]

_PARAM_COLUMNS = ("parameter", "type", "unit", "default", "description")
_PORT_COLUMNS = ("port", "kind", "type", "unit", "default", "description")


def register(commands: Subparsers) -> None:
    kinds = commands.add_parser(
        "kinds", help="list component kinds, or one kind's parameters and ports"
    )
    kinds.add_argument("kind", nargs="?", metavar="KIND", help="the kind to describe")
    kinds.add_argument(
        "--format",
        choices=("text", "markdown", "json"),
        default="text",
        help="text (default); markdown: the README's component table (or one kind's tables); "
        "json: the catalogue for tools",
    )
    kinds.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.config.catalog import describe, markdown_table
    from vcommission.errors import RegistryError
    from vcommission.plant import registry

    try:
        # The one-line list needs no ports: no kind is instantiated for it.
        listing = not args.kind and args.format == "text"
        docs = (
            [describe(args.kind)]
            if args.kind
            else [describe(k, ports=not listing) for k in registry.kinds()]
        )
    except RegistryError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return ExitCode.USAGE
    if args.format == "json":
        json.dump({"kinds": [dataclasses.asdict(d) for d in docs]}, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.format == "markdown":
        sys.stdout.write(_kind_markdown(docs[0]) if args.kind else markdown_table(docs))
    elif args.kind:
        _print_kind(docs[0])
    else:
        _columns([(d.kind, d.summary) for d in docs])
    return ExitCode.OK


def _print_kind(doc: KindDoc) -> None:
    write = sys.stdout.write
    write(f"{doc.kind}: {doc.summary}\n")
    if doc.description:
        write("\n" + doc.description + "\n")
    write("\nparameters:\n")
    if doc.params:
        _columns(
            [_PARAM_COLUMNS, *((p.name, p.type, p.unit, p.default or "required", p.description)
                               for p in doc.params)],
            indent="  ",
        )  # fmt: skip
    else:
        write("  none\n")
    write("\nports:\n")
    if doc.ports:
        _columns(
            [_PORT_COLUMNS, *((p.name, p.kind, p.type, p.unit, p.default, p.description)
                              for p in doc.ports)],
            indent="  ",
        )  # fmt: skip
    else:
        write("  none\n")


def _kind_markdown(doc: KindDoc) -> str:
    lines = [f"### `{doc.kind}`", "", doc.summary, ""]
    if doc.params:
        lines += ["| " + " | ".join(_PARAM_COLUMNS) + " |", "|" + " --- |" * len(_PARAM_COLUMNS)]
        lines += [
            f"| `{p.name}` | {p.type} | {p.unit} | {p.default or '**required**'} | "
            f"{p.description} |"
            for p in doc.params
        ]
        lines.append("")
    if doc.ports:
        lines += ["| " + " | ".join(_PORT_COLUMNS) + " |", "|" + " --- |" * len(_PORT_COLUMNS)]
        lines += [
            f"| `{p.name}` | {p.kind} | {p.type} | {p.unit} | {p.default} | {p.description} |"
            for p in doc.ports
        ]
        lines.append("")
    return "\n".join(line.replace("\n", " ") for line in lines) + "\n"


def _columns(rows: list[tuple[str, ...]] | list, indent: str = "") -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        sys.stdout.write(indent + "  ".join(cells).rstrip() + "\n")
