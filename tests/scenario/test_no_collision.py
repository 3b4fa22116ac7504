"""``no_collision`` over named groups, in a real pybullet cell: static bodies, links, grips.

The cell (:mod:`tests.scenario.collision_kinds`): a two-link URDF arm sweeping its forearm
into a static post, a holder carrying a box into a static fixture while its cup stops 30 mm
short of it, the fixture's top plate above the box's path. Every figure below follows from
that geometry; the arm turns at 1 rad/s from angle 0, so its forearm (half-width 0.03 m)
first reaches the post's nearest corner (0.55, 0.45 from the shoulder, 0.711 m out, at
39.29 degrees) at 39.29 - asin(0.03 / 0.711) = 36.87 degrees = 0.6435 rad: the tick ending
at t = 0.65 s.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.scenario.collision_kinds import register_kinds, write_cell
from vcommission.clock import ClockMode
from vcommission.config.model import load_model
from vcommission.errors import ConfigError
from vcommission.plant.plant import Plant
from vcommission.plant.render import HIGHLIGHT, encode_png
from vcommission.scenario.checks import make_check
from vcommission.scenario.context import RunContext
from vcommission.scenario.results import CheckResult, Verdict
from vcommission.scenario.schema import CheckSpec, NoCollisionSpec

CAMERA = "cam: {kind: camera, eye: [2.5, -2.5, 2.0], target: [0.5, -0.3, 0.4], size: [320, 240]}\n"
#: The first contact of the forearm with the post (module docstring).
ARM_HITS_POST_S = 0.65


@pytest.fixture
def cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., RunContext]]:
    """Factory: ``cell(**write_cell options)`` -> a run over a fresh plant of the cell."""
    register_kinds(monkeypatch)
    plants: list[Plant] = []

    def make(mode: ClockMode = ClockMode.FAST, speed: float = 1.0, **options: object) -> RunContext:
        folder = tmp_path / f"cell{len(plants)}"
        model = load_model(write_cell(folder, **options))  # type: ignore[arg-type]
        plant = Plant(model)
        plants.append(plant)
        return RunContext.start(None, model, plant, None, mode, speed)

    yield make
    for plant in plants:
        plant.close()


def checked(run: RunContext, seconds: float, *specs: NoCollisionSpec) -> list[CheckResult]:
    checks = [make_check(CheckSpec(no_collision=spec), run) for spec in specs]
    for check in checks:
        check.start(run)
    run.sim.run_for(seconds)
    return [check.finish(run) for check in checks]


def spec(between: list[str], and_: list[str], **extra: object) -> NoCollisionSpec:
    return NoCollisionSpec(between=between, and_=and_, **extra)  # type: ignore[arg-type]


def magenta(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the highlight colour, as lit: red and blue high, green far below both."""
    r, g, b = (rgb[:, :, i].astype(int) for i in range(3))
    return (r > 90) & (b > 90) & (g < 0.3 * r) & (g < 0.3 * b)


# ---- static bodies, links, depth ---------------------------------------------------------------


def test_an_arm_link_hitting_a_static_post_is_named_timed_and_measured(cell):
    (hit,) = checked(cell(), 1.0, spec(["arm"], ["post"]))
    assert hit.verdict is Verdict.FAILED
    # The post is static: before, only moving bodies were measured and this passed.
    assert hit.message.startswith("arm:forearm and post interpenetrated by "), hit.message
    assert f"at t={ARM_HITS_POST_S:.3f} s" in hit.message
    assert hit.figures["first_s"] == pytest.approx(ARM_HITS_POST_S)
    # The arm sweeps on through the post (it is not stopped): the contact deepens.
    assert hit.figures["depth_m"] > 0.05
    assert hit.figures["closest_m"] == pytest.approx(-hit.figures["depth_m"])
    assert "mm deep at most" in hit.message
    assert hit.figures["contacts"] == 1
    assert hit.evidence is not None and hit.evidence.time_s == pytest.approx(ARM_HITS_POST_S)
    assert hit.evidence.tags == ["arm.go"]
    assert hit.evidence.images == []  # the run keeps no files: no snapshot


