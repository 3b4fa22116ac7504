"""Reporters by name: ``console``, ``junit``, ``json``, ``fat``; third parties' by entry points.

A reporter is a :class:`~vcommission.reporting.hooks.Reporter` subclass; third parties
list theirs in the ``vcommission.reporters`` entry-point group
(``fat = "my_pkg.fat:FatReporter"``) or call ``REPORTERS.register`` before a run.
:func:`make_reporter` builds one by name with its own arguments (the built-in ones take
the output file, the console one a stream).
"""

from __future__ import annotations

from typing import Any

from vcommission.registry import Registry
from vcommission.reporting.hooks import Reporter

__all__ = ["REPORTERS", "make_reporter"]

#: Reporter classes by name.
REPORTERS: Registry[type[Reporter]] = Registry(
    "reporter",
    "vcommission.reporters",
    accept=lambda entry: isinstance(entry, type) and issubclass(entry, Reporter),
    expected="a Reporter subclass",
)
REPORTERS.register("console", "vcommission.reporting.console:ConsoleReporter")
REPORTERS.register("junit", "vcommission.reporting.junit:JUnitReporter")
REPORTERS.register("json", "vcommission.reporting.json_report:JsonReporter")
REPORTERS.register("fat", "vcommission.reporting.fat.reporter:FatReporter")


def make_reporter(name: str, *args: Any, **kwargs: Any) -> Reporter:
    """The reporter registered as ``name``, built with ``args`` and ``kwargs``.

    Raises:
        RegistryError: no reporter of that name (with the closest one), or it does not
            import.
    """
    return REPORTERS.load(name)(*args, **kwargs)
