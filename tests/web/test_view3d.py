"""The 3D view (vcommission/web/static/view3d.js) in real headless Chromium, without web's server.

A plain http.server on loopback serves the static folder (view3d.js, view3d_test.html, the
vendored three.js), the describe() JSON of a real plant (its ``meshes`` table left out, as a
server must: the browser gets URLs, never paths) and the mesh files by URL. Selenium drives
Chromium (chromium-driver) with WebGL drawn by SwiftShader on the CPU. The canvas is read
back with ``toDataURL`` (the view preserves its drawing buffer):

* the sorting line, mid-run with boxes on the belt, draws a picture that is not blank, and
  pose frames from the same run (boxes moving, parts added and removed, beams toggling)
  change it;
* the robot cell loads every STL mesh of its xArm, and a frame that moves only the arm's
  links (nothing else) changes the picture: the arm is drawn, from its meshes.

One browser for the module; each test loads the page afresh.
"""

from __future__ import annotations

import base64
import copy
import io
import json
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from tests.helpers import PLANT_MODELS
from tests.peers import missing_peer, require_tool
from tests.sorting_script import SortingScript
from vcommission.config.model import load_model
from vcommission.plant.plant import Plant
from vcommission.plant.scene import PoseStream, describe
from vcommission.simulator import Simulator

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("view3d_browser")]

STATIC = Path(__file__).resolve().parents[2] / "vcommission" / "web" / "static"
WIDTH, HEIGHT = 640, 420
#: A blank canvas (one colour) has a standard deviation of 0; the floor and grid alone
#: stay well under this, a machine on it well over.
MIN_STD = 12.0
#: Share of pixels that must differ after a frame that moves things.
MIN_CHANGED = 0.002
#: A poses message with no changes: applying it renders one more frame.
EMPTY = {
    "type": "poses",
    "t": 0.0,
    "bodies": {},
    "links": {},
    "added": [],
    "removed": [],
    "beams": {},
}


class _Site:
    """What the loopback server serves: the static folder, scenes and mesh files."""

    def __init__(self) -> None:
        self.scenes: dict[str, bytes] = {}
        self.meshes: dict[str, str] = {}

    def publish(self, name: str, scene: dict) -> str:
        """Serve ``scene`` at /<name>.json (without its mesh paths); returns the URL path."""
        self.meshes.update(scene["meshes"])
        public = {k: v for k, v in scene.items() if k != "meshes"}
        self.scenes[f"/{name}.json"] = json.dumps(public).encode()
        return f"/{name}.json"


