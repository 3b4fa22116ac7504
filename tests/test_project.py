"""The project's own promises: README commands, CI script, module docstrings."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    return re.findall(r"```bash\n(.+?)\n```", (ROOT / "README.md").read_text())


def test_readme_opens_with_exactly_two_commands():
    text = (ROOT / "README.md").read_text()
    head = text.split("\n## ", 1)[0]
    assert len(re.findall(r"```bash\n", head)) == 2
    main_job, tests = _readme_commands()[:2]
    assert "vcommission run scenarios/" in main_job
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command_and_cannot_hide_failures():
    ci = (ROOT / ".ci" / "run").read_text()
    tests = _readme_commands()[1]
    assert tests in ci.splitlines()
    assert "set -euo pipefail" in ci
    assert "|| true" not in ci


def test_every_module_has_a_docstring():
    for path in [*ROOT.glob("vcommission/**/*.py"), *ROOT.glob("tools/**/*.py")]:
        tree = ast.parse(path.read_text())
        assert ast.get_docstring(tree), f"{path.relative_to(ROOT)} has no module docstring"
