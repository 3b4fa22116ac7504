"""Requirements as data: the strict loader, discovery, ids checked where scenarios name them.

Every bad input is a located issue (file, line counted from the text, YAML path); the same
problems stop ``vcommission run``, ``vcommission check`` and the pytest plugin alike, and a
requirement no check covers is warned about and listed as untested.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import textwrap
from pathlib import Path

import pytest

from tests.helpers import SORTING_LINE, SORTING_SUITE, run_cli, write_scenario
from vcommission.errors import ConfigError, ConfigIssue
from vcommission.scenario.collect import collect, load_cases
from vcommission.scenario.requirements import (
    Category,
    Requirement,
    find_requirements,
    load_requirements,
)

pytest_plugins = ["pytester"]

GOOD = """\
requirements:
  - id: R1
    title: Start
    category: function
    source: spec 4.1
    text: A start press runs the belt.
    criterion: conveyor_run within 100 ms of the press
  - id: R2
    title: Interlock
    category: safety
    source: spec 4.2
    text: The pusher never extends while the belt runs.
    criterion: no tick with pusher_extend and conveyor_run TRUE
"""

#: A scenario verifying R1 (a check tagged with it) and listing R2 with no check for it.
SCENARIO = f"""\
name: start
requirements: [R1, R2]
model: {SORTING_LINE}
duration: 1
steps:
  - hold: 0.1
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - name: belt on within 100 ms
    requirement: R1
    reaction:
      trigger: {{rising: start_pb}}
      expect: {{tag: conveyor_run}}
      within: 0.1
