"""The FAT report: a results file (+ traces) as one self-contained HTML document, and a PDF.

:func:`load_results` reads and checks a ``vcommission run --json`` file (errors name file,
line and JSON path); :func:`build_report` renders the HTML (cover, traceability matrix,
deviations, per-scenario evidence with timing diagrams, I/O / interlock / ST coverage,
appendix); :func:`compare` and :func:`markdown` give the regression view against a baseline
run; :func:`html_to_pdf` prints the HTML to PDF with headless Chromium. Jinja2 and matplotlib
come with the ``report`` extra and are imported only when a report is built.
"""

from __future__ import annotations

from vcommission.reporting.fat.build import build_report, report_date, resolve_traces
from vcommission.reporting.fat.document import Check, Results, Scenario, load_results, parse_results
from vcommission.reporting.fat.pdf import find_chromium, html_to_pdf
from vcommission.reporting.fat.regression import Regression, compare, markdown

__all__ = [
    "Check",
    "Regression",
    "Results",
    "Scenario",
    "build_report",
    "compare",
    "find_chromium",
    "html_to_pdf",
    "load_results",
    "markdown",
    "parse_results",
    "report_date",
    "resolve_traces",
]
