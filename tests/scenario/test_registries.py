"""Open registries: a check, a fault and a step kind from outside vcommission, in YAML.

Each kind is written in one place (its class or function, its spec dataclass beside it)
and registered in-process or through an entry point of an installed distribution; a
scenario file then uses it like a built-in kind, located errors included.
"""

from __future__ import annotations

import importlib
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from vcommission.errors import ConfigError, RegistryError
from vcommission.registry import Registry
from vcommission.scenario.context import RunContext
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.registry import CHECKS, FAULTS, STEPS, check_type, fault_type, step_type
from vcommission.scenario.results import CheckResult, Verdict
from vcommission.scenario.runner import run_scenario
from vcommission.scenario.schema import CheckSpec, FaultSpec, PulseSpec, Step
from vcommission.scenario.steps import Steps, pulse, run_for

MODEL = Path(__file__).resolve().parents[2] / "plant_models" / "sorting_line"


# ---- a check kind: count the rising edges of a BOOL tag ------------------------------------------


@dataclass(frozen=True)
class EdgeCountSpec:
    tag: str
    count: int


class EdgeCountCheck:
    kind = "edge_count"

    def __init__(self, spec: CheckSpec, run: RunContext) -> None:
        self.spec: EdgeCountSpec = spec.spec
        self.name = spec.name or f"edge_count: {self.spec.tag}"
        self.requirement = spec.requirement
        try:
            self.index = run.plant.image.table.index(self.spec.tag)
        except Exception as exc:
            raise ConfigError(f"check {self.name!r}: {exc}") from None
        self.seen = 0

    def start(self, run: RunContext) -> None:
        def tick(now_ns, values, previous) -> None:
            if values[self.index] and not previous[self.index]:
                self.seen += 1

        run.watch(tick)

    def finish(self, run: RunContext) -> CheckResult:
        passed = self.seen == self.spec.count
        verdict = Verdict.PASSED if passed else Verdict.FAILED
        message = f"{self.seen} rising edges, expected {self.spec.count}"
        return CheckResult(self.name, self.kind, verdict, message, self.requirement)


# ---- a fault kind: a button jammed down ----------------------------------------------------------


class _HeldDown:
    def __init__(self, name: str, tag: str) -> None:
        self.name, self.tag = name, tag

    def inject(self, run: RunContext) -> None:
        run.sim.operate(self.tag, True)

    def clear(self, run: RunContext) -> None:
        run.sim.operate(self.tag, False)


def _operator_tag(spec: FaultSpec, table, components) -> None:
    if spec.tag not in table:
        raise ConfigError(f"held_down: unknown tag {spec.tag!r}")


def make_held_down(spec: FaultSpec, run: RunContext) -> _HeldDown:
    return _HeldDown(spec.name, spec.tag or "")


# ---- a step kind: press a button several times, built on the pulse step --------------------------


@dataclass(frozen=True)
class PressSpec:
    tag: str
    times: int = 1
    every: float = 0.5


def press(spec: PressSpec, run: RunContext) -> Steps:
    for _ in range(spec.times):
        yield from pulse(PulseSpec(spec.tag, 0.1), run)
        yield from run_for(run, spec.every - 0.1)


def _known_tag(spec: PressSpec, model, scenario):
    if spec.tag not in model.table:
        yield ("tag",), f"unknown tag {spec.tag!r}"


@pytest.fixture
def kinds() -> Iterator[None]:
    """The three kinds registered in-process for one test, then forgotten."""
    check_type("edge_count", EdgeCountSpec)(EdgeCountCheck)
    fault_type("held_down", needs=("tag",), validate=_operator_tag)(make_held_down)
    step_type("press", PressSpec, problems=_known_tag)(press)
    yield
    CHECKS.unregister("edge_count")
    FAULTS.unregister("held_down")
    STEPS.unregister("press")


