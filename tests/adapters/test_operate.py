"""``vcommission operate``: a real process pressing buttons of a real OPC UA plant server.

The server runs in the test's event loop with the simulator stepped beside it, so the test
sees what the plant saw: the press reaching ``start_pb`` and its release.
"""

from __future__ import annotations

import asyncio
import sys

import pytest
from asyncua import ua

from tests.helpers import ROOT, SORTING_LINE
from vcommission.adapters.opcua import OpcUaServer
from vcommission.adapters.opcua.operate import parse_value
from vcommission.config.model import load_model
from vcommission.errors import VcommissionError
from vcommission.plant.plant import Plant
from vcommission.simulator import Simulator

pytestmark = pytest.mark.wire
WAIT = 60.0


async def operate(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vcommission", "operate", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), WAIT)
    return process.returncode, out.decode(), err.decode()


async def served_while(coroutine, watched: str):
    """Run ``coroutine`` against a served sorting line; (its result, values ``watched`` took)."""
    model = load_model(SORTING_LINE)
    with Plant(model) as plant:
        sim = Simulator(plant)
        seen: list[object] = []
        async with OpcUaServer(model, plant.image, port=0) as server:
            sim.listeners.append(server.on_commit)
            task = asyncio.ensure_future(coroutine(server.endpoint))
            while not task.done():
                sim.step()
                seen.append(plant.image[watched])
                await asyncio.sleep(0.005)
            return task.result(), seen


async def test_a_pulse_presses_the_button_and_releases_it():
    (code, out, err), seen = await served_while(
        lambda url: operate(url, "start_pb.pressed", "--pulse", "0.3"), "start_pb"
    )
    assert code == 0, err
    assert out.strip() == "start_pb.pressed = TRUE for 0.3 s, then FALSE"
    assert True in seen and seen[-1] is False
    assert seen.index(True) < len(seen) - seen[::-1].index(True)  # pressed, then released


async def test_set_writes_in_the_tags_own_type_and_refusals_say_why():
    async def session(url: str):
        return [
            await operate(url, "speed_sp", "--set", "250"),
            await operate(url, "speed_sp", "--set", "5000"),  # out of its range
            await operate(url, "nope", "--set", "1"),
            await operate(url, "speed_sp", "--pulse", "0.1"),
        ]

    results, seen = await served_while(session, "speed_sp")
    code, out, err = results[0]
    assert code == 0, err
    assert out.strip() == "speed_sp = 250" and seen[-1] == 250
    for (code, _out, err), message in zip(
        results[1:], ["BadOutOfRange", "no tag 'nope'", "only a BOOL"], strict=True
    ):
        assert code == 2 and message in err, err


async def test_an_endpoint_nobody_serves_is_a_clear_error():
    code, _out, err = await operate("opc.tcp://127.0.0.1:9/vcommission/sorting_line", "x")
    assert code == 2 and "cannot connect to opc.tcp://127.0.0.1:9" in err
    code, _out, err = await operate("http://example.invalid/", "x")
    assert code == 2 and "not a served plant's endpoint" in err


def test_values_are_read_in_the_variables_type():
    assert parse_value("TRUE", ua.VariantType.Boolean) is True
    assert parse_value("off", ua.VariantType.Boolean) is False
    assert parse_value("0x10", ua.VariantType.Int16) == 16
    assert parse_value("2.5", ua.VariantType.Float) == 2.5
    with pytest.raises(VcommissionError, match="'fast' is not a Int16"):
        parse_value("fast", ua.VariantType.Int16)
    with pytest.raises(VcommissionError, match="give TRUE or FALSE"):
        parse_value("maybe", ua.VariantType.Boolean)
