"""Benchmark: the training pages' cost to the real-time plant, with and without a browser.

``vcommission train`` serves a busy sorting line (boxes every 0.6 s, bins that keep them, so
50 boxes exist after half a minute, those on the belt and falling into the bins moving) with
its own ST program in-process, at real time with 10 ms ticks. Measured in this run, over
windows of the same length:

* **no browser**: tick lateness p99 and max (from the pacer's own histogram, the window's
  ticks only) and the process's CPU time as a share of one core;
* **3D view open** in headless Chromium (trainee page, PlantView rendering): the same
  figures, the streaming loop's own time (pose frames, tags, JSON, sending) as a share of
  one core, and the extra CPU of the process against the window without a browser;
* **page load to first rendered frame**: from ``driver.get`` to ``canvas.dataset.frames >= 1``.

Usage: ``python3 tools/bench/web.py [--window 20] [--browser-niceness N] [--rt-priority N]``
(needs chromium,
chromium-driver, selenium).
The machine's other load counts in every figure alike; compare the two windows, not runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vcommission.clock import DEFAULT_RT_PRIORITY
from vcommission.web import TrainingThread, TrainOptions

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "plant_models" / "sorting_line"


def busy_model(folder: Path) -> Path:
    """The sorting line with small boxes every 0.6 s and bins that keep every box."""
    text = (MODEL / "model.yaml").read_text()
    text = text.replace(
        "    position: [2.5, 0.62, 0.2]\n    size: [0.8, 0.7, 0.45]\n",
        "    position: [2.5, 0.8, 0.0]\n    size: [1.2, 1.06, 0.5]\n    remove_after: null\n",
    )
    text = text.replace(
        "    position: [4.42, 0.0, 0.2]\n    size: [0.7, 0.8, 0.45]\n",
        "    position: [4.62, 0.0, 0.0]\n    size: [1.1, 1.2, 0.5]\n    remove_after: null\n",
    )
    text = text.replace("    interval: 3.0\n    mix: {small: 1, tall: 1}\n",
                        "    interval: 0.6\n    mix: {small: 1}\n")  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(text)
    (folder / "plc").mkdir(exist_ok=True)
    (folder / "plc" / "sorting.st").write_text((MODEL / "plc" / "sorting.st").read_text())
    return folder


async def _requests(url: str, requests: list[dict]) -> None:
    """Send ``requests`` on a page's socket, each after the previous one's answer."""
    import aiohttp

    async with aiohttp.ClientSession() as client, client.ws_connect(url) as ws:
        for request in requests:
            await ws.send_str(json.dumps(request))
            while True:
                reply = json.loads((await ws.receive(timeout=30)).data)
                if reply["type"] == "error":
                    raise SystemExit(f"{request}: {reply['message']}")
                if reply["type"] == "ok":
                    break


def _histogram(pacer) -> list[int]:
    """The pacer's whole-life lateness histogram: microsecond buckets up to 20 ms, then ms."""
    return list(pacer._fine) + list(pacer._coarse)  # a window is the difference of two copies


def _p(buckets: list[int], fraction: float) -> float:
    """The lateness (ms) ``fraction`` of the window's ticks stayed within."""
    fine = len(buckets) - 10_001  # the pacer's fine buckets; the rest are milliseconds
    total = sum(buckets)
    rank, seen = int(fraction * total), 0
    for index, count in enumerate(buckets):
        seen += count
        if seen > rank:
            return index / 1000 if index < fine else float(index - fine)
    return float(len(buckets) - fine)


def _steal_s() -> float:
    """CPU time the hypervisor gave to others while this machine's cores wanted it (all cores).

    On a virtual machine a tick can start late with no process of its own in the way: the
    core it waits for is not running this machine at all (``steal`` in /proc/stat).
    """
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def _window(web, seconds: float) -> dict[str, float]:
    pacer = web.training.sim.pacer
    frames, making = web.frames, web.stream_cpu_s
    before, cpu, stream, wall, steal = (
        _histogram(pacer),
        time.process_time(),
        web.stream_s,
        time.perf_counter(),
        _steal_s(),
    )
    time.sleep(seconds)
    after, cpu2, stream2, wall2, steal2 = (
        _histogram(pacer),
        time.process_time(),
        web.stream_s,
        time.perf_counter(),
        _steal_s(),
    )
    window = [b - a for a, b in zip(before, after, strict=True)]
    elapsed = wall2 - wall
    return {
        "ticks": sum(window),
        "lateness_p99_ms": _p(window, 0.99),
        "lateness_p50_ms": _p(window, 0.5),
        "cpu_core_pct": 100 * (cpu2 - cpu) / elapsed,
        "stream_core_pct": 100 * (stream2 - stream) / elapsed,
        "parts": len(web.training.plant.parts.alive),
        "frames": web.frames - frames,
        "making_core_pct": 100 * (web.stream_cpu_s - making) / elapsed,
        "steal_ms": 1000 * (steal2 - steal),
    }


