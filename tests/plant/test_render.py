"""``vcommission render``: real pybullet TinyRenderer pictures of real models.

The picture must show the machine (not a blank floor), put labels where the bodies are,
change where a component moves, come out the same twice, and the command must refuse bad
arguments.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.helpers import SORTING_LINE, run_cli
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.plant.render import View, render
from vcommission.simulator import Simulator

SIZE = (320, 200)


@pytest.fixture(scope="module")
def plant():
    with Plant(load_model(SORTING_LINE)) as plant:
        yield plant


def test_the_picture_shows_the_machine_and_labels_every_placed_component(plant):
    rendering = render(plant, View.ISO, *SIZE)
    assert rendering.rgb.shape == (SIZE[1], SIZE[0], 3)
    floor = rendering.rgb[0, 0]
    machine = np.any(np.abs(rendering.rgb.astype(int) - floor) > 30, axis=2)
    assert 0.03 < machine.mean() < 0.9  # something drawn, not everything
    labelled = {name for name, *_ in rendering.labels}
    assert {"belt", "pusher", "bin_tall", "bin_small", "pe_entry", "infeed"} <= labelled
    assert {name for name, _ in rendering.unplaced} == {
        "start_pb", "stop_pb", "reset_pb", "estop", "stack_light"
    }  # fmt: skip
    for _name, _kind, x, y in rendering.labels:
        assert 0 <= x <= SIZE[0] and 0 <= y <= SIZE[1]
    assert len(rendering.beams) == 4 and not any(blocked for *_, blocked in rendering.beams)


def test_the_same_plant_renders_the_same_pixels(plant):
    first = render(plant, View.TOP, *SIZE)
    assert np.array_equal(first.rgb, render(plant, View.TOP, *SIZE).rgb)
    assert not np.array_equal(first.rgb, render(plant, View.FRONT, *SIZE).rgb)


def test_pixels_change_where_the_pusher_moves():
    with Plant(load_model(SORTING_LINE)) as plant:
        sim = Simulator(plant)
        before = render(plant, View.TOP, *SIZE).rgb
        sim.image.stage("pusher_extend", True)
        sim.run_for(1.5)  # a full stroke
        after = render(plant, View.TOP, *SIZE).rgb
    changed = np.any(before != after, axis=2)
    assert 0 < changed.mean() < 0.2  # the plate moved; the rest stood still


def test_render_writes_a_png_and_refuses_bad_arguments(tmp_path):
    output = tmp_path / "pictures" / "line.png"
    result = run_cli("render", "sorting_line", "-o", str(output), "--size", "320x200")
    assert result.returncode == 0, result.stderr
    assert output.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = tmp_path / "again.png"
    run_cli("render", "sorting_line", "-o", str(again), "--size", "320x200")
    assert again.read_bytes() == output.read_bytes()  # deterministic, no date in the file
    assert run_cli("render", "sorting_line", "--size", "big").returncode == 3
    assert run_cli("render", "sorting_line", "--view", "side").returncode == 3
    result = run_cli("render", "sorting_line", "-o", str(tmp_path / "line.jpg"))
    assert result.returncode == 3 and ".png" in result.stderr
