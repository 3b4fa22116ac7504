"""``vcommission report``: the FAT report of a results file, as HTML, PDF and a CI summary."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["add_report_options", "handle", "register", "require_report_extra"]


def register(commands: Subparsers) -> None:
    report = commands.add_parser(
        "report",
        help="the FAT report of a results file (run --json): HTML, PDF, Markdown summary",
    )
    report.add_argument(
        "results", type=Path, metavar="RESULTS.json", help="the results of a run (run --json)"
    )
    report.add_argument(
        "--traces",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder of the run's traces (default: each scenario's recorded trace_file)",
    )
    report.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE.html", help="the HTML report"
    )
    report.add_argument(
        "--pdf", type=Path, default=None, metavar="FILE.pdf", help="the PDF (headless Chromium)"
    )
    report.add_argument(
        "--baseline",
        type=Path,
        default=None,
        metavar="OLD.json",
        help="an earlier run's results: show changed verdicts, moved figures, new scenarios",
    )
    report.add_argument(
        "--markdown",
        type=Path,
        default=None,
        metavar="FILE",
        help="a short Markdown summary (GitHub step summary, merge-request comment)",
    )
    report.set_defaults(handler=handle)


def add_report_options(parser: argparse.ArgumentParser) -> None:
    """``--report`` and ``--pdf`` of ``vcommission run``."""
    parser.add_argument(
        "--report", type=Path, default=None, metavar="FILE.html", help="write the FAT report"
    )
    parser.add_argument(
        "--pdf", type=Path, default=None, metavar="FILE.pdf", help="and its PDF (headless Chromium)"
    )


def require_report_extra(err: Console) -> bool:
    """Whether Jinja2 and matplotlib are installed; if not, say how to get them."""
    import importlib.util

    missing = [m for m in ("jinja2", "matplotlib") if importlib.util.find_spec(m) is None]
    if missing:
        err.print(
            f"error: the report needs {' and '.join(missing)}: pip install 'vcommission[report]'",
            markup=False,
        )
    return not missing


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    if args.output is None and args.pdf is None and args.markdown is None:
        err.print("report: give -o FILE.html, --pdf FILE.pdf or --markdown FILE", markup=False)
        return ExitCode.USAGE
    if not require_report_extra(err):
        return ExitCode.ERROR
    from vcommission.errors import VcommissionError
    from vcommission.reporting.fat.reporter import write_report

    try:
        text = args.results.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VcommissionError(f"{args.results}: cannot read the results file ({exc})") from None
    write_report(
        text,
        str(args.results),
        args.output,
        args.pdf,
        traces=args.traces,
        baseline=args.baseline,
        markdown_file=args.markdown,
    )
    for path in (args.output, args.pdf, args.markdown):
        if path is not None:
            out.print(f"report written to {path}", markup=False, highlight=False)
    return ExitCode.OK
