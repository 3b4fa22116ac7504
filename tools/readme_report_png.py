"""Render one page of the bundled suite's FAT report to a PNG for the README.

Runs the bundled sorting_line suite with traces, builds its report (HTML, then the PDF by
headless Chromium) and renders one PDF page with pdftoppm: by default page 2, the
requirements traceability matrix (page 1 is the cover). The report's date is the last
commit's (``SOURCE_DATE_EPOCH``), so the picture changes only with the code or the suite.

Usage: ``python3 tools/readme_report_png.py [--page 2] [--dpi 90] [-o docs/fat-report.png]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", type=int, default=2, help="PDF page to render (1 = cover)")
    parser.add_argument("--dpi", type=int, default=90)
    parser.add_argument("-o", "--output", type=Path, default=ROOT / "docs" / "fat-report.png")
    args = parser.parse_args()
    if shutil.which("pdftoppm") is None:
        print("pdftoppm not found: apt-get install poppler-utils", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if "SOURCE_DATE_EPOCH" not in env:
        stamp = subprocess.run(
            ["git", "log", "-1", "--format=%ct"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        env["SOURCE_DATE_EPOCH"] = stamp or "0"
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        vcommission = [sys.executable, "-m", "vcommission"]
        # Relative paths, run from the checkout: the page shows what a user's run shows.
        subprocess.run(
            [*vcommission, "run", "scenarios/sorting_line", "--json", str(work / "results.json"),
             "--trace-dir", str(work / "traces")],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            [*vcommission, "report", str(work / "results.json"), "-o", str(work / "fat.html"),
             "--pdf", str(work / "fat.pdf")],
            cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        subprocess.run(
            ["pdftoppm", "-png", "-r", str(args.dpi), "-f", str(args.page), "-l", str(args.page),
             "-singlefile", str(work / "fat.pdf"), str(work / "page")],
            check=True,
        )  # fmt: skip
        args.output.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(work / "page.png", args.output)
    print(f"page {args.page} of the FAT report written to {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
