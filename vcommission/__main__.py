"""Run the command line as ``python -m vcommission``."""

from __future__ import annotations

import sys

from vcommission.cli import main

sys.exit(main())
