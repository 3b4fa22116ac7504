"""Statement coverage counted per run of statements: the same hits as one counter each.

A run is a statement list's stretch after simple statements (assignments, calls): they
share one counter in the generated code. The hits must still be each statement's own,
including when a statement in the middle of a run raises, loops EXIT early, or a function
block's body RETURNs.
"""

from __future__ import annotations

from vcommission.plc import SoftPlc, compile_source

SCAN_NS = 10_000_000

PROGRAM = """
FUNCTION_BLOCK Half
VAR_INPUT n : INT; END_VAR
VAR_OUTPUT out : INT; END_VAR
out := n / 2;
IF n < 0 THEN
    RETURN;
END_IF;
out := out + 1;
END_FUNCTION_BLOCK

PROGRAM Main
VAR
    i : INT;
    total : INT;
    d : INT := 3;
    h : Half;
    k : INT;
END_VAR
total := 0;
k := k + 1;
FOR i := 1 TO 10 DO
    total := total + i;
    IF i = 3 THEN
        EXIT;
    END_IF;
    total := total + 100;
END_FOR;
h(n := k - 3);
total := total + h.out;
total := 100 / (d - k);
k := k + 0;
END_PROGRAM
"""


def _hits(plc: SoftPlc, source: str) -> dict[str, int]:
    """Statement hits by the statement's source text (every statement here is one line)."""
    lines = source.splitlines()
    return {lines[line - 1].strip(): hits for line, _col, hits in plc.coverage().statements}


def test_runs_share_counters_and_still_count_each_statement():
    program = compile_source(PROGRAM, file="runs.st")
    unit = program.unit
    assert unit.counters < len(unit.statements)  # some statements share a counter
    assert unit.python.count("_c[") == unit.counters
    plc = SoftPlc(program)
    assert plc.run_cycle(SCAN_NS) and plc.run_cycle(2 * SCAN_NS)
    assert plc.run_cycle(3 * SCAN_NS) is False  # k = 3: 100 / (d - k) divides by zero
    assert plc.fault is not None and "division by zero" in plc.fault.message
    assert _hits(plc, PROGRAM) == {
        # Half: n = -2, -1, 0
        "out := n / 2;": 3,
        "IF n < 0 THEN": 3,
        "RETURN;": 2,
        "out := out + 1;": 1,
        # Main, three scans; the loop EXITs at i = 3
        "total := 0;": 3,
        "k := k + 1;": 3,
        "FOR i := 1 TO 10 DO": 3,
        "total := total + i;": 9,
        "IF i = 3 THEN": 9,
        "EXIT;": 3,
        "total := total + 100;": 6,
        "h(n := k - 3);": 3,
        "total := total + h.out;": 3,
        "total := 100 / (d - k);": 3,  # started in the third scan, and raised
        "k := k + 0;": 2,  # after it in its run: not run in the third scan
    }


def test_a_fault_inside_a_called_block_uncounts_the_rest_of_both_runs():
    source = """
FUNCTION_BLOCK Risky
VAR_INPUT d : INT; END_VAR
VAR_OUTPUT q : INT; END_VAR
q := 10 / d;
q := q + 1;
END_FUNCTION_BLOCK

PROGRAM Main
VAR r : Risky; n : INT := 2; x : INT; END_VAR
n := n - 1;
r(d := n);
x := r.q;
END_PROGRAM
"""
    plc = SoftPlc(compile_source(source, file="risky.st"))
    assert plc.run_cycle(SCAN_NS)  # n = 1
    assert plc.run_cycle(2 * SCAN_NS) is False  # n = 0: the block divides by zero
    assert _hits(plc, source) == {
        "q := 10 / d;": 2,
        "q := q + 1;": 1,
        "n := n - 1;": 2,
        "r(d := n);": 2,
        "x := r.q;": 1,
    }


def test_without_coverage_nothing_is_counted():
    plc = SoftPlc(compile_source(PROGRAM, file="runs.st", coverage=False))
    assert plc.run_cycle(SCAN_NS)
    assert "_c[" not in plc.program.unit.python
    assert set(_hits(plc, PROGRAM).values()) == {0}
