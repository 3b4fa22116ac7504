"""Building the FAT report: results (+ traces) -> one self-contained HTML document.

:func:`build_report` gathers everything the templates show (cover, traceability matrix,
deviations, scenarios with their plots, coverage, appendix) into plain data and renders
``templates/report.html.j2``. Nothing comes from outside the results, their traces and the
model files they name: a field the results do not record is shown as "not recorded". The
only date that is not in the results is the report's own, which honours
``SOURCE_DATE_EPOCH`` (so the same inputs give the same bytes).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vcommission.errors import VcommissionError
from vcommission.reporting.fat.coverage import (
    interlock_coverage,
    io_coverage,
    st_coverage,
)
from vcommission.reporting.fat.document import Check, Results, Scenario, worst
from vcommission.reporting.fat.plots import Row, flow_plot, timing_diagram
from vcommission.reporting.fat.regression import Regression, figure_text

__all__ = ["build_report", "report_date", "resolve_traces", "rows_from_trace"]

#: Seconds of trace shown around a deviation's moment (the evidence window is 2 s + 1 s).
_BEFORE_S, _AFTER_S = 3.0, 1.5
#: Most tags in a scenario's timing diagram.
_MAX_ROWS = 14
_CYCLE_KINDS = ("cycle_time", "throughput")


def report_date() -> str:
    """The report's date: ``SOURCE_DATE_EPOCH`` when set (reproducible builds), else now.

    The run block's own rule (:func:`vcommission.reporting.run_info.report_date`).
    """
    from vcommission.reporting.run_info import report_date as date

    return date()


def _slug(text: str) -> str:
    # The runner's file name for a scenario's trace (vcommission.scenario.runner).
    return re.sub(r"[^A-Za-z0-9_.=-]+", "_", text).strip("_") or "scenario"


def resolve_traces(results: Results, traces: str | Path | None) -> dict[str, Path | None]:
    """Each scenario's trace file (by anchor), or None when it has none.

    With ``traces`` (a folder), a scenario's trace is looked up there by the recorded file's
    name, else by the runner's name for it; without, at the recorded ``trace_file`` (as
    given, or beside the results file).

    Raises:
        VcommissionError: the folder does not exist, or a trace the results name is missing.
    """
    folder = Path(traces) if traces is not None else None
    if folder is not None and not folder.is_dir():
        raise VcommissionError(f"--traces {folder}: no such folder")
    base = Path(results.path).resolve().parent
    found: dict[str, Path | None] = {}
    for i, scenario in enumerate(results.scenarios):
        recorded = Path(scenario.trace_file) if scenario.trace_file else None
        candidates: list[Path] = []
        if folder is not None:
            if recorded is not None:
                candidates.append(folder / recorded.name)
            candidates.append(folder / f"{_slug(scenario.name)}.npz")
        if recorded is not None:
            candidates += [recorded, base / recorded]
        hit = next((c for c in candidates if c.is_file()), None)
        if hit is None and recorded is not None:
            where = f" in {folder}" if folder is not None else ""
            raise VcommissionError(
                f"{results.path}: scenarios[{i}].trace_file: trace {scenario.trace_file!r} "
                f"not found{where} (give the folder it is in with --traces DIR)"
            )
        found[scenario.anchor] = hit
    return found


def _load_trace(path: Path) -> Any:
    from vcommission.scenario.trace import Trace

    return Trace.load(path)


@dataclass
class _Plot:
    svg: str
    caption: str


@dataclass
class _Image:
    """A picture of a check's evidence (a collision snapshot), embedded as a data URI."""

    caption: str
    #: ``data:image/png;base64,...``; empty when the file was not found.
    uri: str
    #: The path the results record.
    path: str


def _images(check: Check, folder: Path | None, results_dir: Path) -> list[_Image]:
    """The evidence pictures of ``check``, each embedded: the report stays one file.

    Looked up as traces are: in the folder by name, as recorded, beside the results.
    """
    import base64

    found = []
    for image in (check.evidence or {}).get("images") or []:
        recorded = Path(image["path"])
        candidates = [folder / recorded.name] if folder is not None else []
        candidates += [recorded, results_dir / recorded]
        hit = next((c for c in candidates if c.is_file()), None)
        uri = ""
        if hit is not None:
            uri = "data:image/png;base64," + base64.b64encode(hit.read_bytes()).decode("ascii")
        found.append(_Image(str(image.get("caption") or recorded.name), uri, str(recorded)))
    return found


@dataclass
class _Context:
    results: Results
    traces: dict[str, Any]
    models: dict[str, Any] = field(default_factory=dict)

    def model(self, path: str | None) -> Any:
        """The loaded model at ``path`` (cached), or None when it does not load."""
        if path is None:
            return None
        if path not in self.models:
            from vcommission.config.model import load_model

            try:
                self.models[path] = load_model(path)
            except (VcommissionError, OSError):
                self.models[path] = None
        return self.models[path]


