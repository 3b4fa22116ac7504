"""JSON reporter: every scenario result and a summary, written atomically at run end.

The file is strict JSON (RFC 8259), so any tool can read it: verdicts are their strings,
and a figure that is not a finite number (an ``inf`` maximum of an empty series) is
``null``, since ``NaN``/``Infinity`` are not JSON.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Any

from vcommission.fileio import write_atomic
from vcommission.reporting.hooks import Reporter
from vcommission.reporting.summary import Summary
from vcommission.scenario.results import ScenarioResult

__all__ = ["JsonReporter", "json_report"]


class JsonReporter(Reporter):
    """Writes ``{"summary": ..., "scenarios": [...]}`` to ``path`` when the run finishes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        write_atomic(self.path, json_report(results, wall_s))


def json_report(results: list[ScenarioResult], wall_s: float) -> str:
    """The JSON document of a run, as text (indent 2, ends with a newline)."""
    summary = Summary.of(results, wall_s)
    document = {
        "summary": {
            "verdict": summary.verdict,
            "scenarios": summary.total,
            **{verdict.value: count for verdict, count in summary.counts.items()},
            "wall_s": wall_s,
            "scenarios_per_minute": summary.per_minute,
            # True when a signal stopped the run: the counts are not those of a whole suite.
            "interrupted": summary.interrupted > 0,
            "interrupted_scenarios": summary.interrupted,
            "requirements": summary.requirements,
        },
        "scenarios": [result.to_json() for result in results],
    }
    return json.dumps(_plain(document), indent=2, allow_nan=False) + "\n"


def _plain(value: Any) -> Any:
    """``value`` as JSON types only."""
    if isinstance(value, Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(_plain(k)): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if hasattr(value, "item"):  # numpy scalars from a plant or a trace
        return _plain(value.item())
    return str(value)
