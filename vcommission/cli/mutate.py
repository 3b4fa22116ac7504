"""``vcommission mutate PROGRAM.st SCENARIOS...``: how many wrong programs does the suite catch?

Makes mutants of the program from its syntax tree (:mod:`vcommission.mutation.operators`),
runs the scenarios against each (:mod:`vcommission.mutation.engine`), prints each survivor
with its line, the original and mutated code and the scenarios that executed it, and the
mutation score overall, per operator and per requirement. Exit codes: 0, or 1 when the
score is below ``--min-score``; 2 when the suite fails the original program; 3 usage;
4 no scenario found.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import (
    Subparsers,
    executor_url,
    jobs,
    make_executor,
    print_issues,
    suite_path,
)
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

    from vcommission.mutation.engine import MutantResult, MutationReport

__all__ = ["handle", "register"]


def _operators(text: str) -> set[str]:
    from vcommission.mutation import OPERATORS

    names = {word.strip() for word in text.split(",") if word.strip()}
    unknown = sorted(names - set(OPERATORS))
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown operator(s) {', '.join(unknown) or '(none given)'}; "
            f"the operators are: {', '.join(OPERATORS)}"
        )
    return names


def _percent(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"{text} must be 0..100 (percent)")
    return value


def register(commands: Subparsers) -> None:
    mutate = commands.add_parser(
        "mutate", help="mutation testing: run the scenarios against mutants of an ST program"
    )
    mutate.add_argument("program", type=Path, metavar="PROGRAM.st", help="the ST program to mutate")
    mutate.add_argument(
        "paths", nargs="+", type=suite_path, metavar="SCENARIOS",
        help="scenario files or folders (or a bundled suite) to run the mutants against",
    )  # fmt: skip
    mutate.add_argument(
        "--operators",
        type=_operators,
        default=None,
        metavar="LIST",
        help="comma-separated operators (default: all; see README Mutation testing)",
    )
    mutate.add_argument(
        "--min-score", type=_percent, default=None, metavar="PCT", help="exit 1 below this score"
    )
    mutate.add_argument("--json", type=Path, default=None, metavar="FILE", help="full results")
    mutate.add_argument(
        "-j",
        "--jobs",
        type=jobs,
        default=None,
        metavar="N",
        help="worker processes (default: cores)",
    )
    mutate.add_argument(
        "--executor",
        type=executor_url,
        default=None,
        metavar="URL",
        help="run the mutants on a Dask cluster: dask://HOST:PORT (the scheduler)",
    )
    mutate.add_argument("-v", "--verbose", action="store_true", help="a line per mutant")
    mutate.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.errors import VcommissionError
    from vcommission.fileio import write_atomic
    from vcommission.mutation.engine import mutate
    from vcommission.scenario.collect import collect
    from vcommission.scenario.suite import default_jobs

    if not args.program.is_file():
        err.print(f"{args.program}: no such ST program", markup=False)
        return ExitCode.USAGE
    found = collect(args.paths, args.program, allow_commands=False)
    for _, exc in found.broken:
        print_issues(err, exc)
    if found.broken:
        return ExitCode.FAILED
    # Mutants are in-process ST programs: external PLCs have nothing to mutate.
    scenarios = [s for s in found.scenarios if s.spec.plc.external is None]
    if not scenarios:
        err.print(f"no scenario found under {', '.join(map(str, args.paths))}", markup=False)
        return ExitCode.NO_INPUT

    def progress(result: MutantResult) -> None:
        if args.verbose:
            site = result.site
            out.print(
                f"{result.status:>12}  {args.program.name}:{site.line}  {site.operator:<10} "
                f"{site.original} -> {site.mutated}",
                markup=False,
                highlight=False,
            )

    try:
        executor = make_executor(args.executor)
        try:
            report = mutate(
                args.program,
                scenarios,
                operators=args.operators,
                jobs=args.jobs or default_jobs(),
                executor=executor,
                on_result=progress,
            )
        finally:
            if executor is not None:
                executor.close()
    except VcommissionError as exc:
        err.print(f"error: {exc}", markup=False, highlight=False)
        return ExitCode.ERROR
    if args.json is not None:
        write_atomic(args.json, json.dumps(report.to_json(), indent=2) + "\n")
    _summary(report, args.program, out)
    score = report.score
    if args.min_score is not None and (score is None or score < args.min_score):
        shown = "none" if score is None else f"{score:.1f}%"
        err.print(f"mutation score {shown} is below --min-score {args.min_score:g}%", markup=False)
        return ExitCode.FAILED
    return ExitCode.OK


def _summary(report: MutationReport, program: Path, out: Console) -> None:
    def write(text: str) -> None:
        out.print(text, markup=False, highlight=False)

    survivors = report.survivors
    if survivors:
        write(f"survivors ({len(survivors)}):")
        for result in survivors:
            site = result.site
            flag = "  [possibly equivalent]" if result.possibly_equivalent else ""
            write(f"  {program.name}:{site.line}  {site.operator}: {site.original} -> "
                  f"{site.mutated}{flag}")  # fmt: skip
            write(f"      executed by: {_scenarios(result.executed_by, len(report.scenarios))}")
    counts = report.counts()
    generated = sum(counts.values())
    write(
        f"mutants: {generated} generated, {counts['not_compiled']} not compiled, "
        f"{counts['not_covered']} not covered, "
        f"{sum(counts[s] for s in ('killed', 'plc_fault', 'timeout', 'error'))} killed "
        f"({counts['plc_fault']} by a PLC fault, {counts['timeout']} by the time budget, "
        f"{counts['error']} by an error), {counts['survived']} survived"
    )
    per_operator = ", ".join(
        f"{op} {'-' if s is None else f'{s:.0f}%'}" for op, s in report.by_operator().items()
    )
    write(f"per operator: {per_operator}")
    per_requirement = ", ".join(
        f"{req} {row['killed']}/{row['covered']}" for req, row in report.by_requirement().items()
    )
    if per_requirement:
        write(f"per requirement (killed by its scenarios / covered by them): {per_requirement}")
    score = report.score
    write(f"mutation score: {'n/a' if score is None else f'{score:.1f}%'} in {report.wall_s:.1f} s")


def _scenarios(names: list[str], total: int) -> str:
    """The scenarios that ran a line, readable when they are many (``--json`` has them all)."""
    if len(names) == total and total > 3:
        return f"all {total} scenarios"
    if len(names) > 3:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    return ", ".join(names)
