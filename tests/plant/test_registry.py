"""Component registry: custom kinds load and run; unknown kinds are located config errors."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from vcommission.config.model import load_model
from vcommission.errors import ConfigError, RegistryError
from vcommission.plant import registry
from vcommission.plant.component import Component, TickContext
from vcommission.signals import SignalType


@dataclass(frozen=True)
class CounterParams:
    step: int = 1


class TickCounter(Component):
    """A custom kind with parameters, an input and an output: counts ticks while enabled."""

    kind = "test_tick_counter"
    Params = CounterParams

    def __init__(self, name: str, params: CounterParams | None = None, **kwargs: object):
        super().__init__(name, params, **kwargs)
        self.enable = self.declare_input("enable", SignalType.BOOL)
        self.ticks = self.declare_output("ticks", SignalType.DINT)

    def build(self, world) -> None:
        super().build(world)
        self.total = 0

    def update(self, ctx: TickContext) -> None:
        if ctx.values[self.enable.index]:
            self.total += self.params.step

    def sense(self, ctx: TickContext) -> None:
        ctx.values[self.ticks.index] = self.total


@pytest.fixture(autouse=True)
def isolated_registry(monkeypatch):
    # register() mutates a process-wide table; give each test its own copy of it.
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))


def test_registered_class_kind_loads_and_runs(rig):
    registry.register("test_tick_counter", TickCounter)
    assert "test_tick_counter" in registry.kinds()
    r = rig("""
        components:
          counter: {kind: test_tick_counter, step: 3}
        signals:
          counter_ticks: {port: counter.ticks, direction: from_plant}
    """)
    counter = r.plant.component("counter")
    assert isinstance(counter, TickCounter)
    assert counter.params == CounterParams(step=3)

    r.sim.run_for(0.1)
    assert r.plant.image["counter_ticks"] == 0
    r.sim.operate("counter.enable", True)
    ticks = 5
    for _ in range(ticks):
        r.sim.step()
    assert r.plant.image["counter_ticks"] == ticks * counter.params.step


def test_registered_string_target_is_imported_lazily(rig):
    registry.register("test_button", "vcommission.plant.panel:PushButton")
    r = rig("components:\n  pb: {kind: test_button, contact: NC}\n")
    assert type(r.plant.component("pb")).__name__ == "PushButton"
    assert r.plant.image["pb.contact"] is True  # NC: closed while released


def test_custom_kind_params_are_validated(load):
    registry.register("test_tick_counter", TickCounter)
    with pytest.raises(ConfigError, match="stepp"):
        load("components:\n  counter: {kind: test_tick_counter, stepp: 3}\n")


def test_register_twice_needs_override():
    registry.register("test_tick_counter", TickCounter)
    with pytest.raises(RegistryError, match="already registered"):
        registry.register("test_tick_counter", TickCounter)
    registry.register("test_tick_counter", "vcommission.plant.panel:PushButton", override=True)
    assert registry.load("test_tick_counter").__name__ == "PushButton"


def test_unknown_kind_is_located_config_error_with_suggestion(model_file):
    path = model_file("""
        components:
          belt:
            kind: belt_conveyer
            start: [0, 0, 0.5]
            length: 2.0
            width: 0.5
    """)
    kind_line = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if "belt_conveyer" in text
    )
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    (issue,) = exc.value.issues
    assert (issue.file, issue.line) == (str(path), kind_line)
    assert issue.path == "components.belt.kind"
    assert "did you mean 'belt_conveyor'" in issue.message
    assert f"{path}:{kind_line}:" in str(exc.value)


def test_third_party_kind_loads_through_the_entry_point_group(tmp_path, monkeypatch, rig):
    # A real installed-distribution layout: a module and a dist-info with entry_points.txt,
    # found by importlib.metadata on sys.path exactly as a pip-installed plugin would be.
    (tmp_path / "vc_plugin_demo.py").write_text(
        "from vcommission.plant.panel import PushButton\n"
        "class Foot(PushButton):\n"
        "    kind = 'foot_switch'\n"
    )
    dist = tmp_path / "vc_plugin_demo-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: vc-plugin-demo\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{registry.ENTRY_POINT_GROUP}]\nfoot_switch = vc_plugin_demo:Foot\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(registry, "_entry_points_loaded", False)
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    assert "foot_switch" in registry.kinds()
    r = rig("components:\n  pedal: {kind: foot_switch, contact: NC}\n")
    assert type(r.plant.component("pedal")).__name__ == "Foot"
    r.sim.operate("pedal.pressed", True)
    r.sim.step()
    assert r.plant.image["pedal.contact"] is False


@dataclass(frozen=True)
class FollowerParams:
    leader: str
    notes: str = "notes.txt"


class Follower(Component):
    """Names another component: resolved in connect, its bodies joined in attach."""

    kind = "test_follower"
    Params = FollowerParams

    def connect(self, peers) -> None:
        leader = peers.get(self.params.leader)
        if leader is None:
            raise ConfigError(f"no component {self.params.leader!r} to follow", path=("leader",))
        self.leader = leader
        self.notes_path = os.path.join(self.base_dir or "", self.params.notes)

    def attach(self, world) -> None:
        # Runs after every build, so the leader's bodies exist even though it comes later.
        self.leader_bodies = [b for group in self.leader.bodies().values() for b in group.all]


def test_connect_resolves_names_and_attach_sees_bodies_of_later_components(rig, model_file):
    registry.register("test_follower", Follower)
    r = rig("""
        components:
          follower: {kind: test_follower, leader: pusher}
          pusher:
            kind: cylinder
            origin: [0, 0, 0.5]
            direction: [1, 0, 0]
            stroke: 0.2
            extend_time: 0.5
            retract_time: 0.5
    """)
    follower = r.plant.component("follower")
    assert follower.leader is r.plant.component("pusher")
    assert follower.leader_bodies == list(r.plant.component("pusher").bodies()["plate"].moving)
    r.plant.reset()  # a new run connects and attaches again, to the new bodies
    follower = r.plant.component("follower")
    assert follower.leader is r.plant.component("pusher")
    assert follower.leader_bodies == list(r.plant.component("pusher").bodies()["plate"].moving)


def test_a_bad_reference_is_located_at_the_key_named_by_the_kind(model_file):
    registry.register("test_follower", Follower)
    path = model_file("""
        components:
          follower:
            kind: test_follower
            leader: nobody
    """)
    with pytest.raises(ConfigError) as exc:
        load_model(path)
    (issue,) = exc.value.issues
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "nobody" in text)
    assert (issue.line, issue.path) == (line, "components.follower.leader")
    assert "no component 'nobody' to follow" in issue.message


def test_files_resolve_against_the_model_directory_not_the_working_directory(
    model_file, monkeypatch, tmp_path
):
    registry.register("test_follower", Follower)
    path = model_file("""
        components:
          follower: {kind: test_follower, leader: follower}
    """)
    model = load_model(path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (follower,) = model.instantiate()
    assert follower.notes_path == str(path.resolve().parent / "notes.txt")
