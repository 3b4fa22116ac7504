"""Write the README's component table from the catalogue: ``vcommission kinds --format markdown``.

Usage: ``python3 tools/readme_kinds.py`` (from anywhere). The table sits between the
``<!-- kinds:begin -->`` and ``<!-- kinds:end -->`` markers of README.md; a test fails when
it differs from what the code says, so a new kind or parameter means running this again.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BEGIN, END = "<!-- kinds:begin -->", "<!-- kinds:end -->"


def generated_table() -> str:
    """The component table as the catalogue makes it (built-in kinds only)."""
    from vcommission.config.catalog import describe, markdown_table
    from vcommission.plant import registry

    return markdown_table(describe(kind) for kind in sorted(registry._BUILTIN))


def readme_table(text: str) -> str:
    """What README.md holds between the markers."""
    match = re.search(f"{re.escape(BEGIN)}\n(.*?){re.escape(END)}", text, re.S)
    if match is None:
        raise SystemExit(f"{README}: no {BEGIN} ... {END} block")
    return match.group(1)


def main() -> int:
    text = README.read_text()
    old = readme_table(text)
    new = generated_table()
    README.write_text(text.replace(f"{BEGIN}\n{old}{END}", f"{BEGIN}\n{new}{END}"))
    print("README component table", "unchanged" if old == new else "rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
