"""``vcommission run``: run scenario files (or folders, or bundled suites) and report.

Exit codes: 0 every check passed; 1 a check failed (with ``--strict``, also a check that was
not exercised or a fault that never acted); 2 a harness error; 5 (``VACUOUS``) nothing
failed but some check was vacuous (without ``--strict``): a run that proved less than it
says is not a plain pass, yet tells apart from a failure, so a script may accept it on
purpose; 3 usage; 4 nothing collected; 130/143 interrupted by SIGINT/SIGTERM (the reports
then hold every finished result and mark the rest interrupted).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcommission.cli._common import (
    Subparsers,
    executor_url,
    jobs,
    make_executor,
    print_issues,
    seed,
    suite_path,
)
from vcommission.cli.exitcodes import ExitCode
from vcommission.cli.report import add_report_options, require_report_extra

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]


def register(commands: Subparsers) -> None:
    run = commands.add_parser("run", help="run scenario files (or folders of them) and report")
    run.add_argument(
        "paths", nargs="+", type=suite_path, metavar="PATH",
        help="scenario files or folders of them, or a bundled suite's name",
    )  # fmt: skip
    run.add_argument(
        "--plc",
        type=Path,
        default=None,
        metavar="PROGRAM.st",
        help="ST program for scenarios that name none",
    )
    run.add_argument("--seed", type=seed, default=None, help="plant seed for every scenario")
    run.add_argument(
        "-j",
        "--jobs",
        type=jobs,
        default=None,
        metavar="N",
        help="worker processes (default: automatic, up to one per core: the suite starts in "
        "this process and workers join once it has work for them)",
    )
    run.add_argument(
        "--executor",
        type=executor_url,
        default=None,
        metavar="URL",
        help="run the cases on a Dask cluster: dask://HOST:PORT (the scheduler); default: "
        "worker processes here (-j)",
    )
    run.add_argument(
        "--junit", type=Path, default=None, metavar="FILE", help="write a JUnit XML report"
    )
    run.add_argument(
        "--json", type=Path, default=None, metavar="FILE",
        help="write the results as JSON (vcommission report reads it)",
    )  # fmt: skip
    run.add_argument(
        "--trace-dir", type=Path, default=None, metavar="DIR",
        help="save every run's trace (.npz) and collision snapshots here",
    )  # fmt: skip
    add_report_options(run)
    run.add_argument(
        "-k",
        dest="keyword",
        default=None,
        metavar="EXPR",
        help="only scenarios matching: words, and, or, not, ( ) as in pytest",
    )
    run.add_argument(
        "--strict",
        action="store_true",
        help="fail checks that were not exercised and faults that never acted "
        "(default: report them as vacuous, exit code 5)",
    )
    run.add_argument(
        "--allow-commands",
        action="store_true",
        help="let scenarios start external PLC commands (a scenario file with a command is "
        "code; also VCOMMISSION_ALLOW_COMMANDS=1)",
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="show every check, passed ones too"
    )
    run.add_argument(
        "--collect-only",
        action="store_true",
        help="list the scenario cases that would run (files loaded and checked), run none",
    )
    run.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode | int:
    import tempfile

    from vcommission.scenario.suite import terminate_as_interrupt

    if (args.report or args.pdf) and not require_report_extra(err):
        return ExitCode.ERROR
    # From the first moment: SIGTERM stops a run as Ctrl-C does, never killing it mid-report.
    with terminate_as_interrupt():
        if (args.report or args.pdf) and args.trace_dir is None and args.json is not None:
            # The report's plots and I/O coverage come from traces, and the JSON names
            # them: keep them beside it, so `vcommission report` can rebuild it later.
            args.trace_dir = args.json.with_name(f"{args.json.stem}-traces")
        if (args.report or args.pdf) and args.trace_dir is None:
            # The report's plots and I/O coverage come from traces: record them for it.
            with tempfile.TemporaryDirectory(prefix="vcommission-traces-") as traces:
                args.trace_dir = Path(traces)
                return _run(args, out, err)
        return _run(args, out, err)


def _run(args: argparse.Namespace, out: Console, err: Console) -> ExitCode | int:
    import time

    from vcommission.errors import VcommissionError
    from vcommission.reporting import Hooks
    from vcommission.reporting.registry import make_reporter
    from vcommission.reporting.run_info import RunInfo
    from vcommission.scenario.collect import collect
    from vcommission.scenario.keywords import KeywordError
    from vcommission.scenario.loader import commands_allowed
    from vcommission.scenario.results import ScenarioResult, Verdict
    from vcommission.scenario.suite import (
        SuiteInterrupted,
        deferred_interrupts,
        run_suite,
    )

    for path in args.paths:
        if not path.exists():
            err.print(f"{path}: no such file or folder", markup=False)
            return ExitCode.USAGE
    try:
        allow = commands_allowed(args.allow_commands)
        found = collect(args.paths, args.plc, args.keyword, args.seed, allow_commands=allow)
    except KeywordError as exc:
        err.print(f"-k: {exc}", markup=False)
        return ExitCode.USAGE
    # A file that does not load is an error verdict, so the others' results still count.
    broken: list[ScenarioResult] = []
    for file, exc in found.broken:
        print_issues(err, exc)
        broken.append(ScenarioResult(str(file), str(file), Verdict.ERROR, error=str(exc)))
    scenarios = found.scenarios
    if not scenarios and not broken:
        err.print(f"no scenario found under {', '.join(map(str, args.paths))}", markup=False)
        return ExitCode.NO_INPUT
    if args.collect_only:
        return _list_cases(found, broken, out)
    try:
        info = RunInfo.of(found, seed=args.seed, strict=args.strict)
    except VcommissionError as exc:  # a malformed SOURCE_DATE_EPOCH
        err.print(str(exc), markup=False)
        return ExitCode.USAGE
    for requirements in found.requirements:
        untested = requirements.untested(scenarios)
        if untested:
            # One line per requirements file: a FAT would list these as untested.
            err.print(
                f"warning: {requirements.file}: no check covers {', '.join(untested)} (untested)",
                markup=False,
                highlight=False,
            )
    # Built through the reporter registry, the same way a third party's reporter is.
    reporters = [make_reporter("console", out, verbose=args.verbose)]
    if args.junit:
        reporters.append(make_reporter("junit", args.junit))
    if args.json:
        reporters.append(make_reporter("json", args.json))
    if args.report or args.pdf:
        reporters.append(make_reporter("fat", args.report, args.pdf))
    try:
        # Before the reports start: an unreachable cluster must not leave an empty report.
        executor = make_executor(args.executor)
    except VcommissionError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return ExitCode.ERROR
    hooks = Hooks(reporters)
    # No -j: automatic (this process starts at once; workers only when the suite has work
    # for them, up to one per core).
    workers = args.jobs
    started = time.perf_counter()
    hooks.run_info(info)
    hooks.run_start(scenarios)
    results: list[ScenarioResult] = list(broken)
    interrupted_by: int | None = None
    try:
        results += run_suite(
            scenarios,
            workers,
            args.trace_dir,
            hooks.suite_events(scenarios),
            args.strict,
            executor=executor,
        )
    except SuiteInterrupted as interrupt:
        # Every finished result is kept; the rest are errors marked interrupted, so the
        # reports can never read as a green run.
        results += interrupt.results
        interrupted_by = interrupt.signum
    finally:
        # Also on an interrupt: the reports say what did run, and the progress display
        # stops; a second Ctrl-C meanwhile waits until they are written.
        with deferred_interrupts():
            hooks.run_finish(results, time.perf_counter() - started)
        if executor is not None:
            executor.close()
    if interrupted_by is not None:
        return 128 + interrupted_by  # the shell's convention: 130 for SIGINT, 143 for SIGTERM
    return {
        Verdict.ERROR: ExitCode.ERROR,
        Verdict.FAILED: ExitCode.FAILED,
        Verdict.VACUOUS: ExitCode.VACUOUS,
        Verdict.PASSED: ExitCode.OK,
    }[Verdict.worst([r.verdict for r in results])]


def _list_cases(found: Any, broken: list[Any], out: Console) -> ExitCode:
    """``--collect-only``: one line per case (file, name, requirements), then the count."""
    for scenario in found.scenarios:
        requirements = ",".join(scenario.spec.requirements) or "-"
        out.print(f"{scenario.file}: {scenario.name}  {requirements}", markup=False)
    files = len(dict.fromkeys(s.file for s in found.scenarios))
    cases = len(found.scenarios)
    line = f"{cases} case{'s' if cases != 1 else ''} in {files} file{'s' if files != 1 else ''}"
    if broken:
        line += f", {len(broken)} file{'s' if len(broken) != 1 else ''} not loaded"
    out.print(line, markup=False)
    return ExitCode.FAILED if broken else ExitCode.OK
