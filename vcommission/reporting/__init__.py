"""Reporting: one hook catalogue, and the reporters that plug into it.

The runner calls :class:`Hooks` at run start, scenario start, each check result, scenario
finish and run finish; every output format is a :class:`Reporter` subclass on that
catalogue, so the runner never special-cases one. ``console`` prints progress and
verdicts, ``junit`` writes JUnit XML for CI, ``json_report`` writes the results as JSON,
``summary`` holds the counts and requirement verdicts they share, and ``registry`` finds
reporters by name (third parties' through the ``vcommission.reporters`` entry points).
"""

from __future__ import annotations

from vcommission.reporting.console import ConsoleReporter
from vcommission.reporting.hooks import Hooks, Reporter
from vcommission.reporting.json_report import JsonReporter
from vcommission.reporting.junit import JUnitReporter
from vcommission.reporting.registry import REPORTERS, make_reporter
from vcommission.reporting.summary import Summary

__all__ = [
    "REPORTERS",
    "ConsoleReporter",
    "Hooks",
    "JUnitReporter",
    "JsonReporter",
    "Reporter",
    "Summary",
    "make_reporter",
]