"""


def line_of(text: str, needle: str, nth: int = 1) -> int:
    """1-based line of the ``nth`` line holding ``needle``."""
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[nth - 1]


def issues_of(path: Path) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load_requirements(path)
    return info.value.issues


def suite(tmp_path: Path, requirements: str = GOOD, scenario: str = SCENARIO) -> Path:
    folder = tmp_path / "suite"
    folder.mkdir()
    (folder / "requirements.yaml").write_text(requirements)
    write_scenario(folder, scenario, "start.yaml")
    return folder


# ---- the file ---------------------------------------------------------------------------------


def test_a_good_file_loads_in_order_with_its_hash(tmp_path):
    path = tmp_path / "requirements.yaml"
    path.write_text(GOOD)
    loaded = load_requirements(path)
    assert loaded.ids == ["R1", "R2"]
    assert loaded.get("R2") == Requirement(
        "R2",
        "Interlock",
        "The pusher never extends while the belt runs.",
        "no tick with pusher_extend and conveyor_run TRUE",
        Category.SAFETY,
        "spec 4.2",
    )
    assert "R1" in loaded and "R3" not in loaded
    assert loaded.sha256 == hashlib.sha256(GOOD.encode()).hexdigest()


BAD = [
    # (what is wrong, replaced text, replacement, needle of the line, nth, yaml path, message)
    (
        "unknown key",
        "    title: Start\n",
        "    titel: Start\n",
        "titel",
        1,
        "requirements[0].titel",
        "unknown key 'titel' (did you mean 'title'?)",
    ),
    (
        "missing field",
        "    criterion: no tick with pusher_extend and conveyor_run TRUE\n",
        "",
        "- id: R2",
        1,
        "requirements[1]",
        "missing required key 'criterion'",
    ),
    (
        "bad category",
        "category: safety",
        "category: safty",
        "safty",
        1,
        "requirements[1].category",
        "'safty' is not one of: function, safety, performance",
    ),
    (
        "duplicate id",
        "  - id: R2",
        "  - id: R1",
        "- id: R1",
        2,
        "requirements[1].id",
        "duplicate requirement id 'R1' (first at line 2)",
    ),
    (
        "empty text",
        "    text: A start press runs the belt.\n",
        "    text: ' '\n",
        "- id: R1",
        1,
        "requirements[0]",
        "text of R1 must not be empty",
    ),
    (
        "bad id",
        "  - id: R2",
        "  - id: 2 R",
        "- id: 2 R",
        1,
        "requirements[1]",
        "id='2 R' must be a letter followed by letters, digits, '_', '.' or '-'",
    ),
    (
        "unknown top-level key",
        "requirements:\n",
        "requirement:\n",
        "requirement:",
        1,
        "requirement",
        "unknown key 'requirement' (did you mean 'requirements'?)",
    ),
]


@pytest.mark.parametrize(
    ("old", "new", "needle", "nth", "yaml_path", "message"),
    [case[1:] for case in BAD],
    ids=[case[0] for case in BAD],
)
def test_each_kind_of_bad_input_is_located(tmp_path, old, new, needle, nth, yaml_path, message):
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = tmp_path / "requirements.yaml"
    path.write_text(text)
    found = issues_of(path)
    wanted = ConfigIssue(str(path), line_of(text, needle, nth), yaml_path, message)
    assert wanted in found, found
    if "unknown key" not in message:  # a misspelt key also leaves the right one missing
        assert found == [wanted]


def test_every_problem_is_reported_at_once(tmp_path):
    text = GOOD.replace("category: safety", "category: safty").replace("  - id: R2", "  - id: R1")
    text = text.replace("    title: Start\n", "    titel: Start\n    title: Start\n")
    path = tmp_path / "requirements.yaml"
    path.write_text(text)
    found = issues_of(path)
    assert [issue.path for issue in found] == [
        "requirements[0].titel",
        "requirements[1].category",
    ]
    # The ids are looked at once the file builds: the duplicate comes with the fix of those two.
    path.write_text(text.replace("    titel: Start\n", "").replace("safty", "safety"))
    assert [issue.message for issue in issues_of(path)] == [
        "duplicate requirement id 'R1' (first at line 2)"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("requirements: []\n", "lists no requirements"),
        ("", "file is empty"),
        ("requirements:\n  - id: [R1\n", "invalid YAML"),
    ],
)
def test_empty_or_broken_files(tmp_path, text, message):
    path = tmp_path / "requirements.yaml"
    path.write_text(text)
    (issue,) = issues_of(path)
    assert issue.file == str(path) and message in issue.message


# ---- discovery ----------------------------------------------------------------------------------


def test_the_nearest_file_up_to_the_path_named_applies(tmp_path):
    top = tmp_path / "suites"
    deep = top / "line" / "faults"
    deep.mkdir(parents=True)
    scenario = deep / "s.yaml"
    assert find_requirements(scenario, top) is None
    (tmp_path / "requirements.yaml").write_text(GOOD)  # above the path named: never used
    assert find_requirements(scenario, top) is None
    (top / "requirements.yaml").write_text(GOOD)
    assert find_requirements(scenario, top) == top / "requirements.yaml"
    (top / "line" / "requirements.yaml").write_text(GOOD)
    assert find_requirements(scenario, top) == top / "line" / "requirements.yaml"
    # A file named on its own: only its folder is looked in.
    assert find_requirements(scenario, scenario) is None
    (deep / "requirements.yaml").write_text(GOOD)
    assert find_requirements(scenario, scenario) == deep / "requirements.yaml"


def test_without_a_requirements_file_any_id_goes(tmp_path):
    path = write_scenario(tmp_path, SCENARIO.replace("R1", "ANYTHING"))
    (scenario,) = load_cases(path, top=tmp_path)
    assert scenario.requirements_file is None
    assert scenario.spec.checks[0].requirement == "ANYTHING"


def test_the_requirements_file_is_not_a_scenario(tmp_path):
    folder = suite(tmp_path)
    found = collect([folder])
    assert not found.broken
    assert [Path(s.file).name for s in found.scenarios] == ["start.yaml"]
    assert [r.ids for r in found.requirements] == [["R1", "R2"]]
    assert found.scenarios[0].requirements_file == folder / "requirements.yaml"
    # R2 is listed by the scenario, but no check counts for it.
    assert found.requirements[0].untested(found.scenarios) == ["R2"]


# ---- ids checked where scenarios name them ------------------------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "needle", "yaml_path", "unknown"),
    [
        (
            "    requirement: R1\n",
            "    requirement: R3\n",
            "requirement: R3",
            "checks[0].requirement",
            "R3",
        ),
        (
            "requirements: [R1, R2]",
            "requirements: [R1, R22]",
            "requirements:",
            "requirements[1]",
            "R22",
        ),
    ],
    ids=["a check's requirement", "the scenario's requirements"],
)
def test_an_unknown_id_is_a_located_error(tmp_path, old, new, needle, yaml_path, unknown):
    text = SCENARIO.replace(old, new)
    folder = suite(tmp_path, scenario=text)
    found = collect([folder])
    ((_, error),) = found.broken
    (issue,) = error.issues
    close = "R2" if unknown == "R22" else None
    hint = f"did you mean '{close}'?" if close else "it has R1, R2"
    assert issue == ConfigIssue(
        str(folder / "start.yaml"),
        line_of(text, needle),
        yaml_path,
        f"unknown requirement '{unknown}' (not in {folder / 'requirements.yaml'}; {hint})",
    )


def test_matrix_cases_report_an_unknown_id_once(tmp_path):
    text = SCENARIO.replace("requirement: R1", "requirement: R9") + "matrix: {seed: [1, 2]}\n"
    folder = suite(tmp_path, scenario=text)
    ((_, error),) = collect([folder]).broken
    assert len(error.issues) == 1


def test_a_broken_requirements_file_is_reported_once_and_its_scenarios_do_not_run(tmp_path):
    folder = suite(tmp_path, requirements=GOOD.replace("safety", "safty"))
    write_scenario(folder, SCENARIO.replace("name: start", "name: again"), "again.yaml")
    other = tmp_path / "other"
    other.mkdir()
    write_scenario(other, SCENARIO.replace("name: start", "name: elsewhere"))
    found = collect([folder, other])
    assert [file for file, _ in found.broken] == [folder / "requirements.yaml"]
    assert [s.name for s in found.scenarios] == ["elsewhere"]


# ---- the command line and the pytest plugin -----------------------------------------------------


def test_run_exits_non_zero_with_the_located_message(tmp_path):
    text = SCENARIO.replace("    requirement: R1\n", "    requirement: R7\n")
    folder = suite(tmp_path, scenario=text)
    result = run_cli("run", str(folder), "-j", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    line = line_of(text, "requirement: R7")
    assert (
        f"{folder / 'start.yaml'}:{line}: checks[0].requirement: unknown requirement 'R7'"
        in result.stderr
    )
    bad = GOOD.replace("category: safety", "category: safty")
    (folder / "requirements.yaml").write_text(bad)
    result = run_cli("run", str(folder), "-j", "1")
    assert result.returncode == 2
    where = f"{folder / 'requirements.yaml'}:{line_of(bad, 'safty')}: requirements[1].category"
    assert f"{where}: 'safty' is not one of: function, safety, performance" in result.stderr


def test_check_validates_scenarios_and_requirements_files(tmp_path):
    folder = suite(tmp_path)
    result = run_cli("check", str(folder))
    assert result.returncode == 0, result.stderr
    assert f"ok {folder / 'requirements.yaml'}: 2 requirements" in result.stdout
    assert f"ok {folder / 'start.yaml'}: 1 case" in result.stdout
    text = SCENARIO.replace("[R1, R2]", "[R1, R5]")
    write_scenario(folder, text, "start.yaml")
    result = run_cli("check", str(folder / "start.yaml"))
    assert result.returncode == 1
    line = line_of(text, "requirements:")
    assert f"start.yaml:{line}: requirements[1]: unknown requirement 'R5'" in result.stderr
    (folder / "requirements.yaml").write_text(GOOD.replace("title: Start", "titel: Start"))
    result = run_cli("check", str(folder / "requirements.yaml"))
    assert result.returncode == 1
    assert "requirements[0].titel: unknown key 'titel'" in result.stderr


def test_run_warns_once_about_untested_requirements_and_lists_them(tmp_path):
    folder = suite(tmp_path)
    write_scenario(folder, SCENARIO.replace("name: start", "name: again"), "again.yaml")
    out = tmp_path / "results.json"
    result = run_cli("run", str(folder), "-j", "1", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    warning = f"warning: {folder / 'requirements.yaml'}: no check covers R2 (untested)"
    assert result.stderr.count("warning:") == 1 and warning in result.stderr, result.stderr
    run = json.loads(out.read_text())["run"]
    assert run["untested"] == ["R2"]
    assert [r["id"] for r in run["requirements"]] == ["R1", "R2"]
    assert run["requirements"][1] == {
        "id": "R2",
        "title": "Interlock",
        "text": "The pusher never extends while the belt runs.",
        "criterion": "no tick with pusher_extend and conveyor_run TRUE",
        "category": "safety",
        "source": "spec 4.2",
        "file": str((folder / "requirements.yaml").resolve()),
    }
    # Covered by a check: no warning, nothing untested.
    covering = SCENARIO + textwrap.indent(
        "- name: never both\n  requirement: R2\n  interlock:\n"
        "    never: {all: [{tag: pusher_extend}, {tag: conveyor_run}]}\n",
        "  ",
    )
    write_scenario(folder, covering, "again.yaml")
    result = run_cli("run", str(folder), "-j", "1", "--json", str(out))
    # Covered by its tag, whatever its verdict: this one-second run never strokes the
    # pusher, so the interlock is vacuous and the run exits 5 (nothing failed, not proved).
    assert result.returncode == 5, result.stdout + result.stderr
    assert "warning" not in result.stderr
    assert json.loads(out.read_text())["run"]["untested"] == []


def test_the_bundled_suite_finds_its_requirements_by_name(tmp_path):
    out = tmp_path / "results.json"
    result = run_cli("run", "sorting_line", "-k", "r9_speed", "-j", "1", "--json", str(out))
    assert result.returncode == 0, result.stdout + result.stderr
    run = json.loads(out.read_text())["run"]
    assert [r["id"] for r in run["requirements"]] == [f"R{n}" for n in range(1, 14)]
    assert "R9" not in run["untested"] and "R1" in run["untested"]
    (scenario,) = json.loads(out.read_text())["scenarios"]
    assert scenario["provenance"]["requirements"]["path"] == str(
        (SORTING_SUITE / "requirements.yaml").resolve()
    )


def test_the_whole_bundled_suite_covers_every_requirement():
    found = collect([SORTING_SUITE])
    assert not found.broken
    (requirements,) = found.requirements
    assert requirements.untested(found.scenarios) == []


def test_the_pytest_plugin_checks_ids_against_the_suite(pytester: pytest.Pytester) -> None:
    quiet = ("-o", "asyncio_default_fixture_loop_scope=function")
    shutil.copy(SORTING_SUITE / "requirements.yaml", pytester.path / "requirements.yaml")
    shutil.copy(SORTING_SUITE / "r1_start.yaml", pytester.path / "r1_start.yaml")
    text = (SORTING_SUITE / "r1_start.yaml").read_text()
    # The copy sits elsewhere: point it at the bundled model.
    text = text.replace("model: ../../plant_models/sorting_line", f"model: {SORTING_LINE}")
    (pytester.path / "r1_start.yaml").write_text(text)
    result = pytester.runpytest(*quiet)
    result.assert_outcomes(passed=1)
    (pytester.path / "r1_start.yaml").write_text(
        text.replace("requirement: R9", "requirement: R99")
    )
    result = pytester.runpytest(*quiet)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ["*r1_start.yaml:*checks[[]1[]].requirement: unknown requirement 'R99'*"]
    )


def test_the_pytest_plugin_collects_the_bundled_suite_with_its_requirements(
    pytester: pytest.Pytester,
) -> None:
    quiet = ("-o", "asyncio_default_fixture_loop_scope=function")
    result = pytester.runpytest(*quiet, str(SORTING_SUITE), "--collect-only", "-q")
    assert result.ret == 0, result.stdout.str()
    result.stdout.fnmatch_lines(["*r9_speed.yaml::R9 belt speed*"])
    assert "error" not in result.stdout.str().lower()
