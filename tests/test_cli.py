"""The command line, run as a user runs it: a real process, real exit codes, real output."""

from __future__ import annotations

import csv
import io
import json

import pytest

from tests.config.test_model import CONTRACT
from tests.helpers import SORTING_LINE, sorting_line_text, write_model
from tests.helpers import run_cli as run


def test_io_list_csv_prints_the_contract_and_nothing_else():
    result = run("io-list", str(SORTING_LINE), "--format", "csv")
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    plc_dir = {"from_plant": "in", "to_plant": "out"}
    expected = [(t, ty, plc_dir[d], m, iec) for t, ty, d, m, iec in CONTRACT]
    assert [(r["tag"], r["type"], r["dir"], r["modbus"], r["iec"]) for r in rows] == expected
    assert rows[0]["description"] == "start button, TRUE while pressed"


def test_io_list_json_and_plain_table():
    result = run("io-list", str(SORTING_LINE), "--format", "json", "--all")
    data = json.loads(result.stdout)
    tags = {s["tag"]: s for s in data["signals"]}
    assert data["model"] == "sorting_line"
    assert (
        tags["speed_sp"]["modbus"] == "HR 0" and tags["speed_sp"]["port"] == "belt.speed_setpoint"
    )
    assert tags["bin_tall.count_tall"]["direction"] == "internal"
    table = run("io-list", str(SORTING_LINE))
    lines = table.stdout.splitlines()
    assert lines[0].split()[:5] == ["tag", "type", "dir", "modbus", "iec"]
    assert len(lines) == 1 + len(CONTRACT)
    assert "\x1b[" not in table.stdout  # plain when piped


def test_check_folder_passes(tmp_path):
    result = run("check", "plant_models/")
    assert result.returncode == 0, result.stderr
    assert "ok plant_models/sorting_line/model.yaml" in result.stdout


def test_check_bad_model_lists_every_problem_with_location(tmp_path):
    good = sorting_line_text()
    bad = (
        good.replace("    length: 4.0\n", "    lenght: 4.0\n    length: 4.0\n")
        .replace("    width: 0.5\n", "    width: half\n")
        .replace("modbus: DI 7,", "modbus: DI 6,")
    )
    model = write_model(tmp_path / "broken", bad)
    result = run("check", str(tmp_path), "plant_models")
    assert result.returncode == 1
    lines = bad.splitlines()
    errors = result.stderr.splitlines()
    typo = next(i for i, line in enumerate(lines, 1) if "lenght" in line)
    width = next(i for i, line in enumerate(lines, 1) if "width: half" in line)
    overlap = [i for i, line in enumerate(lines, 1) if "modbus: DI 6," in line][1]
    assert f"{model}:{typo}: components.belt.lenght: unknown key 'lenght'" in errors[0]
    assert any(e.startswith(f"{model}:{width}: components.belt.width: expected") for e in errors)
    assert any(
        e.startswith(f"{model}:{overlap}: signals.pe_exit.modbus: DI 6 overlaps") for e in errors
    )
    assert "1 of 3 model(s) invalid" in result.stderr  # the broken one and the two bundled
    assert "ok plant_models/sorting_line/model.yaml" in result.stdout


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("check", "no/such/path"), 3),
        (("frobnicate",), 3),
        (("demo", "--duration", "-1"), 3),
        (("io-list",), 3),
    ],
)
def test_usage_errors_exit_3(args, code):
    result = run(*args)
    assert result.returncode == code
    assert result.stderr


def test_check_empty_folder_exits_4(tmp_path):
    assert run("check", str(tmp_path)).returncode == 4


def test_invalid_yaml_syntax_is_located(tmp_path):
    (tmp_path / "model.yaml").write_text("name: x\ncomponents: [\n")
    result = run("io-list", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.startswith(f"{tmp_path / 'model.yaml'}:")


def test_demo_runs_and_summarises():
    result = run("demo", "--duration", "15", "--seed", "3")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "ran sorting_line for 15.0 s virtual" in out and "seed 3" in out
    assert "bin_tall:" in out and "bin_small:" in out
    assert "OK:" in out and "0 missorted" in out
