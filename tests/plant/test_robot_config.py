"""Bad robot input is located: file:line: path: message, exit 1 from check, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import run_cli, write_model
from tests.plant.robot_helpers import Plc
from vcommission.config.model import load_model
from vcommission.errors import ConfigError

BASE = """\
name: cell
components:
  fixture: {kind: obstacle, position: [0.6, 0.0, 0.1], size: [0.2, 0.2, 0.2]}
  arm:
    kind: robot
    urdf: URDF
    points:
      home: {joints: [0, 30, 0, -60, 0, 60, 0]}
      pick: {xyz: [0.0, 0.0, 0.15], frame: fixture}
    jobs:
      1:
        name: pick
        steps:
          - {ptp: pick}
          - {lin: pick, offset: [0, 0, 0.1]}
"""


def _model(tmp_path, replace: dict[str, str] | None = None, urdf="kuka_iiwa/model.urdf"):
    text = BASE.replace("URDF", urdf)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    return write_model(tmp_path / "m", text)


def _issue(path) -> tuple[int, str, str]:
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    (issue,) = exc.value.issues
    return issue.line, issue.path, issue.message


def _line_of(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_the_base_model_loads_and_solves_its_points_in_the_fixture_frame(tmp_path):
    model = load_model(_model(tmp_path))
    (_, arm) = model.instantiate()
    tcp = arm.tcp_pose(arm.targets["pick"].q)[:3, 3]
    assert tcp.tolist() == pytest.approx([0.6, 0.0, 0.25], abs=1e-4)


def test_an_unreachable_teach_point(tmp_path):
    path = _model(tmp_path, {"pick: {xyz: [0.0, 0.0, 0.15]": "pick: {xyz: [2.5, 0.0, 0.15]"})
    line, where, message = _issue(path)
    assert (line, where) == (_line_of(path, "pick: {xyz"), "components.arm.points.pick")
    assert "not reachable" in message and "[3.1, 0.0, 0.25] (world)" in message


def test_a_teach_point_beyond_a_joint_limit(tmp_path):
    path = _model(tmp_path, {"[0, 30, 0, -60, 0, 60, 0]": "[0, 30, 0, -160, 0, 60, 0]"})
    line, where, message = _issue(path)
    assert where == "components.arm.points.home.joints[3]"
    assert line == _line_of(path, "home:")
    assert "lbr_iiwa_joint_4 = -160" in message and "outside its limits" in message


def test_an_unknown_joint_in_limits(tmp_path):
    limits = "    limits:\n      elbow: {velocity: 90}\n    points:\n"
    path = _model(tmp_path, {"    points:\n": limits})
    line, where, message = _issue(path)
    assert (line, where) == (_line_of(path, "elbow"), "components.arm.limits.elbow")
    assert "unknown joint 'elbow'" in message and "lbr_iiwa_joint_1" in message


def test_a_job_naming_a_missing_point(tmp_path):
    path = _model(tmp_path, {"- {lin: pick,": "- {lin: pik,"})
    line, where, message = _issue(path)
    assert (line, where) == (_line_of(path, "lin: pik"), "components.arm.jobs.1.steps[1].lin")
    assert "no teach point or pallet 'pik'" in message


def test_an_unknown_frame(tmp_path):
    path = _model(tmp_path, {"frame: fixture": "frame: fixtures"})
    _, where, message = _issue(path)
    assert where == "components.arm.points.pick.frame"
    assert "frame 'fixtures'" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "not found"),
        ("<robot name='x'><link name='a'/>", "not valid XML"),
        ("<robot name='x'><link name='a'/></robot>", "no movable joint"),
        (
            "<robot name='x'><link name='a'><collision><geometry><mesh filename='arm.stl'/>"
            "</geometry></collision></link></robot>",
            "link 'a': mesh 'arm.stl' not found",
        ),
    ],
)
def test_a_urdf_that_does_not_load(tmp_path, content, expected):
    if content is not None:
        (tmp_path / "m").mkdir()
        (tmp_path / "m" / "bad.urdf").write_text(content)
    path = _model(tmp_path, urdf="bad.urdf")
    line, where, message = _issue(path)
    assert (line, where) == (_line_of(path, "urdf:"), "components.arm.urdf")
    assert expected in message


def test_check_reports_bad_robot_input_located_with_exit_1(tmp_path):
    path = _model(tmp_path, {"- {lin: pick,": "- {lin: pik,"})
    done = run_cli("check", str(path))
    assert done.returncode == 1, done.stdout + done.stderr
    output = done.stdout + done.stderr
    line = _line_of(path, "lin: pik")
    assert f"{path}:{line}: components.arm.jobs.1.steps[1].lin: no teach point" in output
    assert "Traceback" not in output


def test_steps_need_exactly_one_action(tmp_path):
    path = _model(tmp_path, {"- {ptp: pick}": "- {ptp: pick, wait: 1}"})
    _, where, message = _issue(path)
    assert where == "components.arm.jobs.1.steps[0]"
    assert "exactly one of" in message


def test_a_grip_step_needs_a_tool(tmp_path):
    path = _model(tmp_path, {"- {ptp: pick}": "- {grip: true}"})
    _, where, message = _issue(path)
    assert where == "components.arm.jobs.1.steps[0].grip"
    assert "needs a 'tool'" in message


def test_loading_a_robot_model_does_not_import_pybullet(tmp_path):
    path = _model(tmp_path)
    script = f"""
import sys
from vcommission.config.model import load_model
model = load_model({str(path)!r})
(_, arm) = model.instantiate()
assert arm.targets["pick"].q.shape == (7,)
print(",".join(m for m in ("pybullet", "pybullet_utils") if m in sys.modules) or "none")
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == "none"


LINE = """\
name: cell
components:
  arm:
    kind: robot
    urdf: kuka_iiwa/model.urdf
    points:
      home: {joints: [0, 30, 0, -60, 0, 60, 0]}
      front: {xyz: [0.5, 0.0, 0.3]}
      behind: {xyz: [-0.5, 0.0, 0.3]}
    jobs:
      1: {steps: [{ptp: front}, {lin: behind}]}
"""


def test_a_line_through_the_robot_base_is_refused_at_load_time(tmp_path):
    path = write_model(tmp_path / "m", LINE)
    line, where, message = _issue(path)
    assert where == "components.arm.jobs.1.steps[1].lin"
    assert line == _line_of(path, "lin: behind")
    assert "the line to 'behind'" in message and "(world)" in message


def test_a_line_from_where_the_last_job_left_the_arm_faults_at_run_time(rig):
    # Job 2 starts wherever the arm is: its line can only be checked when it starts.
    split = LINE.replace(
        "1: {steps: [{ptp: front}, {lin: behind}]}",
        "1: {steps: [{ptp: front}]}\n      2: {steps: [{lin: behind}]}",
    )
    plc = Plc(rig(split.removeprefix("name: cell\n")))
    plc.power_up()
    plc.run_job(1)
    q = plc.joints()
    plc.start(2)
    assert plc["stopmess"] and plc["fault_code"] in (1, 2) and not plc["appl_run"]
    assert plc.joints() == pytest.approx(q)  # it never moved
    plc.pulse("conf_mess")
    assert plc["rob_rdy"] and plc["pgno_req"] and plc["fault_code"] == 0