def _model_path(scenario: Scenario, trace: Any, results_dir: Path) -> str | None:
    provenance = scenario.provenance or {}
    path = (provenance.get("model") or {}).get("path") if isinstance(provenance, dict) else None
    if not path and trace is not None:
        path = trace.meta.get("model")
    if not path:
        return None
    if not Path(path).exists() and (results_dir / path).exists():
        return str(results_dir / path)
    return str(path)


# -- requirements -------------------------------------------------------------------------


def _counts_for(scenario: Scenario, check: Check) -> list[str]:
    # As vcommission.reporting.summary.requirements_of: a tagged check counts for its own
    # requirement when the scenario declares it (or none); otherwise for all it declares.
    declared = scenario.requirements
    if check.requirement is not None and (not declared or check.requirement in declared):
        return [check.requirement]
    return list(declared)


def _requirement_key(text: str) -> list[Any]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in re.split(r"(\d+)", text)]


def _matrix(results: Results) -> list[dict[str, Any]]:
    run = results.run or {}
    listed = {
        r["id"]: r for r in run.get("requirements") or [] if isinstance(r, dict) and "id" in r
    }
    untested = set(run.get("untested") or [])
    rows: dict[str, dict[str, Any]] = {
        rid: {
            "id": rid,
            "spec": spec,
            "listed": True,
            "scenarios": [],
            "checks": [],
            "verdicts": [],
        }
        for rid, spec in listed.items()
    }

    def row(rid: str) -> dict[str, Any]:
        if rid not in rows:
            rows[rid] = {
                "id": rid,
                "spec": None,
                "listed": not listed,
                "scenarios": [],
                "checks": [],
                "verdicts": [],
            }
        return rows[rid]

    for scenario in results.scenarios:
        for rid in scenario.requirements:
            entry = row(rid)
            if scenario not in entry["scenarios"]:
                entry["scenarios"].append(scenario)
        if scenario.error is not None and not scenario.checks:
            for rid in scenario.requirements:
                row(rid)["verdicts"].append(scenario.verdict)
        for check in scenario.checks:
            for rid in _counts_for(scenario, check):
                entry = row(rid)
                if scenario not in entry["scenarios"]:
                    entry["scenarios"].append(scenario)
                entry["checks"].append((scenario, check))
                entry["verdicts"].append(check.verdict)
    out = []
    for rid in sorted(rows, key=_requirement_key):
        entry = rows[rid]
        tested = bool(entry["verdicts"])
        entry["verdict"] = worst(entry["verdicts"]) if tested else "untested"
        entry["untested"] = not tested or rid in untested
        # requirement -> scenario -> its checks for it -> their verdict, one row per scenario.
        entry["rows"] = []
        for scenario in entry["scenarios"]:
            checks = [c for s, c in entry["checks"] if s is scenario]
            verdicts = [c.verdict for c in checks]
            if scenario.error is not None and not scenario.checks:
                verdicts.append(scenario.verdict)
            entry["rows"].append(
                {
                    "scenario": scenario,
                    "checks": checks,
                    "verdict": worst(verdicts) if verdicts else "untested",
                }
            )
        out.append(entry)
    return out


# -- plots ----------------------------------------------------------------------------------


def _check_tags(check: Check) -> list[str]:
    if check.tags:
        return list(check.tags)
    return list((check.evidence or {}).get("tags") or [])


def _evidence_span(check: Check) -> tuple[float, float] | None:
    evidence = check.evidence
    if not evidence:
        return None
    times = [row[0] for row in evidence.get("window") or []]
    moment = float(evidence["time_s"])
    return (min([*times, moment]), max([*times, moment]))


def rows_from_trace(trace: Any, tags: list[str], start_s: float, end_s: float) -> list[Row]:
    """Timing-diagram rows of ``tags`` the trace has: the value at the start, then changes.

    The report and ``vcommission trace plot`` draw the same rows.
    """
    present = [t for t in tags if t in trace.names]
    if not present:
        return []
    start_ns, end_ns = round(start_s * 1e9), round(end_s * 1e9)
    window = trace.window(present, start_ns, end_ns)
    rows = {
        tag: Row(tag, "bool" if trace.types[trace.index(tag)] == "BOOL" else "number")
        for tag in present
    }
    for t, tag, value in window:
        rows[tag].points.append((t / 1e9, float(value)))
    return [rows[t] for t in present]


def _rows_from_evidence(check: Check) -> list[Row]:
    evidence = check.evidence or {}
    rows: dict[str, Row] = {}
    for t, tag, value in evidence.get("window") or []:
        if not isinstance(value, bool | int | float):
            continue
        kind = "bool" if isinstance(value, bool) else "number"
        rows.setdefault(tag, Row(tag, kind)).points.append((float(t), float(value)))
    return [rows[t] for t in evidence.get("tags") or [] if t in rows]