SCENARIO = f"""
name: custom kinds
model: {MODEL}
duration: 2
steps:
  - fault: {{kind: held_down, tag: reset_pb.pressed}}
  - press: {{tag: start_pb.pressed, times: 3, every: 0.4}}
checks:
  - edge_count: {{tag: start_pb.pressed, count: 3}}
  - name: one press too many
    edge_count: {{tag: start_pb.pressed, count: 4}}
  - final_state: {{tags: {{reset_pb.pressed: true}}}}
"""


def _load(tmp_path: Path, text: str):
    path = tmp_path / "custom.yaml"
    path.write_text(textwrap.dedent(text))
    return path, load_scenarios(path)


def test_registered_kinds_run_from_a_scenario_file(tmp_path, kinds):
    _, (scenario,) = _load(tmp_path, SCENARIO)
    result = run_scenario(scenario)
    verdicts = [(c.kind, c.verdict) for c in result.checks]
    assert verdicts == [
        ("edge_count", Verdict.PASSED),
        ("edge_count", Verdict.FAILED),
        ("final_state", Verdict.PASSED),
        # A fault kind that does not record when it acted cannot show that it did.
        ("fault", Verdict.VACUOUS),
    ], [c.message for c in result.checks]
    assert result.checks[1].message == "3 rising edges, expected 4"


def test_registered_kinds_build_in_python_too(kinds):
    assert Step(press=PressSpec("start_pb.pressed")).press == PressSpec("start_pb.pressed")
    assert CheckSpec(edge_count=EdgeCountSpec("x", 1)).kind == "edge_count"
    assert FaultSpec("held_down", tag="x").name == "held_down"
    with pytest.raises(ConfigError, match="fault held_down needs tag"):
        FaultSpec("held_down")


@pytest.mark.parametrize(
    ("before", "after", "message"),
    [
        (
            "  - edge_count:",
            "  - edge_cont:",
            "checks[0].edge_cont: unknown key 'edge_cont' (did you mean 'edge_count'?)",
        ),
        (
            "{tag: start_pb.pressed, count: 3}",
            "{tag: start_pb.pressed, cont: 3}",
            "checks[0].edge_count.cont: unknown key 'cont' (did you mean 'count'?)",
        ),
        (
            "  - press:",
            "  - pres:",
            "steps[1].pres: unknown key 'pres' (did you mean 'press'?)",
        ),
        ("kind: held_down", "kind: held_dwn", "steps[0].fault.kind: 'held_dwn' is not one of:"),
        (
            "press: {tag: start_pb.pressed",
            "press: {tag: start_pb.presed",
            "steps[1].press.tag: unknown tag 'start_pb.presed'",
        ),
        (
            "kind: held_down, tag: reset_pb.pressed",
            "kind: held_down, tag: reset_pb.presed",
            "steps[0].fault: held_down: unknown tag 'reset_pb.presed'",
        ),
    ],
)
def test_registered_kinds_have_located_errors(tmp_path, kinds, before, after, message):
    assert before in SCENARIO
    path = tmp_path / "custom.yaml"
    path.write_text(SCENARIO.replace(before, after))
    with pytest.raises(ConfigError) as caught:
        load_scenarios(path)
    issues = [str(issue) for issue in caught.value.issues]
    assert any(message in issue and issue.startswith(f"{path}:") for issue in issues), issues


