"""PDF through headless Chromium's print-to-PDF: the same rendering engine as the HTML view.

Chromium prints the report's own ``@page`` rules (A4, margins, page breaks), so the PDF is
the HTML as a browser shows it; no second layout engine can disagree with the page a
reviewer opened. The browser is found as ``$VCOMMISSION_CHROMIUM`` or on ``PATH``
(``chromium``, Debian's package; ``chromium-browser``; ``google-chrome``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from vcommission.errors import VcommissionError
from vcommission.fileio import write_atomic

__all__ = ["CHROMIUM_NAMES", "find_chromium", "html_to_pdf"]

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Seconds a print may take: a 100-scenario report prints in a few.
TIMEOUT_S = 180.0


def find_chromium() -> str:
    """The Chromium executable to print with.

    Raises:
        VcommissionError: none found, with what to install.
    """
    named = os.environ.get("VCOMMISSION_CHROMIUM")
    if named:
        found = shutil.which(named)
        if found is None:
            raise VcommissionError(f"VCOMMISSION_CHROMIUM={named!r}: no such executable")
        return found
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found is not None:
            return found
    raise VcommissionError(
        "no PDF engine: the PDF is printed by headless Chromium, and none was found on PATH "
        f"({', '.join(CHROMIUM_NAMES)}); install it (Debian: apt-get install chromium) or "
        "set VCOMMISSION_CHROMIUM to its path"
    )


def chromium_command(executable: str, profile: str) -> list[str]:
    """The headless flags every use shares (print, screenshot, DOM dump)."""
    return [
        executable,
        "--headless",
        # CI and containers run as root, where Chromium's sandbox cannot start.
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
        # Its own profile: two prints at once must not share (and lock) one.
        f"--user-data-dir={profile}",
    ]


def html_to_pdf(html: str | Path, pdf: str | Path) -> None:
    """Print the HTML file ``html`` to ``pdf`` (written atomically).

    Raises:
        VcommissionError: no Chromium, or the print failed (with Chromium's last words).
    """
    executable = find_chromium()
    source = Path(html).resolve()
    with tempfile.TemporaryDirectory(prefix="vcommission-pdf-") as work:
        out = Path(work) / "out.pdf"
        command = [
            *chromium_command(executable, str(Path(work) / "profile")),
            "--no-pdf-header-footer",
            f"--print-to-pdf={out}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_S,
                stdin=subprocess.DEVNULL,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise VcommissionError(
                f"Chromium did not print {source} within {TIMEOUT_S:g} s"
            ) from None
        if done.returncode != 0 or not out.is_file() or out.stat().st_size == 0:
            tail = "\n".join(done.stderr.strip().splitlines()[-5:])
            raise VcommissionError(
                f"Chromium ({executable}) failed to print {source} to PDF "
                f"(exit {done.returncode}): {tail}"
            )
        write_atomic(pdf, out.read_bytes())