def _handler(site: _Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in site.scenes:
                return self._send(site.scenes[path], "application/json")
            if path in site.meshes:  # looked up by URL: no path is ever joined from a request
                return self._send(Path(site.meshes[path]).read_bytes(), "model/stl")
            if path.startswith("/static/"):
                file = (STATIC / path[len("/static/") :]).resolve()
                if file.is_relative_to(STATIC) and file.is_file():
                    kind = {".js": "text/javascript", ".html": "text/html"}.get(file.suffix)
                    return self._send(file.read_bytes(), kind or "application/octet-stream")
            self.send_error(HTTPStatus.NOT_FOUND)
            return None

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # quiet test output
            pass

    return Handler


@pytest.fixture(scope="module")
def site():
    served = _Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(served))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield served
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    require_tool("chromium")
    driver_path = require_tool("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing_peer("selenium")
    options = webdriver.ChromeOptions()
    options.binary_location = require_tool("chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        # No GPU here: WebGL on SwiftShader, Chromium's CPU implementation.
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        f"--window-size={WIDTH},{HEIGHT}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def sorting(site):
    """The sorting line at 12 s (boxes on the belt), and its frames over the next 2 s."""
    with Plant(load_model(PLANT_MODELS / "sorting_line" / "model.yaml")) as plant:
        sim = Simulator(plant)
        sim.add_controller(SortingScript())
        sim.run_for(12.0)
        url = site.publish("sorting", describe(plant))
        stream = PoseStream(plant)
        frames = []
        for _ in range(60):
            for _ in range(3):
                sim.step()
            message = stream.frame(sim.now_ns * 1e-9)
            if message is not None:
                frames.append(json.loads(json.dumps(message)))
    return url, frames


@pytest.fixture(scope="module")
def cell(site):
    """The robot cell at power-on, and a frame of its arm moved (links only)."""
    with Plant(load_model(PLANT_MODELS / "pick_and_place" / "model.yaml")) as plant:
        scene = describe(plant)
        url = site.publish("cell", scene)
        stream = PoseStream(plant)
        arm = plant.world.articulated[0]
        arm.velocity = [0.8, 0.0, -0.6, 0.0, 0.6, 0.0]
        sim = Simulator(plant)
        for _ in range(50):
            sim.step()
        message = stream.frame(0.5)
    robot = next(b for b in scene["bodies"] if b["kind"] == "robot")
    assert message is not None and str(robot["id"]) in message["links"]
    links_only = {**copy.deepcopy(message), "bodies": {}, "added": [], "removed": [], "beams": {}}
    return url, scene, links_only


def _open(browser, site, scene_url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{site.url}/static/view3d_test.html?scene={scene_url}")
    WebDriverWait(browser, 30).until(
        lambda d: (
            d.execute_script("return Number(document.getElementById('view').dataset.frames || 0)")
            >= 1
        )
    )


def _frames(browser) -> int:
    return int(
        browser.execute_script("return Number(document.getElementById('view').dataset.frames)")
    )


def _pixels(browser) -> np.ndarray:
    from PIL import Image

    data = browser.execute_script("return document.getElementById('view').toDataURL('image/png')")
    png = base64.b64decode(data.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)


def _apply(browser, messages: list[dict]) -> None:
    """Apply ``messages`` in the page and wait until a frame with them is rendered."""
    from selenium.webdriver.support.ui import WebDriverWait

    before = _frames(browser)
    handled = browser.execute_script(
        "return arguments[0].map((m) => window.plantView.apply(m));", messages
    )
    assert all(handled)
    WebDriverWait(browser, 30).until(lambda d: _frames(d) > before)


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    return float((np.abs(a - b).sum(axis=2) > 24).mean())


def _dataset(browser, key: str) -> str:
    return browser.execute_script(f"return document.getElementById('view').dataset.{key}")


def test_sorting_line_is_drawn_and_moves_with_the_pose_frames(browser, site, sorting):
    url, frames = sorting
    _open(browser, site, url)
    first = _pixels(browser)
    assert first.shape[:2][::-1] == tuple(
        browser.execute_script(
            "const c = document.getElementById('view'); return [c.width, c.height];"
        )
    )
    assert first.std() > MIN_STD, first.std()
    assert len({tuple(p) for p in first.reshape(-1, 3)[::7]}) > 50  # a picture, not a fill
    assert sum(len(m["bodies"]) for m in frames) > 20  # boxes and the belt moved meanwhile
    _apply(browser, frames)
    after = _pixels(browser)
    assert _changed(first, after) > MIN_CHANGED, _changed(first, after)
    live = json.loads(site.scenes[url])["bodies"]
    expected = len(live) + sum(len(m["added"]) - len(m["removed"]) for m in frames)
    assert int(_dataset(browser, "bodies")) == expected
    # A message of another kind is left to the page; the view is unharmed.
    assert browser.execute_script("return window.plantView.apply({type: 'alarm'})") is False


def test_a_blocked_beam_lights_up(browser, site, sorting):
    url, _ = sorting
    _open(browser, site, url)
    names = [b["name"] for b in json.loads(site.scenes[url])["beams"]]
    before = _pixels(browser)
    frame = {**EMPTY, "beams": {name: True for name in names}}
    _apply(browser, [frame])
    lit = _pixels(browser)
    red = (lit[:, :, 0] > 200) & (lit[:, :, 1] < 90) & (lit[:, :, 2] < 90)
    red_before = (before[:, :, 0] > 200) & (before[:, :, 1] < 90) & (before[:, :, 2] < 90)
    assert red.sum() > red_before.sum() + 50, (red.sum(), red_before.sum())


def test_robot_cell_draws_its_arm_from_the_urdf_meshes(browser, site, cell):
    from selenium.webdriver.support.ui import WebDriverWait

    url, scene, links_only = cell
    _open(browser, site, url)
    WebDriverWait(browser, 30).until(lambda d: _dataset(d, "meshesPending") == "0")
    shapes = [s for b in scene["bodies"] for s in b["shapes"] if s["type"] == "mesh"]
    assert (
        _dataset(browser, "meshesLoaded") == str(len(shapes))
        and _dataset(browser, "meshesFailed") == "0"
    )
    _apply(browser, [EMPTY])  # a frame rendered after the last mesh arrived
    still = _pixels(browser)
    assert still.std() > MIN_STD
    _apply(browser, [links_only])  # only the arm's links move: no box, no gripper
    moved = _pixels(browser)
    assert _changed(still, moved) > MIN_CHANGED, _changed(still, moved)