def _renice_tree(root: int, niceness: int) -> None:
    """Set ``niceness`` on ``root`` and every process descended from it."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command may hold spaces and parentheses: the parent pid follows the last ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    todo = [root]
    while todo:
        pid = todo.pop()
        with contextlib.suppress(OSError):  # gone meanwhile
            os.setpriority(os.PRIO_PROCESS, pid, niceness)
        todo += children.get(pid, [])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=20.0, help="seconds per window")
    parser.add_argument(
        "--browser-niceness",
        type=int,
        default=0,
        help="run chromium at this niceness (a trainee's browser below the plant, as on a "
        "machine of its own); 0: the same priority as the plant",
    )
    parser.add_argument(
        "--rt-priority",
        type=int,
        default=DEFAULT_RT_PRIORITY,
        help="SCHED_FIFO priority of the ticking thread, as train's --rt-priority "
        f"(default {DEFAULT_RT_PRIORITY}; 0: normal priority)",
    )
    args = parser.parse_args(argv)
    from selenium import webdriver
    from selenium.webdriver.common.by import By

    with tempfile.TemporaryDirectory() as tmp:
        model = busy_model(Path(tmp) / "busy")
        options = TrainOptions(web=("127.0.0.1", 0), duration=3600, rt_priority=args.rt_priority)
        with TrainingThread(model, options) as web:
            trainee = f"{web.endpoint}ws".replace("http", "ws", 1)
            instructor = f"{web.instructor_url}".replace("http", "ws", 1).replace(
                "/instructor?", "/ws/instructor?"
            )
            start = {"type": "press", "tag": "start_pb.pressed"}
            asyncio.run(_requests(trainee, [{**start, "value": True}, {**start, "value": False}]))
            plant = web.training.plant
            priority = web.training.sim.pacer.priority
            while len(plant.parts.alive) < 50:
                time.sleep(0.5)
            # 50 boxes: no more (the infeed held off), and the pacer anchored afresh, so a
            # plant that fell behind while filling up starts each window on time.
            hold = "{kind: actuator_stuck, tag: infeed_enable, value: false}"
            anchor = {"type": "speed", "speed": 1}
            asyncio.run(_requests(instructor, [{"type": "inject", "fault": hold}, anchor]))
            bare = _window(web, args.window)
            chrome = webdriver.ChromeOptions()
            chrome.binary_location = shutil.which("chromium") or "chromium"
            for argument in ("--headless=new", "--no-sandbox", "--use-angle=swiftshader",
                             "--enable-unsafe-swiftshader", "--window-size=1280,900"):  # fmt: skip
                chrome.add_argument(argument)
            service = webdriver.ChromeService(shutil.which("chromedriver") or "chromedriver")
            driver = webdriver.Chrome(options=chrome, service=service)
            if args.browser_niceness:
                # Processes Chromium starts later inherit the niceness of the one starting them.
                _renice_tree(service.process.pid, args.browser_niceness)
            try:
                started = time.perf_counter()
                driver.get(web.endpoint)
                canvas = driver.find_element(By.ID, "view")
                while int(canvas.get_attribute("data-frames") or 0) < 1:
                    time.sleep(0.01)
                first_frame_s = time.perf_counter() - started
                time.sleep(1)
                asyncio.run(_requests(instructor, [anchor]))
                viewed = _window(web, args.window)
                frames = int(canvas.get_attribute("data-frames") or 0)
            finally:
                driver.quit()
    print(f"load: {viewed['parts']} boxes in the world, 10 ms ticks, real time; "
          f"browser niceness {args.browser_niceness}; tick thread: {priority}")  # fmt: skip
    print(f"{'':28}{'no browser':>12}{'3D view open':>14}")
    for key, label in (
        ("ticks", "ticks in the window"),
        ("lateness_p50_ms", "tick lateness p50 (ms)"),
        ("lateness_p99_ms", "tick lateness p99 (ms)"),
        ("cpu_core_pct", "process CPU (% of a core)"),
        ("stream_core_pct", "stream loop wall (% of time)"),
        ("making_core_pct", "making frames (% of a core)"),
        ("frames", "frames sent"),
        ("steal_ms", "hypervisor steal (ms)"),
    ):
        print(f"{label:28}{bare[key]:>12.3f}{viewed[key]:>14.3f}")
    if viewed["frames"]:
        per_frame = viewed["making_core_pct"] / 100 * args.window / viewed["frames"] * 1e3
        print(f"making one frame: {per_frame:.2f} ms of CPU; at 30 frames a second "
              f"{per_frame * 30 / 10:.1f}% of a core")  # fmt: skip
    extra = viewed["cpu_core_pct"] - bare["cpu_core_pct"]
    print(f"extra process CPU with the view open: {extra:.1f}% of a core")
    print(f"page load to first rendered frame: {first_frame_s:.2f} s; frames rendered: {frames}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
