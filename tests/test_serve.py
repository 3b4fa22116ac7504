"""``vcommission serve`` as a user runs it: a real process, a real Modbus master, signals."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import NODE_DIR, ROOT, free_port, operator_script_output, run_cli, serving
from tests.peers import require_tool
from vcommission.serve import parse_endpoint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:5020", ("127.0.0.1", 5020)),
        (":0", ("127.0.0.1", 0)),
        ("0.0.0.0", ("0.0.0.0", 502)),
        ("off", None),
    ],
)
def test_parse_endpoint(text, expected):
    assert parse_endpoint(text, 502) == expected


@pytest.mark.parametrize("text", ["host:port", "h:70000", "h:-1"])
def test_parse_endpoint_rejects(text):
    with pytest.raises(ValueError, match="HOST:PORT"):
        parse_endpoint(text, 502)


def _mbpoll(port: int, *args: str) -> list[int]:
    result = subprocess.run(
        [require_tool("mbpoll"), "-m", "tcp", "-p", str(port), "-0", "-1", "-o", "1", *args],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return [int(line.split(":")[1]) for line in result.stdout.splitlines() if line.startswith("[")]


@pytest.mark.wire
def test_serve_applies_its_connection_limit_and_idle_timeout_from_the_command_line():
    import socket

    with serving(
        "--opcua", "off", "--modbus", "127.0.0.1:0",
        "--max-connections", "1", "--idle-timeout", "0.5",
    ) as process:  # fmt: skip
        first = process.stdout.readline()
        port = int(first.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as held:
            with socket.create_connection(("127.0.0.1", port), timeout=10) as extra:
                assert extra.recv(1) == b""  # over the limit: closed at once
            started = time.monotonic()
            assert held.recv(1) == b""  # silent: closed after the idle timeout
            assert time.monotonic() - started >= 0.3
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "limit of 1 connections" in err and "sent nothing for 0.5 s" in err


@pytest.mark.parametrize("flag", ["--max-connections", "--idle-timeout", "--keepalive"])
def test_serve_refuses_negative_limits(flag):
    result = run_cli("serve", "plant_models/sorting_line", flag, "-1")
    assert result.returncode == 3 and flag in result.stderr


@pytest.mark.parametrize("command", ["serve", "train"])
@pytest.mark.parametrize("value", ["-1", "100", "high"])
def test_an_rt_priority_outside_0_to_99_is_a_usage_error(command, value):
    result = run_cli(command, "plant_models/sorting_line", "--rt-priority", value)
    assert result.returncode == 3 and "--rt-priority" in result.stderr


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.peer
def test_serve_drives_the_sorting_line_from_mbpoll_and_stops_on_sigterm():
    require_tool("mbpoll")
    with serving(
        "--opcua",
        "127.0.0.1:0",
        "--modbus",
        "127.0.0.1:0",
        "--speed",
        "10",
    ) as process:
        first = process.stdout.readline()
        assert first.startswith("modbus listening on 127.0.0.1:"), first + process.stderr.read()
        port = int(first.rsplit(":", 1)[1])
        second = process.stdout.readline()
        assert second.startswith("opcua listening on opc.tcp://127.0.0.1:"), second
        endpoint = second.split(" on ", 1)[1].strip()
        # The plant's ticks run on SCHED_FIFO where the user may (root here), else say why.
        # (At --speed 10 the thread only spins between ticks and gives it back after 1 s.)
        third = process.stdout.readline()
        if os.geteuid() == 0:
            assert third == "tick thread: SCHED_FIFO 10\n", third
        else:
            assert third.startswith("tick thread: normal (real-time priority refused"), third
        # The OPC UA server runs in a process of its own (so its subscribers cannot make
        # ticks late), a child of serve's.
        children = _children(process.pid)
        assert len(children) == 1, children
        assert os.sched_getscheduler(children[0]) == os.SCHED_OTHER
        # A person presses start through OPC UA's Operator folder; the PLC sees it on DI 0.
        assert asyncio.run(_opcua_press(endpoint, "start_pb.pressed", True)) == 400
        assert _mbpoll(port, "-t", "1", "-r", "0", "-c", "1", "127.0.0.1") == [1]
        asyncio.run(_opcua_press(endpoint, "start_pb.pressed", False))
        deadline = time.monotonic() + 20
        seen = []
        while time.monotonic() < deadline and 1 not in seen:
            # Like OpenPLC: every poll writes all coils (conveyor_run and infeed_enable on),
            # which also keeps the PLC watchdog fed, then reads the inputs.
            _mbpoll(port, "-t", "0", "-r", "0", "127.0.0.1", "1", "0", "0", "0", "0", "1")
            seen = _mbpoll(port, "-t", "1", "-r", "4", "-c", "1", "127.0.0.1")  # pe_entry
        assert seen == [1]
        assert _mbpoll(port, "-t", "3", "-r", "0", "-c", "1", "127.0.0.1") == [400]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "stopped at t=" in out
        assert not Path(f"/proc/{children[0]}").exists() or _zombie(children[0])


def _children(pid: int) -> list[int]:
    """The child processes of ``pid`` (Linux /proc)."""
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


@pytest.mark.wire
def test_serve_reports_a_port_it_cannot_bind():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli(
            "serve", "plant_models/sorting_line", "--opcua", "off",
            "--modbus", f"127.0.0.1:{port}", "--duration", "1",
        )  # fmt: skip
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.peer
def test_serve_watchdog_drops_outputs_when_the_plc_goes_silent():
    require_tool("mbpoll")
    with serving(
        "--opcua",
        "off",
        "--modbus",
        "127.0.0.1:0",
        "--watchdog",
        "0.3",
    ) as process:
        port = int(process.stdout.readline().rsplit(":", 1)[1])
        _mbpoll(port, "-t", "0", "-r", "0", "127.0.0.1", "1")  # conveyor_run, then silence
        time.sleep(0.1)
        assert _mbpoll(port, "-t", "0", "-r", "0", "-c", "1", "127.0.0.1") == [1]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if _mbpoll(port, "-t", "0", "-r", "0", "-c", "1", "127.0.0.1") == [0]:
                break
            time.sleep(0.05)
        assert _mbpoll(port, "-t", "0", "-r", "0", "-c", "1", "127.0.0.1") == [0]
        _mbpoll(port, "-t", "0", "-r", "0", "127.0.0.1", "1")  # the PLC is back
        time.sleep(0.1)
        assert _mbpoll(port, "-t", "0", "-r", "0", "-c", "1", "127.0.0.1") == [1]
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
        assert process.returncode == 0, err
        assert "watchdog tripped at t=" in out and "watchdog resumed at t=" in out


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.peer
def test_live_view_keys_press_panel_buttons_through_a_terminal():
    """Run serve on a pseudo-terminal as a trainer would, press [1] (start_pb) and [4] (e-stop)."""
    import pty

    require_tool("mbpoll")
    port = free_port()
    master, slave = pty.openpty()
    terminal = {"stdin": slave, "stdout": slave, "stderr": slave, "text": False}
    env = {**os.environ, "COLUMNS": "200", "LINES": "50"}
    try:
        with serving(
            "--opcua", "off", "--modbus", f"127.0.0.1:{port}", "--duration", "20",
            env=env, **terminal,
        ) as process:  # fmt: skip
            os.close(slave)
            screen = b""
            deadline = time.monotonic() + 15
            while b"[1] start_pb.pressed" not in screen and time.monotonic() < deadline:
                screen += os.read(master, 65536)
            assert b"[1] start_pb.pressed" in screen and b"[4] estop.pressed" in screen
            # Keep reading the screen, or the live view would fill the pty and block the server.
            threading.Thread(target=_drain, args=(master,), daemon=True).start()
            assert _mbpoll(port, "-t", "1", "-r", "0", "-c", "4", "127.0.0.1") == [0, 1, 0, 1]
            os.write(master, b"1")
            assert _poll_until(port, "0", [1])  # start_pb held down for half a second
            assert _poll_until(port, "0", [0])  # and released
            os.write(master, b"4")
            assert _poll_until(port, "3", [0])  # e-stop pressed: estop_ok FALSE, and it stays
            time.sleep(0.7)
            assert _mbpoll(port, "-t", "1", "-r", "3", "-c", "1", "127.0.0.1") == [0]
            os.write(master, b"q")
            assert process.wait(timeout=10) == 0
    finally:
        os.close(master)


async def _opcua_press(endpoint: str, tag: str, value: bool) -> int:
    """Write an operator input with an OPC UA client; return speed_sp as read over OPC UA."""
    from asyncua import Client, ua

    from vcommission.addressing import opcua_node_id

    async with Client(endpoint) as client:
        # The I/O list gives nsu=<uri>;s=<tag>; asyncua's client wants the namespace index.
        nodes = {}
        for name in (tag, "speed_sp"):
            expanded = ua.NodeId.from_string(opcua_node_id("sorting_line", name))
            index = await client.get_namespace_index(expanded.NamespaceUri)
            nodes[name] = client.get_node(ua.NodeId(expanded.Identifier, index))
        await nodes[tag].write_value(ua.DataValue(ua.Variant(value, ua.VariantType.Boolean)))
        speed = await nodes["speed_sp"].read_value()
    await asyncio.sleep(0.05)  # at 10x speed, several ticks: the press is committed
    return speed


def _drain(fd: int) -> None:
    with contextlib.suppress(OSError):
        while os.read(fd, 65536):
            pass


def _poll_until(port: int, address: str, expected: list[int], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _mbpoll(port, "-t", "1", "-r", address, "-c", "1", "127.0.0.1") == expected:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.realtime
@pytest.mark.wire
def test_serve_in_client_mode_runs_without_a_plc_and_stops_cleanly():
    port = free_port()  # nothing listens there: the PLC is not up yet
    result = run_cli(
        "serve",
        "plant_models/sorting_line",
        "--modbus",
        "off",
        "--opcua",
        "off",
        "--modbus-client",
        f"127.0.0.1:{port}",
        "--duration",
        "0.5",
    )
    assert result.returncode == 0, result.stderr
    assert f"modbus client polling 127.0.0.1:{port}" in result.stdout
    assert "stopped at t=0.50 s" in result.stdout


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.peer
def test_node_opcua_drives_the_served_line_until_boxes_reach_pe_entry(node_opcua):
    node = require_tool("node")
    node_dir = NODE_DIR
    with serving(
        "--modbus",
        "off",
        "--opcua",
        "127.0.0.1:0",
        "--speed",
        "5",
        # An HMI writes once; at 5x a 1 s watchdog would drop the outputs before the box
        # arrives. The watchdog has its own tests.
        "--watchdog",
        "0",
    ) as process:
        line = process.stdout.readline()
        assert line.startswith("opcua listening on opc.tcp://127.0.0.1:"), line
        endpoint = line.split(" on ", 1)[1].strip()
        driver = subprocess.run(
            [node, "drive.js", endpoint, "sorting_line", "20000"],
            cwd=node_dir,
            env=node_opcua,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert driver.returncode == 0, driver.stdout[-2000:] + driver.stderr[-2000:]
        assert '{"written":["Good","Good"]}' in driver.stdout
        assert '{"pe_entry":true}' in driver.stdout
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0


@pytest.mark.realtime
@pytest.mark.wire
def test_an_operator_script_presses_start_for_the_plc_connected_over_modbus(tmp_path):
    """Headless: the script presses Start; the soft PLC over Modbus runs the belt; the
    script's wait sees it; an e-stop stops it again. No OPC UA client written by hand."""
    script = tmp_path / "operate.yaml"
    script.write_text(
        "steps:\n"
        # The PLC is up when it lights amber (stopped, ready): a loaded machine takes seconds.
        "  - wait: {until: {tag: light_amber}, timeout: 15}\n"
        "  - hold: 0.5\n"
        "  - pulse: {tag: start_pb.pressed, for: 0.3}\n"
        "  - wait: {until: {tag: conveyor_run}, timeout: 5}\n"
        "  - set: {tag: estop.pressed, value: true}\n"
        "  - wait: {until: {not: {tag: conveyor_run}}, timeout: 5}\n"
    )
    with serving(
        "--opcua", "off", "--modbus", "127.0.0.1:0", "--duration", "40",
        "--operator-script", str(script),
    ) as process:  # fmt: skip
        port = int(process.stdout.readline().rsplit(":", 1)[1])
        plc = subprocess.Popen(
            [sys.executable, "-m", "vcommission", "plc",
             "plant_models/sorting_line/plc/sorting.st", "--modbus", f"127.0.0.1:{port}",
             "--model", "plant_models/sorting_line", "--duration", "35"],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            text = operator_script_output(process, 45)
        finally:
            plc.kill()
            plc.wait()
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)
    assert "operator script 4/6" in text and "pulse start_pb.pressed for 0.3 s" in text
    assert "operator script done" in text, text


def test_a_broken_operator_script_is_a_located_error_before_serving(tmp_path):
    script = tmp_path / "bad.yaml"
    script.write_text("steps:\n  - pulse: {tag: start_pb, for: 0.3}\n")
    done = run_cli(
        "serve", "plant_models/sorting_line", "--modbus", "off", "--opcua", "off",
        "--operator-script", str(script),
    )  # fmt: skip
    assert done.returncode == 1
    assert f"{script}:2: steps[0].pulse" in done.stderr
    assert "listening" not in done.stdout and "Traceback" not in done.stderr
