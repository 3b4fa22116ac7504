"""``io-list --format st|codesys``: declarations a PLC project takes, checked by compiling them.

The ST skeleton must compile as it is on the built-in soft PLC with every PLC-facing signal
bound, and run once logic is added; the CODESYS GVL must declare the same variables at the
same addresses.
"""

from __future__ import annotations

import re

from tests.helpers import SORTING_LINE, run_cli, sorting_line_text, write_model
from vcommission.config.export import codesys_gvl, st_skeleton
from vcommission.config.model import load_model
from vcommission.plc import compile_program
from vcommission.session import SessionBuilder


def test_the_st_skeleton_compiles_and_binds_every_plc_facing_signal(tmp_path):
    model = load_model(SORTING_LINE)
    path = tmp_path / "skeleton.st"
    path.write_text(st_skeleton(model))
    result = run_cli("check", str(path), "--model", str(SORTING_LINE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(model.io_rows())} I/O bound to sorting_line" in result.stdout
    assert "Config0" in path.read_text() and "RESOURCE Res0" in path.read_text()


def test_logic_written_into_the_skeleton_drives_the_plant(tmp_path):
    model = load_model(SORTING_LINE)
    text = st_skeleton(model).replace(
        "(* the machine's logic goes here *)", "conveyor_run := start_pb;\n    speed_sp := 250;"
    )
    path = tmp_path / "logic.st"
    path.write_text(text)
    builder = SessionBuilder(model).plc(compile_program(path, model)).recorder(None)
    with builder.build() as session:
        session.link.operate("start_pb.pressed", True)
        session.sim.run_for(2.0)
        assert session.plant.image["conveyor_run"] is True
        assert session.plant.image["speed_actual"] == 250  # ramped to the program's setpoint


def test_the_codesys_gvl_declares_the_same_variables_at_the_same_addresses(tmp_path):
    model = load_model(SORTING_LINE)
    gvl = codesys_gvl(model)
    declared = re.findall(r"^\s+(\w+)\s+AT (%\S+)\s*: (\w+);", gvl, re.MULTILINE)
    assert declared == [(r.tag, r.iec, r.type.value) for r in model.io_rows()]
    # With the skeleton's program, the GVL compiles and binds every signal too.
    program = st_skeleton(model).split("END_CONFIGURATION", 1)[1]
    path = tmp_path / "gvl.st"
    path.write_text(gvl + program)
    result = run_cli("check", str(path), "--model", str(SORTING_LINE))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(model.io_rows())} I/O bound" in result.stdout


def test_a_description_with_a_comment_end_in_it_does_not_break_the_skeleton(tmp_path):
    text = sorting_line_text().replace("belt motor on", "belt motor on *) oops (*", 1)
    assert "oops" in text
    folder = tmp_path / "line"
    write_model(folder, text)
    model = load_model(folder)
    path = tmp_path / "skeleton.st"
    path.write_text(st_skeleton(model))
    result = run_cli("check", str(path), "--model", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr


def test_io_list_prints_them_and_refuses_all_with_them():
    result = run_cli("io-list", "sorting_line", "--format", "st")
    assert result.returncode == 0 and result.stdout.startswith("(* I/O of model 'sorting_line'")
    result = run_cli("io-list", "sorting_line", "--format", "codesys")
    assert result.returncode == 0 and "VAR_GLOBAL" in result.stdout
    result = run_cli("io-list", "sorting_line", "--format", "st", "--all")
    assert result.returncode == 3 and "--all" in result.stderr