def _check_plot(scenario: Scenario, check: Check, trace: Any) -> _Plot | None:
    """The evidence plot of one check: zoomed on its evidence when it has some."""
    span = _evidence_span(check)
    end = scenario.virtual_s or (trace.end_ns / 1e9 if trace is not None else None)
    if span is not None:
        moment = float(check.evidence["time_s"])  # type: ignore[index]
        start_s, end_s = max(0.0, min(span[0], moment - _BEFORE_S)), max(span[1], moment + _AFTER_S)
        if end is not None:
            end_s = min(end_s, max(end, moment))
    else:
        start_s, end_s = 0.0, end or 0.0
    tags = _check_tags(check)
    if trace is not None and tags:
        rows, source = rows_from_trace(trace, tags, start_s, end_s), "trace"
    else:
        rows, source = _rows_from_evidence(check), "evidence window"
    if not rows or end_s <= start_s:
        return None
    marks = [float(check.evidence["time_s"])] if check.evidence else []
    svg = timing_diagram(
        rows, start_s, end_s, [span] if span else [], marks, salt=f"fat-{check.anchor}"
    )
    caption = f"{check.name}: {', '.join(r.name for r in rows)} from the {source}"
    if span:
        caption += f"; evidence window {span[0]:.3f}-{span[1]:.3f} s shaded, moment dashed"
    return _Plot(svg, caption)


def _scenario_plot(scenario: Scenario, trace: Any, io_tags: list[str]) -> _Plot | None:
    """One timing diagram of every tag the scenario's checks read, over the whole run.

    Results that do not record the checks' tags get the PLC-facing tags that changed.
    """
    if trace is None:
        return None
    tags: list[str] = []
    for check in scenario.checks:
        tags += [t for t in _check_tags(check) if t not in tags]
    what = "the tags its checks read"
    if not tags:
        changed = {trace.names[i] for _, i, _ in trace.changes}
        tags = [t for t in io_tags if t in changed]
        what = "the PLC-facing tags that changed (the checks' tags are not recorded)"
    if not tags:
        return None
    tags = tags[:_MAX_ROWS]
    end_s = scenario.virtual_s or trace.end_ns / 1e9
    rows = rows_from_trace(trace, tags, 0.0, end_s)
    if not rows:
        return None
    spans = [s for s in (_evidence_span(c) for c in scenario.checks) if s]
    marks = [float(c.evidence["time_s"]) for c in scenario.checks if c.evidence]
    svg = timing_diagram(rows, 0.0, end_s, spans, marks, salt=f"fat-{scenario.anchor}")
    return _Plot(svg, f"{what}, whole run" + ("; evidence shaded" if spans else ""))


def _flow(scenario: Scenario, trace: Any) -> _Plot | None:
    """Cycle-time histogram and cumulative arrivals, from the parts' journeys in the trace."""
    if trace is None or not any(c.kind in _CYCLE_KINDS for c in scenario.checks) or not trace.parts:
        return None
    transit: dict[str, list[float]] = {}
    arrivals: list[float] = []
    for part in trace.parts:
        arrived = next((t for t, event, _ in part["journey"] if event == "arrived"), None)
        if arrived is None:
            continue
        arrivals.append(arrived / 1e9)
        transit.setdefault(str(part["variant"]), []).append((arrived - part["spawned_ns"]) / 1e9)
    if not arrivals:
        return None
    limits = sorted(
        {
            v
            for c in scenario.checks
            if c.kind == "cycle_time"
            for k, v in c.figures.items()
            if k == "p95_s" and isinstance(v, int | float)
        }
    )
    end_s = scenario.virtual_s or trace.end_ns / 1e9
    svg = flow_plot(transit, arrivals, end_s, limits, salt=f"fat-{scenario.anchor}-flow")
    caption = f"{len(arrivals)} parts arrived in a sink; transit time from spawn, per variant" + (
        "; the checks' p95 dashed" if limits else ""
    )
    return _Plot(svg, caption)


def _io_tags(model: Any) -> list[str]:
    return [row.tag for row in model.io_rows()] if model is not None else []


# -- assembling -----------------------------------------------------------------------------


def _figures_text(check: Check) -> list[str]:
    out = []
    for name, value in check.figures.items():
        if value is None:
            out.append(f"{name}: not finite")
        elif isinstance(value, bool):
            out.append(f"{name}: {str(value).upper()}")
        elif name.endswith("_s"):
            out.append(f"{name[:-2]}: {value:.4g} s")
        else:
            out.append(f"{name}: {value:.4g}")
    return out