def test_the_base_link_is_named_too_and_both_sides_read_in_order(cell):
    run = cell(
        extra="stool: {kind: test_fixture, position: [0.0, -0.85, 0.2], size: [0.2, 0.2, 0.4]}\n"
    )
    (hit,) = checked(run, 0.1, spec(["stool"], ["arm.links"]))
    # The stool overlaps the pedestal by 5 cm: the contact is there from the first tick.
    assert hit.message.startswith("stool and arm:arm_base interpenetrated by 50.0 mm at t=0.010 s")


# ---- groups -------------------------------------------------------------------------------------


def test_a_group_of_a_component_is_measured_alone(cell):
    stand, top, whole = checked(
        cell(),
        2.5,
        spec(["parts.held"], ["fixture.stand"]),
        spec(["parts.held"], ["fixture.top"]),
        spec(["fixture"], ["parts"]),
    )
    # The box is carried into the stand (face at x = 0.9: reached at 1.6 s), below the top.
    assert stand.verdict is Verdict.FAILED
    assert stand.message.startswith("part 1 (box) and fixture.stand touched at t=1.610 s")
    assert stand.figures["depth_m"] == pytest.approx(0.017, abs=1e-3)  # 0.82 + 0.1 - 0.9 + ...
    assert top.verdict is Verdict.PASSED and top.exercised, top.message
    assert top.figures["closest_m"] == pytest.approx(0.1)  # 145 mm: beyond the horizon
    # A component names all its groups; a body is named by its group when it has several.
    assert whole.verdict is Verdict.FAILED
    assert whole.message.startswith("fixture.stand and part 1 (box) touched")


@pytest.mark.parametrize(
    ("between", "and_", "words"),
    [
        (["fixture.legs"], ["parts"], r"has no body group 'legs' \(its groups: stand, top\)"),
        (["cam"], ["parts"], "no moving body and no static one"),
        (["robot"], ["parts"], "unknown component 'robot'"),
        (["fixture.stand"], ["post", "fixture.top"], "every body of .* is static"),
    ],
)
def test_bad_groups_are_config_errors(cell, between, and_, words):
    run = cell(extra=CAMERA)
    with pytest.raises(ConfigError, match=words):
        make_check(CheckSpec(no_collision=spec(between, and_)), run)


def test_a_camera_that_is_not_one_is_a_config_error(cell):
    run = cell(extra=CAMERA)
    with pytest.raises(ConfigError, match=r"'post' is not a camera \(the model's cameras: cam\)"):
        make_check(CheckSpec(no_collision=spec(["arm"], ["post"], camera="post")), run)


# ---- margin -------------------------------------------------------------------------------------


def test_a_near_miss_closer_than_the_margin_fails_without_any_depth(cell):
    near, clear = checked(
        cell(),
        2.5,
        spec(["holder"], ["fixture"], margin=0.047),
        spec(["holder"], ["fixture"], margin=0.02),
    )
    # The cup comes 5 mm closer a tick (its face at 0.05 + 0.5 t) and stops at x = 0.82,
    # its face (0.87) 30 mm short of the stand (0.9): first closer than 47 mm at 45 mm.
    assert near.verdict is Verdict.FAILED
    assert near.message == (
        "holder and fixture.stand were 45.0 mm apart at t=1.620 s (margin 47 mm)"
    )
    assert near.figures["depth_m"] == 0.0
    assert near.figures["closest_m"] == pytest.approx(0.03, abs=1e-6)
    assert clear.verdict is Verdict.PASSED, clear.message
    assert clear.figures["closest_m"] == pytest.approx(0.03, abs=1e-6)


# ---- held parts -------------------------------------------------------------------------------


