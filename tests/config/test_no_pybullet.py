"""Loading models, listing I/O and checking files never import the physics engine.

Each case runs in a fresh interpreter (pybullet, once imported, stays in ``sys.modules``)
and reports afterwards whether pybullet was loaded.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SORTING_LINE = ROOT / "plant_models" / "sorting_line"

_REPORT = """
import sys
engines = sorted(m for m in ("pybullet", "pybullet_utils") if m in sys.modules)
sys.stderr.write("ENGINES=" + ",".join(engines) + "\\n")
"""


def _engines_after(code: str) -> tuple[str, subprocess.CompletedProcess[str]]:
    script = textwrap.dedent(code) + _REPORT
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    lines = [line for line in done.stderr.splitlines() if line.startswith("ENGINES=")]
    assert lines, f"the script did not finish:\n{done.stderr}"
    return lines[-1].removeprefix("ENGINES="), done


def _cli(*argv: str) -> str:
    return f"""
from vcommission.cli import main
try:
    code = main({list(argv)!r})
except SystemExit as exc:
    code = exc.code
print("EXIT", code)
"""


def test_importing_config_does_not_import_pybullet():
    engines, _ = _engines_after("import vcommission.config")
    assert engines == ""


def test_loading_a_model_and_its_components_does_not_import_pybullet():
    # The loader instantiates every kind (unbuilt) to learn its ports: kinds stay engine-free.
    engines, done = _engines_after(f"""
        from vcommission.config.model import load_model
        from vcommission.plant import registry
        for kind in registry.kinds():
            registry.load(kind)
        model = load_model({str(SORTING_LINE)!r})
        model.instantiate()
        import vcommission, vcommission.plant, vcommission.simulator
        print(len(model.components))
    """)
    assert engines == "", done.stderr
    assert done.stdout.split() == ["14"]


@pytest.mark.parametrize(
    "argv",
    [
        ("io-list", str(SORTING_LINE)),
        ("check", str(ROOT / "plant_models")),
        ("kinds",),
        ("--help",),
    ],
    ids=["io-list", "check", "kinds", "help"],
)
def test_cli_commands_that_only_read_models_do_not_import_pybullet(argv):
    engines, done = _engines_after(_cli(*argv))
    assert engines == "", done.stderr
    assert done.stdout.split()[-2:] == ["EXIT", "0"], done.stdout + done.stderr


def test_the_world_still_imports_from_the_package_on_demand():
    engines, done = _engines_after("""
        from vcommission.plant import World
        with World() as world:
            assert world.bodies() == []
    """)
    assert engines == "pybullet,pybullet_utils", done.stderr
