"""``vcommission plc`` against ``vcommission serve``: two processes, real sockets, real time.

The plant is served over Modbus TCP and OPC UA; the soft PLC polls it as a hardware PLC
would (Modbus: FC2/FC4 reads, FC15/FC16 writes every cycle; OPC UA: one batched read and
write). A person presses start through OPC UA's Operator folder. Both run at 4x speed, the
PLC's clock scaled to match, so a minute of machine time takes 15 s or less.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_cli, serving
from vcommission.addressing import opcua_node_id

PROGRAM = "plant_models/sorting_line/plc/sorting.st"
SPEED = "4"


async def _opcua(endpoint: str, writes: dict[str, bool], reads: list[str]) -> dict[str, object]:
    from asyncua import Client, ua

    async with Client(endpoint) as client:
        index = None
        values: dict[str, object] = {}

        def node(tag: str):
            expanded = ua.NodeId.from_string(opcua_node_id("sorting_line", tag))
            return client.get_node(ua.NodeId(expanded.Identifier, index))

        uri = ua.NodeId.from_string(opcua_node_id("sorting_line", "x")).NamespaceUri
        index = await client.get_namespace_index(uri)
        for tag, value in writes.items():
            await node(tag).write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Boolean)))
        for tag in reads:
            values[tag] = await node(tag).read_value()
    return values


def _press_start(endpoint: str) -> None:
    asyncio.run(_opcua(endpoint, {"start_pb.pressed": True}, []))
    time.sleep(0.1)
    asyncio.run(_opcua(endpoint, {"start_pb.pressed": False}, []))


def _bins(endpoint: str) -> dict[str, object]:
    tags = [f"bin_{b}.count_{v}" for b in ("tall", "small") for v in ("tall", "small")]
    return asyncio.run(_opcua(endpoint, {}, tags))


def _run_plc(link: list[str], duration: str, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    coverage = tmp_path / "coverage.json"
    command = [sys.executable, "-m", "vcommission", "plc", PROGRAM, *link]
    command += ["--model", "plant_models/sorting_line", "--speed", SPEED]
    command += ["--duration", duration, "--coverage", str(coverage)]
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return process, coverage


def _endpoints(plant: subprocess.Popen) -> tuple[int, str]:
    first = plant.stdout.readline()
    assert first.startswith("modbus listening on 127.0.0.1:"), first + plant.stderr.read()
    second = plant.stdout.readline()
    assert second.startswith("opcua listening on "), second
    return int(first.rsplit(":", 1)[1]), second.split(" on ", 1)[1].strip()


def _sorts(plant: subprocess.Popen, link: list[str], duration: str, tmp_path: Path, endpoint):
    plc, coverage = _run_plc(link, duration, tmp_path)
    try:
        banner = plc.stdout.readline()
        assert banner.startswith("plc "), banner + plc.stderr.read()
        time.sleep(0.5)  # a few PLC cycles: its outputs are on the plant before the press
        _press_start(endpoint)
        out, err = plc.communicate(timeout=60)
    finally:
        if plc.poll() is None:
            plc.kill()
    assert plc.returncode == 0, out + err
    assert "0 I/O errors" in out, out
    bins = _bins(endpoint)
    assert bins["bin_tall.count_small"] == 0 and bins["bin_small.count_tall"] == 0, bins
    assert bins["bin_tall.count_tall"] >= 1 and bins["bin_small.count_small"] >= 1, bins
    report = json.loads(coverage.read_text())
    assert report["statements"]["covered"] > report["statements"]["total"] / 2, report
    return out


@pytest.mark.realtime
@pytest.mark.wire
def test_sorting_st_sorts_over_modbus(tmp_path):
    with serving("--modbus", "127.0.0.1:0", "--opcua", "127.0.0.1:0", "--speed", SPEED) as plant:
        port, endpoint = _endpoints(plant)
        out = _sorts(plant, ["--modbus", f"127.0.0.1:{port}"], "48", tmp_path, endpoint)
        assert "cycles" in out


@pytest.mark.realtime
@pytest.mark.wire
def test_sorting_st_sorts_over_opcua(tmp_path):
    with serving("--modbus", "127.0.0.1:0", "--opcua", "127.0.0.1:0", "--speed", SPEED) as plant:
        _, endpoint = _endpoints(plant)
        _sorts(plant, ["--opcua", endpoint], "40", tmp_path, endpoint)


def test_plc_needs_exactly_one_link():
    result = run_cli("plc", PROGRAM)
    assert result.returncode == 3, result.stderr
    assert "--modbus" in result.stderr
    result = run_cli("plc", PROGRAM, "--opcua", "opc.tcp://127.0.0.1:1")
    assert result.returncode == 3 and "--model" in result.stderr