def test_a_held_part_against_its_holder_is_the_grip_not_a_collision(cell):
    run = cell()
    (grip,) = checked(run, 1.0, spec(["holder"], ["parts"]))
    assert grip.verdict is Verdict.PASSED and grip.exercised, grip.message
    # They do interpenetrate (the cup presses into the part), so the rule is what passes it.
    world = run.plant.world
    holder = run.plant.component("holder")
    # 5 mm pressed in, less what the part sags in a tick under gravity.
    assert -0.005 < world.closest_distance(holder.cup.body, holder.part.body, 0.1) < -0.004


def test_the_same_contact_without_a_grip_is_a_collision(cell):
    (loose,) = checked(cell(grip=False), 1.0, spec(["holder"], ["parts"]))
    assert loose.verdict is Verdict.FAILED
    assert loose.message.startswith("holder and part 1 (box) interpenetrated by 4.")
    assert "mm at t=0.010 s" in loose.message


def test_parts_free_leaves_held_parts_out(cell):
    (held,) = checked(cell(), 2.5, spec(["parts.free"], ["fixture"]))
    # The only part is held all along: no free part was there to measure.
    assert held.verdict is Verdict.VACUOUS, held.message
    (free,) = checked(cell(grip=False), 2.5, spec(["parts.free"], ["fixture"]))
    assert free.verdict is Verdict.FAILED
    assert free.message.startswith("part 1 (box) and fixture.stand touched at t=1.610 s")


# ---- vacuity ------------------------------------------------------------------------------------


def test_nothing_moved_is_vacuous(cell):
    (still,) = checked(cell(arm_speed=0.0), 1.0, spec(["arm"], ["post"]))
    assert still.verdict is Verdict.VACUOUS
    assert still.vacuity.startswith("no body of arm vs post moved")
    (turning,) = checked(cell(arm_speed=0.1), 1.0, spec(["arm"], ["post"]))
    assert turning.verdict is Verdict.PASSED and turning.exercised, turning.message


# ---- snapshots ----------------------------------------------------------------------------------


