"""``vcommission render --trace FILE --at T`` and ``--camera NAME``; the poses a trace keeps.

One short run of the sorting line (the reference program, a start press, boxes on the belt)
is recorded once for the module; the pictures of two of its moments must show the machine,
differ where the boxes moved, and come out byte-identical for the same inputs.
"""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.helpers import PLANT_MODELS, SORTING_LINE
from vcommission.cli import main
from vcommission.plant.poses import interpolate
from vcommission.scenario.collect import collect
from vcommission.scenario.runner import run_scenario
from vcommission.scenario.trace import FORMAT, FORMAT_POSES, Trace

SIZE = "320x200"

SCENARIO = f"""
name: boxes ride the belt
model: {SORTING_LINE}
duration: 4
steps:
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - interlock:
      never: {{all: [{{tag: pusher_extend}}, {{tag: conveyor_run}}]}}
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    folder = tmp_path_factory.mktemp("moment")
    (folder / "ride.yaml").write_text(SCENARIO)
    (scenario,) = collect([folder / "ride.yaml"]).scenarios
    result = run_scenario(scenario, trace_dir=folder / "traces")
    assert result.trace_file is not None
    return folder, result.trace_file


def _render(capsys, *args):
    code = main(["render", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def _pixels(path):
    import matplotlib.image

    return np.asarray(matplotlib.image.imread(io.BytesIO(path.read_bytes()), format="png"))


def test_a_trace_keeps_the_poses_of_parts_and_moving_bodies(recorded, tmp_path):
    _, trace_file = recorded
    trace = Trace.load(trace_file)
    assert trace.poses is not None
    keys = trace.poses.keys()
    assert "pusher/plate/0" in keys and "part:1" in keys
    again = tmp_path / "again.npz"
    trace.save(again)
    assert Trace.load(again).poses == trace.poses
    first = trace.poses.at(1_000_000_000)["part:1"]
    later = trace.poses.at(3_500_000_000)["part:1"]
    assert later[0] - first[0] > 0.3  # it rode the belt along x
    poses, parts = trace.moment(2_000_000_000)
    assert parts == {1: trace.parts[0]["variant"]} and "part:1" in poses
    # A trace without poses is still written and read as format 1.
    trace.poses = None
    trace.save(again)
    with np.load(again) as data:
        assert FORMAT in str(data["header"]) and "pose_times" not in data.files
    assert Trace.load(again).poses is None
    assert FORMAT_POSES != FORMAT


def test_interpolation_is_linear_between_records_and_holds_after_the_last():
    before = (0, [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    after = (100, [1.0, 2.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.5])
    halfway = interpolate(before, after, 50)
    assert halfway[:3] == [0.5, 1.0, 0.0] and halfway[7] == 0.25
    assert abs(sum(c * c for c in halfway[3:7]) - 1) < 1e-12  # a unit quaternion
    assert interpolate(after, None, 500) == after[1]


def test_pictures_of_two_moments_differ_where_the_boxes_moved(recorded, capsys):
    folder, trace_file = recorded
    early, late, twice = folder / "early.png", folder / "late.png", folder / "twice.png"
    for path, at in ((early, "1.0"), (late, "3.5"), (twice, "3.5")):
        code, text = _render(
            capsys, str(SORTING_LINE), "--trace", trace_file, "--at", at, "--size", SIZE,
            "--view", "top", "-o", str(path),
        )  # fmt: skip
        assert code == 0, text
    assert "t=3.500 s of boxes ride the belt" in text
    assert late.read_bytes() == twice.read_bytes()  # same inputs, same bytes
    a, b = _pixels(early), _pixels(late)
    floor = a[-1, -1]
    assert np.any(np.abs(a - floor) > 0.1, axis=2).mean() > 0.03  # not blank
    changed = np.any(a != b, axis=2)
    assert 0.001 < changed.mean() < 0.3  # the boxes moved, the machine stood


def test_render_from_a_model_camera(capsys, tmp_path):
    output = tmp_path / "camera.png"
    code, text = _render(
        capsys, str(PLANT_MODELS / "pick_and_place"), "--camera", "camera", "--size", SIZE,
        "-o", str(output),
    )  # fmt: skip
    assert code == 0, text
    assert "camera camera" in text
    assert _pixels(output).shape[:2] == (200, 320)
    code, text = _render(capsys, "pick_and_place", "--camera", "nowhere", "-o", str(output))
    assert code == 3 and "cameras: camera" in text


def test_render_refuses_what_does_not_fit(recorded, capsys, tmp_path):
    _, trace_file = recorded
    out = str(tmp_path / "x.png")
    code, text = _render(capsys, "sorting_line", "--at", "1", "-o", out)
    assert code == 3 and "--at needs --trace" in text
    code, text = _render(capsys, "sorting_line", "--camera", "c", "--view", "top", "-o", out)
    assert code == 3
    code, text = _render(capsys, "sorting_line", "--trace", trace_file, "--at", "99", "-o", out)
    assert code == 2 and "outside the run" in text
    code, text = _render(capsys, "pick_and_place", "--trace", trace_file, "-o", out)
    assert code == 2 and "another model" in text
    old = tmp_path / "old.npz"
    trace = Trace.load(trace_file)
    trace.poses = None
    trace.save(old)
    code, text = _render(capsys, "sorting_line", "--trace", str(old), "-o", out)
    assert code == 2 and "keeps no poses" in text
