"""The mutation engine: run the suite against every mutant of a program, and score it.

1. **The original first.** Every scenario runs against the program as it is, strict (a
   vacuous check fails). It must pass: a suite that fails the original cannot judge mutants.
   This run gives each scenario's statement coverage, its trace's SHA-256 and its *tape*
   (:mod:`vcommission.mutation.replay`): what the PLC read at every scan and what it wrote.
2. **Coverage decides what runs.** A mutant changes one statement (or a declaration, which
   every scenario depends on). Only the scenarios that executed that statement can tell
   the difference; with none, the mutant is *not covered* and is not run at all.
3. **One unit per mutant.** A worker compiles the mutant (one that does not compile is
   *not compiled*, discarded and counted), then takes its scenarios in turn, strict, until
   the first that does not pass: **killed**, by that scenario and its first failed check.
   Each scenario is first *replayed*: the mutant is fed the inputs of the original's tape,
   PLC scans only. If it writes what the original wrote at every scan, the plant would
   have seen the same run: the scenario passes with the original's trace, and nothing
   else is run. Only a mutant whose writes diverge runs the scenario for real (plant,
   physics, checks). A mutant whose PLC faults (the "PLC running" check), whose run is an
   error, or that runs past its time budget (ten times the original's time for the same
   scenarios, and 10 s more) is killed too, and reported apart. Scenarios that killed
   most per second of their run so far go first.
4. **Survivors** ran (or replayed) every covering scenario and passed. One whose trace
   equals the original's in every one of them is flagged *possibly equivalent*: nothing
   the plant saw changed.

The score is killed / (generated - not compiled - not covered), overall, per operator and
per requirement (a killed mutant counts for the requirements of the scenario that killed it;
every covered mutant counts for the requirements of the scenarios that executed its line).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcommission.errors import PlcCompileError, VcommissionError
from vcommission.executors.local import LocalExecutor, Outcome, ScratchFolder, Unit
from vcommission.mutation.operators import Site, make_mutant, sites
from vcommission.mutation.replay import Tape, record, replay
from vcommission.scenario.results import Verdict
from vcommission.scenario.schema import Scenario

__all__ = ["MutantResult", "MutationReport", "mutate", "run_program"]

#: Statuses that count as killed.
KILLED = ("killed", "plc_fault", "timeout", "error")


@dataclass
class MutantResult:
    """What became of one mutant."""

    site: Site
    #: ``killed``, ``plc_fault``, ``timeout``, ``error`` (all killed), ``survived``,
    #: ``not_compiled`` or ``not_covered``.
    status: str
    #: The scenario that killed it, and its first failed check.
    killed_by: str | None = None
    check: str | None = None
    #: The scenarios that executed the mutated statement (those that ran it).
    executed_by: list[str] = field(default_factory=list)
    #: Survivors only: every trace equal to the original's.
    possibly_equivalent: bool = False
    #: Why it did not compile, or what went wrong.
    detail: str = ""

    @property
    def killed(self) -> bool:
        return self.status in KILLED

    def to_json(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "killed": self.killed}


@dataclass
class MutationReport:
    """Every mutant's result and the scores."""

    program: str
    scenarios: list[str]
    results: list[MutantResult]
    #: Scenario name -> its requirement ids.
    requirements: dict[str, list[str]] = field(default_factory=dict)
    wall_s: float = 0.0

    def counts(self) -> Counter[str]:
        return Counter(r.status for r in self.results)

    @staticmethod
    def _score(results: Sequence[MutantResult]) -> float | None:
        judged = [r for r in results if r.status not in ("not_compiled", "not_covered")]
        if not judged:
            return None
        return 100.0 * sum(r.killed for r in judged) / len(judged)

    @property
    def score(self) -> float | None:
        """Killed / (generated - not compiled - not covered), percent; None if none judged."""
        return self._score(self.results)

    def by_operator(self) -> dict[str, float | None]:
        operators = sorted({r.site.operator for r in self.results})
        return {
            op: self._score([r for r in self.results if r.site.operator == op]) for op in operators
        }

    def by_requirement(self) -> dict[str, dict[str, int]]:
        """Requirement -> covered mutants and the mutants its scenarios killed."""
        table: dict[str, dict[str, int]] = {}
        for result in self.results:
            if result.status in ("not_compiled", "not_covered"):
                continue
            covering = {req for s in result.executed_by for req in self.requirements.get(s, [])}
            for requirement in covering:
                table.setdefault(requirement, {"covered": 0, "killed": 0})["covered"] += 1
            if result.killed and result.killed_by is not None:
                for requirement in self.requirements.get(result.killed_by, []):
                    table.setdefault(requirement, {"covered": 0, "killed": 0})["killed"] += 1
        return dict(sorted(table.items(), key=lambda item: _natural(item[0])))

    @property
    def survivors(self) -> list[MutantResult]:
        return [r for r in self.results if r.status == "survived"]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": "vcommission-mutation-1",
            "program": self.program,
            "scenarios": self.scenarios,
            "score": self.score,
            "counts": dict(self.counts()),
            "by_operator": self.by_operator(),
            "by_requirement": self.by_requirement(),
            "wall_s": self.wall_s,
            "mutants": [r.to_json() for r in self.results],
        }


