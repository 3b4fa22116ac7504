"""Conformance table of the ST soft PLC against IEC 61131-3 (3rd edition) semantics.

Each case is a small ST source, the values forced before each scan and the values expected
after each scan (``trace``) or after the last one (``final``). Scans run every 10 ms of
virtual time: scan ``k`` (1-based) at ``k * 10 ms``. Expected values are reasoned from the
standard (its tables and the FB bodies it gives for TON/TOF/TP, the triggers and the
counters), not copied from our output; a comment says why where it is not obvious.

Three more tables: sources that must not compile (with the message and line), runtime
faults (the PLC stops with the ST line), and the task schedule of a CONFIGURATION.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest

from vcommission.errors import PlcCompileError
from vcommission.plc import SoftPlc, compile_source

SCAN_NS = 10_000_000


def main(decls: str, body: str, before: str = "", constants: str = "") -> str:
    """A ``PROGRAM Main`` with one VAR block; ``before`` holds TYPEs, FBs, functions."""
    head = f"VAR CONSTANT {constants} END_VAR\n" if constants else ""
    return f"{before}\nPROGRAM Main\n{head}VAR\n{decls}\nEND_VAR\n{body}\nEND_PROGRAM\n"


def bits(text: str) -> list[bool]:
    """``"0110"`` as a list of BOOL per scan."""
    return [c == "1" for c in text]


def ms(*values: int) -> list[int]:
    """TIME values (nanoseconds) from milliseconds."""
    return [v * 1_000_000 for v in values]


def waves(**levels: str) -> tuple[dict[str, object], ...]:
    """Per-scan forcings of BOOL inputs from ``"0110"`` strings of one length."""
    (length,) = {len(v) for v in levels.values()}
    return tuple({name: text[k] == "1" for name, text in levels.items()} for k in range(length))


def f32(x: float) -> float:
    """``x`` rounded to IEEE single precision (what a REAL holds)."""
    return struct.unpack("f", struct.pack("f", x))[0]


@dataclass(frozen=True)
class Case:
    id: str
    source: str
    #: Forcings before scan k (index k - 1); the number of scans is its length.
    inputs: tuple[dict[str, object], ...] = ({},)
    #: Variable -> expected value after every scan.
    trace: dict[str, list[object]] = field(default_factory=dict)
    #: Variable -> expected value after the last scan.
    final: dict[str, object] = field(default_factory=dict)
    #: Names are relative to this program instance ("" for absolute paths and globals).
    instance: str = "Main"


def case(id: str, source: str, inputs=({},), trace=None, final=None, instance="Main", marks=()):
    return pytest.param(
        Case(id, source, tuple(inputs), trace or {}, final or {}, instance), id=id, marks=marks
    )


TIMERS = [
    case(
        "ton_q_and_et",
        main("t: TON; i, q: BOOL; et: TIME;", "t(IN := i, PT := T#50ms); q := t.Q; et := t.ET;"),
        waves(i="0111111100"),
        # IN rises in scan 2 (20 ms): Q at 70 ms; ET counts up to PT and stays there.
        trace={"q": bits("0000001100"), "et": ms(0, 0, 10, 20, 30, 40, 50, 50, 0, 0)},
    ),
    case(
        "ton_restarts_when_in_drops_before_pt",
        main("t: TON; i, q: BOOL;", "t(IN := i, PT := T#30ms, Q => q);"),
        waves(i="1101111"),
        # Restarted at 40 ms: Q at 70 ms.
        trace={"q": bits("0000001")},
    ),
    case(
        "ton_pt_zero_is_immediate",
        main("t: TON; i, q: BOOL;", "t(IN := i, PT := T#0s, Q => q);"),
        waves(i="0110"),
        trace={"q": bits("0110")},
    ),
    case(
        "tof_q_and_et",
        main("t: TOF; i, q: BOOL; et: TIME;", "t(IN := i, PT := T#30ms, Q => q, ET => et);"),
        waves(i="0110010000"),
        # Falls at 40 ms: Q until 70 ms, but IN is back at 60 ms; falls again at 70 ms.
        trace={"q": bits("0111111110"), "et": ms(0, 0, 0, 0, 10, 0, 0, 10, 20, 30)},
    ),
    case(
        "tof_power_on_with_in_false_is_off",
        main("t: TOF; q: BOOL := TRUE;", "t(IN := FALSE, PT := T#10ms, Q => q);"),
        inputs=[{}, {}],
        trace={"q": bits("00")},
    ),
    case(
        "tp_retrigger_during_pulse_is_ignored",
        main("t: TP; i, q: BOOL; et: TIME;", "t(IN := i, PT := T#30ms, Q => q, ET => et);"),
        waves(i="0101011000"),
        # Pulse 20..50 ms (the re-rise at 40 ms changes nothing); ET drops to 0 at the end
        # because IN is FALSE then. A new rise at 60 ms: pulse 60..90 ms.
        trace={"q": bits("0111011100"), "et": ms(0, 0, 10, 20, 0, 0, 10, 20, 0, 0)},
    ),
    case(
        "tp_in_held_keeps_et_at_pt_without_a_new_pulse",
        main("t: TP; i, q: BOOL; et: TIME;", "t(IN := i, PT := T#20ms, Q => q, ET => et);"),
        waves(i="1111101"),
        trace={"q": bits("1100001"), "et": ms(0, 10, 20, 20, 20, 0, 0)},
    ),
    case(
        "timer_inside_a_function_block",
        main(
            "d: Delay; i, q: BOOL;",
            "d(go := i); q := d.done;",
            "FUNCTION_BLOCK Delay\nVAR_INPUT go: BOOL; END_VAR\nVAR_OUTPUT done: BOOL; END_VAR\n"
            "VAR t: TON; END_VAR\nt(IN := go, PT := T#20ms);\ndone := t.Q;\n"
            "END_FUNCTION_BLOCK",
        ),
        waves(i="011110"),
        trace={"q": bits("000110")},
    ),
    case(
        "timer_called_every_other_scan_sees_virtual_time",
        main(
            "t: TON; i, q: BOOL; n: INT;",
            "n := n + 1; IF n MOD 2 = 0 THEN t(IN := i, PT := T#30ms); END_IF; q := t.Q;",
        ),
        waves(i="1111111"),
        # Called at 20, 40, 60 ms: started at 20 ms, done in the call at 60 ms.
        trace={"q": bits("0000011")},
    ),
]

EDGES_COUNTERS_BISTABLES = [
    case(
        "r_trig_and_f_trig",
        main(
            "r: R_TRIG; f: F_TRIG; i, rq, fq: BOOL;",
            "r(CLK := i); f(CLK := i);rq := r.Q; fq := f.Q;",
        ),
        waves(i="0110100"),
        # F_TRIG does not fire in scan 1: the standard declares its M := 1.
        trace={"rq": bits("0100100"), "fq": bits("0001010")},
    ),
    case(
        "r_trig_fires_on_the_first_scan_if_clk_is_true",
        main("r: R_TRIG; i: BOOL := TRUE; q: BOOL;", "r(CLK := i, Q => q);"),
        inputs=[{}, {}],
        trace={"q": bits("10")},
    ),
    case(
        "f_trig_fires_when_true_at_power_on_then_false",
        main("f: F_TRIG; i: BOOL := TRUE; q: BOOL;", "f(CLK := i, Q => q);"),
        waves(i="1001"),
        trace={"q": bits("0100")},
    ),
    case(
        "ctu_counts_rising_edges_resets_and_q_at_pv",
        main("c: CTU; cu, r, q: BOOL; cv: INT;", "c(CU := cu, R := r, PV := 3, Q => q, CV => cv);"),
        waves(cu="0101101101", r="0000000110"),
        # Level held over scans 5-6 counts once; R wins over the edge in scan 9.
        trace={"cv": [0, 1, 1, 2, 2, 2, 3, 0, 0, 1], "q": bits("0000001000")},
    ),
    case(
        "ctu_stops_at_the_int_maximum",
        main("c: CTU; cu: BOOL; cv: INT;", "c(CU := cu, PV := 1, CV => cv);"),
        [{"c.cv": 32766, "cu": True}, {"cu": False}, {"cu": True}],
        trace={"cv": [32767, 32767, 32767]},
    ),
    case(
        "ctd_load_and_count_down_below_zero",
        main(
            "c: CTD; cd, ld, q: BOOL; cv: INT;", "c(CD := cd, LD := ld, PV := 2, Q => q, CV => cv);"
        ),
        waves(cd="0101011", ld="1000000"),
        trace={"cv": [2, 1, 1, 0, 0, -1, -1], "q": bits("0001111")},
    ),
    case(
        "ctud_both_edges_cancel_and_r_beats_ld",
        main(
            "c: CTUD; cu, cd, r, ld, qu, qd: BOOL; cv: INT;",
            "c(CU := cu, CD := cd, R := r, LD := ld, PV := 2, QU => qu, QD => qd, CV => cv);",
        ),
        waves(cu="101000", cd="001010", r="000001", ld="000101"),
        # Scan 3: both rise, no count. Scan 4 loads PV; scan 6 has R and LD: R wins.
        trace={"cv": [1, 1, 1, 2, 1, 0], "qu": bits("000100"), "qd": bits("000001")},
    ),
    case(
        "sr_set_dominant_rs_reset_dominant",
        main(
            "a: SR; b: RS; s, r, qa, qb: BOOL;",
            "a(S1 := s, R := r, Q1 => qa);b(S := s, R1 := r, Q1 => qb);",
        ),
        waves(s="11001", r="01110"),
        trace={"qa": bits("11001"), "qb": bits("10001")},
    ),
]


def _wrap_case(type_name: str, start: str, op: str, expected: int) -> object:
    return case(
        f"wrap_{type_name.lower()}",
        main(f"x: {type_name} := {start};", f"x := x {op} 1;"),
        final={"x": expected},
    )


INTEGERS = [
    _wrap_case("SINT", "127", "+", -128),
    _wrap_case("INT", "32767", "+", -32768),
    _wrap_case("DINT", "2147483647", "+", -2147483648),
    _wrap_case("LINT", "9223372036854775807", "+", -9223372036854775808),
    _wrap_case("USINT", "0", "-", 255),
    _wrap_case("UINT", "0", "-", 65535),
    _wrap_case("UDINT", "0", "-", 4294967295),
    _wrap_case("ULINT", "0", "-", 2**64 - 1),
    _wrap_case("BYTE", "255", "+", 0),
    _wrap_case("WORD", "16#FFFF", "+", 0),
    _wrap_case("DWORD", "16#FFFF_FFFF", "+", 0),
    _wrap_case("SINT", "-128", "-", 127),
    case(
        "int_product_wraps_before_widening",
        # INT * INT is an INT: it wraps before the implicit widening to DINT.
        main("i: INT := 100; d: DINT;", "d := i * 1000;"),
        final={"d": 100_000 - 2 * 65_536},
    ),
    case(
        "wrapped_intermediate_in_compare_divide_and_functions",
        # x + 1 is INT -32768 wherever it is used, not 32768.
        main(
            "x: INT := 32767; m: INT := -32768; w: WORD := 16#FFFF; gt: BOOL;"
            "q, r, mx, ab, sl, lim: INT; w2: WORD;",
            "gt := x + 1 > x; q := (x + 1) / 2; r := (x + 1) MOD 10; mx := MAX(x + 1, 0);"
            "ab := ABS(m - 1); sl := SEL(TRUE, 0, x + 1); lim := LIMIT(0, x + 1, 100);"
            "w2 := (w + 1) OR 16#0;",
        ),
        final={
            "gt": False,
            "q": -16384,
            "r": -8,
            "mx": 0,
            "ab": 32767,
            "sl": -32768,
            "lim": 0,
            "w2": 0,
        },
    ),
    case(
        "division_truncates_toward_zero_and_mod_takes_the_dividend_sign",
        main(
            "a, b, c, d, e, f: INT; m: INT := -32768; n: INT := -1; g: INT;",
            "a := -7 / 2; b := 7 / -2; c := -7 MOD 2; d := 7 MOD -2; e := -7 MOD -2;"
            "f := 7 / 2; g := m / n;",
        ),
        # -32768 / -1 = 32768 does not fit: it wraps like any INT result.
        final={"a": -3, "b": -3, "c": -1, "d": 1, "e": -1, "f": 3, "g": -32768},
    ),
    case(
        "constant_expression_that_fits",
        main("x: INT; y: INT := 32767 + 1 - 1;", "x := 32767 + 1 - 1;"),
        final={"x": 32767, "y": 32767},
    ),
]

REALS = [
    case(
        "real_is_single_precision",
        main(
            "r: REAL := 0.1; l: LREAL := 0.1; t: REAL; third: REAL; m: REAL := 3.0;",
            "t := r * 3.0; third := 1.0 / m;",
        ),
        final={"r": f32(0.1), "l": 0.1, "t": f32(f32(0.1) * 3.0), "third": f32(1 / 3)},
    ),
    case(
        "real_rounds_every_operation",
        # 2**24 + 1 is not a REAL: each addition rounds back to 2**24.
        main(
            "a: REAL := 16777216.0; b: REAL := 1.0; c, d: REAL;",
            "c := a + b + b; d := (a + b) - a;",
        ),
        final={"c": 16777216.0, "d": 0.0},
    ),
    case(
        "real_literal_in_a_real_context_is_a_real",
        main("f: REAL := 0.1; e, g: BOOL;", "e := f = 0.1; g := f * 3.0 = 0.3;"),
        final={"e": True, "g": True},
    ),
    case(
        "real_overflow_is_infinity",
        main("big: REAL := 3.0E38; o: REAL;", "o := big * 10.0;"),
        final={"o": float("inf")},
    ),
]

PRECEDENCE = [
    case(
        "boolean_precedence",
        # NOT > AND > XOR > OR; comparisons bind tighter than AND.
        main(
            "a, b, c, d, e, f, g: BOOL;",
            "a := NOT TRUE OR TRUE; b := TRUE OR FALSE AND FALSE; c := TRUE XOR TRUE OR TRUE;"
            "d := FALSE AND FALSE XOR TRUE; e := 1 < 2 = 3 < 4; f := 2 + 3 > 4 AND 1 = 1;"
            "g := NOT FALSE AND FALSE;",
        ),
        final={"a": True, "b": True, "c": True, "d": True, "e": True, "f": True, "g": False},
    ),
    case(
        "arithmetic_precedence",
        # Unary minus binds tighter than **, ** tighter than *, all left to right.
        main(
            "a, b, c: LREAL; d, e, f, g: INT;",
            "a := -2.0 ** 2.0; b := 2.0 ** 3.0 ** 2.0; c := 2.0 * 3.0 ** 2.0;"
            "d := 2 + 3 * 4; e := 10 - 4 - 3; f := 100 / 10 / 5; g := (2 + 3) * 4;",
        ),
        final={"a": 4.0, "b": 64.0, "c": 18.0, "d": 14, "e": 3, "f": 2, "g": 20},
    ),
]

CONTROL = [
    case(
        "case_ranges_lists_else",
        main(
            "x, y: INT;",
            "CASE x OF\n1, 3: y := 10;\n5..7: y := 20;\n-2..0: y := 30;\nELSE y := 40;\nEND_CASE;",
        ),
        [{"x": 1}, {"x": 3}, {"x": 7}, {"x": -1}, {"x": 8}, {"x": 2}],
        trace={"y": [10, 10, 20, 30, 40, 40]},
    ),
    case(
        "case_on_enum_labels",
        main(
            "st: Mode; y: INT;",
            "CASE st OF\nIdle: y := 1; st := Mode#Run;\nRun: y := 2; st := Stop;\n"
            "ELSE y := 3;\nEND_CASE;",
            "TYPE Mode : (Idle, Run, Stop); END_TYPE",
        ),
        inputs=[{}, {}, {}],
        trace={"y": [1, 2, 3]},
    ),
    case(
        "for_negative_step_exit_continue",
        main(
            "i, j, k, n, odd, z: INT; s: DINT;",
            "FOR i := 10 TO 1 BY -3 DO s := s * 10 + i; END_FOR;\n"
            "FOR j := 1 TO 100 DO IF j > 4 THEN EXIT; END_IF; n := n + 1; END_FOR;\n"
            "FOR k := 1 TO 5 DO IF k MOD 2 = 0 THEN CONTINUE; END_IF; odd := odd + k; END_FOR;\n"
            "FOR i := 1 TO 0 DO z := 99; END_FOR;",
        ),
        final={"s": 10741, "j": 5, "n": 4, "odd": 9, "z": 0},
    ),
    case(
        "for_step_from_a_variable",
        main("i, st, n: INT;", "st := -2; FOR i := 6 TO 1 BY st DO n := n * 10 + i; END_FOR;"),
        final={"n": 642},
    ),
    case(
        "nested_loops_exit_leaves_the_inner_only",
        main(
            "i, j, n: INT;",
            "FOR i := 1 TO 3 DO FOR j := 1 TO 3 DO IF j = 2 THEN EXIT; END_IF;"
            "n := n + 1; END_FOR; END_FOR;",
        ),
        final={"n": 3},
    ),
    case(
        "while_and_repeat",
        main(
            "w, r, r2: INT;",
            "w := 0; WHILE w < 5 DO w := w + 2; END_WHILE;\n"
            "REPEAT r := r + 1; UNTIL r >= 3 END_REPEAT;\nREPEAT r2 := r2 + 1; UNTIL TRUE "
            "END_REPEAT;",
        ),
        final={"w": 6, "r": 3, "r2": 1},
    ),
    case(
        "return_leaves_the_program",
        main("x: BOOL; y: INT;", "y := 1; IF x THEN RETURN; END_IF; y := 2;"),
        [{}, {"x": True, "y": 0}],
        trace={"y": [2, 1]},
    ),
    case(
        "return_from_a_function_inside_a_loop",
        main(
            "a: ARRAY[1..4] OF INT := [1, 2, -3, -4]; b: ARRAY[1..4] OF INT; i, j: INT;",
            "i := FirstNeg(a); j := FirstNeg(b);",
            "FUNCTION FirstNeg : INT\nVAR_INPUT a: ARRAY[1..4] OF INT; END_VAR\n"
            "VAR i: INT; END_VAR\n"
            "FOR i := 1 TO 4 DO IF a[i] < 0 THEN FirstNeg := i; RETURN; END_IF; END_FOR;\n"
            "FirstNeg := -1;\nEND_FUNCTION",
        ),
        final={"i": 3, "j": -1},
    ),
]

_INNER_OUTER = """
FUNCTION_BLOCK Inner
VAR_INPUT go: BOOL; END_VAR
VAR_OUTPUT n: INT; END_VAR
VAR e: R_TRIG; END_VAR
e(CLK := go);
IF e.Q THEN n := n + 1; END_IF;
END_FUNCTION_BLOCK
FUNCTION_BLOCK Outer
VAR_INPUT go: BOOL; END_VAR
VAR_OUTPUT done: BOOL; count: INT; END_VAR
VAR t: TON; c: Inner; END_VAR
t(IN := go, PT := T#20ms, Q => done);
c(go := done, n => count);
END_FUNCTION_BLOCK
"""

POUS = [
    case(
        "nested_function_blocks_and_outputs",
        main(
            "o: Outer; go, d, d2: BOOL; n, n2: INT;",
            "o(go := go, done => d2, count => n2); d := o.done; n := o.count;",
            _INNER_OUTER,
        ),
        waves(go="0111011110"),
        # Done at 40 ms (20 ms after the rise) and at 80 ms; Inner counts those edges.
        trace={
            "d": bits("0001000110"),
            "d2": bits("0001000110"),
            "n": [0, 0, 0, 1, 1, 1, 1, 2, 2, 2],
        },
    ),
    case(
        "negated_output",
        main("t: TON; nq: BOOL;", "t(IN := TRUE, PT := T#10ms, NOT Q => nq);"),
        inputs=[{}, {}],
        trace={"nq": bits("10")},
    ),
    case(
        "array_of_function_blocks",
        main(
            "ts: ARRAY[0..1] OF TON; i: INT := 1; q0, q1: BOOL;",
            "ts[i](IN := TRUE, PT := T#10ms); q0 := ts[0].Q; q1 := ts[1].Q;",
        ),
        inputs=[{}, {}],
        trace={"q0": bits("00"), "q1": bits("01")},
    ),
    case(
        "var_in_out",
        main(
            "a: Acc; tot: INT := 1;",
            "a(total := tot, add := 5);",
            "FUNCTION_BLOCK Acc\nVAR_IN_OUT total: INT; END_VAR\nVAR_INPUT add: INT; END_VAR\n"
            "total := total + add;\nEND_FUNCTION_BLOCK",
        ),
        inputs=[{}, {}],
        trace={"tot": [6, 11]},
    ),
    case(
        "function_with_var_output",
        main(
            "s, h, l: INT;",
            "s := Split(x := 47, hi => h, lo => l);",
            "FUNCTION Split : INT\nVAR_INPUT x: INT; END_VAR\nVAR_OUTPUT hi, lo: INT; END_VAR\n"
            "hi := x / 10; lo := x MOD 10; Split := hi + lo;\nEND_FUNCTION",
        ),
        final={"s": 11, "h": 4, "l": 7},
    ),
    case(
        "var_temp_is_reinitialised_every_call",
        main(
            "tb: Tmp; o: INT; pt: INT;",
            "tb(out => o);",
            "FUNCTION_BLOCK Tmp\nVAR_OUTPUT out: INT; END_VAR\nVAR_TEMP t: INT := 5; END_VAR\n"
            "VAR keep: INT; END_VAR\nt := t + 1; keep := keep + 1; out := t * 100 + keep;\n"
            "END_FUNCTION_BLOCK",
        )
        + "PROGRAM Other\nVAR_TEMP t: INT; END_VAR\nVAR seen: INT; END_VAR\n"
        "t := t + 1; seen := t;\nEND_PROGRAM\n",
        inputs=[{}, {}, {}],
        trace={"Main.o": [601, 602, 603], "Other.seen": [1, 1, 1]},
        instance="",
    ),
]

DATA = [
    case(
        "arrays_bounds_multidim_and_initialisers",
        main(
            "a: ARRAY[-2..2] OF INT; m: ARRAY[1..2, -1..1] OF INT;"
            "b: ARRAY[1..5] OF INT := [3(5), 2]; c: ARRAY[1..4] OF INT := [1, 2(7)];"
            "d: ARRAY[0..1, 1..2] OF INT := [1, 2, 3, 4]; i: INT := -2; x, y: INT;",
            "a[i] := 7; a[2] := 9; m[2, -1] := 5; x := d[1, 1]; y := m[2, i + 1];",
        ),
        # Missing initial values are the element's default; [3(5), 2] repeats 5 thrice.
        final={
            "a": [7, 0, 0, 0, 9],
            "m": [[0, 0, 0], [5, 0, 0]],
            "b": [5, 5, 5, 2, 0],
            "c": [1, 7, 7, 0],
            "x": 3,
            "y": 5,
        },
    ),
    case(
        "constant_as_array_bound",
        main(
            "v: ARRAY[1..N] OF INT; g: ARRAY[0..G - 1] OF BOOL; i: INT;",
            "FOR i := 1 TO N DO v[i] := i * i; END_FOR;",
            "VAR_GLOBAL CONSTANT G : INT := 3; END_VAR",
            constants="N : INT := 4;",
        ),
        final={"v": [1, 4, 9, 16], "g": [False] * 3},
    ),
    case(
        "structs_nested_copy_not_alias",
        main(
            "p: Pt := (x := 1, inner := (v := 3)); q: Pt; pts: ARRAY[1..2] OF Pt; s: INT;"
            "a, b: ARRAY[1..2] OF INT;",
            "q := p; q.x := 9; q.inner.v := 5; pts[2] := q; pts[2].x := 4;"
            "b := a; b[1] := 1; s := Sum(q);",
            "TYPE Inner : STRUCT v : INT; END_STRUCT; Pt : STRUCT x : INT; inner : Inner;"
            " END_STRUCT; END_TYPE\n"
            "FUNCTION Sum : INT\nVAR_INPUT p: Pt; END_VAR\np.x := p.x + 100;\n"
            "Sum := p.x + p.inner.v;\nEND_FUNCTION",
        ),
        # Assignment and by-value inputs copy: the function's change to p.x stays inside.
        final={
            "p.x": 1,
            "p.inner.v": 3,
            "q.x": 9,
            "q.inner.v": 5,
            "s": 114,
            "a": [0, 0],
            "b": [1, 0],
        },
    ),
    case(
        "enums",
        main(
            "c: Color := Color#Blue; d: Color; b, e: BOOL;",
            "b := c = Color#Blue AND c <> Red; e := d = Red;",
            "TYPE Color : (Red := 1, Green := 5, Blue); END_TYPE",
        ),
        # Blue follows Green := 5; an enum variable starts at its first value.
        final={"c": 6, "d": 1, "b": True, "e": True},
    ),
    case(
        "strings",
        main(
            "s, lf, md, rt, q: STRING; t: STRING[2]; l, f, nf: INT; lt, eq, ne: BOOL;",
            "s := CONCAT('ab', 'cd', 'e'); l := LEN(s); lf := LEFT(s, 2); md := MID(s, 2, 3);"
            "rt := RIGHT(s, 2); f := FIND(s, 'cd'); nf := FIND(s, 'x'); lt := 'abc' < 'abd';"
            "eq := s = 'abcde'; ne := s <> 'abcde'; t := s; q := 'it$'s $$1$N';",
        ),
        # MID(IN, L, P): L characters from position P (1-based); FIND gives 0 if absent.
        final={
            "s": "abcde",
            "l": 5,
            "lf": "ab",
            "md": "cd",
            "rt": "de",
            "f": 3,
            "nf": 0,
            "lt": True,
            "eq": True,
            "ne": False,
            "t": "ab",
            "q": "it's $1\n",
        },
    ),
    case(
        "strings_are_cut_to_the_declared_length",
        main(
            "s: STRING; i, l: INT; t: STRING[4]; u: STRING[3];",
            "FOR i := 1 TO 100 DO s := CONCAT(s, 'x'); END_FOR; l := LEN(s);"
            "t := CONCAT('abc', 'def'); u := INSERT('abc', 'XY', 1);",
        ),
        # STRING is STRING[80] here; INSERT('abc', 'XY', 1) is 'aXYbc' before the cut.
        final={"l": 80, "t": "abcd", "u": "aXY"},
    ),
    case(
        "shifts_and_rotates",
        main(
            "b: BYTE := 16#81; w: WORD := 16#1234; b2: BYTE := 1; w2: WORD := 16#F000;"
            "b3: BYTE := 16#81; w3: WORD := 16#8001;",
            "b := SHL(b, 1); w := ROL(w, 4); b2 := ROR(b2, 1); w2 := SHR(w2, 4);"
            "b3 := ROL(b3, 1); w3 := ROR(w3, 4);",
        ),
        final={"b": 0x02, "w": 0x2341, "b2": 0x80, "w2": 0x0F00, "b3": 0x03, "w3": 0x1800},
    ),
    case(
        "bit_access",
        main(
            "w: WORD := 16#8001; i: INT; hi, lo: BOOL;",
            "hi := w.15; lo := w.1; i.15 := TRUE; w.0 := FALSE;",
        ),
        final={"hi": True, "lo": False, "i": -32768, "w": 0x8000},
    ),
    case(
        "conversions",
        main(
            "i, j, k, k2, n: INT; tr, tm: DINT; s, s2: STRING; r: REAL; b: BOOL;",
            "i := REAL_TO_INT(1.5); j := REAL_TO_INT(-1.5); k := REAL_TO_INT(1.4);"
            "k2 := REAL_TO_INT(2.6); tr := TRUNC(-2.7); tm := TIME_TO_DINT(T#1s500ms);"
            "n := BOOL_TO_INT(TRUE); s := DINT_TO_STRING(-42); r := INT_TO_REAL(7);"
            "b := INT_TO_BOOL(2); s2 := BOOL_TO_STRING(FALSE);",
        ),
        # REAL_TO_INT rounds to the nearest; TRUNC cuts toward zero; TIME_TO_DINT in ms.
        final={
            "i": 2,
            "j": -2,
            "k": 1,
            "k2": 3,
            "tr": -2,
            "tm": 1500,
            "n": 1,
            "s": "-42",
            "r": 7.0,
            "b": True,
            "s2": "FALSE",
        },
    ),
    case(
        "numeric_functions",
        main(
            "a, b, c, d, e, f, h, x: INT; g: REAL; y: INT := -32768; z: INT := -5; q: LREAL;",
            "x := 9; a := MIN(3, 1, 2); b := MAX(x, 7); c := LIMIT(0, x, 5);"
            "d := SEL(TRUE, 1, 2); e := MUX(2, 10, 20, 30); f := ABS(z); g := SQRT(16.0);"
            "h := MUX(x - 8, 1, x); q := SQRT(2.0);",
        ),
        final={"a": 1, "b": 9, "c": 5, "d": 2, "e": 30, "f": 5, "g": 4.0, "h": 9, "q": 2.0**0.5},
    ),
    case(
        "typed_literals",
        main(
            "x: INT; b: BYTE; o: INT; t1, t2, t3, t4: TIME; l: LREAL; bo: BOOL; w: WORD; r: REAL;",
            "x := INT#5 + 16#FF; b := 2#1010_1010; o := 8#17; t1 := T#1s500ms; t2 := TIME#-5s;"
            "t3 := T#1h2m; t4 := t#2S_500MS; l := LREAL#1.5E-3; bo := BOOL#1; w := 16#ff_ff;"
            "r := REAL#0.1;",
        ),
        final={
            "x": 260,
            "b": 0xAA,
            "o": 15,
            "t1": 1_500_000_000,
            "t2": -5_000_000_000,
            "t3": 3_720_000_000_000,
            "t4": 2_500_000_000,
            "l": 1.5e-3,
            "bo": True,
            "w": 0xFFFF,
            "r": f32(0.1),
        },
    ),
    case(
        "time_literal_with_a_fraction",
        main("t: TIME;", "t := T#1.5s;"),
        final={"t": 1_500_000_000},
    ),
    case(
        "typed_based_literal",
        main("s: SINT;", "s := SINT#16#7F;"),
        final={"s": 127},
    ),
    case(
        "time_arithmetic",
        main("t: TIME := T#1s; u, v: TIME; c: BOOL;", "u := t + T#250ms; v := t * 3; c := u > t;"),
        final={"u": 1_250_000_000, "v": 3_000_000_000, "c": True},
    ),
]

_CELL = """
VAR_GLOBAL shared: INT; END_VAR
PROGRAM Fast
VAR_EXTERNAL shared: INT; total: DINT; END_VAR
VAR n: INT; END_VAR
n := n + 1; shared := n; total := total + 1;
END_PROGRAM
PROGRAM Slow
VAR_EXTERNAL shared: INT; END_VAR
VAR n, seen: INT; END_VAR
n := n + 1; seen := shared;
END_PROGRAM
CONFIGURATION Cell
VAR_GLOBAL total: DINT; END_VAR
RESOURCE Cpu ON PLC
TASK T1 (INTERVAL := T#20ms, PRIORITY := 1);
TASK T2 (INTERVAL := T#30ms, PRIORITY := 2);
PROGRAM F WITH T1 : Fast;
PROGRAM S WITH T2 : Slow;
END_RESOURCE
END_CONFIGURATION
"""

CONFIGURATIONS = [
    case(
        "two_tasks_two_intervals_and_globals",
        _CELL,
        inputs=[{}] * 8,
        # The scan is every 10 ms (gcd); T1 runs at 10, 30, 50, 70 ms (its first run sets
        # its phase), T2 at 10, 40, 70 ms and reads the global F wrote last.
        trace={
            "F.n": [1, 1, 2, 2, 3, 3, 4, 4],
            "S.n": [1, 1, 1, 2, 2, 2, 3, 3],
            "S.seen": [1, 1, 1, 2, 2, 2, 4, 4],
            "shared": [1, 1, 2, 2, 3, 3, 4, 4],
            "total": [1, 1, 2, 2, 3, 3, 4, 4],
        },
        instance="",
    ),
]

CASES = TIMERS + EDGES_COUNTERS_BISTABLES + INTEGERS + REALS + PRECEDENCE + CONTROL + POUS
CASES += DATA + CONFIGURATIONS


def _path(c: Case, name: str) -> str:
    return f"{c.instance}.{name}" if c.instance else name


@pytest.mark.parametrize("c", CASES)
def test_case(c: Case) -> None:
    plc = SoftPlc(compile_source(c.source, file=f"{c.id}.st"))
    seen: dict[str, list[object]] = {name: [] for name in c.trace}
    for k, forced in enumerate(c.inputs, start=1):
        for name, value in forced.items():
            plc.set_variable(_path(c, name), value)
        assert plc.run_cycle(k * SCAN_NS), plc.fault
        for name in c.trace:
            seen[name].append(plc.variable(_path(c, name)))
    assert seen == c.trace
    got = {name: plc.variable(_path(c, name)) for name in c.final}
    assert got == c.final


# ---- compile errors ------------------------------------------------------------------------

COMPILE_ERRORS = [
    ("int_constant_overflow", main("x: INT;", "x := 32767 + 1;"), 6, "does not fit INT"),
    ("typed_literal_overflow", main("x: INT;", "x := INT#40000;"), 6, "does not fit INT"),
    ("byte_literal_overflow", main("b: BYTE;", "b := 256;"), 6, "does not fit BYTE"),
    ("negative_unsigned", main("u: UINT;", "u := -1;"), 6, "does not fit UINT"),
    ("initial_value_overflow", main("x: INT := 40000;", ";"), 4, "does not fit INT"),
    ("real_literal_overflow", main("r: REAL;", "r := 1.0E39;"), 6, "does not fit REAL"),
    ("narrowing_needs_a_conversion", main("x: INT; d: DINT;", "x := d;"), 6, "DINT_TO_INT"),
    ("real_to_int_needs_a_conversion", main("x: INT; r: REAL;", "x := r;"), 6, "REAL_TO_INT"),
    ("constant_division_by_zero", main("x: INT;", "x := 10 / 0;"), 6, "division by zero"),
    (
        "array_constant_index_out_of_range",
        main("a: ARRAY[1..3] OF INT;", "a[4] := 1;"),
        6,
        "outside 1..3",
    ),
    (
        "case_labels_overlap",
        main("x, y: INT;", "CASE x OF\n1..5: y := 1;\n4: y := 2;\nEND_CASE;"),
        8,
        "overlaps",
    ),
    ("assign_to_constant", main("x: INT;", "N := 1;", constants="N : INT := 1;"), 7, "constant"),
    ("exit_outside_a_loop", main("x: INT;", "EXIT;"), 6, "outside a loop"),
    ("unknown_variable", main("x: INT;", "x := y;"), 6, "unknown variable"),
]


@pytest.mark.parametrize(
    ("source", "line", "message"),
    [pytest.param(s, ln, m, id=i) for i, s, ln, m in COMPILE_ERRORS],
)
def test_compile_error(source: str, line: int, message: str) -> None:
    with pytest.raises(PlcCompileError) as raised:
        compile_source(source)
    issues = raised.value.issues
    assert any(message in i.message and i.line == line for i in issues), issues


def test_runtime_wrap_of_a_variable_is_not_a_compile_error() -> None:
    plc = SoftPlc(compile_source(main("x: INT := 32767;", "x := x + 1;")))
    assert plc.run_cycle(SCAN_NS)
    assert plc.variable("Main.x") == -32768


# ---- runtime faults ------------------------------------------------------------------------

FAULT = "(* faults here *)"

FAULTS = [
    (
        "division_by_zero",
        main("x, y, d: INT;", f"x := 1;\ny := x / d; {FAULT}\nx := 2;"),
        "division by zero",
    ),
    ("mod_by_zero", main("x, y, d: INT;", f"y := x MOD d; {FAULT}"), "by zero"),
    (
        "index_out_of_range",
        main("a: ARRAY[1..5] OF INT; i: INT := 6;", f"a[1] := 1;\na[i] := 1; {FAULT}"),
        "index 6 outside 1..5",
    ),
    (
        "endless_while",
        main("x: INT;", f"x := 1;\nWHILE TRUE DO {FAULT}\n  x := x + 1;\nEND_WHILE;"),
        "loop watchdog",
    ),
    (
        "endless_repeat",
        main("x: INT;", f"REPEAT {FAULT}\n  x := 1;\nUNTIL FALSE END_REPEAT;"),
        "loop watchdog",
    ),
    (
        "fault_inside_a_function",
        main(
            "y: INT;",
            "y := Div(0);",
            f"FUNCTION Div : INT\nVAR_INPUT d: INT; END_VAR\nDiv := 10 / d; {FAULT}\nEND_FUNCTION",
        ),
        "division by zero",
    ),
]


@pytest.mark.parametrize(("source", "message"), [pytest.param(s, m, id=i) for i, s, m in FAULTS])
def test_runtime_fault(source: str, message: str) -> None:
    line = next(i for i, text in enumerate(source.splitlines(), 1) if FAULT in text)
    plc = SoftPlc(compile_source(source, file="f.st"))
    assert plc.run_cycle(SCAN_NS) is False
    assert plc.fault is not None
    assert (plc.fault.file, plc.fault.line) == ("f.st", line)
    assert message in plc.fault.message
    # Stopped: later scans do not run.
    assert plc.run_cycle(2 * SCAN_NS) is False
    assert plc.scans == 0


def test_statements_before_a_fault_took_effect() -> None:
    plc = SoftPlc(compile_source(FAULTS[0][1]))
    plc.run_cycle(SCAN_NS)
    assert plc.variable("Main.x") == 1


# ---- tasks ---------------------------------------------------------------------------------


def test_task_interval_and_scan_period() -> None:
    prog = compile_source(_CELL)
    assert [(t.name, t.interval_ns, t.priority, t.instances) for t in prog.tasks] == [
        ("T1", 20_000_000, 1, ["F"]),
        ("T2", 30_000_000, 2, ["S"]),
    ]
    assert prog.scan_period_ns == 10_000_000


def test_task_at_20ms_runs_every_second_10ms_scan() -> None:
    source = main("n: INT;", "n := n + 1;").replace("PROGRAM Main", "PROGRAM Count")
    source += (
        "CONFIGURATION C\nRESOURCE R ON PLC\nTASK Slow (INTERVAL := T#20ms);\n"
        "PROGRAM Main WITH Slow : Count;\nEND_RESOURCE\nEND_CONFIGURATION\n"
    )
    prog = compile_source(source)
    assert prog.scan_period_ns == 20_000_000
    plc = SoftPlc(prog)
    counts = []
    for k in range(1, 9):
        plc.run_cycle(k * SCAN_NS)
        counts.append(plc.variable("Main.n"))
    assert counts == [1, 1, 2, 2, 3, 3, 4, 4]


def test_no_configuration_runs_every_program_every_10ms() -> None:
    prog = compile_source(main("n: INT;", "n := n + 1;"))
    assert [(t.interval_ns, t.instances) for t in prog.tasks] == [(10_000_000, ["Main"])]
    assert prog.scan_period_ns == 10_000_000


def test_warm_restart_keeps_retain_variables_and_cold_restart_clears_them() -> None:
    source = """
VAR_GLOBAL RETAIN total : DINT; END_VAR
VAR_GLOBAL scratch : DINT; END_VAR
PROGRAM Main
VAR RETAIN kept : INT; END_VAR
VAR lost : INT := 7; END_VAR
kept := kept + 1; lost := lost + 1; total := total + 10; scratch := scratch + 1;
END_PROGRAM
"""
    plc = SoftPlc(compile_source(source))
    for k in range(1, 4):
        assert plc.run_cycle(k * 10_000_000)
    assert (plc.variable("Main.kept"), plc.variable("Main.lost")) == (3, 10)
    plc.restart(warm=True)
    assert plc.variable("Main.kept") == 3 and plc.variable("total") == 30
    assert plc.variable("Main.lost") == 7 and plc.variable("scratch") == 0
    assert plc.run_cycle(10_000_000)
    assert plc.variable("Main.kept") == 4 and plc.variable("total") == 40
    plc.restart()
    assert plc.variable("Main.kept") == 0 and plc.variable("total") == 0
