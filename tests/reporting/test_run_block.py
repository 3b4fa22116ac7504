"""The results JSON's run block: environment, the documented date, options, programs.

Two runs of the same suite give the same document but for the wall-clock figures (``wall_s``
of the summary and of each scenario, and ``scenarios_per_minute``): the date comes from
``SOURCE_DATE_EPOCH`` when it is set.
"""

from __future__ import annotations

import datetime
import json
import platform
import re
from importlib import metadata

import pytest

from tests.helpers import SORTING_ST, SORTING_SUITE, run_cli
from vcommission.errors import VcommissionError
from vcommission.reporting import Hooks, JsonReporter
from vcommission.reporting.json_report import json_report
from vcommission.reporting.run_info import RunInfo, environment, report_date
from vcommission.scenario.collect import collect
from vcommission.scenario.provenance import file_sha256

#: The wall-clock figures of a results file.
WALL = ("wall_s", "scenarios_per_minute")


def without_wall_times(value):
    if isinstance(value, dict):
        return {k: without_wall_times(v) for k, v in value.items() if k not in WALL}
    if isinstance(value, list):
        return [without_wall_times(v) for v in value]
    return value


def test_source_date_epoch_fixes_the_date():
    assert report_date({"SOURCE_DATE_EPOCH": "0"}) == "1970-01-01T00:00:00Z"
    assert report_date({"SOURCE_DATE_EPOCH": "1700000000"}) == "2023-11-14T22:13:20Z"
    for bad in ("soon", "1.5"):
        with pytest.raises(VcommissionError, match="SOURCE_DATE_EPOCH"):
            report_date({"SOURCE_DATE_EPOCH": bad})


def test_without_it_the_date_is_now_to_the_second():
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    date = report_date({"SOURCE_DATE_EPOCH": ""})  # empty counts as unset
    after = datetime.datetime.now(datetime.UTC)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", date)
    assert before <= datetime.datetime.fromisoformat(date) <= after


def test_the_environment_names_the_versions():
    env = environment()
    assert env["vcommission"] == metadata.version("vcommission")
    assert env["python"] == platform.python_version()
    assert env["platform"] == platform.platform()
    assert env["packages"]["pybullet"] == metadata.version("pybullet")
    assert env["packages"]["lark"] == metadata.version("lark")


def test_a_report_without_run_options_still_has_its_run_block(results):
    run = json.loads(json_report(results, 1.0))["run"]
    assert run["requirements"] == [] and run["untested"] == []
    assert run["seed"] is None and run["strict"] is False
    assert run["programs"] == {}  # hand-made results carry no provenance
    assert run["vcommission"] == metadata.version("vcommission")


def test_programs_are_listed_by_hash_with_their_source_while_it_is_unchanged(tmp_path, results):
    program = tmp_path / "line.st"
    program.write_text(SORTING_ST.read_text())
    digest = file_sha256(program)
    results[0].provenance = {
        "plc": {"kind": "st", "files": [{"path": str(program), "sha256": digest}]}
    }
    results[1].provenance = {"plc": {"kind": "external", "files": []}}
    path = tmp_path / "results.json"
    reporter = JsonReporter(path)
    hooks = Hooks([reporter])
    hooks.run_info(RunInfo(started="2000-01-01T00:00:00Z", seed=7, strict=True))
    hooks.run_finish(results, 1.0)
    run = json.loads(path.read_text())["run"]
    assert run["programs"] == {digest: {"path": str(program), "source": SORTING_ST.read_text()}}
    assert (run["started"], run["seed"], run["strict"]) == ("2000-01-01T00:00:00Z", 7, True)
    program.write_text("(* changed since the run *)\n")
    hooks.run_finish(results, 1.0)
    run = json.loads(path.read_text())["run"]
    assert run["programs"] == {digest: {"path": str(program), "source": None}}


def test_run_info_of_a_collection():
    found = collect([SORTING_SUITE / "r9_speed.yaml"])
    info = RunInfo.of(found, seed=3, environ={"SOURCE_DATE_EPOCH": "86400"})
    assert info.started == "1970-01-02T00:00:00Z"
    assert info.seed == 3 and info.strict is False
    assert "R9" not in info.untested and "R4" in info.untested
    block = info.to_json()
    assert block["requirements_files"] == [
        {
            "path": str((SORTING_SUITE / "requirements.yaml").resolve()),
            "sha256": file_sha256(SORTING_SUITE / "requirements.yaml"),
        }
    ]


def test_a_malformed_source_date_epoch_is_a_usage_error(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    result = run_cli("run", "sorting_line", "-k", "r1_start", "-j", "1", cwd=tmp_path)
    assert result.returncode == 3
    assert "SOURCE_DATE_EPOCH='yesterday' must be an integer" in result.stderr


def test_two_runs_give_the_same_json_but_for_wall_times(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    outputs = []
    for name in ("a.json", "b.json"):
        out = tmp_path / name
        result = run_cli(
            "run",
            "sorting_line",
            "-k",
            "r1_start or r8_pusher_slow",
            "-j",
            "2",
            "--json",
            str(out),
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        outputs.append(out.read_text())
    first, second = (json.loads(text) for text in outputs)
    assert without_wall_times(first) == without_wall_times(second)
    # Byte for byte once the wall-clock figures are blanked in the text itself.
    blank = re.compile(r'("(?:wall_s|scenarios_per_minute)": )[-0-9.e]+')
    assert blank.sub(r"\g<1>0", outputs[0]) == blank.sub(r"\g<1>0", outputs[1])
    run = first["run"]
    assert run["started"] == "2023-11-14T22:13:20Z"
    assert run["strict"] is False and run["seed"] is None
    (digest,) = run["programs"]
    assert run["programs"][digest]["source"] == SORTING_ST.read_text()
    scenarios = first["scenarios"]
    assert [s["st_coverage"]["sha256"] for s in scenarios] == [digest] * len(scenarios)
    assert all(s["provenance"]["plc"]["files"][0]["sha256"] == digest for s in scenarios)
    assert all(s["steps"] and s["description"] for s in scenarios)
