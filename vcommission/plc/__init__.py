"""The built-in IEC 61131-3 Structured Text soft PLC: parse, check, compile, bind, scan.

``compile_program(path, model)`` turns an ST file into a :class:`PlcProgram` (or raises
:class:`~vcommission.errors.PlcCompileError` listing every located error);
:class:`SoftPlc` runs it in lockstep with the simulator or over the wire.

Modules: ``parser`` (text to the ``nodes`` syntax tree, with start and end positions;
``syntax_errors`` words what a syntax error means), ``unparse`` (a tree back to ST),
``compiler/`` (a pipeline of passes: symbols; types_check, which annotates the typed
tree, with stdfuncs and folding; then, from that tree alone, codegen with lower_expr,
stdfuncs_code, pycode and emitter; diagnostics), ``types`` (the IEC types), ``stdlib``
(what generated code calls), ``runtime`` (binding and the scan) and ``remote`` (the
real-time loop over the wire).
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
