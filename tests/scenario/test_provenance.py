"""What a result records for the FAT report: provenance hashes, description, steps, ST coverage.

The hashes must name exactly what ran: they change when the model, the scenario or the program
changes and stay put otherwise, and a worker that keeps a compiled program reports the hash of
the file it compiled.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

from tests.helpers import SORTING_LINE, SORTING_ST, write_scenario
from vcommission.scenario.collect import load_cases
from vcommission.scenario.provenance import file_sha256, model_files, model_sha256
from vcommission.scenario.runner import WorkerCache, run_scenario

SCENARIO = """\
name: start
description: >
  Start the line
  and watch it.
model: {model}
duration: 1
steps:
  - hold: 0.1
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
  - fault: {{kind: sensor_stuck, id: exit_blocked, tag: pe_exit, value: true, for: 0.3}}
  - wait: {{until: {{tag: conveyor_run}}, timeout: 0.5}}
checks:
  - reaction:
      trigger: {{rising: start_pb}}
      expect: {{tag: conveyor_run}}
      within: 0.1
"""


def line(tmp_path: Path) -> Path:
    """A copy of the sorting line's model and program that a test may change."""
    copy = tmp_path / "model"
    shutil.copytree(SORTING_LINE, copy, ignore=shutil.ignore_patterns("faulty"))
    return copy


def run(scenario_file: Path, cache: WorkerCache | None = None):
    (scenario,) = load_cases(scenario_file)
    return run_scenario(scenario, cache)


def test_the_model_hash_is_sha256sum_of_its_yaml_files(tmp_path):
    listing = subprocess.run(
        # The training exercises beside the model are scenario files: they are not the model.
        "find . -type f \\( -name '*.yaml' -o -name '*.yml' \\) -not -path './exercises/*' "
        "| sed 's|^\\./||' "
        "| LC_ALL=C sort | xargs sha256sum | sha256sum",
        shell=True,
        cwd=SORTING_LINE,
        capture_output=True,
        text=True,
        check=True,
    )
    assert model_sha256(SORTING_LINE) == listing.stdout.split()[0]
    assert model_sha256(SORTING_LINE / "model.yaml") == model_sha256(SORTING_LINE)


def test_the_model_hash_covers_its_yaml_files_only(tmp_path):
    model = line(tmp_path)
    before = model_sha256(model)
    (model / "plc" / "sorting.st").write_text("(* another program *)\n")
    write_scenario(model, SCENARIO.format(model="."), "beside.yaml")  # a scenario beside it
    (model / "requirements.yaml").write_text("requirements: []\n")
    assert model_files(model) == [model / "model.yaml"]
    assert model_sha256(model) == before
    (model / "parts.yaml").write_text("a: 1\n")  # a YAML file of the model's
    with_parts = model_sha256(model)
    assert with_parts != before
    (model / "parts.yaml").rename(model / "parts2.yaml")  # the names count too
    assert model_sha256(model) not in (before, with_parts)


def test_description_steps_and_provenance_are_recorded(tmp_path):
    scenario = write_scenario(tmp_path, SCENARIO.format(model=SORTING_LINE))
    result = run(scenario)
    assert result.verdict.value == "passed", result.checks
    assert result.description == "Start the line and watch it."
    assert result.steps == [
        "hold 0.1 s",
        "pulse start_pb.pressed for 0.2 s",
        "inject fault exit_blocked: sensor_stuck (tag pe_exit, value TRUE) for 0.3 s",
        "wait until conveyor_run = TRUE (at most 0.5 s)",
    ]
    assert result.provenance == {
        "model": {"path": str(SORTING_LINE), "sha256": model_sha256(SORTING_LINE)},
        "scenario": {"path": str(scenario.resolve()), "sha256": file_sha256(scenario)},
        "plc": {
            "kind": "st",
            "files": [{"path": str(SORTING_ST), "sha256": file_sha256(SORTING_ST)}],
        },
        "requirements": None,
    }
    assert file_sha256(scenario) == hashlib.sha256(scenario.read_bytes()).hexdigest()
    assert result.to_json()["provenance"] == result.provenance


