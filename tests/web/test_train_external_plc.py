"""``train`` with an external PLC: its link runs through a proxy the instructor's faults act on.

The PLC here is mbpoll (libmodbus, an independent Modbus master) on the endpoint ``train``
printed; the instructor injects ``lost_connection`` and ``latency`` on the instructor socket,
exactly as the page sends them.
"""

from __future__ import annotations

import asyncio
import io
import json
import subprocess
import time

import pytest
from rich.console import Console

from tests.helpers import SORTING_LINE
from tests.peers import require_tool
from vcommission.web import TrainingThread, TrainOptions

pytestmark = pytest.mark.realtime

MODEL = SORTING_LINE


def _mbpoll(port: int) -> subprocess.CompletedProcess[str]:
    """Read the first coil once, as a PLC polling its outputs would (1 s timeout)."""
    return subprocess.run(
        [require_tool("mbpoll"), "-m", "tcp", "-a", "1", "-t", "0", "-r", "1", "-c", "1", "-1",
         "-o", "1", "-p", str(port), "127.0.0.1"],
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip


async def _instruct(url: str, requests: list[dict]) -> list[dict]:
    import aiohttp

    replies = []
    async with aiohttp.ClientSession() as client, client.ws_connect(url) as ws:
        for request in requests:
            await ws.send_str(json.dumps(request))
            while True:
                reply = json.loads((await ws.receive(timeout=10)).data)
                if reply["type"] in ("ok", "error"):
                    replies.append(reply)
                    break
    return replies


@pytest.fixture(scope="module")
def external():
    require_tool("mbpoll")
    output = io.StringIO()
    options = TrainOptions(modbus=("127.0.0.1", 0), web=("127.0.0.1", 0), duration=3600)
    with TrainingThread(MODEL, options, Console(file=output)) as web:
        instructor = web.instructor_url.replace("http", "ws", 1).replace(
            "/instructor?", "/ws/instructor?"
        )
        yield web, instructor, output


def test_the_external_plc_dials_the_proxy_on_the_endpoint_train_printed(external):
    web, _, output = external
    session = web.training.session
    proxy, server = session.proxy, session.servers[0]
    assert proxy is not None
    assert proxy.port != server.port  # the Modbus server itself sits behind, on loopback
    assert f"modbus listening on 127.0.0.1:{proxy.port}\n" in output.getvalue()
    assert "driven by an external PLC" in output.getvalue()
    read = _mbpoll(proxy.port)
    assert read.returncode == 0, read.stdout + read.stderr


def test_instructor_link_faults_cut_and_slow_the_external_plcs_wire(external):
    web, instructor, _ = external
    port = web.training.session.proxy.port
    (cut,) = asyncio.run(
        _instruct(instructor, [{"type": "inject", "fault": "{kind: lost_connection, id: cable}"}])
    )
    assert cut["type"] == "ok", cut
    assert _mbpoll(port).returncode != 0  # refused while the cable is out
    replies = asyncio.run(
        _instruct(
            instructor,
            [
                {"type": "clear", "name": "cable"},
                {"type": "inject", "fault": "{kind: latency, delay: 0.6, id: slow}"},
            ],
        )
    )
    assert [reply["type"] for reply in replies] == ["ok", "ok"], replies
    started = time.monotonic()
    slow = _mbpoll(port)
    elapsed = time.monotonic() - started
    assert slow.returncode == 0, slow.stdout + slow.stderr
    assert elapsed >= 0.6
    (cleared,) = asyncio.run(_instruct(instructor, [{"type": "clear", "name": "slow"}]))
    assert cleared["type"] == "ok"
    whats = [entry.what for entry in web.training.timeline]
    assert any("injected fault cable" in what for what in whats)
    assert any("injected fault slow" in what for what in whats)


def test_an_external_plc_over_opc_ua_dials_the_proxy_too():
    from asyncua import Client

    output = io.StringIO()
    options = TrainOptions(opcua=("127.0.0.1", 0), web=("127.0.0.1", 0), duration=3600)
    with TrainingThread(MODEL, options, Console(file=output)) as web:
        proxy, server = web.training.session.proxy, web.training.session.servers[0]
        line = next(
            line for line in output.getvalue().splitlines() if line.startswith("opcua listening")
        )
        url = line.split(" on ", 1)[1]
        assert url.startswith(f"opc.tcp://127.0.0.1:{proxy.port}/") and proxy.port != server.port

        async def namespaces() -> list[str]:
            async with Client(url) as client:
                return await client.get_namespace_array()

        assert "urn:vcommission:sorting_line" in asyncio.run(namespaces())
