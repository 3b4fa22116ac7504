"""``vcommission kinds`` and the README's component table: the catalogue read from the code."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import run_cli as run
from vcommission.config.catalog import describe
from vcommission.plant import registry
from vcommission.plant.component import Component
from vcommission.signals import SignalType

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import readme_kinds  # noqa: E402


def test_every_kind_is_listed_with_its_summary():
    done = run("kinds")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines] == registry.kinds()
    belt = next(line for line in lines if line.startswith("belt_conveyor "))
    assert "Belt conveyor" in belt


def test_one_kind_shows_parameters_with_types_units_defaults_and_ports():
    done = run("kinds", "cylinder")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    params, ports = text.split("\nparameters:\n")[1].split("\nports:\n")
    stroke = next(line.split(None, 4) for line in params.splitlines() if "stroke " in line)
    assert stroke[:4] == ["stroke", "number", "m", "required"]
    assert "Stroke length" in stroke[4]
    tolerance = next(line.split() for line in params.splitlines() if "switch_tolerance" in line)
    assert tolerance[1:4] == ["number", "m", "0.005"]
    position = next(line.split() for line in ports.splitlines() if "position" in line)
    assert position[:5] == ["position", "output", "REAL", "mm", "0.0"]
    assert "Ports:" not in text  # the docstring's own list is replaced by the real ports


def test_ports_that_depend_on_parameters_are_shown_from_the_example():
    sink = {p.name for p in describe("sink").ports}
    assert sink == {"count", "count_<variant>"}
    lamps = [p.name for p in describe("stack_light").ports]
    assert lamps == ["red", "amber", "green"]


def test_nested_parameters_are_listed_with_their_path():
    names = {p.name: p for p in describe("belt_conveyor").params}
    assert names["guide_gaps[].side"].type == "one of: left, right, both"
    assert names["guide_gaps"].type.startswith("list of")
    assert names["guide_spacing"].type == "number or null"


def test_unknown_kind_lists_the_valid_ones_and_exits_3():
    done = run("kinds", "belt_conveyer")
    assert done.returncode == 3
    assert "did you mean 'belt_conveyor'" in done.stderr
    assert "photo_eye" in done.stderr and "Traceback" not in done.stderr


def test_json_format_carries_the_same_catalogue():
    done = run("kinds", "--format", "json")
    assert done.returncode == 0, done.stderr
    kinds = {k["kind"]: k for k in json.loads(done.stdout)["kinds"]}
    assert set(kinds) == set(registry.kinds())
    assert kinds["cylinder"] == json.loads(json.dumps(dataclasses.asdict(describe("cylinder"))))


@dataclass(frozen=True)
class GaugeParams:
    #: Full scale of the dial, bar.
    full_scale: float
    #: Needle damping time, seconds.
    damping: float = 0.2


class Gauge(Component):
    """A pressure gauge a third party adds."""

    kind = "test_gauge"
    Params = GaugeParams
    example = {"full_scale": 10.0}

    def __init__(self, name, params=None, **kwargs):
        super().__init__(name, params, **kwargs)
        self.reading = self.declare_output("reading", SignalType.REAL, unit="bar")


def test_a_registered_third_party_kind_is_described_from_its_code(monkeypatch):
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    registry.register("test_gauge", Gauge)
    doc = describe("test_gauge")
    assert doc.summary == "A pressure gauge a third party adds."
    (scale, damping) = doc.params
    assert (scale.name, scale.required, scale.description) == (
        "full_scale",
        True,
        "Full scale of the dial, bar.",
    )
    assert (damping.unit, damping.default, damping.required) == ("s", "0.2", False)
    assert [(p.name, p.kind, p.unit) for p in doc.ports] == [("reading", "output", "bar")]


@pytest.mark.parametrize("kind", sorted(registry._BUILTIN))
def test_every_builtin_kind_can_be_described(kind):
    doc = describe(kind)
    assert doc.summary
    assert all(p.description for p in doc.params), "a parameter without its #: comment"


def test_the_readme_component_table_is_what_the_code_says():
    table = readme_kinds.readme_table((ROOT / "README.md").read_text())
    assert table == readme_kinds.generated_table(), "run python3 tools/readme_kinds.py"
