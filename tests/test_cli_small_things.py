"""Small things a first tryout ran into (issue 14 item 9), each kept from coming back.

Help for every option, one exit code for a missing path, ``check`` and ``run --collect-only``
on scenario files, result files that respect the umask, ``demo`` on any model, no rate when
nothing ran, a pytest plugin that keeps pytest-asyncio quiet, and a core that needs no pytest.
Commands run in-process (``vcommission.cli.main``) where a process adds nothing.
"""

from __future__ import annotations

import argparse
import os
import re
import stat
import subprocess
import sys
import tomllib

import pytest

from tests.helpers import ROOT, SORTING_ST, SORTING_SUITE, sorting_line_text, write_model
from vcommission.cli import build_parser, main
from vcommission.fileio import write_atomic
from vcommission.reporting.console import ConsoleReporter
from vcommission.reporting.summary import Summary
from vcommission.scenario.results import ScenarioResult, Verdict
from vcommission.scenario.trace import Trace


def _cli(capsys, *args: str) -> tuple[int, str]:
    try:
        code = main(list(args))
    except SystemExit as stop:  # argparse: usage errors
        code = int(stop.code or 0)
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _parsers(parser: argparse.ArgumentParser, prog: str = "vcommission"):
    yield prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _parsers(sub, f"{prog} {name}")


def test_every_option_of_every_command_has_a_help_line():
    missing = [
        f"{prog} {'/'.join(action.option_strings) or action.dest}"
        for prog, parser in _parsers(build_parser())
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not action.help
    ]
    assert missing == []


def test_a_missing_path_is_a_usage_error_for_check_io_list_and_render(capsys, tmp_path):
    for command in ("check", "io-list", "render"):
        code, text = _cli(capsys, command, str(tmp_path / "nowhere"))
        assert code == 3, (command, text)
        assert "nowhere: no such file or folder (bundled models:" in text


def test_check_validates_a_scenario_file_as_a_scenario(capsys, tmp_path):
    code, text = _cli(capsys, "check", str(SORTING_SUITE / "r1_start.yaml"))
    assert code == 0 and "r1_start.yaml: 1 case" in text
    broken = tmp_path / "broken.yaml"
    model = SORTING_SUITE.parent.parent / "plant_models" / "sorting_line"
    broken.write_text(f"name: x\nmodel: {model}\nduration: 1\nchecks:\n  - frobnicate: 1\n")
    code, text = _cli(capsys, "check", str(broken))
    assert code == 1 and f"{broken}:5: checks[0]" in text


def test_run_collect_only_lists_the_cases_and_runs_none(capsys, tmp_path):
    code, text = _cli(capsys, "run", str(SORTING_SUITE), "--collect-only")
    assert code == 0, text
    assert "r1_start.yaml: R1 start runs the line within 100 ms  R1,R9" in text
    last = text.strip().splitlines()[-1]
    assert last.endswith(" files") and " cases in " in last
    assert "PASSED" not in text and "scenarios/min" not in text
    (tmp_path / "bad.yaml").write_text("name: x\nmodel: nowhere\nchecks: []\n")
    code, text = _cli(capsys, "run", str(tmp_path), "--collect-only")
    assert code == 1 and "0 cases in 0 files, 1 file not loaded" in text


def test_result_files_respect_the_umask(tmp_path):
    previous = os.umask(0o027)
    try:
        write_atomic(tmp_path / "results.json", "{}")
        Trace(names=[], types=[], initial=[], changes=[]).save(tmp_path / "t.npz")
    finally:
        os.umask(previous)
    for name in ("results.json", "t.npz"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o640, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "t.npz"]


def test_demo_presses_a_start_button_of_another_name_and_summarises_any_model(capsys, tmp_path):
    text = (
        sorting_line_text()
        .replace("  start_pb: {kind: push_button", "  green_start: {kind: push_button")
        .replace("port: start_pb.contact", "port: green_start.contact")
    )
    model = write_model(tmp_path / "renamed", text).parent
    code, out = _cli(
        capsys, "demo", "--model", str(model), "--plc", str(SORTING_ST), "--duration", "10"
    )
    assert code == 0, out
    assert "pressed: green_start.pressed" in out and "OK: 1 sorted, 0 missorted" in out
    code, out = _cli(capsys, "demo", "--model", "pick_and_place", "--duration", "12")
    assert code == 0, out
    assert "pressed: start_pb.pressed" in out and "tray: 1 part" in out
    assert "sorted" not in out and "OK: 1 part delivered (tray 1)" in out
    assert "sensor edges: " in out and "part_present" in out
    code, out = _cli(capsys, "demo", "--start", "no_such_button", "--duration", "1")
    assert code == 2 and "not an operator input" in out


def test_no_rate_is_printed_when_nothing_ran():
    broken = ScenarioResult("bad.yaml", "bad.yaml", Verdict.ERROR, error="does not load")
    (line,) = ConsoleReporter.summary_lines(Summary.of([broken], 0.2))
    assert "scenarios/min" not in line.plain and "1 error" in line.plain
    ran = ScenarioResult("ok", "ok.yaml", Verdict.PASSED, virtual_s=2.0)
    (line,) = ConsoleReporter.summary_lines(Summary.of([ran, broken], 1.0))
    assert "(120.0 scenarios/min)" in line.plain


def test_the_pytest_plugin_keeps_pytest_asyncio_quiet_in_a_user_project(tmp_path):
    pytest.importorskip("pytest_asyncio")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_user.py").write_text("def test_nothing():\n    assert True\n")
    result = subprocess.run(
        [sys.executable, "-W", "always", "-m", "pytest", "-p", "no:cacheprovider", "-q"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "asyncio_default_fixture_loop_scope" not in result.stdout + result.stderr


def test_the_core_needs_no_pytest():
    package = ROOT / "vcommission"
    imports = re.compile(r"^\s*(?:import|from)\s+(?:pytest|_pytest|pytest_asyncio)\b", re.M)
    importers = [
        path.relative_to(ROOT).as_posix()
        for path in sorted(package.rglob("*.py"))
        if imports.search(path.read_text())
    ]
    assert sorted(set(importers)) == ["vcommission/pytest_plugin.py"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    assert "pytest" not in core
    extras = project["optional-dependencies"]
    assert any(d.startswith("pytest>=") for d in extras["pytest"])
    dev = " ".join(extras["dev"])
    assert "vcommission[pytest]" in dev and "pytest-asyncio" in dev
    assert project["entry-points"]["pytest11"] == {"vcommission": "vcommission.pytest_plugin"}
