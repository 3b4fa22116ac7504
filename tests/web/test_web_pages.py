"""The training pages in a real headless Chromium, against ``vcommission train`` serving.

One server (``train`` in a thread: the real-time plant, the built-in PLC, a Modbus server and
the web pages in one event loop) and one browser for the whole module. What a trainee does
is clicked on the page; what the plant does is read back by an independent Modbus client
(mbpoll), the pages' WebSockets are also spoken to directly (aiohttp's client) for what a page
would never send.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from rich.console import Console

from tests.peers import missing_peer, require_tool
from vcommission.web import TrainOptions, WebServer, train

pytestmark = [pytest.mark.realtime, pytest.mark.peer]

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "plant_models" / "sorting_line"
PROGRAM = MODEL / "plc" / "sorting.st"


class Served:
    def __init__(self) -> None:
        self.ready = threading.Event()
        self.web: WebServer | None = None
        self.stop = None
        self.error: BaseException | None = None
        self.output = io.StringIO()

    @property
    def training(self):
        assert self.web is not None
        return self.web.training

    @property
    def modbus_port(self) -> int:
        return self.training.session.servers[0].port

    def url(self, path: str = "") -> str:
        assert self.web is not None
        return f"{self.web.endpoint}{path}"


@pytest.fixture(scope="module")
def served():
    served = Served()

    def started(web, stop) -> None:
        served.web, served.stop = web, stop
        served.ready.set()

    options = TrainOptions(
        plc=PROGRAM, modbus=("127.0.0.1", 0), web=("127.0.0.1", 0), duration=3600
    )

    def main() -> None:
        try:
            asyncio.run(train(MODEL, options, Console(file=served.output), started))
        except BaseException as exc:
            served.error = exc
            served.ready.set()

    thread = threading.Thread(target=main, daemon=True)
    thread.start()
    assert served.ready.wait(60), "train did not start"
    if served.error is not None:
        raise served.error
    yield served
    served.stop()
    thread.join(30)
    assert served.error is None


@pytest.fixture(scope="module")
def browser():
    try:
        from selenium import webdriver
    except ImportError:
        missing_peer("selenium")
    driver_path = shutil.which("chromedriver")
    chromium = shutil.which("chromium")
    if driver_path is None or chromium is None:
        missing_peer("chromium and chromium-driver (Debian)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader",
        "--window-size=1000,700",  # a smaller canvas: less software-rendering CPU
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver_path))
    yield driver
    driver.quit()


def wait_for(predicate, timeout: float = 10.0, what: str = "condition", every: float = 0.05):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(every)


def coil(port: int, address: int) -> int:
    """Read one coil with mbpoll (1-based -r), an independent Modbus master."""
    mbpoll = require_tool("mbpoll")
    out = subprocess.run(
        [mbpoll, "-m", "tcp", "-a", "1", "-t", "0", "-r", str(address + 1), "-c", "1", "-1",
         "-p", str(port), "127.0.0.1"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip
    line = next(line for line in out.splitlines() if line.startswith(f"[{address + 1}]:"))
    return int(line.split()[-1])


def open_page(browser, served: Served, path: str = "") -> None:
    from selenium.webdriver.common.by import By

    browser.get(served.url(path))
    wait_for(lambda: browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready"),
             what="the page's hello")  # fmt: skip


def test_clicking_start_on_the_trainee_page_runs_the_belt_as_a_modbus_client_reads_it(
    served, browser
):
    from selenium.webdriver.common.by import By

    assert coil(served.modbus_port, 0) == 0  # conveyor_run, coil 0
    open_page(browser, served)
    browser.find_element(By.CSS_SELECTOR, "button[data-tag='start_pb.pressed']").click()
    wait_for(lambda: coil(served.modbus_port, 0) == 1, what="conveyor_run TRUE over Modbus")
    cell = browser.find_element(By.CSS_SELECTOR, "td[data-tag='conveyor_run']")
    wait_for(lambda: cell.text == "TRUE", what="the tag table")
    lamp = browser.find_element(By.CSS_SELECTOR, ".lamp[data-tag='light_green']")
    wait_for(lambda: "on" in lamp.get_attribute("class"), what="the green lamp")
    whats = [entry.what for entry in served.training.timeline]
    assert "start_pb pressed" in whats and "start_pb released" in whats


def test_an_instructor_jam_shows_as_an_alarm_on_the_trainee_page(served, browser):
    from selenium.webdriver.common.by import By

    trainee = browser.current_window_handle
    browser.switch_to.new_window("tab")
    instructor = browser.current_window_handle
    open_page(browser, served, f"instructor?token={served.web.token}")
    text = browser.find_element(By.ID, "fault-yaml")
    text.clear()
    text.send_keys("kind: jam\npositon: [1, 0, 0.8]")
    browser.find_element(By.ID, "inject").click()
    # A located error comes back, as the scenario loader words it; the page stays usable.
    error = browser.find_element(By.ID, "error")
    wait_for(lambda: "instructor:2: positon: unknown key" in error.text, what="the error")
    text.clear()
    text.send_keys("kind: jam\nid: belt_end\nposition: [3.92, 0.0, 0.8]")
    browser.find_element(By.ID, "inject").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "li[data-fault='belt_end']"),
             what="the active fault on the instructor page")  # fmt: skip
    timeline = browser.find_element(By.ID, "timeline")
    wait_for(lambda: "injected fault belt_end" in timeline.text, what="the timeline")
    browser.switch_to.window(trainee)
    alarm = wait_for(
        lambda: browser.find_elements(By.CSS_SELECTOR, "#alarms li[data-alarm='fault:belt_end']"),
        what="the jam alarm on the trainee page",
    )
    assert "jam" in alarm[0].text
    browser.switch_to.window(instructor)
    browser.find_element(By.CSS_SELECTOR, "button[data-clear='belt_end']").click()
    wait_for(lambda: "belt_end" not in served.training.run.faults, what="the clear")
    browser.close()
    browser.switch_to.window(trainee)


def test_the_instructor_pages_refuse_requests_without_the_token(served):
    for path in ("instructor", "instructor?token=wrong", "ws/instructor", "ws/instructor?token="):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(served.url(path), timeout=10)
        assert refused.value.code == 403, path
    with urllib.request.urlopen(served.url(f"instructor?token={served.web.token}")) as page:
        assert page.status == 200
        assert page.headers["Referrer-Policy"] == "no-referrer"


async def _speak(served: Served, path: str, messages: list[object], origin: str | None = None):
    """Send ``messages`` on a socket; each reply (after the greeting) as a dict."""
    import aiohttp

    headers = {"Origin": origin} if origin else {}
    async with (
        aiohttp.ClientSession() as client,
        client.ws_connect(served.url(path), headers=headers) as ws,
    ):
        first = json.loads((await ws.receive()).data)
        greeting = [first]
        while greeting[-1]["type"] != "control":
            greeting.append(json.loads((await ws.receive()).data))
        replies = []
        for message in messages:
            await ws.send_str(message if isinstance(message, str) else json.dumps(message))
            while True:
                reply = json.loads((await ws.receive(timeout=10)).data)
                if reply["type"] in ("ok", "error"):
                    replies.append(reply)
                    break
        return greeting, replies


def test_the_trainee_socket_cannot_inject_faults_or_change_speed_and_survives_bad_messages(
    served,
):
    training = served.training
    greeting, replies = asyncio.run(
        _speak(
            served,
            "ws",
            [
                {"type": "inject", "fault": "kind: jam\nposition: [2, 0, 0.8]"},
                {"type": "speed", "speed": 5},
                {"type": "pause"},
                "this is not JSON",
                [1, 2, 3],
                {"type": "press", "tag": "conveyor_run", "value": True},
                {"type": "press"},
                json.dumps({"type": "ping", "pad": "x" * 100_000}),
                {"type": "ping", "id": 7},
            ],
        )
    )
    assert greeting[0]["type"] == "scene"  # the contract: the scene comes first
    assert greeting[1]["type"] == "hello"
    assert [r["type"] for r in replies] == ["error"] * 8 + ["ok"]
    assert "instructor's" in replies[0]["message"] and "instructor's" in replies[1]["message"]
    assert "not JSON" in replies[3]["message"]
    assert "JSON object" in replies[4]["message"]
    assert "not a control" in replies[5]["message"]
    assert "limit is 16,384" in replies[7]["message"]
    assert replies[8]["id"] == 7
    assert training.speed == 1.0 and not training.paused
    assert not any(name.startswith("jam") for name in training.run.faults)


def test_the_instructor_socket_pauses_changes_speed_and_answers_bad_requests(served):
    training = served.training
    path = f"ws/instructor?token={served.web.token}"
    greeting, replies = asyncio.run(
        _speak(
            served,
            path,
            [
                {"type": "speed", "speed": 2.5},
                {"type": "speed", "speed": 0},
                {"type": "speed", "speed": "fast"},
                {"type": "pause"},
                {"type": "resume"},
                {"type": "finish"},
                {"type": "clear", "name": "nothing"},
                {"type": "inject", "fault": "kind: jam", "hidden": True},
                {"type": "speed", "speed": 1},
            ],
        )
    )
    kinds = {kind["kind"] for kind in greeting[1]["instructor"]["fault_kinds"]}
    assert {"jam", "sensor_stuck", "belt_slip", "lost_connection"} <= kinds
    assert [r["type"] for r in replies] == ["ok", "error", "error", "ok", "ok", "error", "error",
                                            "error", "ok"]  # fmt: skip
    assert "speed must be a number > 0" in replies[1]["message"]
    assert "no exercise is loaded" in replies[5]["message"]
    assert "fault jam needs position" in replies[7]["message"]
    assert training.speed == 1.0 and not training.paused
    whats = [entry.what for entry in training.timeline]
    assert {"speed 2.5x", "paused", "resumed", "speed 1x"} <= set(whats)


async def _two_pages(served: Served) -> tuple[list[dict], list[dict]]:
    """Page A takes the panel; page B presses (refused), takes control, presses."""
    import aiohttp

    async def greeted(ws) -> str:
        while True:
            message = json.loads((await ws.receive(timeout=10)).data)
            if message["type"] == "hello":
                name = message["client"]
            if message["type"] == "control":
                return name

    async def ask(ws, request: dict) -> dict:
        await ws.send_str(json.dumps(request))
        while True:
            reply = json.loads((await ws.receive(timeout=10)).data)
            if reply["type"] in ("ok", "error"):
                return reply

    async with (
        aiohttp.ClientSession() as client,
        client.ws_connect(served.url("ws")) as a,
        client.ws_connect(served.url("ws")) as b,
    ):
        await greeted(a)
        b_name = await greeted(b)
        a_replies = [await ask(a, {"type": "take_control"})]
        press = {"type": "press", "tag": "stop_pb.pressed"}
        b_replies = [
            await ask(b, {**press, "value": True}),
            await ask(b, {"type": "take_control"}),
            await ask(b, {**press, "value": True}),
            await ask(b, {**press, "value": False}),
        ]
        a_replies.append(await ask(a, {**press, "value": True}))
        assert served.training.controller == b_name
        return a_replies, b_replies


def test_one_page_holds_the_panel_the_others_must_take_control(served):
    a_replies, b_replies = asyncio.run(_two_pages(served))
    assert [r["type"] for r in b_replies] == ["error", "ok", "ok", "ok"]
    assert "take control first" in b_replies[0]["message"]
    assert [r["type"] for r in a_replies] == ["ok", "error"]  # A lost the panel to B


def test_a_websocket_from_another_origin_is_refused(served):
    import aiohttp

    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        asyncio.run(_speak(served, "ws", [], origin="http://evil.example"))
    assert refused.value.status == 403


def test_the_3d_view_draws_the_plant_and_changes_as_boxes_move(served, browser):
    pytest.importorskip("vcommission.plant.scene")
    from selenium.webdriver.common.by import By

    if browser.current_url != served.url():  # the first test left the trainee page open
        open_page(browser, served)
    canvas = browser.find_element(By.ID, "view")
    wait_for(lambda: int(canvas.get_attribute("data-frames") or 0) >= 1, 20, "a first frame")

    def picture() -> bytes:
        return canvas.screenshot_as_png

    first = picture()
    from PIL import Image  # matplotlib's dependency: in dev

    image = Image.open(io.BytesIO(first)).convert("L")
    low, high = image.getextrema()
    assert high - low > 40, "the canvas is blank"
    wait_for(lambda: picture() != first, 20, "the picture to change as boxes move", every=0.5)
