"""Bad input gets a located error and a non-zero exit, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT, run_cli

HEAD = """\
name: m
parts:
  box: {size: [0.2, 0.2, 0.1]}
components:
  belt: {kind: belt_conveyor, start: [0, 0, 0.8], length: 2.0, width: 0.4}
  feed: {kind: spawner, position: [0.2, 0, 0.8], interval: 2.0, mix: {box: 1}}
"""


def check(tmp_path: Path, text: str | bytes) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "model.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return run_cli("check", str(path))


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        (HEAD + "  [a, b]: {kind: push_button}\n", 7, "keys must be plain names"),
        ("name: m\nphysics: {tick: 1" + "0" * 400 + "}\n", 2, "physics.tick: number too large"),
        ("name: m\nphysics: {gravity: .nan}\n", 2, "physics.gravity: expected a finite number"),
        ("name: m\nparts:\n  box: {size: [0.2, .inf, 0.1]}\n", 3, "expected a finite number"),
        (HEAD.replace("mix: {box: 1}", "mix: {box: .inf}"), 6, "expected a finite number"),
        ("name: m\nseed: -3\n", 1, "seed=-3 must be >= 0"),
        (HEAD.replace("box:", "big box:", 1), 1, "part variant names ['big box']"),
        (HEAD + "  sl: {kind: stack_light, lamps: [a.b]}\n", 7, "lamp names ['a.b']"),
        (HEAD.replace("width: 0.4}", "width: 0.4, max_speed: 40}"), 5, "max_speed=40"),
        (HEAD + "signals:\n  n: {port: feed.count, modbus: IR 65535}\n", 8, "runs past the last"),
        (HEAD + "signals:\n  sp: {port: belt.speed_setpoint, range: [1000, 0]}\n", 8, "[min, max]"),
        (HEAD + "signals:\n  run: {port: belt.run, range: [0, 1]}\n", 8, "a BOOL has no range"),
        ("name: m\ncomponents:\n\tbelt: {}\n", 3, "invalid YAML"),
        ("", 0, "file is empty"),
        # Hostile files: an alias bomb in a component parameter, nesting past the limit.
        (
            HEAD.replace(
                "components:",
                "x0: &x0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
                + "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" for i in range(1, 7))
                + "components:",
            ).replace("length: 2.0", "length: *x6"),
            9,  # the anchor that grows past the bound
            "expands to more than 200,000 values",
        ),
        (HEAD + "  deep: " + "[" * 70 + "]" * 70 + "\n", 7, "nested more than 64 levels deep"),
    ],
)
def test_bad_model_is_located_and_exits_1(tmp_path, text, line, message):
    result = check(tmp_path, text)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    where = f"{tmp_path / 'model.yaml'}:{line}:" if line else f"{tmp_path / 'model.yaml'}:"
    matching = [e for e in result.stderr.splitlines() if message in e]
    assert matching and matching[0].startswith(where), result.stderr


def test_non_utf8_file(tmp_path):
    result = check(tmp_path, b"name: m\ndescription: caf\xe9\n")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'model.yaml'}:2: not UTF-8 text at byte 24" in result.stderr


def test_one_broken_model_does_not_hide_the_others(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.yaml").write_text("name: a\nseed: -1\n")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model.yaml").write_text("name: b\n")
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 1
    assert f"ok {tmp_path / 'b' / 'model.yaml'}" in result.stdout
    assert "1 of 2 model(s) invalid" in result.stderr


@pytest.mark.parametrize(
    "args",
    [("demo", "--seed", "-1"), ("demo", "--duration", "inf"), ("demo", "--duration", "nan")],
)
def test_bad_arguments_exit_3(args):
    result = run_cli(*args)
    assert result.returncode == 3 and "Traceback" not in result.stderr


def test_piping_into_head_is_not_an_error():
    result = subprocess.run(
        f"{sys.executable} -m vcommission io-list plant_models/sorting_line --all | head -1",
        shell=True,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.stdout.startswith("tag")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr
