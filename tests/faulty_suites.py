"""A reference suite and its faulty programs, run together: what both bundled suites' tests share.

Each bundled model ships a reference program, a suite that must pass with it, and faulty
programs (one deliberate bug each) that the suite must catch on the right requirement's check.
:func:`suite_runs` runs the good suite and every faulty case in one :func:`run_suite` call with
two workers, so worker start-up is paid once per test module.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vcommission.scenario.collect import collect
from vcommission.scenario.loader import Scenario, load_scenarios
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict
from vcommission.scenario.suite import run_suite

#: Checks the runner adds itself (a wait that timed out, ...): they carry no requirement.
RUNNER_KINDS = {"wait", "end", "plc"}


@dataclass(frozen=True)
class Bug:
    """A faulty program and how the suite must catch it."""

    program: str
    #: The requirement it breaks: every failed check must carry this id.
    requirement: str
    #: Scenario files run against it; at least one must fail.
    scenarios: tuple[str, ...]
    #: Name of the check that must fail, and tags its evidence must name.
    check: str
    tags: tuple[str, ...]
    #: Scenario files among ``scenarios`` that must still pass completely.
    passing: tuple[str, ...] = ()


def good_scenarios(suite: Path) -> list[Scenario]:
    found = collect([suite])  # with their ids checked against the suite's requirements.yaml
    assert not found.broken, found.broken
    return found.scenarios


def suite_runs(
    suite: Path, faulty: Path, good: str, bugs: list[Bug]
) -> dict[tuple[str, str], list[ScenarioResult]]:
    """(program, scenario file name) -> its results (one per matrix case), all in one suite."""
    keys: list[tuple[str, str]] = []
    scenarios: list[Scenario] = []
    for scenario in good_scenarios(suite):
        keys.append((good, Path(scenario.file).name))
        scenarios.append(scenario)
    for bug in bugs:
        for name in bug.scenarios:
            for scenario in load_scenarios(suite / name, plc=faulty / bug.program):
                keys.append((bug.program, name))
                scenarios.append(scenario)
    grouped: dict[tuple[str, str], list[ScenarioResult]] = {}
    # Traces kept for the session: the digest test compares them with the stored digests.
    traces = tempfile.mkdtemp(prefix="vcommission-suite-traces-")
    atexit.register(shutil.rmtree, traces, True)
    results = run_suite(scenarios, jobs=2, trace_dir=traces)
    for key, result in zip(keys, results, strict=True):
        grouped.setdefault(key, []).append(result)
    return grouped


def describe_results(results: list[ScenarioResult]) -> str:
    """Every result and its checks, one line each: what an assertion message shows."""
    lines = []
    for result in results:
        lines.append(f"{result.verdict.value}: {result.name} {result.error or ''}")
        lines += [
            f"  {c.verdict.value} [{c.requirement}] {c.name}: {c.message}" for c in result.checks
        ]
    return "\n".join(lines)


def failed_checks(results: list[ScenarioResult]) -> list[CheckResult]:
    return [c for r in results for c in r.checks if c.verdict is not Verdict.PASSED]


#: Trace digests of both bundled suites (good and faulty programs) as computed on the tree before
#: the per-tick optimisations: the traces must stay bit-identical. The reference program's runs
#: of files a faulty program also runs were recomputed once traces got names of their own per
#: run (before, both runs wrote one file, and its digest was the last writer's).
DIGESTS = Path(__file__).with_name("trace_digests.json")


#: What format 2 added to a trace (the poses of parts and moving bodies): left out of the
#: digest, so the digests stored from format-1 traces still check every signal and part.
_POSE_KEYS = frozenset({"pose_times", "pose_keys", "pose_values"})


def trace_digest(path: str) -> str:
    """SHA-256 of what a trace recorded, leaving out its ``meta`` (it names temporary files).

    The poses of format 2 are left out too, and the format named as 1: the stored digests
    predate them (the poses' own determinism is tested with the render of a moment).
    """
    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as trace:
        for key in sorted(trace.files):
            array = trace[key]
            if key in _POSE_KEYS:
                continue
            if key == "header":
                header = json.loads(str(array))
                header.pop("meta", None)
                if header.pop("poses", None) is not None:
                    header["format"] = "vcommission-trace-1"
                digest.update(json.dumps(header, sort_keys=True).encode())
            else:
                digest.update(key.encode() + array.tobytes())
    return digest.hexdigest()


def run_digests(runs: dict[tuple[str, str], list[ScenarioResult]]) -> dict[str, str]:
    """``program/scenario file/case`` -> trace digest, for every run that wrote a trace."""
    found = {}
    for (program, name), results in sorted(runs.items()):
        for case, result in enumerate(results):
            if result.trace_file is not None:
                found[f"{program}/{name}/{case}"] = trace_digest(result.trace_file)
    return found


def stored_digests(model: str) -> dict[str, str]:
    return json.loads(DIGESTS.read_text())[model]