def test_unknown_kinds_keep_their_wording_once_kinds_are_open(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(
        SCENARIO.replace("  - edge_count:", "  - interlok:")
        .replace("kind: held_down", "kind: sensor_stuk")
        .replace("  - press:", "  - hodl:")
    )
    with pytest.raises(ConfigError) as caught:
        load_scenarios(path)
    text = "\n".join(str(issue) for issue in caught.value.issues)
    assert "steps[0].fault.kind: 'sensor_stuk' is not one of: sensor_stuck," in text
    assert "steps[1].hodl: unknown key 'hodl' (did you mean 'hold'?)" in text
    assert "checks[0].interlok: unknown key 'interlok' (did you mean 'interlock'?)" in text


def test_a_kind_registered_twice_is_refused(kinds):
    class AnotherEdgeCount(EdgeCountCheck):
        """A different class under a name that is taken: a clash."""

    with pytest.raises(RegistryError, match="check kind 'edge_count' is already registered"):
        check_type("edge_count", EdgeCountSpec)(AnotherEdgeCount)
    with pytest.raises(RegistryError, match=r"unknown step kind 'pres' \(did you mean 'press'\?\)"):
        STEPS.load("pres")


def test_a_module_imported_again_registers_its_kinds_again_without_a_clash(tmp_path, monkeypatch):
    # pytester's in-process runs and importlib.reload execute a kind's module a second time:
    # the same definitions, new class objects. That is not a clash; the newer one is kept.
    text = PLUGIN.replace('check_type("always"', 'check_type("reloaded_always"')
    (tmp_path / "reloaded_kind.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    module = importlib.import_module("reloaded_kind")
    try:
        first = CHECKS.load("reloaded_always")
        importlib.reload(module)
        assert CHECKS.load("reloaded_always") is not first
        assert CHECKS.load("reloaded_always").make is module.AlwaysCheck
    finally:
        CHECKS.unregister("reloaded_always")
        sys.modules.pop("reloaded_kind", None)


# ---- through an entry point of an installed distribution -----------------------------------------

PLUGIN = '''
"""A third-party package adding a check kind, with its spec beside it."""

from dataclasses import dataclass

from vcommission.scenario.registry import check_type
from vcommission.scenario.results import CheckResult, Verdict


@dataclass(frozen=True)
class AlwaysSpec:
    verdict: str = "passed"


@check_type("always", AlwaysSpec)
class AlwaysCheck:
    kind = "always"

    def __init__(self, spec, run):
        self.spec, self.name, self.requirement = spec.spec, spec.name or "always", None

    def start(self, run):
        pass

    def finish(self, run):
        return CheckResult(self.name, self.kind, Verdict(self.spec.verdict), "as told")
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch) -> Iterator[None]:
    site = tmp_path / "site"
    (site / "vc_plugin_always").mkdir(parents=True)
    (site / "vc_plugin_always" / "__init__.py").write_text(PLUGIN)
    info = site / "vc_plugin_always-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vc-plugin-always\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[vcommission.checks]\nalways = vc_plugin_always:AlwaysCheck\n"
    )
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()
    # The registry reads entry points once a process: let it read them again, on a copy.
    monkeypatch.setattr(CHECKS, "_entries", dict(CHECKS._entries))
    monkeypatch.setattr(CHECKS, "_filled", False)
    yield
    sys.modules.pop("vc_plugin_always", None)


def test_a_check_kind_from_an_entry_point_runs_from_yaml(tmp_path, installed_plugin):
    assert "always" in CHECKS.names()
    assert "vc_plugin_always" not in sys.modules  # imported only when first used
    text = f"""
name: plugin check
model: {MODEL}
duration: 0.2
checks:
  - always: {{}}
  - name: told to fail
    always: {{verdict: failed}}
"""
    _, (scenario,) = _load(tmp_path, text)
    result = run_scenario(scenario)
    assert [c.verdict for c in result.checks] == [Verdict.PASSED, Verdict.FAILED]
    typo = tmp_path / "typo.yaml"
    typo.write_text(text.replace("always: {}", "alway: {}"))
    with pytest.raises(ConfigError, match=r"unknown key 'alway' \(did you mean 'always'\?\)"):
        load_scenarios(typo)


def test_an_entry_point_that_does_not_import_is_a_registry_error(tmp_path, monkeypatch):
    registry: Registry[object] = Registry("widget", "vcommission.test_widgets")
    registry.register("broken", "no_such_module_anywhere:Thing")
    with pytest.raises(RegistryError, match="widget 'broken': cannot import"):
        registry.load("broken")
