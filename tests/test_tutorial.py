"""docs/tutorial.md works as written: its files are the files, and every command runs.

Each code block after a ``<!-- file: PATH -->`` line must equal that file of the repository.
Each ``$ vcommission ...`` line of a ``console`` block runs, in order, in-process, from a
folder laid out as the repository (a copy of ``docs/tutorial/``, the bundled ``plant_models``
and ``scenarios`` beside it), with ``> FILE`` redirecting stdout; it must exit 0, or the code
its ``# exit N`` comment says. Every ``vcommission`` command of the CI job is one of them.
"""

from __future__ import annotations

import re
import shlex
import shutil

from tests.helpers import ROOT
from vcommission.cli import main

TUTORIAL = ROOT / "docs" / "tutorial.md"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.M | re.S)
_FILE = re.compile(r"<!-- file: (\S+) -->\n$")


def _blocks() -> list[tuple[str, str, str | None]]:
    """(language, body, file it shows or None) of every fenced block, in order."""
    text = TUTORIAL.read_text()
    found = []
    for match in _FENCE.finditer(text):
        marker = _FILE.search(text[: match.start()][-200:])
        found.append((match.group(1), match.group(2), marker.group(1) if marker else None))
    return found


def _commands() -> list[tuple[list[str], str | None, int]]:
    """(arguments after ``vcommission``, stdout file or None, expected exit) per command."""
    commands = []
    for language, body, _ in _blocks():
        if language != "console":
            continue
        for line in body.splitlines():
            if not line.startswith("$ vcommission "):
                continue  # example output
            command, _, comment = line[2:].partition("  # ")
            expected = int(comment.removeprefix("exit ")) if comment else 0
            words = shlex.split(command)
            redirect = None
            if ">" in words:
                at = words.index(">")
                words, redirect = words[:at], words[at + 1]
            commands.append((words[1:], redirect, expected))
    return commands


def test_the_files_shown_are_the_files_in_docs_tutorial():
    shown = [(path, body) for _, body, path in _blocks() if path is not None]
    assert len(shown) == 4
    for path, body in shown:
        assert (ROOT / path).read_text() == body, path


def test_every_command_of_the_tutorial_runs(tmp_path, monkeypatch, capsys):
    shutil.copytree(ROOT / "docs" / "tutorial", tmp_path / "docs" / "tutorial")
    for folder in ("plant_models", "scenarios"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    monkeypatch.chdir(tmp_path)
    commands = _commands()
    assert len(commands) >= 15
    ran = []
    for arguments, redirect, expected in commands:
        if arguments[0] == "render":
            arguments = [*arguments, "--size", "320x200"]  # smaller pictures, same code
        code = main(arguments)
        captured = capsys.readouterr()
        assert code == expected, (arguments, captured.out, captured.err)
        if redirect is not None:
            (tmp_path / redirect).write_text(captured.out)
        ran.append(" ".join(arguments))
    assert (tmp_path / "results.xml").is_file() and (tmp_path / "t1-at-6s.png").is_file()
    ci = next(body for language, body, _ in _blocks() if "runs-on:" in body)
    for line in ci.splitlines():
        if "run: vcommission " in line:
            assert line.split("run: vcommission ", 1)[1] in ran, line
