"""The Dask executor against a real scheduler and two worker processes on loopback."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("distributed", reason="the dask extra is not installed (.ci/run installs it)")

from tests.helpers import run_cli as run
from vcommission.executors.dask import DaskExecutor
from vcommission.mutation.engine import mutate
from vcommission.scenario.collect import collect
from vcommission.scenario.results import Verdict
from vcommission.scenario.suite import run_suite

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "scenarios" / "sorting_line"
SORTING = ROOT / "plant_models" / "sorting_line" / "plc" / "sorting.st"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[str]:
    """``dask scheduler`` and two ``dask worker`` processes (one thread each), on loopback."""
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    folder = tmp_path_factory.mktemp("dask")
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    common = {"cwd": folder, "env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
             "--port", str(port), "--no-dashboard"],
            **common,
        )
    ]  # fmt: skip
    for _ in range(2):
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                 "--no-dashboard", "--host", "127.0.0.1"],
                **common,
            )
        )  # fmt: skip
    try:
        with DaskExecutor(address) as executor:
            deadline = time.monotonic() + 120
            while len(executor.dask_client.scheduler_info()["workers"]) < 2:
                assert time.monotonic() < deadline, "the workers did not join in 120 s"
                time.sleep(0.2)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            if process.poll() is None:
                process.kill()


def _scenarios(*names: str):
    return collect([SUITE / n for n in names]).scenarios


def _arrays(path: str) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as trace:
        header = json.loads(str(trace["header"]))
        return header, {k: trace[k] for k in trace.files if k != "header"}


def test_a_suite_on_dask_gives_the_local_verdicts_and_identical_traces(cluster, tmp_path):
    scenarios = _scenarios("r1_start.yaml", "r4_interlock.yaml", "r7_jam_exit.yaml")
    local = run_suite(scenarios, 1, tmp_path / "local", strict=True)
    with DaskExecutor(cluster) as executor:
        remote = run_suite(scenarios, 1, tmp_path / "dask", strict=True, executor=executor)
    assert [r.verdict for r in remote] == [r.verdict for r in local] == [Verdict.PASSED] * 3
    for here, there in zip(local, remote, strict=True):
        assert Path(there.trace_file).parent == tmp_path / "dask"  # written here, not there
        header_here, arrays_here = _arrays(here.trace_file)
        header_there, arrays_there = _arrays(there.trace_file)
        assert arrays_here.keys() == arrays_there.keys()
        for key in arrays_here:
            assert np.array_equal(arrays_here[key], arrays_there[key]), key
        # Everything the plant recorded is the same; only where the files lay differs.
        meta_here, meta_there = header_here.pop("meta"), header_there.pop("meta")
        assert header_here == header_there
        assert {k: meta_here[k] for k in ("scenario", "seed", "params")} == {
            k: meta_there[k] for k in ("scenario", "seed", "params")
        }


def test_a_worker_killed_mid_run_loses_no_unit_and_counts_none_twice(cluster, tmp_path):
    scenarios = collect([SUITE]).scenarios[:8]
    seen: list[int] = []
    with DaskExecutor(cluster) as executor:
        pids = executor.dask_client.run(os.getpid)
        killed = False

        class Events:
            def started(self, index, scenario):
                pass

            def finished(self, index, result):
                nonlocal killed
                seen.append(index)
                if not killed:  # the first result is in: the other worker is mid-unit
                    killed = True
                    os.kill(next(iter(pids.values())), signal.SIGKILL)

        results = run_suite(scenarios, 1, None, Events(), strict=True, executor=executor)
    assert sorted(seen) == list(range(len(scenarios)))  # each unit reported exactly once
    assert [r.name for r in results] == [s.name for s in scenarios]
    # Dask hands a dead worker's unit to another worker: every verdict is still a real one.
    assert all(r.verdict is Verdict.PASSED for r in results), [r.error for r in results]


def test_mutate_runs_its_units_on_dask(cluster):
    with DaskExecutor(cluster) as executor:
        report = mutate(SORTING, _scenarios("r1_start.yaml"), operators={"trig"}, executor=executor)
    assert len(report.results) == 4
    assert {r.status for r in report.results} <= {"killed", "survived"}
    assert any(r.status == "killed" and r.killed_by for r in report.results)


def test_run_with_an_unreachable_scheduler_is_an_error_before_any_report(tmp_path):
    report = tmp_path / "results.json"
    done = run(
        "run", str(SUITE / "r1_start.yaml"), "--executor", f"dask://127.0.0.1:{_free_port()}",
        "--json", str(report),
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot reach the Dask scheduler" in done.stderr
    assert not report.exists()  # no empty report that could read as a pass


def test_a_collision_snapshot_made_on_a_worker_is_written_here(cluster, tmp_path):
    """The wrong-order cell program drives the arm through the camera post: the PNG of the
    first contact is made on the worker and must arrive beside the trace here."""
    cell = ROOT / "scenarios" / "pick_and_place" / "pp2_nominal_cycle.yaml"
    faulty = ROOT / "plant_models" / "pick_and_place" / "plc" / "faulty"
    (scenario,) = collect([cell], plc=faulty / "pp8_place_before_clear.st").scenarios
    with DaskExecutor(cluster) as executor:
        (result,) = run_suite([scenario], 1, tmp_path, strict=True, executor=executor)
    assert result.verdict is Verdict.FAILED
    images = [
        image
        for check in result.checks
        if check.kind == "no_collision" and check.evidence is not None
        for image in check.evidence.images
    ]
    assert images, [c.message for c in result.checks]
    for image in images:
        path = Path(image["path"])
        assert path.parent == tmp_path and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
