"""The built-in IEC 61131-3 Structured Text soft PLC: parse, check, compile, bind, scan.

``compile_program(path, model)`` turns an ST file into a :class:`PlcProgram` (or raises
:class:`~vcommission.errors.PlcCompileError` listing every located error);
:class:`SoftPlc` runs it in lockstep with the simulator or over the wire.
"""

from __future__ import annotations

from vcommission.plc.runtime import (
    Coverage,
    IoPoint,
    PlcProgram,
    SoftPlc,
    compile_program,
    compile_source,
    model_program,
)

__all__ = [
    "Coverage",
    "IoPoint",
    "PlcProgram",
    "SoftPlc",
    "compile_program",
    "compile_source",
    "model_program",
]
