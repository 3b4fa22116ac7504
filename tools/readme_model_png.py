"""Render the README's picture of the bundled sorting line: ``docs/sorting_line.png``.

Usage: ``python3 tools/readme_model_png.py`` (from anywhere; needs the ``plot`` extra).
The picture is what ``vcommission render sorting_line --view iso`` draws; the same model
gives the same bytes, so a changed picture in a diff is a changed model.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    from vcommission.cli import main as vcommission

    output = ROOT / "docs" / "sorting_line.png"
    model = ROOT / "plant_models" / "sorting_line"
    return vcommission(["render", str(model), "-o", str(output), "--view", "iso"])


if __name__ == "__main__":
    sys.exit(main())
