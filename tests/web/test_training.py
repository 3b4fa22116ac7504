"""The training session without a browser: an exercise scored end to end, instructor faults.

The exercise runs in virtual time (``fast``): the trainee's presses are the same calls the web
page's requests make, so the verdicts are the trainee's, without waiting 90 s of wall time.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vcommission import load_model
from vcommission.errors import ConfigError
from vcommission.plc import compile_program
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.trace import Trace, TraceRecorder
from vcommission.session import SessionBuilder
from vcommission.training import TrainingError, TrainingSession

ROOT = Path(__file__).resolve().parents[2]
EXERCISES = ROOT / "plant_models" / "sorting_line" / "exercises"
TRAINEE = "trainee-1"


def exercise_session(name: str, results: Path | None) -> TrainingSession:
    scenario = load_scenarios(EXERCISES / f"{name}.yaml")[0]
    model = load_model(scenario.model_path)
    assert scenario.program_path is not None
    program = compile_program(scenario.program_path, model)
    builder = SessionBuilder(model, seed=scenario.seed).recorder(TraceRecorder).plc(program)
    return TrainingSession(builder.build(), scenario, results)


def click(training: TrainingSession, tag: str) -> None:
    """A browser click: press and release within the same tick (the session holds it 0.1 s)."""
    training.press(TRAINEE, tag, True)
    training.press(TRAINEE, tag, False)
    training.run_for(0.2)


def run_until(training: TrainingSession, done, limit_s: float) -> None:
    end = training.now_s + limit_s
    while not done():
        assert training.now_s < end, "never happened"
        training.run_for(0.1)


def test_a_trainee_who_recovers_from_the_jam_passes_and_the_results_are_written(tmp_path):
    results = tmp_path / "jam.json"
    training = exercise_session("jam_recovery", results)
    with training.session:
        click(training, "start_pb.pressed")
        assert training.plant.image["conveyor_run"] is True
        run_until(training, lambda: "stack_light.red" in training.alarms, 40)
        # The script's jam was hidden from the trainee: only the PLC's red lamp says so.
        assert not any(key.startswith("fault:") for key in training.alarms)
        training.run_for(1.5)  # the script takes the obstacle away; the box stays
        assert training.plant.image["pe_exit"] is True
        assert training.take_off(TRAINEE, "pe_exit") >= 1
        training.run_for(0.3)
        click(training, "reset_pb.pressed")
        click(training, "start_pb.pressed")
        assert training.plant.image["conveyor_run"] is True
        training.run_for(4)
        # Scored on demand (the instructor's "score" button); at 90 s it would score itself.
        training.finish()
    document = json.loads(results.read_text())
    (scenario,) = document["scenarios"]
    verdicts = {check["name"]: check["verdict"] for check in scenario["checks"]}
    assert verdicts == {
        "the line is restarted within 60 s of the jam": "passed",
        "reset is pressed only once the jammed box is off the exit beam": "passed",
        "no box missorted": "passed",
        "fault exit_jam": "passed",
    }
    assert scenario["verdict"] == "passed"
    assert 20 < scenario["virtual_s"] < 40
    trace = Trace.load(scenario["trace_file"])
    assert trace.changes_of("start_pb.pressed")[:2] == [
        (trace.changes_of("start_pb.pressed")[0][0], True),
        (trace.changes_of("start_pb.pressed")[0][0] + 100_000_000, False),
    ]
    whats = [entry.what for entry in training.timeline]
    assert "took 1 box off at pe_exit" in whats or any("off at pe_exit" in w for w in whats)
    assert any(w.startswith("alarm: stack_light: red lamp on") for w in whats)


def test_a_trainee_who_resets_on_a_blocked_beam_fails():
    training = exercise_session("jam_recovery", None)
    with training.session:
        click(training, "start_pb.pressed")
        run_until(training, lambda: "stack_light.red" in training.alarms, 40)
        click(training, "reset_pb.pressed")  # the box is still under pe_exit
        result = training.finish()  # the instructor scores it now
    verdicts = {check.name: check.verdict.value for check in result.checks}
    assert verdicts["reset is pressed only once the jammed box is off the exit beam"] == "failed"
    assert result.verdict.value == "failed"
    assert training.finished


def test_instructor_faults_use_the_scenario_fault_library_with_located_errors():
    training = exercise_session("estop_drill", None)
    with training.session:
        with pytest.raises(ConfigError, match=r"^instructor:2: positon: unknown key 'positon'"):
            training.inject("kind: jam\npositon: [3.9, 0, 0.8]")
        with pytest.raises(ConfigError, match="instructor:1: kind: 'jammed' is not one of"):
            training.inject("kind: jammed")
        with pytest.raises(ConfigError, match="sensor output"):
            training.inject("kind: sensor_stuck\ntag: conveyor_run\nvalue: true")
        name = training.inject("{kind: sensor_stuck, tag: pe_tall, value: true}", hidden=True)
        assert name == "sensor_stuck"
        training.run_for(0.05)
        assert training.plant.image["pe_tall"] is True
        assert training.alarm_list() == []  # hidden from the trainee
        training.inject("{kind: belt_slip, component: belt, factor: 0.5, id: slip}")
        training.run_for(0.05)
        assert [a["id"] for a in training.alarm_list()] == ["fault:slip"]
        with pytest.raises(ConfigError, match="already injected"):
            training.inject("{kind: belt_slip, component: belt, factor: 0.5, id: slip}")
        training.clear("sensor_stuck")
        training.run_for(0.05)
        assert training.plant.image["pe_tall"] is False
        with pytest.raises(TrainingError, match="no fault 'nope' is active"):
            training.clear("nope")
        hidden = [e for e in training.timeline if e.hidden]
        assert any("sensor_stuck" in e.what for e in hidden)


def test_one_client_holds_the_panel_and_a_reset_powers_the_plant_on():
    training = exercise_session("estop_drill", None)
    with training.session:
        training.press("a", "estop.pressed", True)
        with pytest.raises(TrainingError, match="held by a"):
            training.press("b", "estop.pressed", False)
        with pytest.raises(TrainingError, match="not a control"):
            training.press("a", "conveyor_run", True)
        with pytest.raises(TrainingError, match="true or false"):
            training.press("a", "estop.pressed", "yes")
        training.press("a", "start_pb.pressed", True)
        training.take_control("b")  # a's held start button is let go
        training.run_for(0.2)
        assert training.plant.image["start_pb.pressed"] is False
        training.press("b", "estop.pressed", False)
        training.run_for(0.1)
        assert training.plant.image["estop.pressed"] is False
        training.inject("{kind: jam, position: [2.0, 0, 0.8]}")
        with pytest.raises(TrainingError, match="real time"):
            training.set_speed(2)
        training.reset()
        assert training.now_s == 0 and training.run.faults == {}
        assert training.resets == 1


@pytest.mark.realtime
def test_train_scores_the_exercise_when_the_session_stops_in_real_time(tmp_path, capsys):
    from vcommission.cli import main

    results = tmp_path / "drill.json"
    code = main(["train", "sorting_line", "--exercise", str(EXERCISES / "estop_drill.yaml"),
                 "--web", "127.0.0.1:0", "--duration", "0.5", "--json", str(results)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "trainee page:    http://127.0.0.1:" in out
    assert "instructor page: http://127.0.0.1:" in out and "/instructor?token=" in out
    (scenario,) = json.loads(results.read_text())["scenarios"]
    assert scenario["name"] == "e-stop drill"
    # Nobody pressed anything in half a second: the drill was not done.
    verdicts = {check["name"]: check["verdict"] for check in scenario["checks"]}
    assert verdicts["the e-stop stops the line"] == "failed"
    assert scenario["verdict"] == "failed"
    assert scenario["pacing"]["ticks"] >= 40
    assert Path(scenario["trace_file"]).is_file()


@pytest.mark.realtime
def test_serve_web_serves_the_pages_beside_the_protocol_servers(capsys):
    from vcommission.cli import main

    code = main(["serve", "sorting_line", "--modbus", "127.0.0.1:0", "--opcua", "off",
                 "--web", "127.0.0.1:0", "--duration", "0.3"])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert "trainee page:    http://127.0.0.1:" in out and "instructor token: " in out


def test_an_exercise_of_another_model_is_a_located_error(capsys):
    from vcommission.cli import main

    code = main(["train", "pick_and_place", "--exercise", str(EXERCISES / "jam_recovery.yaml"),
                 "--web", "127.0.0.1:0"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1
    assert "jam_recovery.yaml:0: model: the exercise is for" in err
