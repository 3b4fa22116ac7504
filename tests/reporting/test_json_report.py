"""JSON report: strict JSON that loads back, verdicts as strings, summary counts."""

from __future__ import annotations

import json
import math

from vcommission.reporting import Hooks, JsonReporter
from vcommission.reporting.json_report import json_report


def test_loads_back(tmp_path, results):
    path = tmp_path / "out" / "results.json"
    Hooks([JsonReporter(path)]).run_finish(results, 3.0)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n  "summary": {')
    document = json.loads(text)
    assert document["summary"] == {
        "verdict": "error",
        "scenarios": 4,
        "passed": 1,
        "failed": 1,
        "error": 2,
        "vacuous": 0,
        "wall_s": 3.0,
        "scenarios_per_minute": 80.0,
        "interrupted": False,
        "interrupted_scenarios": 0,
        "requirements": {
            "R1": "passed",
            "R4": "error",
            "R7": "error",
            "R9": "error",
            "R10": "passed",
        },
    }
    scenarios = document["scenarios"]
    assert [s["name"] for s in scenarios] == [r.name for r in results]
    assert [s["verdict"] for s in scenarios] == ["passed", "failed", "error", "error"]
    failed_check = scenarios[1]["checks"][1]
    assert failed_check["verdict"] == "failed"
    assert failed_check["evidence"]["window"][0] == [11.5, "pusher.extended", False]
    assert scenarios[1]["params"] == {"seed": 2, "belt": "slow"}
    assert scenarios[3]["error"].startswith("the worker process running it died")


def test_requirement_fails_when_any_scenario_fails(results):
    passed, failed = results[:2]
    failed.requirements = ["R1"]
    summary = json.loads(json_report([passed, failed], 1.0))["summary"]
    assert summary["requirements"] == {"R1": "failed", "R10": "passed"}
    assert summary["verdict"] == "failed"


def test_non_finite_figures_are_null(results):
    results[0].checks[0].figures["max_s"] = math.inf
    results[0].checks[0].figures["mean_s"] = math.nan
    text = json_report(results[:1], 0.0)
    figures = json.loads(text)["scenarios"][0]["checks"][0]["figures"]
    assert figures == {"max_s": None, "mean_s": None}
    assert json.loads(text)["summary"]["scenarios_per_minute"] == 0.0


def test_empty_run(tmp_path):
    path = tmp_path / "results.json"
    JsonReporter(path).run_finish([], 0.0)
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["scenarios"] == []
    assert document["summary"]["verdict"] == "passed"