# ---- the work unit: one program against scenarios, in a worker --------------------------------


def run_program(payload: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    """Run one program (source text) against scenarios, strict; the executor's unit.

    ``payload``: ``source``, ``name`` (file name for the program), ``scenarios`` (in run
    order), ``stop_at_kill`` (stop at the first scenario that does not pass), ``coverage``
    (return each scenario's executed statements), ``record`` (return each scenario's
    :class:`~vcommission.mutation.replay.Tape`, or None) and ``tapes`` (scenario name ->
    the original's tape: a scenario whose tape the program replays without diverging is
    passed without running it, with the original's trace digest). Returns ``status``
    (``ok`` or ``not_compiled``) and per scenario run: name, verdict, first failed check
    (name, kind), trace SHA-256, executed statements, ``replayed`` (no real run needed) and
    ``diverged_s`` (when the replay diverged).
    """
    from vcommission.executors.portable import PackedScenario, unpack
    from vcommission.scenario.runner import WorkerCache, run_scenario

    cache = state.get("cache")
    if cache is None:
        cache = state["cache"] = WorkerCache()
        state["folder"] = ScratchFolder("vcommission-mutants-")
    folder: Path = state["folder"].path
    program = folder / payload["name"]
    program.write_text(payload["source"], encoding="utf-8")
    # Packed scenarios carry their model's files (a worker elsewhere has none of ours).
    scenarios: list[Scenario] = [
        unpack(s, folder / "units") if isinstance(s, PackedScenario) else s
        for s in payload["scenarios"]
    ]
    answer: dict[str, Any] = {"status": "ok", "runs": []}
    tapes: dict[str, Tape | None] = payload.get("tapes") or {}
    try:
        compiled = None
        if scenarios:
            try:
                compiled = cache.program(program, scenarios[0].model_path)
            except PlcCompileError as exc:
                return {"status": "not_compiled", "detail": str(exc.issues[0]), "runs": []}
        for scenario in scenarios:
            tape = tapes.get(scenario.name)
            diverged = None
            if tape is not None and compiled is not None:
                table = cache.model(scenario.model_path).table
                diverged = replay(cache.program(program, scenario.model_path), table, tape)
                if diverged is None:
                    # Every write as the original's: the run would be the original's.
                    answer["runs"].append(_replayed(scenario, tape))
                    continue
            traces = folder / "traces"
            result = run_scenario(
                dataclasses.replace(scenario, program_path=program), cache, traces, strict=True
            )
            failed = result.failed_checks
            run: dict[str, Any] = {
                "scenario": scenario.name,
                "verdict": result.verdict.value,
                "check": failed[0].name if failed else None,
                "check_kind": failed[0].kind if failed else None,
                "error": result.error,
                "replayed": False,
                "diverged_s": None if diverged is None else diverged / 1e9,
            }
            if payload.get("record"):
                run["tape"] = _tape(scenario, cache, program, result.trace_file)
            run["trace_sha256"] = _digest(result.trace_file)
            if run.get("tape") is not None:
                run["tape"] = dataclasses.replace(run["tape"], trace_sha256=run["trace_sha256"])
            if payload.get("coverage") and result.st_coverage is not None:
                items = result.st_coverage["statements"]["items"]
                run["executed"] = [(i["line"], i["col"]) for i in items if i["hits"]]
            answer["runs"].append(run)
            if payload.get("stop_at_kill") and result.verdict is not Verdict.PASSED:
                break
    finally:
        for key in [k for k in cache.programs if k[0] == program]:
            del cache.programs[key]  # each mutant once: do not keep them all compiled
        program.unlink(missing_ok=True)
    return answer


def _replayed(scenario: Scenario, tape: Tape) -> dict[str, Any]:
    return {
        "scenario": scenario.name,
        "verdict": Verdict.PASSED.value,
        "check": None,
        "check_kind": None,
        "error": None,
        "replayed": True,
        "diverged_s": None,
        "trace_sha256": tape.trace_sha256,
    }


def _tape(scenario: Scenario, cache: Any, program: Path, trace_file: str | None) -> Tape | None:
    """The original's tape of ``scenario`` from its trace (None: replays cannot stand in)."""
    from vcommission.scenario.trace import Trace

    if trace_file is None or not os.path.exists(trace_file):
        return None
    model = cache.model(scenario.model_path)
    compiled = cache.program(program, scenario.model_path)
    trace = Trace.load(trace_file)
    return record(scenario, compiled, model.table, model.physics.tick_ns, trace, None)


def _natural(text: str) -> list[object]:
    """Sort key that puts R2 before R10."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _digest(path: str | None) -> str | None:
    """SHA-256 of what a trace recorded, leaving out its ``meta``.

    The meta names the program file; a mutant's trace must equal the original's when the
    plant saw the same.
    """
    if path is None or not os.path.exists(path):
        return None
    import json

    import numpy as np

    digest = hashlib.sha256()
    with np.load(path, allow_pickle=False) as trace:
        for key in sorted(trace.files):
            array = trace[key]
            if key == "header":
                header = json.loads(str(array))
                header.pop("meta", None)
                digest.update(json.dumps(header, sort_keys=True).encode())
            else:
                digest.update(key.encode() + array.tobytes())
    os.unlink(path)
    return digest.hexdigest()


# ---- the engine --------------------------------------------------------------------------------


def mutate(
    program: str | Path,
    scenarios: list[Scenario],
    *,
    operators: set[str] | None = None,
    jobs: int = 1,
    executor: Any = None,
    on_result: Callable[[MutantResult], None] = lambda result: None,
    use_tapes: bool = True,
) -> MutationReport:
    """Mutation-test ``program`` with ``scenarios``; see the module docstring.

    ``use_tapes=False`` runs every scenario of a mutant for real (no tapes): slower, the same
    verdicts; for comparing the two.

    Raises:
        VcommissionError: the suite does not pass the original program, or it is empty.
    """
    started = time.perf_counter()
    program = Path(program)
    source = program.read_text(encoding="utf-8")
    if not scenarios:
        raise VcommissionError("mutate: no scenarios to run")
    from vcommission.executors.portable import pack

    executor = executor if executor is not None else LocalExecutor(max(1, jobs))
    packed = {s.name: pack(s) for s in scenarios}
    original = _original(executor, program, source, scenarios, packed)
    all_sites = sites(source, str(program), operators)
    results: dict[int, MutantResult] = {}
    kills: Counter[str] = Counter()
    runnable: list[tuple[Site, list[str]]] = []
    for site in all_sites:
        if site.statement == (0, 0):
            covering = [s.name for s in scenarios]
        else:
            covering = [s.name for s in scenarios if site.statement in original[s.name]["executed"]]
        if not covering:
            results[site.index] = MutantResult(site, "not_covered")
            on_result(results[site.index])
        else:
            runnable.append((site, covering))
    queue_ = list(runnable)
    assigned: list[tuple[Site, list[str]]] = []

    def next_unit() -> Unit | None:
        if not queue_:
            return None
        site, covering = queue_.pop(0)
        # Scenarios that killed most per second of their run first: most mutants then die
        # in the first one that diverges, and the cheap one of two killers runs.
        order = sorted(
            covering, key=lambda name: -(kills[name] + 1) / max(original[name]["wall_s"], 1e-3)
        )
        assigned.append((site, covering))
        budget = 10.0 * sum(original[name]["wall_s"] for name in order) + 10.0
        mutant = make_mutant(source, site, str(program), operators)
        payload = {
            "source": mutant.source,
            "name": f"mutant_{site.index}.st",
            "scenarios": [packed[name] for name in order],
            "stop_at_kill": True,
            "tapes": {name: original[name]["tape"] for name in order} if use_tapes else {},
        }
        return Unit("vcommission.mutation.engine:run_program", payload, budget)

    def finished(outcome: Outcome) -> None:
        site, covering = assigned[outcome.index]
        result = _judge(site, covering, outcome, original)
        if result.killed and result.killed_by is not None:
            kills[result.killed_by] += 1
        results[site.index] = result
        on_result(result)

    executor.run(next_unit, finished)
    return MutationReport(
        str(program),
        [s.name for s in scenarios],
        [results[site.index] for site in all_sites],
        {s.name: list(s.spec.requirements) for s in scenarios},
        time.perf_counter() - started,
    )


def _original(
    executor: Any,
    program: Path,
    source: str,
    scenarios: list[Scenario],
    packed: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """Each scenario against the original program: coverage, trace digest, wall time."""
    units = [
        Unit(
            "vcommission.mutation.engine:run_program",
            {
                "source": source,
                "name": program.name,
                "scenarios": [packed[s.name]],
                "coverage": True,
                "record": True,
            },
        )
        for s in scenarios
    ]
    found: dict[str, dict[str, Any]] = {}
    for scenario, outcome in zip(scenarios, executor.run(units), strict=True):
        if outcome.status != "done" or outcome.value["status"] != "ok":
            raise VcommissionError(
                f"mutate: the original {program.name} did not run in {scenario.name}: "
                f"{outcome.error or outcome.value.get('detail')}"
            )
        (run,) = outcome.value["runs"]
        if run["verdict"] != Verdict.PASSED.value:
            why = run["error"] or f"check {run['check']!r}"
            raise VcommissionError(
                f"mutate: the suite fails the original {program.name} in {scenario.name} "
                f"({run['verdict']}: {why}); a suite must pass the program before it can "
                "judge its mutants"
            )
        found[scenario.name] = {
            "executed": {tuple(p) for p in run.get("executed", [])},
            "trace_sha256": run["trace_sha256"],
            "wall_s": outcome.wall_s,
            "tape": run.get("tape"),
        }
    return found


def _judge(
    site: Site, covering: list[str], outcome: Outcome, original: dict[str, dict[str, Any]]
) -> MutantResult:
    result = MutantResult(site, "survived", executed_by=list(covering))
    if outcome.status == "timeout":
        result.status, result.detail = "timeout", outcome.error
        return result
    if outcome.status != "done":
        result.status, result.detail = "error", outcome.error
        return result
    answer = outcome.value
    if answer["status"] == "not_compiled":
        result.status, result.detail = "not_compiled", answer["detail"]
        return result
    for run in answer["runs"]:
        if run["verdict"] == Verdict.PASSED.value:
            continue
        result.killed_by, result.check = run["scenario"], run["check"]
        if run["verdict"] == Verdict.ERROR.value:
            result.status, result.detail = "error", run["error"] or ""
        elif run["check_kind"] == "plc":
            result.status = "plc_fault"
        else:
            result.status = "killed"
        return result
    result.possibly_equivalent = all(
        run["trace_sha256"] is not None
        and run["trace_sha256"] == original[run["scenario"]]["trace_sha256"]
        for run in answer["runs"]
    )
    return result
