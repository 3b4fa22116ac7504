"""pytest plugin: scenario files as test items, and fixtures for scenarios written in Python.

Installed with vcommission (entry point ``pytest11``), so ``pytest scenarios/`` collects
every scenario file (a YAML mapping with ``name``, ``model`` and ``checks``) and each matrix
case becomes an item: ``--junitxml``, ``-k`` (names and requirement ids), ``-x`` and
pytest-xdist work as for any test. A failed scenario shows its failed checks with their
evidence; measured figures go to the JUnit report as the item's properties. A vacuous
scenario (a check held without meeting its situation, or a fault never acted) is skipped
with the reason, never passed; with ``--vc-strict`` it fails.

Fixtures for Python scenarios (``--vc-model`` or the ini option ``vcommission_model`` names
the model, a path from the rootdir or a bundled model's name; ``--vc-plc`` overrides its
program):

- ``line``: a :class:`~vcommission.scenario.harness.Harness` (plant + PLC + checks);
- ``plant``, ``sim``, ``plc``: its parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from vcommission.errors import ConfigError
from vcommission.scenario.collect import looks_like_scenario
from vcommission.scenario.results import ScenarioResult, Verdict

__all__ = ["ScenarioItem", "ScenarioYaml"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vcommission", "vcommission scenarios")
    group.addoption(
        "--vc-plc",
        default=None,
        metavar="PROGRAM.st",
        help="ST program for scenarios that name none",
    )
    group.addoption("--vc-seed", type=int, default=None, help="plant seed for every scenario")
    group.addoption("--vc-trace-dir", default=None, metavar="DIR", help="save traces here")
    group.addoption(
        "--vc-strict",
        action="store_true",
        default=False,
        help="fail scenarios with checks not exercised or faults that never acted "
        "(default: skip them as vacuous)",
    )
    group.addoption(
        "--vc-allow-commands",
        action="store_true",
        default=False,
        help="let scenarios start external PLC commands (a scenario file with a command is "
        "code; also VCOMMISSION_ALLOW_COMMANDS=1)",
    )
    group.addoption(
        "--vc-model",
        default=None,
        metavar="MODEL",
        help="model of the plant, sim and line fixtures",
    )
    parser.addini("vcommission_model", "model of the plant, sim and line fixtures", default="")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    # pytest walks the tree itself and meets models and fixtures too: only scenario-shaped YAML.
    if looks_like_scenario(file_path):
        return ScenarioYaml.from_parent(parent, path=file_path)
    return None


class ScenarioYaml(pytest.File):
    """A scenario file: one item per matrix case."""

    def collect(self) -> Iterator[ScenarioItem]:
        from vcommission.scenario.collect import load_cases
        from vcommission.scenario.loader import commands_allowed

        config = self.config
        try:
            # The suite's requirements.yaml applies as for ``vcommission run``: the nearest
            # one in the file's folder or a parent, up to the rootdir.
            allow = commands_allowed(config.getoption("--vc-allow-commands"))
            scenarios = load_cases(
                self.path,
                config.getoption("--vc-plc"),
                config.getoption("--vc-seed"),
                top=config.rootpath,
                allow_commands=allow,
            )
        except ConfigError as exc:
            raise self.CollectError(str(exc)) from None
        for scenario in scenarios:
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario)


class ScenarioFailed(Exception):
    """A scenario's verdict was not *passed*."""

    def __init__(self, result: ScenarioResult) -> None:
        super().__init__(result.verdict.value)
        self.result = result


