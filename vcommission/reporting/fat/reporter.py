"""The FAT report as a reporter: ``vcommission run --report fat.html [--pdf fat.pdf]``.

At run end it takes the same JSON document the JSON reporter writes (so a report from a run
and one from its ``--json`` file are the same report) and renders it with the run's traces.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from vcommission.fileio import write_atomic
from vcommission.reporting.hooks import Reporter
from vcommission.reporting.json_report import json_report
from vcommission.reporting.run_info import RunInfo
from vcommission.scenario.results import ScenarioResult

__all__ = ["FatReporter", "write_report"]


def write_report(
    results_text: str,
    where: str,
    html: Path | None,
    pdf: Path | None,
    traces: Path | None = None,
    baseline: Path | None = None,
    markdown_file: Path | None = None,
) -> None:
    """Render the results JSON ``results_text`` (read from ``where``) to the files asked for."""
    from vcommission.reporting.fat.build import build_report
    from vcommission.reporting.fat.document import load_results, parse_results
    from vcommission.reporting.fat.pdf import find_chromium, html_to_pdf
    from vcommission.reporting.fat.regression import compare, markdown

    if pdf is not None:
        find_chromium()  # no PDF engine: say so before the work, not after it
    results = parse_results(results_text, where)
    regression = compare(load_results(baseline), results) if baseline is not None else None
    page = build_report(results, traces, regression)
    if html is not None:
        write_atomic(html, page)
    if pdf is not None:
        if html is not None:
            html_to_pdf(html, pdf)
        else:
            with tempfile.TemporaryDirectory(prefix="vcommission-report-") as work:
                source = Path(work) / "report.html"
                source.write_text(page, encoding="utf-8")
                html_to_pdf(source, pdf)
    if markdown_file is not None:
        write_atomic(markdown_file, markdown(results, regression))


class FatReporter(Reporter):
    """Writes the HTML report (and the PDF) when the run finishes."""

    def __init__(self, html: str | Path | None, pdf: str | Path | None = None) -> None:
        self.html = Path(html) if html is not None else None
        self.pdf = Path(pdf) if pdf is not None else None
        self.info: RunInfo | None = None

    def run_info(self, info: RunInfo) -> None:
        self.info = info

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        text = json_report(results, wall_s, self.info)
        write_report(text, "the run's results", self.html, self.pdf)
