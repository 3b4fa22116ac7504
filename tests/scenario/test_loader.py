"""The scenario loader: every problem located by file, line and YAML path; matrix cases.

Each bad file holds one mistake (the loader lists every problem of a file at once, but a file
that does not parse as a scenario stops before its names are checked against the model). The
line is that of the offending node: counted here from the text, so the tests read as the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import SORTING_LINE, SORTING_ST, write_model, write_scenario
from vcommission.errors import ConfigError, ConfigIssue
from vcommission.scenario.collect import find_scenario_files as find_scenarios
from vcommission.scenario.collect import load_cases
from vcommission.scenario.loader import load_scenarios

HEAD = f"name: t\nmodel: {SORTING_LINE}\nduration: 2\n"
CHECK = "checks:\n  - final_state: {max_in_flight: 10}\n"


def issues(path: Path, plc: Path | None = None) -> list[ConfigIssue]:
    with pytest.raises(ConfigError) as info:
        load_scenarios(path, plc)
    return info.value.issues


def line_of(text: str, needle: str) -> int:
    """1-based line of the first line holding ``needle``."""
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def only_issue(tmp_path: Path, text: str) -> ConfigIssue:
    path = write_scenario(tmp_path, text)
    (issue,) = issues(path)
    assert issue.file == str(path)
    return issue


def assert_located(issue: ConfigIssue, text: str, needle: str, yaml_path: str, message: str):
    line = line_of(text, needle)
    assert (issue.line, issue.path, issue.message) == (line, yaml_path, message)
    assert str(issue) == f"{issue.file}:{line}: {yaml_path}: {message}"


# ---- the file as YAML: unknown keys, wrong types ---------------------------------------------


@pytest.mark.parametrize(
    ("body", "needle", "yaml_path", "message"),
    [
        ("sede: 3\n" + CHECK, "sede", "sede", "unknown key 'sede' (did you mean 'seed'?)"),
        (
            "steps:\n  - hodl: 1\n" + CHECK,
            "hodl",
            "steps[0].hodl",
            "unknown key 'hodl' (did you mean 'hold'?)",
        ),
        (
            "steps:\n  - pulse: {tag: start_pb.pressed, fro: 0.2}\n" + CHECK,
            "fro",
            "steps[0].pulse.fro",
            "unknown key 'fro' (did you mean 'for'?)",
        ),
        (
            CHECK + "  - interlock: {nevr: {tag: pe_entry}}\n",
            "nevr",
            "checks[1].interlock.nevr",
            "unknown key 'nevr' (did you mean 'never'?)",
        ),
    ],
)
def test_an_unknown_key_suggests_the_closest(tmp_path, body, needle, yaml_path, message):
    text = HEAD + body
    assert_located(only_issue(tmp_path, text), text, needle, yaml_path, message)


@pytest.mark.parametrize(
    ("body", "needle", "yaml_path", "message"),
    [
        (
            "steps:\n  - hold: soon\n" + CHECK,
            "soon",
            "steps[0].hold",
            "expected a number, got string 'soon'",
        ),
        ("requirements: R1\n" + CHECK, "R1", "requirements", "expected a list, got string 'R1'"),
        (
            "clock: slow\n" + CHECK,
            "slow",
            "clock",
            "'slow' is not one of: fast, realtime",
        ),
        ("steps: 3\n" + CHECK, "steps", "steps", "expected a list, got number 3"),
    ],
)
def test_a_value_of_the_wrong_type(tmp_path, body, needle, yaml_path, message):
    text = HEAD + body
    assert_located(only_issue(tmp_path, text), text, needle, yaml_path, message)


def test_a_duplicate_key_points_at_both(tmp_path):
    text = HEAD + "duration: 3\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert (issue.line, issue.path) == (4, "duration")
    assert issue.message == "duplicate key 'duration' (first at line 3)"


def test_a_step_with_two_actions(tmp_path):
    text = HEAD + "steps:\n  - {hold: 1, until: 2}\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, "until"), "steps[0]")
    assert issue.message.startswith("a step needs exactly one of: hold, until, set, pulse")
    assert issue.message.endswith("(found: hold, until)")


def test_a_scenario_without_checks_or_name(tmp_path):
    issue = only_issue(tmp_path, HEAD)
    assert (issue.line, issue.path) == (1, "")
    assert issue.message == "a scenario needs at least one check (what would it verify?)"
    issue = only_issue(tmp_path, HEAD.replace("name: t\n", "") + CHECK)
    assert (issue.line, issue.path, issue.message) == (1, "", "missing required key 'name'")


def test_a_file_that_is_not_yaml_or_not_a_mapping(tmp_path):
    issue = only_issue(tmp_path, "name: t\nmodel: [\n")
    assert issue.line == 3 and issue.message.startswith("invalid YAML:")
    issue = only_issue(tmp_path, "- a\n- b\n")
    assert (issue.line, issue.path, issue.message) == (1, "", "expected a mapping, got a list")


def test_every_problem_of_a_file_is_listed_at_once(tmp_path):
    text = HEAD + "steps:\n  - hold: soon\n  - pulse: {tag: start_pb.pressed, fro: 0.2}\n" + CHECK
    found = issues(write_scenario(tmp_path, text))
    assert [(i.line, i.path) for i in found] == [(5, "steps[0].hold"), (6, "steps[1].pulse.fro")]


# ---- names checked against the model ---------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "yaml_path", "message"),
    [
        (
            "set: {tag: conveyor_rnu, value: true}",
            "steps[0].set.tag",
            "unknown tag 'conveyor_rnu' (did you mean conveyor_run?)",
        ),
        (
            "pulse: {tag: zzzzqqq}",
            "steps[0].pulse.tag",
            "unknown tag 'zzzzqqq' (see `vcommission io-list MODEL --all`)",
        ),
        (
            "wait: {until: {tag: pe_entyr}, timeout: 1}",
            "steps[0].wait.until",
            "unknown tag 'pe_entyr' (did you mean pe_entry or pe_exit?)",
        ),
    ],
)
def test_an_unknown_tag(tmp_path, step, yaml_path, message):
    text = HEAD + f"steps:\n  - {step}\n" + CHECK
    assert_located(only_issue(tmp_path, text), text, step, yaml_path, message)


def test_an_unknown_tag_in_a_check_condition(tmp_path):
    text = HEAD + "checks:\n  - interlock:\n      never: {tag: pe_entyr}\n"
    issue = only_issue(tmp_path, text)
    message = "unknown tag 'pe_entyr' (did you mean pe_entry or pe_exit?)"
    assert_located(issue, text, "pe_entyr", "checks[0].interlock.never", message)


def test_a_bad_condition_deep_inside_another_is_located_where_it_is(tmp_path):
    text = (
        HEAD
        + "checks:\n  - interlock:\n      never:\n        all:\n"
        + "          - {tag: pusher_extend}\n          - {rising: speed_sp}\n"
    )
    found = issues(write_scenario(tmp_path, text))
    message = "rising needs a BOOL tag; speed_sp is a number (use changed)"
    here = (line_of(text, "rising"), "checks[0].interlock.never.all[1]", message)
    assert here in [(i.line, i.path, i.message) for i in found]


@pytest.mark.parametrize("step", ["set: {tag: pe_entry, value: true}", "pulse: {tag: pe_exit}"])
def test_writing_a_sensor_is_refused(tmp_path, step):
    text = HEAD + f"steps:\n  - {step}\n" + CHECK
    issue = only_issue(tmp_path, text)
    action = step.split(":", 1)[0]
    tag = "pe_entry" if "pe_entry" in step else "pe_exit"
    message = f"{tag} is a sensor: use a fault to change it"
    assert_located(issue, text, step, f"steps[0].{action}.tag", message)


def test_an_unknown_part_variant(tmp_path):
    text = HEAD + "steps:\n  - spawn: {variant: hueg}\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert_located(issue, text, "hueg", "steps[0].spawn.variant", "unknown part variant 'hueg'")


def test_an_unknown_spawner(tmp_path):
    text = HEAD + "steps:\n  - spawn: {variant: small, spawner: nope}\n" + CHECK
    issue = only_issue(tmp_path, text)
    message = "no spawner named 'nope' (['infeed'])"
    assert_located(issue, text, "nope", "steps[0].spawn.spawner", message)


TWO_SPAWNERS = """\
name: m
parts:
  box: {size: [0.2, 0.2, 0.1]}