class ScenarioItem(pytest.Item):
    """One scenario run (one matrix case)."""

    def __init__(self, *, scenario: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        # -k matches requirement ids too: ``pytest scenarios/ -k R4``.
        self.extra_keyword_matches.update(scenario.spec.requirements)
        for requirement in scenario.spec.requirements:
            self.add_marker(pytest.mark.requirement(requirement))

    def runtest(self) -> None:
        from vcommission.scenario.runner import run_scenario

        result = run_scenario(
            self.scenario,
            _cache(self.config),
            self.config.getoption("--vc-trace-dir"),
            strict=self.config.getoption("--vc-strict"),
        )
        for check in result.checks:
            for figure, value in check.figures.items():
                self.user_properties.append((f"{check.name}.{figure}", value))
        self.user_properties.append(("virtual_s", result.virtual_s))
        if result.verdict is Verdict.VACUOUS:
            vacuous = [c for c in result.checks if c.verdict is Verdict.VACUOUS]
            reasons = "; ".join(f"{c.name}: {c.vacuity or c.message}" for c in vacuous)
            pytest.skip(f"vacuous (not exercised; --vc-strict fails it): {reasons}")
        if result.verdict is not Verdict.PASSED:
            raise ScenarioFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if not isinstance(excinfo.value, ScenarioFailed):
            return str(super().repr_failure(excinfo))
        result = excinfo.value.result
        lines = [f"{result.verdict.value.upper()}: {result.name} ({result.file})"]
        if result.error:
            lines.append(f"  harness error: {result.error}")
        for check in result.failed_checks:
            where = f", {check.requirement}" if check.requirement else ""
            lines.append(f"  {check.verdict.value.upper()} {check.name} ({check.kind}{where}):")
            lines.append(f"    {check.message}")
            if check.evidence is not None:
                lines += ["  " + line for line in check.evidence.lines()]
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario: {self.name}"


def _cache(config: pytest.Config) -> Any:
    from vcommission.scenario.runner import WorkerCache

    cache = getattr(config, "_vcommission_cache", None)
    if cache is None:
        cache = WorkerCache()
        config._vcommission_cache = cache  # type: ignore[attr-defined]
    return cache


def pytest_unconfigure(config: pytest.Config) -> None:
    cache = getattr(config, "_vcommission_cache", None)
    if cache is not None:
        cache.close()


#: pytest-asyncio's option for the event loop of async fixtures, and the value it will default
#: to: without one it warns in every project it is installed in, which is not the project's
#: doing when the plugin came with vcommission.
_LOOP_SCOPE_OPTION = "asyncio_default_fixture_loop_scope"
_LOOP_SCOPE = "function"


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "requirement(id): the requirement a scenario verifies")
    _set_asyncio_loop_scope(config)


def _set_asyncio_loop_scope(config: pytest.Config) -> None:
    """Give pytest-asyncio its fixture loop scope when the project sets none (if installed).

    Runs before pytest-asyncio's own ``pytest_configure`` reads it (``tryfirst``); a value
    in the project's ini file or on the command line (``-o``) is left alone.
    """
    try:
        value = config.getini(_LOOP_SCOPE_OPTION)
    except ValueError:
        return  # pytest-asyncio is not installed: no option, no warning
    cache = getattr(config, "_inicache", None)
    if not value and isinstance(cache, dict):
        # getini() caches what it read; pytest has no public way to set a default for an
        # option another plugin declares.
        cache[_LOOP_SCOPE_OPTION] = _LOOP_SCOPE


# ---- fixtures for scenarios written in Python ---------------------------------------------------


@pytest.fixture
def line(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A plant with its PLC in lockstep, ready for checks, faults and operator actions."""
    from vcommission.resources import resolve_model
    from vcommission.scenario.harness import Harness

    config = request.config
    model = config.getoption("--vc-model") or config.getini("vcommission_model")
    if not model:
        pytest.fail("name the model: --vc-model MODEL or the ini option vcommission_model")
    path = config.rootpath / model
    if not path.exists():
        path = resolve_model(model)  # a bundled model's name: ``--vc-model sorting_line``
    program = config.getoption("--vc-plc")
    harness = Harness(path, program, config.getoption("--vc-seed"))
    try:
        yield harness
    finally:
        harness.close()


@pytest.fixture
def plant(line: Any) -> Any:
    """The plant of the ``line`` fixture."""
    return line.plant


@pytest.fixture
def sim(line: Any) -> Any:
    """The simulator of the ``line`` fixture (the PLC is attached as its controller)."""
    return line.sim


@pytest.fixture
def plc(line: Any) -> Any:
    """The soft PLC of the ``line`` fixture."""
    return line.plc