def _unique(items: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen


def _hashes(results: Results, key: str) -> list[dict[str, Any]]:
    found = []
    for scenario in results.scenarios:
        block = (scenario.provenance or {}).get(key)
        if isinstance(block, dict) and "files" in block:
            found += [f for f in block["files"] if isinstance(f, dict)]
        elif isinstance(block, dict):
            found.append(block)
    return sorted(_unique(found), key=lambda f: str(f.get("path")))


def _plc_kinds(results: Results) -> list[str]:
    kinds = []
    for scenario in results.scenarios:
        plc = (scenario.provenance or {}).get("plc")
        if isinstance(plc, dict) and plc.get("kind"):
            kinds.append(str(plc["kind"]))
    return sorted(set(kinds))


def build_report(
    results: Results,
    traces: str | Path | None = None,
    baseline: Regression | None = None,
) -> str:
    """The HTML report of ``results`` (with the traces in ``traces`` or as recorded)."""
    from vcommission.reporting.fat.render import render

    trace_paths = resolve_traces(results, traces)
    folder = Path(traces) if traces is not None else None
    loaded = {anchor: _load_trace(p) if p else None for anchor, p in trace_paths.items()}
    context = _Context(results, loaded)
    results_dir = Path(results.path).resolve().parent
    scenarios = []
    model_traces: dict[str, list[Any]] = {}
    model_paths: list[str] = []
    for scenario in results.scenarios:
        trace = loaded[scenario.anchor]
        model_path = _model_path(scenario, trace, results_dir)
        if model_path is not None:
            model_paths.append(model_path)
            if trace is not None:
                model_traces.setdefault(model_path, []).append(trace)
        checks = []
        for check in scenario.checks:
            plot = _check_plot(scenario, check, trace) if check.verdict != "passed" else None
            checks.append(
                {
                    "check": check,
                    "figures": _figures_text(check),
                    "plot": plot,
                    "images": _images(check, folder, results_dir),
                }
            )
        scenarios.append(
            {
                "scenario": scenario,
                "trace": trace_paths[scenario.anchor],
                "checks": checks,
                "plot": _scenario_plot(scenario, trace, _io_tags(context.model(model_path))),
                "flow": _flow(scenario, trace),
                "throughput": [
                    c.figures.get("per_minute") for c in scenario.checks if c.kind == "throughput"
                ],
                "provenance": scenario.provenance,
            }
        )
    by_anchor = {entry["scenario"].anchor: entry for entry in scenarios}
    deviations = []
    for entry in scenarios:
        scenario = entry["scenario"]
        if scenario.error is not None and not scenario.checks:
            deviations.append({"scenario": scenario, "check": None, "plot": None})
        for item in entry["checks"]:
            if item["check"].verdict in ("failed", "error"):
                deviations.append(
                    {
                        "scenario": scenario,
                        "check": item["check"],
                        "plot": item["plot"],
                        "images": item["images"],
                    }
                )
    vacuous = [
        {"scenario": e["scenario"], "check": i["check"], "plot": i["plot"]}
        for e in scenarios
        for i in e["checks"]
        if i["check"].verdict == "vacuous" or i["check"].exercised is False
    ]
    models = []
    for path in _unique(model_paths):
        model = context.model(path)
        io = io_coverage(path, model, model_traces.get(path, []))
        models.append(
            {"path": path, "model": model, "io": io, "rows": model.io_rows() if model else []}
        )
    run = results.run or {}
    counts = {
        v: sum(1 for s in results.scenarios if s.verdict == v)
        for v in ("passed", "failed", "vacuous", "error")
    }
    page = {
        "results": results,
        "run": results.run,
        "summary": results.summary,
        "verdict": results.verdict,
        "counts": counts,
        "date": report_date(),
        "started": run.get("started"),
        "version": run.get("vcommission"),
        "seeds": sorted({s.seed for s in results.scenarios if s.seed is not None}),
        "plc_files": _hashes(results, "plc"),
        "plc_kinds": _plc_kinds(results),
        "model_hashes": _hashes(results, "model"),
        "scenario_hashes": _hashes(results, "scenario"),
        "requirement_hashes": _hashes(results, "requirements"),
        "models": models,
        "model_names": _unique([m["model"].name for m in models if m["model"] is not None]),
        "matrix": _matrix(results),
        "deviations": deviations,
        "vacuous": vacuous,
        "scenarios": scenarios,
        "by_anchor": by_anchor,
        "interlocks": interlock_coverage(results),
        "st": st_coverage(results),
        "old_coverage": [s for s in results.scenarios if s.coverage and not s.st_coverage],
        "baseline": baseline,
        "figure_text": figure_text,
        "traced": sum(1 for t in loaded.values() if t is not None),
        "results_sha256": hashlib.sha256(Path(results.path).read_bytes()).hexdigest()
        if Path(results.path).is_file()
        else None,
    }
    return render(page)
