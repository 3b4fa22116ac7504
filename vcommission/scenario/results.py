"""Verdicts: what a check or a scenario found, with measured figures and evidence.

A violated check is a **failed** verdict (the PLC program is wrong); a harness problem (a
crash, a model that will not load, a server that will not start) is an **error**. A check
that held only because the situation it judges never arose (a reaction nobody triggered, an
interlock whose guarded situation never came about, a sort check over zero parts) was not
*exercised*: its verdict is **vacuous**, never a plain pass, and under strict mode
(``vcommission run --strict``) it is failed. Results are plain data: they pickle across
worker processes and turn into JSON as they are.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

__all__ = ["CheckResult", "Evidence", "ScenarioResult", "Verdict", "apply_strict"]


class Verdict(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    ERROR = "error"
    #: Held, but never met the situation it judges (see :attr:`CheckResult.exercised`).
    VACUOUS = "vacuous"

    @staticmethod
    def worst(verdicts: list[Verdict]) -> Verdict:
        """Error beats failed beats vacuous beats passed (an empty list passes)."""
        for verdict in (Verdict.ERROR, Verdict.FAILED, Verdict.VACUOUS):
            if verdict in verdicts:
                return verdict
        return Verdict.PASSED


@dataclass
class Evidence:
    """Why a check failed: when, which tags, and the trace around that moment."""

    #: Virtual time of the violation, seconds.
    time_s: float
    tags: list[str]
    #: (time s, tag, value) rows: each tag's value at the window's start, then its changes.
    window: list[tuple[float, str, Any]] = field(default_factory=list)
    #: Pictures of the moment, ``{"path": PNG file, "caption": what it shows}``: the scene
    #: at a collision, written beside the trace (``--trace-dir``).
    images: list[dict[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"  t={t:9.3f} s  {tag} = {_shown(value)}" for t, tag, value in self.window]


def _shown(value: Any) -> str:
    return str(value).upper() if isinstance(value, bool) else str(value)


@dataclass
class CheckResult:
    """One check's verdict."""

    name: str
    #: ``interlock``, ``reaction``, ... or ``wait``/``plc``/``end`` for the runner's own.
    kind: str
    verdict: Verdict
    message: str
    requirement: str | None = None
    #: Measured figures: ``max_s``, ``count``, ``per_minute``, ...
    figures: dict[str, float] = field(default_factory=dict)
    evidence: Evidence | None = None
    #: False when the check never met the situation it judges (zero triggers, zero parts,
    #: an interlock's guarded situation never arose); a check that held without being
    #: exercised is VACUOUS (FAILED under strict mode), still with ``exercised=False``.
    exercised: bool = True
    #: Why it was not exercised, in words ("pusher_extend never rose: no reaction was timed").
    vacuity: str | None = None
    #: The acceptance criterion in words, with its figure
    #: ("pusher_extended within 2.05 s of rising pusher_extend").
    criterion: str = ""
    #: The tags the check reads (for a report's timing diagram).
    tags: list[str] = field(default_factory=list)
    #: Interlock coverage of ``never``/``always`` checks: one entry per conjunct of the
    #: guarded situation, ``{"condition", "seen_true", "first_true_s"}``; empty otherwise.
    conjuncts: list[dict[str, Any]] = field(default_factory=list)


def apply_strict(results: list[CheckResult]) -> None:
    """Strict mode: every vacuous result becomes failed, saying it was not exercised.

    ``exercised`` stays False and ``vacuity`` keeps the reason, so a report can still tell a
    check that failed on what it measured from one that never met its situation.
    """
    for result in results:
        if result.verdict is Verdict.VACUOUS:
            result.verdict = Verdict.FAILED
            result.message = f"not exercised (strict): {result.vacuity or result.message}"


@dataclass
class ScenarioResult:
    """One scenario run (one matrix case)."""

    #: Scenario name, with its matrix case: ``jam at exit [seed=2]``.
    name: str
    file: str
    verdict: Verdict
    requirements: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    #: The harness error, when the verdict is ``error``.
    error: str | None = None
    #: Stopped by a signal (Ctrl-C, SIGTERM) before it finished, or before it began; the
    #: verdict is then ``error``.
    interrupted: bool = False
    seed: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    virtual_s: float = 0.0
    wall_s: float = 0.0
    trace_file: str | None = None
    #: Statement and branch coverage of the ST program in this run, percent.
    coverage: dict[str, float] = field(default_factory=dict)
    #: Real-time runs only: how well the plant kept to the wall clock (``ticks``,
    #: ``late_ticks``, ``lateness_p99_ms``, ``lateness_max_ms``), so that a late plant can be
    #: told from a slow PLC. Empty in virtual time.
    pacing: dict[str, float] = field(default_factory=dict)
    #: The scenario's description, as written (whitespace folded).
    description: str = ""
    #: One readable line per step, in order: ``pulse start_pb.pressed for 0.2 s``.
    steps: list[str] = field(default_factory=list)
    #: What was run, each file with its SHA-256 (see
    #: :func:`~vcommission.scenario.provenance.provenance`): ``model``, ``scenario``
    #: (``{"path", "sha256"}``), ``plc`` (``{"kind": "st"|"external"|"none", "files":
    #: [{"path", "sha256"}]}``), ``requirements`` (``{"path", "sha256"}`` or None). Empty
    #: when the scenario file did not load.
    provenance: dict[str, Any] = field(default_factory=dict)
    #: Per-statement and per-branch coverage of the ST program in this run
    #: (:meth:`~vcommission.plc.Coverage.to_json`) plus ``"sha256"`` of the program's file,
    #: so runs of the same program can be merged; None without an in-process ST program.
    st_coverage: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def failed_checks(self) -> list[CheckResult]:
        return [c for c in self.checks if c.verdict is not Verdict.PASSED]