components:
  belt: {kind: belt_conveyor, start: [0, 0, 0.8], length: 2.0, width: 0.4}
  feed: {kind: spawner, position: [0.2, 0, 0.8], interval: 2.0, mix: {box: 1}}
  feed2: {kind: spawner, position: [1.2, 0, 0.8], interval: 2.0, mix: {box: 1}}
"""


def test_a_spawn_must_name_its_spawner_when_the_model_has_several(tmp_path):
    write_model(tmp_path / "m2", TWO_SPAWNERS)
    text = f"name: t\nmodel: m2\nplc: {{st: {SORTING_ST}}}\nduration: 1\n"
    text += "steps:\n  - spawn: {variant: box}\n" + CHECK
    issue = only_issue(tmp_path, text)
    message = "name the spawner: the model has 2 (['feed', 'feed2'])"
    assert_located(issue, text, "spawn:", "steps[0].spawn", message)


# ---- faults ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        (
            "{kind: sensor_stuck, tag: conveyor_run, value: true}",
            "sensor_stuck needs a sensor output: 'conveyor_run' (to_plant) is a PLC output; "
            "use actuator_stuck or wire_break",
        ),
        (
            "{kind: sensor_stuck, tag: pe_entyr, value: true}",
            "unknown signal 'pe_entyr' (did you mean pe_entry, pe_exit?)",
        ),
        (
            "{kind: sensor_stuck, tag: pe_entry, value: 7}",
            "value: pe_entry: BOOL needs true/false, got 7",
        ),
        (
            "{kind: actuator_stuck, tag: pe_entry, value: true}",
            "actuator_stuck needs an actuator command: 'pe_entry' (from_plant) is a sensor output; "
            "use sensor_stuck",
        ),
        (
            "{kind: wire_break, tag: start_pb.pressed}",
            "wire_break needs a PLC input or output (a wire): 'start_pb.pressed' (operator) "
            "is not PLC I/O",
        ),
        (
            "{kind: belt_slip, component: belts, factor: 0.5}",
            "component: no component 'belts' (did you mean 'belt'?)",
        ),
        (
            "{kind: belt_slip, component: pusher, factor: 0.5}",
            "belt_slip needs a belt_conveyor: 'pusher' is a cylinder",
        ),
        ("{kind: sensor_stuck, tag: pe_entry}", "fault sensor_stuck needs value"),
    ],
)
def test_a_fault_on_the_wrong_target(tmp_path, fault, message):
    text = HEAD + f"steps:\n  - fault: {fault}\n" + CHECK
    assert_located(only_issue(tmp_path, text), text, fault, "steps[0].fault", message)


def test_an_unknown_fault_kind(tmp_path):
    text = HEAD + "steps:\n  - fault: {kind: sensor_stcuk, tag: pe_entry}\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert (issue.line, issue.path) == (5, "steps[0].fault.kind")
    assert issue.message.startswith("'sensor_stcuk' is not one of: sensor_stuck, sensor_chatter")


def test_clear_names_a_fault_injected_before_by_id_or_kind(tmp_path):
    steps = "steps:\n  - fault: {kind: wire_break, id: w, tag: pe_entry}\n  - clear: w\n"
    (scenario,) = load_scenarios(write_scenario(tmp_path, HEAD + steps + CHECK))
    assert [s.action for s in scenario.spec.steps] == ["fault", "clear"]
    text = HEAD + steps + "  - clear: wire_break\n" + CHECK  # it has an id: the kind is no name
    message = "no fault named 'wire_break' is injected"
    assert_located(only_issue(tmp_path, text), text, "clear: wire_break", "steps[2].clear", message)


# ---- model and program -----------------------------------------------------------------------


def test_a_model_that_does_not_load(tmp_path):
    text = "name: t\nmodel: nowhere\nduration: 2\n" + CHECK
    issue = only_issue(tmp_path, text)
    message = f"model nowhere does not load: {tmp_path / 'nowhere'}: file not found"
    assert_located(issue, text, "nowhere", "model", message)


def test_a_missing_st_program(tmp_path):
    text = HEAD + "plc: {st: nope.st}\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert_located(issue, text, "nope.st", "plc.st", f"no such ST program: {tmp_path / 'nope.st'}")


def test_no_program_when_the_model_has_none_and_none_is_given(tmp_path):
    write_model(tmp_path / "m2", TWO_SPAWNERS)
    text = "name: t\nmodel: m2\nduration: 1\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert (issue.line, issue.path) == (2, "model")
    assert issue.message.startswith("no PLC program given (plc: st: FILE, or --plc) and ")
    # --plc (or an external PLC) supplies one.
    (scenario,) = load_scenarios(tmp_path / "s.yaml", plc=SORTING_ST)
    assert scenario.program_path == SORTING_ST


def test_paths_are_resolved_from_the_scenario_file(tmp_path):
    (scenario,) = load_scenarios(write_scenario(tmp_path, HEAD + CHECK))
    assert scenario.model_path == SORTING_LINE
    assert scenario.program_path == SORTING_ST  # the one .st file of the model's plc/ folder
    external = HEAD + "plc: {external: {link: modbus}}\n" + CHECK
    (scenario,) = load_scenarios(write_scenario(tmp_path, external))
    assert scenario.program_path is None


# ---- the matrix and $name placeholders -------------------------------------------------------

MATRIX = (
    HEAD
    + "matrix:\n  seed: [1, 2]\n  belt: [300, 500]\n  flag: [true, false]\n  tag: [conveyor_run]\n"
    + "steps:\n  - set: {tag: speed_sp, value: $belt}\n  - set: {tag: $tag, value: $flag}\n"
    + "  - set: {tag: light_red, value: $nope}\n"
    + CHECK
)


def test_a_matrix_gives_one_scenario_per_combination_in_file_order(tmp_path):
    scenarios = load_scenarios(write_scenario(tmp_path, MATRIX))
    assert [s.name for s in scenarios[:3]] == [
        "t [seed=1, belt=300, flag=True, tag=conveyor_run]",
        "t [seed=1, belt=300, flag=False, tag=conveyor_run]",
        "t [seed=1, belt=500, flag=True, tag=conveyor_run]",
    ]
    assert len(scenarios) == 8 and len({s.id for s in scenarios}) == 8
    assert [s.seed for s in scenarios] == [1, 1, 1, 1, 2, 2, 2, 2]
    assert scenarios[-1].params == {"seed": 2, "belt": 500, "flag": False, "tag": "conveyor_run"}


def test_placeholders_take_the_case_s_value_with_its_yaml_type(tmp_path):
    scenarios = load_scenarios(write_scenario(tmp_path, MATRIX))
    sets = [[step.set for step in s.spec.steps] for s in scenarios]
    assert [(a.tag, a.value) for a in sets[1]] == [
        ("speed_sp", 300),
        ("conveyor_run", False),
        ("light_red", "$nope"),  # not a matrix name: the text stays as written
    ]
    assert {type(s[0].value) for s in sets} == {int}
    assert {s[1].value for s in sets} == {True, False}


def test_the_seed_of_a_case_overrides_the_file_s(tmp_path):
    text = HEAD + "seed: 9\nmatrix: {seed: [3]}\n" + CHECK
    (scenario,) = load_scenarios(write_scenario(tmp_path, text))
    assert scenario.seed == 3 and scenario.name == "t [seed=3]"
    (plain,) = load_scenarios(write_scenario(tmp_path, HEAD + "seed: 9\n" + CHECK))
    assert plain.seed == 9 and plain.params == {} and plain.name == "t"


def test_a_seed_from_the_command_line_replaces_the_matrix_seed_axis(tmp_path):
    cases = load_cases(write_scenario(tmp_path, MATRIX), seed=7)
    # Four cases, not eight: those that differed only in seed are one now, named truly.
    assert len(cases) == 4 and {c.seed for c in cases} == {7}
    assert cases[0].name == "t [seed=7, belt=300, flag=True, tag=conveyor_run]"
    assert all(c.params["seed"] == 7 for c in cases)
    (plain,) = load_cases(write_scenario(tmp_path, HEAD + "seed: 9\n" + CHECK), seed=7)
    assert plain.seed == 7 and plain.name == "t"


def test_a_bad_placeholder_value_is_located_at_the_placeholder(tmp_path):
    text = (
        HEAD + "matrix:\n  t: [pe_entyr, conveyor_run]\nsteps:\n  - set: {tag: $t, value: true}\n"
    )
    text += CHECK
    message = "unknown tag 'pe_entyr' (did you mean pe_entry or pe_exit?)"
    assert_located(only_issue(tmp_path, text), text, "$t", "steps[0].set.tag", message)
    text = HEAD + "matrix:\n  h: [1, soon]\nsteps:\n  - hold: $h\n" + CHECK
    message = "expected a number, got string 'soon'"
    assert_located(only_issue(tmp_path, text), text, "$h", "steps[0].hold", message)


def test_a_problem_every_case_shares_is_reported_once(tmp_path):
    text = HEAD + "matrix:\n  seed: [1, 2, 3]\nsteps:\n  - set: {tag: nope, value: true}\n" + CHECK
    issue = only_issue(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, "nope"), "steps[0].set.tag")


@pytest.mark.parametrize(
    ("matrix", "needle", "yaml_path", "message"),
    [
        ("  belt: []\n", "belt", "matrix.belt", "needs at least one value"),
        ("  seed: [1, -2]\n", "seed", "matrix.seed", "seeds are integers >= 0"),
        ("  seed: [1, fast]\n", "seed", "matrix.seed", "seeds are integers >= 0"),
        ("  belt: 300\n", "belt", "matrix.belt", "expected a list, got number 300"),
    ],
)
def test_a_bad_matrix(tmp_path, matrix, needle, yaml_path, message):
    text = HEAD + "matrix:\n" + matrix + CHECK
    assert_located(only_issue(tmp_path, text), text, needle, yaml_path, message)


# ---- finding files ---------------------------------------------------------------------------


def test_find_scenarios_takes_yaml_below_folders_but_no_model_files(tmp_path):
    for name in ("b.yaml", "a.yml", "sub/c.yaml", "model.yaml", "notes.txt"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    for skipped in ("node_modules", ".git", "__pycache__"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "x.yaml").write_text("")
    given = tmp_path / "notes.txt"
    found = find_scenarios([tmp_path, given])
    assert found == [tmp_path / "a.yml", tmp_path / "b.yaml", tmp_path / "sub" / "c.yaml", given]
