"""A robot over the wire: ``vcommission serve`` a gantry cell, ``vcommission plc`` runs its jobs.

The soft PLC drives the robot only through the handshake (drives_on, pgno + pgno_valid,
ext_start; rob_rdy, pgno_req, appl_run, job_done), over Modbus TCP and over OPC UA, two
processes on loopback at 4x speed. Job 3 sets the robot's user output ``finished``: read over
OPC UA afterwards, it shows that jobs 1, 2 and 3 ran in turn through the handshake.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, write_model
from vcommission.addressing import opcua_node_id

SPEED = "4"

MODEL = """\
name: robot_cell
physics: {tick: 0.01}
components:
  arm:
    kind: robot
    urdf: gantry.urdf
    outputs: [finished]
    points:
      home: {joints: [0, 0, 0, 0]}
      far: {joints: [0.5, 0.3, 0.4, 90]}
    jobs:
      1: {name: out, steps: [{ptp: far}]}
      2: {name: back, steps: [{ptp: home}]}
      3: {name: flag, steps: [{set: finished}]}
signals:
  rob_peri_rdy:  {port: arm.peri_rdy, modbus: DI 0}
  rob_rdy:       {port: arm.rob_rdy, modbus: DI 1}
  rob_pgno_req:  {port: arm.pgno_req, modbus: DI 2}
  rob_appl_run:  {port: arm.appl_run, modbus: DI 3}
  rob_in_home:   {port: arm.in_home, modbus: DI 4}
  rob_stopmess:  {port: arm.stopmess, modbus: DI 5}
  rob_job_done:  {port: arm.job_done, modbus: IR 0}
  rob_drives_on: {port: arm.drives_on, modbus: coil 0}
  rob_move_enable: {port: arm.move_enable, modbus: coil 1}
  rob_ext_start: {port: arm.ext_start, modbus: coil 2}
  rob_pgno_valid: {port: arm.pgno_valid, modbus: coil 3}
  rob_pgno:      {port: arm.pgno, modbus: HR 0}
"""

PROGRAM = """\
(* Runs the gantry's jobs 1, 2, 3 in turn, only through the handshake. *)
PROGRAM RobotCycle
VAR
    peri_rdy    AT %IX0.0 : BOOL;
    rob_rdy     AT %IX0.1 : BOOL;
    pgno_req    AT %IX0.2 : BOOL;
    appl_run    AT %IX0.3 : BOOL;
    in_home     AT %IX0.4 : BOOL;
    stopmess    AT %IX0.5 : BOOL;
    job_done    AT %IW0   : INT;
    drives_on   AT %QX0.0 : BOOL;
    move_enable AT %QX0.1 : BOOL;
    ext_start   AT %QX0.2 : BOOL;
    pgno_valid  AT %QX0.3 : BOOL;
    pgno        AT %QW0   : INT;
END_VAR
VAR
    step : INT := 0;   (* 0 number, 3 strobe, 1 start, 2 wait for the job's end *)
    next : INT := 1;   (* the program to run next *)
END_VAR
drives_on := TRUE;
move_enable := TRUE;
CASE step OF
    0: (* the robot asks for a number: give it first ... *)
        ext_start := FALSE;
        IF pgno_req AND next <= 3 THEN
            pgno := next;
            step := 3;
        END_IF;
    3: (* ... and latch it with pgno_valid a cycle later: over the wire the number and the
          strobe travel in separate requests, so the number must be there before the edge *)
        pgno_valid := TRUE;
        IF NOT pgno_req THEN
            pgno_valid := FALSE;
            step := 1;
        END_IF;
    1: (* latched: start it *)
        IF rob_rdy THEN
            ext_start := TRUE;
        END_IF;
        IF appl_run THEN
            ext_start := FALSE;
            step := 2;
        END_IF;
    2: (* running: the job_done echo tells which one finished *)
        IF NOT appl_run AND job_done = next THEN
            next := next + 1;
            step := 0;
        END_IF;
END_CASE;
END_PROGRAM
"""


async def _read(endpoint: str, tags: list[str]) -> dict[str, object]:
    from asyncua import Client, ua

    async with Client(endpoint) as client:
        uri = ua.NodeId.from_string(opcua_node_id("robot_cell", "x")).NamespaceUri
        index = await client.get_namespace_index(uri)
        values = {}
        for tag in tags:
            expanded = ua.NodeId.from_string(opcua_node_id("robot_cell", tag))
            values[tag] = await client.get_node(ua.NodeId(expanded.Identifier, index)).read_value()
        return values


def _serve(model: Path) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "vcommission", "serve", str(model)]
    command += ["--modbus", "127.0.0.1:0", "--opcua", "127.0.0.1:0", "--speed", SPEED]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.realtime
@pytest.mark.wire
@pytest.mark.parametrize("link", ["modbus", "opcua"])
def test_the_plc_runs_robot_jobs_through_the_handshake(tmp_path, link):
    model = write_model(tmp_path / "cell", MODEL)
    program = tmp_path / "cell" / "robot.st"
    program.write_text(PROGRAM)
    plant = _serve(model)
    try:
        first = plant.stdout.readline()
        assert first.startswith("modbus listening on 127.0.0.1:"), first + plant.stderr.read()
        port = int(first.rsplit(":", 1)[1])
        endpoint = plant.stdout.readline().split(" on ", 1)[1].strip()
        target = ["--modbus", f"127.0.0.1:{port}"] if link == "modbus" else ["--opcua", endpoint]
        command = [sys.executable, "-m", "vcommission", "plc", str(program), *target]
        command += ["--model", str(model), "--speed", SPEED, "--duration", "8"]
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=90,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0 I/O errors" in done.stdout, done.stdout
        values = asyncio.run(
            _read(endpoint, ["arm.finished", "rob_job_done", "rob_in_home", "rob_stopmess"])
        )
    finally:
        plant.kill()
        plant.wait()
    assert values == {
        "arm.finished": True,
        "rob_job_done": 3,
        "rob_in_home": True,
        "rob_stopmess": False,
    }