def _png(path: str | Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def _looks(run: RunContext) -> list[tuple]:
    """Every visual shape's colour and texture in the world."""
    client = run.plant.world.client
    flags = 1  # VISUAL_SHAPE_DATA_TEXTURE_UNIQUE_IDS
    return [
        shape
        for body in range(client.getNumBodies())
        for shape in client.getVisualShapeData(client.getBodyUniqueId(body), flags=flags)
    ]


def _world_state(run: RunContext) -> list[tuple]:
    client = run.plant.world.client
    return [
        (client.getBasePositionAndOrientation(b), client.getBaseVelocity(b))
        for b in (client.getBodyUniqueId(i) for i in range(client.getNumBodies()))
    ]


def test_the_first_contact_is_pictured_from_the_camera_with_both_bodies_highlighted(cell, tmp_path):
    pytest.importorskip("matplotlib")
    run = cell(extra=CAMERA)
    run.evidence_stem = str(tmp_path / "traces" / "crash")
    looks = _looks(run)
    (hit,) = checked(run, 1.0, spec(["arm"], ["post"], camera="cam"))
    (image,) = hit.evidence.images
    assert image["path"] == str(tmp_path / "traces" / "crash.no_collision_arm_vs_post.png")
    assert image["caption"] == (
        f"arm:forearm and post at t={ARM_HITS_POST_S:.3f} s, highlighted; seen from camera cam"
    )
    rgb = _png(image["path"])
    assert rgb.shape == (240, 320, 3)  # the camera's size
    lit = magenta(rgb)
    assert lit.sum() > 300, "the two bodies are drawn in the highlight colour"
    # The highlight is on the bodies, not a border or the title: well inside the picture.
    ys, xs = np.nonzero(lit)
    assert 40 < xs.mean() < 280 and 40 < ys.mean() < 200
    # The bodies there before (not the part the holder made since) look as they did.
    assert _looks(run)[: len(looks)] == looks, "the world's colours are restored"


def test_what_stands_in_front_of_the_contact_is_left_out_of_the_picture(cell, tmp_path):
    pytest.importorskip("matplotlib")
    # A screen across the whole view between the camera (x = 2.5) and the arm (x < 1).
    screen = "screen: {kind: test_fixture, position: [1.6, -1.5, 1.25], size: [0.05, 3.0, 2.5]}\n"
    run = cell(extra=CAMERA + screen)
    run.evidence_stem = str(tmp_path / "crash")
    (hit,) = checked(run, 1.0, spec(["arm"], ["post"], camera="cam"))
    (image,) = hit.evidence.images
    assert image["caption"].endswith("; not drawn, in front of them: screen")
    assert magenta(_png(image["path"])).sum() > 300  # the contact is in sight


def test_snapshots_change_no_physics_and_give_the_same_bytes_twice(cell, tmp_path):
    def crash(stem: str | None) -> tuple[bytes | None, list[tuple]]:
        run = cell(extra=CAMERA)
        client = run.plant.world.client
        # A dynamic body too: a box dropped on the fixture's top, still settling at 0.65 s.
        body = run.plant.world.add_part(run.model.variants["tall"], (1.0, 0.0, 0.7))
        run.plant.parts.add("tall", body, 0, "test")
        run.evidence_stem = stem
        (hit,) = checked(run, 1.0, spec(["arm"], ["post"]))
        assert hit.verdict is Verdict.FAILED
        images = hit.evidence.images
        data = Path(images[0]["path"]).read_bytes() if images else None
        assert client.getNumBodies() > 0
        return data, _world_state(run)

    first, state = crash(str(tmp_path / "a" / "crash"))
    second, again = crash(str(tmp_path / "b" / "crash"))
    none, without = crash(None)
    assert first is not None and first[:8] == b"\x89PNG\r\n\x1a\n"
    assert first == second
    assert none is None
    assert state == again == without  # bit for bit: rendering left the physics alone


def test_on_the_wall_clock_the_contact_is_pictured_after_the_run_as_it_was(cell, tmp_path):
    # A render would stall a plant a PLC is talking to: in real time the poses are kept at
    # the contact, and the bodies put back there for the picture after the run.
    pictures = []
    for mode, speed in ((ClockMode.FAST, 1.0), (ClockMode.REALTIME, 10.0)):
        run = cell(mode, speed, extra=CAMERA)
        run.evidence_stem = str(tmp_path / mode.value / "crash")
        (hit,) = checked(run, 1.0, spec(["arm"], ["post"]))
        assert hit.figures["first_s"] == pytest.approx(ARM_HITS_POST_S)
        pictures.append(Path(hit.evidence.images[0]["path"]).read_bytes())
        # The arm was put back where the run left it (turned on past the post).
        arm = run.plant.component("arm")
        assert run.plant.world.client.getJointState(arm.body, 0)[0] == pytest.approx(1.0)
    assert pictures[0] == pictures[1]


def test_without_a_camera_the_view_frames_the_two_bodies(cell, tmp_path):
    pytest.importorskip("matplotlib")
    run = cell()
    run.evidence_stem = str(tmp_path / "crash")
    (hit,) = checked(run, 2.5, spec(["parts.held"], ["fixture"]))
    (image,) = hit.evidence.images
    assert "seen from a view framing them" in image["caption"]
    rgb = _png(image["path"])
    assert rgb.shape == (480, 640, 3)
    # Framed: the two bodies fill a good part of the picture.
    assert magenta(rgb).mean() > 0.03


def test_the_built_in_encoder_writes_the_pixels_as_they_are():
    rgb = np.random.default_rng(1).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    from PIL import Image

    with Image.open(io.BytesIO(encode_png(rgb))) as image:
        assert image.mode == "RGB"
        assert np.array_equal(np.asarray(image), rgb)
    assert HIGHLIGHT == (1.0, 0.0, 1.0)


def test_bad_camera_parameters_are_located_errors(cell, tmp_path):
    bad = "cam: {kind: camera, eye: [1, 1, 1], target: [1, 1, 1]}\n"
    with pytest.raises(ConfigError) as caught:
        cell(extra=bad)
    text = str(caught.value)
    assert "model.yaml:18: components.cam: " in text
    assert "must differ from eye" in text
