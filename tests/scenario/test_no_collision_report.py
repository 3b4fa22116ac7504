"""A collision found by ``vcommission run``: the snapshot beside the trace, its path in the
JSON results, the picture in the FAT report (HTML, and the PDF Chromium prints from it).

One real run of the collision cell (:mod:`tests.scenario.collision_kinds`) with a trivial ST
program, through the CLI as a user runs it; the arm's forearm hits the static post at
0.65 s (see tests/scenario/test_no_collision.py).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.peers import require_tool
from tests.scenario.collision_kinds import register_kinds, write_cell
from vcommission.cli import main
from vcommission.reporting.fat import build_report, load_results

pytest.importorskip("jinja2")
pytest.importorskip("matplotlib")

PROGRAM = """\
PROGRAM Cell
VAR
    ticks : INT;
END_VAR
ticks := ticks + 1;
END_PROGRAM
"""

SCENARIO = """\
name: arm crash
description: The arm sweeps its forearm through the post; the box is carried into the fixture.
model: .
duration: 2
checks:
  - name: arm clear of the post
    no_collision: {between: [arm], and: [post, fixture], camera: cam}
  - name: holder clear of the cell
    no_collision: {between: [holder], and: [parts, fixture], margin: 0.02}
"""
CAMERA = "cam: {kind: camera, eye: [2.5, -2.5, 2.0], target: [0.5, -0.3, 0.4], size: [320, 240]}\n"


@pytest.fixture
def crashed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run the crash scenario with --json, --trace-dir and --report; the output folder."""
    register_kinds(monkeypatch)
    folder = tmp_path / "cell"
    write_cell(folder, extra=CAMERA)
    (folder / "plc").mkdir()
    (folder / "plc" / "cell.st").write_text(PROGRAM)
    (folder / "crash.yaml").write_text(SCENARIO)
    out = tmp_path / "out"
    code = main(
        ["run", str(folder / "crash.yaml"), "-j", "1", "--json", str(out / "results.json"),
         "--trace-dir", str(out / "traces"), "--report", str(out / "fat.html")]
    )  # fmt: skip
    assert code == 1  # failed: the arm hit the post
    return out


def _check(out: Path, index: int) -> dict:
    return json.loads((out / "results.json").read_text())["scenarios"][0]["checks"][index]


def test_the_snapshot_is_beside_the_trace_and_named_in_the_json_results(crashed: Path):
    arm, holder = _check(crashed, 0), _check(crashed, 1)
    assert arm["verdict"] == "failed"
    assert arm["message"].startswith("arm:forearm and post interpenetrated by")
    (image,) = arm["evidence"]["images"]
    path = Path(image["path"])
    assert path == crashed / "traces" / "arm_crash.arm_clear_of_the_post.png"
    assert (crashed / "traces" / "arm_crash.npz").is_file()  # the trace it is beside
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image["caption"] == (
        "arm:forearm and post at t=0.650 s, highlighted; seen from camera cam"
    )
    # A check that held took no picture.
    assert holder["verdict"] == "passed" and holder["evidence"] is None


def test_the_junit_report_attaches_the_snapshot(crashed: Path, tmp_path: Path):
    import xml.etree.ElementTree as ET

    junit = tmp_path / "junit.xml"
    code = main(
        ["run", str(crashed.parent / "cell" / "crash.yaml"), "-j", "1", "--junit", str(junit),
         "--trace-dir", str(tmp_path / "traces")]
    )  # fmt: skip
    assert code == 1
    cases = ET.parse(junit).iter("testcase")
    (case,) = [c for c in cases if c.get("name") == "arm clear of the post"]
    assert case.find("failure") is not None
    png = tmp_path / "traces" / "arm_crash.arm_clear_of_the_post.png"
    assert case.find("system-out").text == f"[[ATTACHMENT|{png}]]"


def test_the_fat_report_embeds_the_snapshot_in_the_deviation(crashed: Path):
    html = (crashed / "fat.html").read_text()
    png = (crashed / "traces" / "arm_crash.arm_clear_of_the_post.png").read_bytes()
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    deviations = html[html.index('id="deviations"') : html.index('id="matrix"')]
    assert uri in deviations
    assert "arm:forearm and post at t=0.650 s, highlighted" in deviations
    # And with the scenario's checks, once more.
    assert html.count(uri) == 2


def test_a_report_from_moved_files_finds_the_snapshot_in_the_traces_folder(crashed: Path):
    moved = crashed.parent / "archive"
    shutil.move(crashed / "traces", moved / "traces")
    shutil.move(crashed / "results.json", moved / "results.json")
    png = (moved / "traces" / "arm_crash.arm_clear_of_the_post.png").read_bytes()
    html = build_report(load_results(moved / "results.json"), moved / "traces")
    assert base64.b64encode(png).decode("ascii") in html
    (moved / "traces" / "arm_crash.arm_clear_of_the_post.png").unlink()
    html = build_report(load_results(moved / "results.json"), moved / "traces")
    assert "file not found" in html  # said so, and the report still builds


def test_the_pdf_shows_the_snapshot_page(crashed: Path, tmp_path: Path):
    require_tool("chromium")
    pdftoppm = require_tool("pdftoppm")
    pdf = tmp_path / "fat.pdf"
    code = main(
        ["report", str(crashed / "results.json"), "--traces", str(crashed / "traces"),
         "-o", str(tmp_path / "fat.html"), "--pdf", str(pdf)]
    )  # fmt: skip
    assert code == 0 or code == 1, code
    assert pdf.read_bytes()[:5] == b"%PDF-"
    subprocess.run(
        [pdftoppm, "-r", "30", "-png", str(pdf), str(tmp_path / "page")], check=True, timeout=120
    )
    assert sorted(tmp_path.glob("page*.png")), "pdftoppm rendered no page"
    # The embedded picture is in the PDF as an image (magenta pixels on some page).
    import numpy as np
    from PIL import Image

    found = 0
    for page in sorted(tmp_path.glob("page*.png")):
        with Image.open(page) as image:
            rgb = np.asarray(image.convert("RGB")).astype(int)
        r, g, b = rgb[:, :, 0], rgb[:, :, 1], rgb[:, :, 2]
        found += int(((r > 90) & (b > 90) & (g < 0.3 * r) & (g < 0.3 * b)).sum())
    assert found > 10
