"""Mutation and distributed-suite benchmark: mutants per minute, Dask against the local pool.

Two measurements, each against a baseline of the same run (these machines are shared):

``mutate``  every mutant of ``sorting.st`` against the bundled sorting_line suite with the
            local executor (``-j``, default one worker per core): mutant count, wall time,
            mutants per minute, the score; and the baseline, the suite once against the
            original program on the same workers (``run --strict -j``), with the ratio of the
            two wall times (what a mutation run costs in suite runs).
``dask``    the bundled suite ``--repeat`` times over as one list of cases: on the local pool
            (``-j 2``), on a Dask cluster of two worker processes and of one, scheduler and
            workers started here on loopback (``dask scheduler``, ``dask worker --nthreads 1``).
            Printed: cases per second of each and the ratios Dask(2)/local and Dask(2)/Dask(1).

Usage: ``python3 tools/bench/mutate.py [mutate|dask|both] [-j N] [--repeat 3] [--json FILE]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "scenarios" / "sorting_line"
SORTING = ROOT / "plant_models" / "sorting_line" / "plc" / "sorting.st"


def bench_mutate(jobs: int, json_path: Path | None = None) -> None:
    from vcommission.mutation.engine import mutate
    from vcommission.scenario.collect import collect
    from vcommission.scenario.suite import run_suite

    scenarios = collect([SUITE]).scenarios
    started = time.perf_counter()
    run_suite(scenarios, jobs, None, strict=True)
    suite_wall = time.perf_counter() - started
    started = time.perf_counter()
    report = mutate(SORTING, scenarios, jobs=jobs)
    wall = time.perf_counter() - started
    counts = report.counts()
    print(f"scenarios (cases)              {len(scenarios)}")
    print(f"the suite once, original       {suite_wall:.1f} s ({jobs} worker(s), with start-up)")
    print(f"mutants of sorting.st          {len(report.results)} ({dict(counts)})")
    print(f"wall time, {jobs} worker(s)        {wall:.1f} s ({60 * len(report.results) / wall:.0f} "
          "mutants/minute)")  # fmt: skip
    print(f"mutate / suite once            {wall / suite_wall:.1f}")
    print(f"mutation score                 {report.score:.1f}%")
    if json_path is not None:  # the verdicts, to compare mutant by mutant with another run
        json_path.write_text(json.dumps(report.to_json(), indent=1), encoding="utf-8")
    print(f"load average (1 min)           {os.getloadavg()[0]:.1f}")
    for survivor in report.survivors:
        site = survivor.site
        flag = " [possibly equivalent]" if survivor.possibly_equivalent else ""
        print(f"  survivor sorting.st:{site.line} {site.operator}: {site.original} -> "
              f"{site.mutated}{flag}")  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _cluster(workers: int) -> tuple[str, list[subprocess.Popen[bytes]]]:
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    processes = [
        subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1",
                          "--port", str(port), "--no-dashboard"], **quiet)
    ]  # fmt: skip
    processes += [
        subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nthreads", "1",
                          "--no-dashboard", "--host", "127.0.0.1"], **quiet)
        for _ in range(workers)
    ]  # fmt: skip
    return address, processes


def bench_dask(repeat: int) -> None:
    from vcommission.executors.dask import DaskExecutor
    from vcommission.scenario.collect import collect
    from vcommission.scenario.suite import run_suite

    cases = collect([SUITE]).scenarios * repeat
    started = time.perf_counter()
    run_suite(cases, 2, None, strict=True)
    local = len(cases) / (time.perf_counter() - started)
    rates = {}
    for workers in (2, 1):
        address, processes = _cluster(workers)
        try:
            with DaskExecutor(address) as executor:
                while len(executor.dask_client.scheduler_info()["workers"]) < workers:
                    time.sleep(0.2)
                # Warm: the workers import vcommission and build their first plant.
                run_suite(cases[:workers], 1, None, strict=True, executor=executor)
                started = time.perf_counter()
                run_suite(cases, 1, None, strict=True, executor=executor)
                rates[workers] = len(cases) / (time.perf_counter() - started)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=30)
    print(f"cases                          {len(cases)} (the suite x {repeat})")
    print(f"local pool, 2 workers          {local:.2f} cases/s (start-up included)")
    print(f"Dask, 2 workers                {rates[2]:.2f} cases/s (warm)")
    print(f"Dask, 1 worker                 {rates[1]:.2f} cases/s (warm)")
    print(f"Dask(2) / local                {rates[2] / local:.2f}")
    print(f"Dask(2) / Dask(1)              {rates[2] / rates[1]:.2f}")
    print(f"load average (1 min)           {os.getloadavg()[0]:.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", choices=("mutate", "dask", "both"), default="both")
    parser.add_argument("-j", "--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None, help="mutate: write its report here")
    args = parser.parse_args(argv)
    if args.what in ("mutate", "both"):
        bench_mutate(args.jobs, args.json)
    if args.what in ("dask", "both"):
        bench_dask(args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
