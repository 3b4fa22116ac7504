"""Plot the README's trace: ``docs/r8_pusher_stuck.svg``, the R8 scenario's key tags.

Usage: ``python3 tools/readme_trace_svg.py`` (from anywhere; needs the ``plot`` extra). It
runs ``scenarios/sorting_line/r8_pusher_stuck.yaml`` with a trace, then draws what
``vcommission trace plot`` draws; the same run gives the same bytes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TAGS = "start_pb,reset_pb,conveyor_run,pusher_extend,pusher_extended,light_red,speed_actual"


def main() -> int:
    from vcommission.cli import main as vcommission

    scenario = ROOT / "scenarios" / "sorting_line" / "r8_pusher_stuck.yaml"
    with tempfile.TemporaryDirectory() as traces:
        code = vcommission(["run", str(scenario), "-j", "1", "--trace-dir", traces])
        if code != 0:
            return code
        (trace,) = Path(traces).glob("*.npz")
        output = ROOT / "docs" / "r8_pusher_stuck.svg"
        return vcommission(["trace", "plot", str(trace), "--tags", TAGS, "-o", str(output)])


if __name__ == "__main__":
    sys.exit(main())
