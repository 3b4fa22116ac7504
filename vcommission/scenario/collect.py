"""Finding scenarios: scenario files under paths, their cases, ``-k`` selection.

The one implementation behind ``vcommission run`` and the pytest plugin. The CLI walks the
paths it is given (:func:`collect`): every ``*.yaml``/``*.yml`` but ``model.yaml`` is a
scenario file, and one that does not load is reported, located, as a broken file so the
others still run. pytest walks the tree itself and asks :func:`looks_like_scenario` of each
file, since it meets model files and fixtures too; both load cases with :func:`load_cases`.

Requirements: a scenario file's ids are checked against the suite's ``requirements.yaml``
when one applies (:func:`~vcommission.scenario.requirements.find_requirements`: the nearest one
in its folder or a parent, up to the path named). A requirements file that does not load is
reported once, as a broken file, and the scenario files under it are not run: what they
verify cannot be traced.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from vcommission.errors import ConfigError
from vcommission.scenario.keywords import matcher
from vcommission.scenario.requirements import (
    REQUIREMENTS_FILE,
    find_requirements,
    load_requirements,
)

if TYPE_CHECKING:
    from vcommission.scenario.requirements import Requirements
    from vcommission.scenario.schema import Scenario

__all__ = [
    "Collection",
    "collect",
    "find_scenario_files",
    "is_scenario_candidate",
    "load_cases",
    "looks_like_scenario",
]

#: Folders never searched for scenarios.
SKIP_DIRS = frozenset({"node_modules", ".git", "__pycache__"})
#: Suffixes of scenario files.
SUFFIXES = (".yaml", ".yml")
#: The top-level keys every scenario file has (how pytest tells one from other YAML).
SCENARIO_KEYS = frozenset({"name", "model", "checks"})


def is_scenario_candidate(path: Path) -> bool:
    """A YAML file that is not a model (``model.yaml``) or a suite's ``requirements.yaml``."""
    return path.suffix in SUFFIXES and path.name not in ("model.yaml", REQUIREMENTS_FILE)


def looks_like_scenario(path: Path) -> bool:
    """A candidate whose YAML is a mapping with ``name``, ``model`` and ``checks``.

    Cheap and forgiving: a file that does not read or parse is not a scenario here (pytest
    meets every YAML file in a tree); a scenario that does will then report its problems.
    """
    if not is_scenario_candidate(path):
        return False
    try:
        head = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(head, dict) and set(head) >= SCENARIO_KEYS


def find_scenario_files(paths: Iterable[Path]) -> list[Path]:
    """Scenario files: the files given, and every candidate below the folders given, sorted."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            for candidate in sorted(path.rglob("*")):
                if SKIP_DIRS & set(candidate.parts):
                    continue
                if is_scenario_candidate(candidate):
                    found.append(candidate)
        else:
            found.append(path)
    return found


def load_cases(
    path: Path,
    plc: str | Path | None = None,
    seed: int | None = None,
    *,
    top: Path | None = None,
    allow_commands: bool = True,
) -> list[Scenario]:
    """The cases of one scenario file, with ``seed`` (if given) for every one.

    A ``seed`` given for a file whose matrix varies the seed replaces that axis: its cases
    that differed only in seed become one, named with the seed that runs (``[seed=7]``), so
    a name never claims a seed that did not run and no case runs twice.

    Args:
        path: The scenario file.
        plc: ST program for scenarios that name none.
        seed: Plant seed for every case, or None for their own.
        top: The path the user named (a folder, or the file): the requirements file that
            applies is looked for up to there.
        allow_commands: Whether an external PLC's ``command`` may run (see
            :func:`~vcommission.scenario.loader.load_scenarios`).

    Raises:
        ConfigError: every problem in the file (or in the requirements file that applies to
            it), located.
    """
    found = find_requirements(path, top)
    requirements = load_requirements(found) if found is not None else None
    return _load_cases(path, plc, seed, requirements, allow_commands)


def _load_cases(
    path: Path,
    plc: str | Path | None,
    seed: int | None,
    requirements: Requirements | None,
    allow_commands: bool,
) -> list[Scenario]:
    # Imported here: the pytest plugin imports this module in every session, scenarios or not.
    from vcommission.scenario.loader import load_scenarios

    scenarios = load_scenarios(path, plc, requirements, allow_commands=allow_commands)
    if seed is None:
        return scenarios
    cases: dict[str, Scenario] = {}
    for scenario in scenarios:
        params = dict(scenario.params)
        if "seed" in params:
            params["seed"] = seed
        case = dataclasses.replace(scenario, seed=seed, params=params)
        cases.setdefault(case.id, case)
    return list(cases.values())


@dataclass
class Collection:
    """What :func:`collect` found."""

    #: The selected cases, in file order.
    scenarios: list[Scenario] = field(default_factory=list)
    #: Files that did not load, each with its located problems.
    broken: list[tuple[Path, ConfigError]] = field(default_factory=list)
    #: The requirements files that apply to the scenario files found, in discovery order.
    requirements: list[Requirements] = field(default_factory=list)


def collect(
    paths: Iterable[Path],
    plc: str | Path | None = None,
    keyword: str | None = None,
    seed: int | None = None,
    *,
    allow_commands: bool = True,
) -> Collection:
    """Every scenario case under ``paths`` that the ``-k`` expression ``keyword`` selects.

    Args:
        paths: Scenario files and folders of them.
        plc: ST program for scenarios that name none.
        keyword: A ``-k`` expression (see :mod:`vcommission.scenario.keywords`), or None.
        seed: Plant seed for every scenario, or None for their own.
        allow_commands: Whether an external PLC's ``command`` may run; a file with one is
            broken (located) otherwise.

    Raises:
        KeywordError: ``keyword`` does not parse (before any file is read).
    """
    wanted = matcher(keyword) if keyword else None
    found = Collection()
    # Requirements file (resolved) -> loaded, or None when it is broken (reported once).
    loaded: dict[Path, Requirements | None] = {}
    for top in paths:
        for file in find_scenario_files([top]):
            requirements = None
            applies = find_requirements(file, top)
            if applies is not None:
                key = applies.resolve()
                if key not in loaded:
                    try:
                        loaded[key] = load_requirements(applies)
                    except ConfigError as exc:
                        loaded[key] = None
                        found.broken.append((applies, exc))
                    else:
                        found.requirements.append(loaded[key])
                requirements = loaded[key]
                if requirements is None:
                    continue
            try:
                cases = _load_cases(file, plc, seed, requirements, allow_commands)
            except ConfigError as exc:
                # One broken file must not lose the others' results.
                found.broken.append((file, exc))
                continue
            found.scenarios += [s for s in cases if wanted is None or wanted(s)]
    return found