def test_hashes_change_with_what_changed_and_only_then(tmp_path):
    model = line(tmp_path)
    scenario = write_scenario(tmp_path, SCENARIO.format(model=model))
    first = run(scenario).provenance
    assert run(scenario).provenance == first  # stable

    scenario.write_text(SCENARIO.format(model=model).replace("duration: 1", "duration: 1.1"))
    changed = run(scenario).provenance
    assert changed["scenario"]["sha256"] != first["scenario"]["sha256"]
    assert (changed["model"], changed["plc"]) == (first["model"], first["plc"])

    program = model / "plc" / "sorting.st"
    program.write_text(program.read_text() + "\n(* a comment *)\n")
    changed = run(scenario).provenance
    assert changed["plc"]["files"][0]["sha256"] != first["plc"]["files"][0]["sha256"]
    assert changed["model"] == first["model"]

    (model / "model.yaml").write_text((model / "model.yaml").read_text() + "# edited\n")
    again = run(scenario).provenance
    assert again["model"]["sha256"] != first["model"]["sha256"]
    assert again["plc"] == changed["plc"]


def test_a_worker_reports_the_hash_of_the_program_it_compiled(tmp_path):
    model = line(tmp_path)
    scenario = write_scenario(tmp_path, SCENARIO.format(model=model))
    program = model / "plc" / "sorting.st"
    compiled = file_sha256(program)
    cache = WorkerCache()
    try:
        run(scenario, cache)
        program.write_text(program.read_text() + "\n(* edited after compiling *)\n")
        result = run(scenario, cache)  # the kept program still runs
    finally:
        cache.close()
    assert result.provenance["plc"]["files"][0]["sha256"] == compiled
    assert result.st_coverage is not None and result.st_coverage["sha256"] == compiled


def test_st_coverage_per_statement_with_the_program_hash_merges_across_runs(tmp_path):
    idle = write_scenario(tmp_path, SCENARIO.format(model=SORTING_LINE), "idle.yaml")
    busy = write_scenario(
        tmp_path,
        SCENARIO.format(model=SORTING_LINE).replace("duration: 1", "duration: 10")
        + "  - final_state: {max_in_flight: 5}\n",
        "busy.yaml",
    )
    first, second = run(idle), run(busy)
    for result in (first, second):
        coverage = result.st_coverage
        assert coverage is not None
        assert coverage["sha256"] == file_sha256(SORTING_ST)
        assert coverage["file"] == str(SORTING_ST)
        assert coverage["statements"]["percent"] == result.coverage["statements"]
        assert coverage["branches"]["percent"] == result.coverage["branches"]
    # Same program: the items line up one for one, so hits add up.
    a, b = first.st_coverage["statements"]["items"], second.st_coverage["statements"]["items"]
    assert [(i["line"], i["col"]) for i in a] == [(i["line"], i["col"]) for i in b]
    merged = [x["hits"] + y["hits"] for x, y in zip(a, b, strict=True)]
    covered = sum(1 for hits in merged if hits)
    assert covered >= max(
        first.st_coverage["statements"]["covered"], second.st_coverage["statements"]["covered"]
    )
    assert covered <= len(merged)
    # The longer run reaches statements the short one never did (the first push, at least).
    assert second.st_coverage["statements"]["covered"] > first.st_coverage["statements"]["covered"]


def test_a_scenario_that_errors_still_says_what_it_was(tmp_path):
    model = line(tmp_path)
    scenario = write_scenario(tmp_path, SCENARIO.format(model=model))
    (scenario,) = load_cases(scenario)
    (model / "plc" / "sorting.st").write_text("PROGRAM broken\n")  # no longer compiles
    result = run_scenario(scenario)
    assert result.verdict.value == "error"
    assert result.steps and result.description
    assert result.provenance["plc"]["files"][0]["sha256"] == file_sha256(
        model / "plc" / "sorting.st"
    )
    assert result.st_coverage is None
