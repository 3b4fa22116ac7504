"""A model's PLC-facing I/O as declarations for PLC tools: IEC 61131-3 ST and a CODESYS GVL.

``io-list --format st`` writes a program skeleton that compiles as it is, on the built-in
soft PLC and in OpenPLC: a ``CONFIGURATION Config0`` / ``RESOURCE Res0`` (the names OpenPLC's
upload script expects) holding a ``VAR_GLOBAL`` block with every PLC-facing signal at its
located address, a 10 ms task, and a ``PROGRAM Main`` that declares them ``VAR_EXTERNAL``,
ready for its logic. ``--format codesys`` writes the ``VAR_GLOBAL`` block alone, as the text
of a CODESYS global variable list (GVL). Descriptions become comments.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from vcommission.errors import ConfigError
from vcommission.signals import Direction

if TYPE_CHECKING:
    from vcommission.config.model import IoRow, Model

__all__ = ["codesys_gvl", "st_skeleton"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_INDENT = "    "


def _rows(model: Model) -> list[IoRow]:
    rows = model.io_rows()
    for row in rows:
        if not _IDENTIFIER.match(row.tag):
            raise ConfigError(f"{model.path}: signal {row.tag!r} is not an ST identifier")
    return rows


def _comment(text: str, style: str) -> str:
    if not text:
        return ""
    if style == "//":
        return f"  // {' '.join(text.split())}"
    # "*)" inside the text would end the comment early.
    return f"  (* {' '.join(text.split()).replace('*)', '* )')} *)"


def _declarations(rows: list[IoRow], indent: str, style: str) -> list[str]:
    width = max((len(row.tag) for row in rows), default=0)
    address_width = max((len(row.iec) for row in rows), default=0)
    type_width = max((len(row.type.value) for row in rows), default=0) + 1
    lines: list[str] = []
    for heading, direction in (
        ("inputs: plant -> PLC", Direction.FROM_PLANT),
        ("outputs: PLC -> plant", Direction.TO_PLANT),
    ):
        group = [row for row in rows if row.direction is direction]
        if not group:
            continue
        lines.append(f"{indent}// {heading}" if style == "//" else f"{indent}(* {heading} *)")
        for row in group:
            declaration = f"{row.tag.ljust(width)} AT {row.iec.ljust(address_width)} : "
            unit = f"{row.unit}, " if row.unit and row.unit not in row.description else ""
            comment = _comment(f"{unit}{row.description}".rstrip(", "), style)
            typed = f"{row.type.value};".ljust(type_width) if comment else f"{row.type.value};"
            lines.append(f"{indent}{declaration}{typed}{comment}")
    return lines


def st_skeleton(model: Model) -> str:
    """A program file for ``model`` that compiles as it is; its logic is left to write."""
    rows = _rows(model)
    width = max((len(row.tag) for row in rows), default=0)
    lines = [
        f"(* I/O of model '{model.name}', written by `vcommission io-list --format st`.",
        "   The located variables bind through the model's Modbus map (OpenPLC's addresses);",
        "   Config0 and Res0 are the names OpenPLC's upload script expects. *)",
        "CONFIGURATION Config0",
        f"{_INDENT}VAR_GLOBAL",
        *_declarations(rows, _INDENT * 2, "(*"),
        f"{_INDENT}END_VAR",
        f"{_INDENT}RESOURCE Res0 ON PLC",
        f"{_INDENT * 2}TASK MainTask (INTERVAL := T#10ms, PRIORITY := 0);",
        f"{_INDENT * 2}PROGRAM Instance0 WITH MainTask : Main;",
        f"{_INDENT}END_RESOURCE",
        "END_CONFIGURATION",
        "",
        "PROGRAM Main",
        f"{_INDENT}VAR_EXTERNAL",
        *(f"{_INDENT * 2}{row.tag.ljust(width)} : {row.type.value};" for row in rows),
        f"{_INDENT}END_VAR",
        f"{_INDENT}(* the machine's logic goes here *)",
        "END_PROGRAM",
    ]
    return "\n".join(lines) + "\n"


def codesys_gvl(model: Model) -> str:
    """The text of a CODESYS global variable list holding ``model``'s PLC-facing I/O."""
    rows = _rows(model)
    lines = [
        f"// I/O of model '{model.name}', written by `vcommission io-list --format codesys`:",
        "// paste into a Global Variable List (Add Object > Global Variable List).",
        "VAR_GLOBAL",
        *_declarations(rows, _INDENT, "//"),
        "END_VAR",
    ]
    return "\n".join(lines) + "\n"
