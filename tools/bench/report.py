"""Benchmark: the FAT report of a run with 100 scenarios, against loading that run's inputs.

The bundled sorting_line suite runs once with traces (17 scenarios); its results are then
repeated, each copy renamed, up to 100 scenarios that all keep their traces, so the report has
100 timing diagrams, 100 I/O coverage passes and the merged ST coverage to draw. The figures
printed are medians of this run only:

* **load**: reading the 100-scenario results file and every trace (what any report needs);
* **json**: serialising the same results with the JSON reporter's encoder;
* **report**: :func:`vcommission.reporting.fat.build_report`, the whole HTML.

The report's time is printed as a ratio to **load** and to **json**, measured in the same
process, so the figure compares across machines; the absolute seconds (wall, and the CPU
time of one more build, which a busy machine inflates less) are printed too.

Usage: ``python3 tools/bench/report.py [--scenarios 100] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _median(function, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from vcommission.reporting.fat import build_report, load_results
    from vcommission.scenario.trace import Trace

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        subprocess.run(
            [sys.executable, "-m", "vcommission", "run", str(ROOT / "scenarios" / "sorting_line"),
             "--json", str(work / "suite.json"), "--trace-dir", str(work / "traces")],
            check=False, cwd=ROOT, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        document = json.loads((work / "suite.json").read_text())
        suite = document["scenarios"]
        scenarios = []
        for i in range(args.scenarios):
            scenario = copy.deepcopy(suite[i % len(suite)])
            scenario["name"] += f" #{i // len(suite) + 1}"
            scenarios.append(scenario)
        document["scenarios"] = scenarios
        big = work / "big.json"
        big.write_text(json.dumps(document, indent=2))

        def load() -> None:
            results = load_results(big)
            for scenario in results.scenarios:
                if scenario.trace_file:
                    Trace.load(scenario.trace_file)

        def encode() -> None:
            json.dumps(json.loads(big.read_text()), indent=2, allow_nan=False)

        html: list[str] = []

        def report() -> None:
            html[:] = [build_report(load_results(big))]

        report()  # imports (matplotlib, jinja2) and template compilation, not measured
        load_s = _median(load, args.repeat)
        json_s = _median(encode, args.repeat)
        report_s = _median(report, args.repeat)
        cpu = time.process_time()
        report()
        cpu_s = time.process_time() - cpu
    print(f"scenarios: {args.scenarios}, HTML: {len(html[0]) / 1e6:.1f} MB")
    print(f"load results + traces: {load_s:.3f} s")
    print(f"JSON encode of the results: {json_s:.3f} s")
    print(
        f"report: {report_s:.2f} s wall ({cpu_s:.2f} s CPU) = {report_s / load_s:.0f} x load, "
        f"{report_s / json_s:.0f} x JSON"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
