"""tools/gen_large.py: generated multi-station models and programs check clean and run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
import yaml

from vcommission.cli import main as cli_main
from vcommission.config.model import load_model
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.results import Verdict
from vcommission.scenario.runner import run_scenario

ROOT = Path(__file__).resolve().parents[2]


def _gen_large():
    spec = importlib.util.spec_from_file_location("gen_large", ROOT / "tools" / "gen_large.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_large"] = module
    spec.loader.exec_module(module)
    return module


gen_large = _gen_large()


@pytest.mark.parametrize("base", ["sorting_line", "pick_and_place"])
def test_generated_model_and_program_check_clean(base: str, tmp_path: Path) -> None:
    made = gen_large.generate(base, 3, tmp_path / base)
    assert cli_main(["check", str(made.model.parent)]) == 0
    assert cli_main(["check", "--model", str(made.model.parent), str(made.program)]) == 0
    model = load_model(made.model.parent)
    bundled = load_model(ROOT / "plant_models" / base)
    assert len(model.components) == 3 * len(bundled.components)
    assert len(model.table) == 3 * len(bundled.table)
    # Each station's I/O in its own block: as many PLC addresses as signals with one.
    assert len(set(model.addresses.values())) == 3 * len(bundled.addresses)


def test_row_layout_shifts_stations_along_x(tmp_path: Path) -> None:
    made = gen_large.generate("sorting_line", 2, tmp_path / "row", layout="row")
    components = yaml.safe_load(made.model.read_text())["components"]
    assert components["s01_belt"]["start"] == [0.0, 0.0, 0.8]
    assert components["s02_belt"]["start"] == [5.5, 0.0, 0.8]
    assert components["s02_pusher"]["origin"] == [8.0, -0.27, 0.87]


SCENARIO = """\
name: three generated stations sort
model: {model}
duration: 15
steps:
  - hold: 0.3
{presses}
checks:
{checks}
"""


def test_three_stations_run_the_reference_program(tmp_path: Path) -> None:
    """Every station starts on its own button, sorts its boxes and keeps R4."""
    made = gen_large.generate("sorting_line", 3, tmp_path / "line")
    stations = [gen_large.station_name(k) for k in range(3)]
    presses = "\n".join(f"  - pulse: {{tag: {s}_start_pb.pressed, for: 0.2}}" for s in stations)
    checks = []
    for s in stations:
        checks += [
            f"  - name: {s} pusher never extended while its belt runs",
            f"    interlock: {{never: {{all: [{{tag: {s}_pusher_extend}}, "
            f"{{tag: {s}_conveyor_run}}]}}}}",
            f"  - name: {s} runs without a fault",
            f"    interlock: {{never: {{tag: {s}_light_red}}, during: {{tag: {s}_conveyor_run}}}}",
            f"  - name: {s} pushed a box into its tall bin",
            f"    parts_arrived: {{min: 1, sink: {s}_bin_tall}}",
        ]
    path = tmp_path / "three.yaml"
    path.write_text(
        SCENARIO.format(
            model=made.model.parent,
            presses=presses,
            checks="\n".join(checks),
        )
    )
    (scenario,) = load_scenarios(path)
    result = run_scenario(scenario)
    failed = [f"{c.name}: {c.message}" for c in result.checks if c.verdict is not Verdict.PASSED]
    assert result.verdict is Verdict.PASSED, (result.error, failed)
