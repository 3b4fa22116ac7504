"""The soft PLC from the command line: ``check PROGRAM.st``, ``demo --plc`` and coverage files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.helpers import run_cli

MODEL = "plant_models/sorting_line"
PROGRAM = f"{MODEL}/plc/sorting.st"

# A syntax error (line 5: no ';'), a type error (line 11), an unbound address (line 15).
THREE_ERRORS = """\
FUNCTION_BLOCK FB_Broken
VAR_INPUT go : BOOL; END_VAR
VAR_OUTPUT q : BOOL; END_VAR
IF go THEN
    q := TRUE
END_IF;
END_FUNCTION_BLOCK

FUNCTION Twice : INT
VAR_INPUT x : INT; END_VAR
Twice := x * 2.5;
END_FUNCTION

PROGRAM Main
VAR missing AT %IX9.0 : BOOL; run AT %QX0.0 : BOOL; END_VAR
run := missing;
END_PROGRAM
"""

DIVIDES_BY_ZERO = """\
PROGRAM Main
VAR
    start AT %IX0.0 : BOOL;
    run AT %QX0.0 : BOOL;
    divisor : INT := 0;
    ratio : INT;
END_VAR
run := TRUE;
IF start THEN
    ratio := 100 / divisor;
END_IF;
END_PROGRAM
"""


def test_check_accepts_the_reference_program_and_reports_its_binding():
    result = run_cli("check", PROGRAM, "--model", MODEL)
    assert result.returncode == 0, result.stderr
    assert re.search(
        r"ok .*sorting\.st: Main every 10 ms: \w+, 18 I/O bound to sorting_line", result.stdout
    ), result.stdout


def test_check_reports_syntax_type_and_binding_errors_at_once(tmp_path: Path):
    source = tmp_path / "broken.st"
    source.write_text(THREE_ERRORS)
    result = run_cli("check", str(source), "--model", MODEL)
    assert result.returncode == 1
    located = re.findall(rf"^{re.escape(str(source))}:(\d+):(\d+): (.*)$", result.stderr, re.M)
    lines = [int(line) for line, _, _ in located]
    assert lines == [5, 11, 15], result.stderr
    messages = [message for _, _, message in located]
    assert "syntax error" in messages[0] and "';'" in messages[0]
    assert "REAL" in messages[1]
    assert "unbound" in messages[2] and "%IX9.0" in messages[2]
    assert "1 of 1 program(s) invalid" in result.stderr


def test_check_without_a_model_checks_syntax_and_types_only(tmp_path: Path):
    source = tmp_path / "broken.st"
    source.write_text(THREE_ERRORS)
    result = run_cli("check", str(source))
    assert result.returncode == 1
    assert "unbound" not in result.stderr
    assert result.stderr.count(str(source)) == 2


def test_check_refuses_models_and_programs_together():
    result = run_cli("check", PROGRAM, MODEL)
    assert result.returncode == 3


def test_demo_reports_a_runtime_fault_with_its_line(tmp_path: Path):
    source = tmp_path / "divide.st"
    source.write_text(DIVIDES_BY_ZERO)
    result = run_cli("demo", "--plc", str(source), "--duration", "2")
    assert result.returncode == 1
    assert re.search(rf"PLC fault: {re.escape(str(source))}:10: .*division by zero", result.stderr)


def test_demo_writes_coverage_as_json_and_as_an_annotated_listing(tmp_path: Path):
    as_json, listing = tmp_path / "cov.json", tmp_path / "cov.lst"
    result = run_cli(
        "demo", "--duration", "20", "--coverage", str(as_json), "--coverage", str(listing)
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(as_json.read_text())
    statements = report["statements"]
    assert 0 < statements["covered"] < statements["total"]
    assert statements["percent"] == round(100 * statements["covered"] / statements["total"], 2)
    hit_lines = {item["line"] for item in statements["items"] if item["hits"]}
    missed_lines = {item["line"] for item in statements["items"] if not item["hits"]}
    text = listing.read_text().splitlines()
    source = Path(PROGRAM).read_text().splitlines()
    assert len(text) == len(source) + 1  # a header, then every source line
    for line in hit_lines - missed_lines:
        assert re.match(r"\s+\d+ \| ", text[line]), text[line]
    for line in missed_lines - hit_lines:
        assert text[line].startswith("    ##### | "), text[line]
    assert any("branch never taken" in row for row in text)
