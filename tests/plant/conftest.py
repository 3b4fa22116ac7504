"""Fixtures for plant component tests: build a plant and simulator from a small model YAML.

Tests write only the sections they care about (usually ``components:``); the fixture adds a
name and a default part catalogue, writes ``model.yaml`` into ``tmp_path``, loads it through
the real loader and closes every plant at teardown. Time is virtual throughout.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from vcommission.config.model import Model, load_model
from vcommission.plant.component import TickContext
from vcommission.plant.parts import Part
from vcommission.plant.plant import Plant
from vcommission.plant.world import World
from vcommission.simulator import Simulator

Vec3 = tuple[float, float, float]
T = TypeVar("T")

#: Default catalogue: a low box and a tall one with the same footprint.
DEFAULT_PARTS = """\
parts:
  box: {size: [0.2, 0.2, 0.1], mass: 1.0, friction: 0.5}
  tall: {size: [0.2, 0.2, 0.25], mass: 1.5, friction: 0.5}
"""


def _has_section(text: str, key: str) -> bool:
    return re.search(rf"^{key}\s*:", text, flags=re.MULTILINE) is not None


def complete_model_text(text: str) -> str:
    """Add ``name:`` and the default ``parts:`` when the test's YAML leaves them out."""
    text = textwrap.dedent(text).strip("\n") + "\n"
    if not _has_section(text, "parts"):
        text = DEFAULT_PARTS + text
    if not _has_section(text, "name"):
        text = "name: test\n" + text
    return text


@dataclass
class Rig:
    """A plant and its simulator, with the few helpers physical assertions need."""

    plant: Plant
    sim: Simulator

    @property
    def world(self) -> World:
        assert self.plant.world is not None
        return self.plant.world

    @property
    def tick(self) -> float:
        return self.plant.model.physics.tick

    def ctx(self) -> TickContext:
        return self.plant.context(self.sim.now_ns)

    def size(self, variant: str) -> Vec3:
        return self.plant.model.variants[variant].size

    def pos(self, part: Part) -> Vec3:
        return self.world.pose(part.body)[0]

    def vel(self, part: Part) -> Vec3:
        return self.world.velocity(part.body)

    def place(self, variant: str, bottom: Vec3, where: str = "test") -> Part:
        """Create a part whose bottom face centre is just above ``bottom``.

        Same body a spawner makes, but anywhere: tests need parts in front of plates, in
        beams and above bins, not only at a drop point.
        """
        body = self.world.add_part(self.plant.model.variants[variant], bottom)
        return self.plant.parts.add(variant, body, self.sim.now_ns, where)

    def run_until(self, done: Callable[[], bool], timeout_s: float) -> None:
        """Step until ``done()``; fail the test if ``timeout_s`` of virtual time passes first."""
        assert self.sim.run_until(done, timeout_s=timeout_s), f"not reached in {timeout_s} s"

    def record(
        self, read: Callable[[], T], until: Callable[[T], bool], timeout_s: float
    ) -> list[T]:
        """Step tick by tick, reading after each tick, until ``until(reading)``; all readings."""
        readings: list[T] = []
        for _ in range(round(timeout_s / self.tick)):
            self.sim.step()
            readings.append(read())
            if until(readings[-1]):
                return readings
        raise AssertionError(f"not reached in {timeout_s} s; last reading {readings[-1]!r}")

    def time_until(self, done: Callable[[], bool], timeout_s: float) -> float:
        """Virtual seconds from now until ``done()`` first holds after a tick."""
        start = self.sim.now_ns
        self.run_until(done, timeout_s)
        return (self.sim.now_ns - start) * 1e-9


@pytest.fixture
def model_file(tmp_path: Path) -> Callable[[str], Path]:
    """Write a (completed) model YAML to its own folder under ``tmp_path``; return the path."""
    count = 0

    def write(text: str) -> Path:
        nonlocal count
        count += 1
        folder = tmp_path / f"model{count}"
        folder.mkdir()
        path = folder / "model.yaml"
        path.write_text(complete_model_text(text))
        return path

    return write


@pytest.fixture
def load(model_file: Callable[[str], Path]) -> Callable[[str], Model]:
    """Load a model from YAML text through the real loader (raises ConfigError)."""
    return lambda text: load_model(model_file(text))


@pytest.fixture
def rig(load: Callable[[str], Model]) -> Iterator[Callable[..., Rig]]:
    """Factory: ``rig(yaml_text, seed=None)`` -> a powered-on :class:`Rig`; closed at teardown."""
    plants: list[Plant] = []

    def make(text: str, seed: int | None = None) -> Rig:
        plant = Plant(load(text), seed=seed)
        plants.append(plant)
        return Rig(plant, Simulator(plant))

    yield make
    for plant in plants:
        plant.close()
