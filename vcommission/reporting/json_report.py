"""JSON reporter: a summary, the run block and every scenario result, written atomically.

The file is strict JSON (RFC 8259), so any tool can read it: verdicts are their strings,
and a figure that is not a finite number (an ``inf`` maximum of an empty series) is
``null``, since ``NaN``/``Infinity`` are not JSON.

``{"summary": ..., "run": ..., "scenarios": [...]}``. The ``run`` block
(:class:`~vcommission.reporting.run_info.RunInfo`) holds ``vcommission``, ``python``,
``implementation``, ``platform``, ``packages`` (name -> version), ``started`` (the
documented date, ``SOURCE_DATE_EPOCH`` honoured), ``seed``, ``strict``, ``requirements``
(id, title, text, criterion, category, source, file), ``requirements_files`` (path,
sha256), ``untested`` (ids no check covers) and ``programs``: each ST program the
scenarios ran, by the SHA-256 of its file, with its ``path`` and ``source`` (the text,
read when the report is written; None if the file no longer has that hash). Apart from
the ``wall_s`` figures (and ``scenarios_per_minute``) and, without ``SOURCE_DATE_EPOCH``,
``started``, two runs of the same suite give the same document.
"""

from __future__ import annotations

import json
import math
from enum import Enum
from pathlib import Path
from typing import Any

from vcommission.fileio import write_atomic
from vcommission.reporting.hooks import Reporter
from vcommission.reporting.run_info import RunInfo, report_date
from vcommission.reporting.summary import Summary
from vcommission.scenario.provenance import file_sha256
from vcommission.scenario.results import ScenarioResult

__all__ = ["JsonReporter", "json_report"]


class JsonReporter(Reporter):
    """Writes ``{"summary", "run", "scenarios"}`` to ``path`` when the run finishes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.info: RunInfo | None = None

    def run_info(self, info: RunInfo) -> None:
        self.info = info

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        write_atomic(self.path, json_report(results, wall_s, self.info))


def json_report(results: list[ScenarioResult], wall_s: float, info: RunInfo | None = None) -> str:
    """The JSON document of a run, as text (indent 2, ends with a newline).

    Without ``info`` (a caller that has no run options), the run block holds the environment
    and today's date (:func:`~vcommission.reporting.run_info.report_date`) and no
    requirements.
    """
    if info is None:
        info = RunInfo(started=report_date())
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
        "run": {**info.to_json(), "programs": programs(results)},
        "scenarios": [result.to_json() for result in results],
    }
    return json.dumps(_plain(document), indent=2, allow_nan=False) + "\n"


def programs(results: list[ScenarioResult]) -> dict[str, dict[str, str | None]]:
    """The ST programs the results ran, by SHA-256: ``{sha256: {"path", "source"}}``.

    Read from each result's provenance (older results without it give none). The source is
    the file's text now, kept only if the file still has the hash the run recorded.
    """
    found: dict[str, dict[str, str | None]] = {}
    for result in results:
        plc = (result.provenance or {}).get("plc") or {}
        if plc.get("kind") != "st":
            continue
        for entry in plc.get("files", []):
            digest, path = entry.get("sha256"), entry.get("path")
            if digest is None or path is None or digest in found:
                continue
            found[digest] = {"path": path, "source": _source(Path(path), digest)}
    return dict(sorted(found.items()))


def _source(path: Path, digest: str) -> str | None:
    try:
        if file_sha256(path) != digest:
            return None  # changed since the run: its text is not what ran
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


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
