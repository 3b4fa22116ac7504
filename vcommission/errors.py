"""Exceptions raised by vcommission, in one flat module.

A PLC that violates a requirement is a *result*, never an exception: these classes are for
bad input and harness faults only.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "ConfigError",
    "ConfigIssue",
    "PlantError",
    "RegistryError",
    "SignalError",
    "VcommissionError",
]


class VcommissionError(Exception):
    """Raised when vcommission itself cannot go on; the root of every error here."""


@dataclass(frozen=True)
class ConfigIssue:
    """One problem found in a configuration file, with its location."""

    #: Path of the file, as the user gave it.
    file: str
    #: 1-based line of the offending node (0 when unknown).
    line: int
    #: Dotted YAML path of the offending node, e.g. ``components.pusher.stroke``.
    path: str
    #: What is wrong, in a sentence the user can act on.
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(VcommissionError):
    """Raised when a configuration file is invalid; carries every issue found, not the first."""

    def __init__(self, issues: list[ConfigIssue] | ConfigIssue | str) -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue("", 0, "", issues)]
        elif isinstance(issues, ConfigIssue):
            issues = [issues]
        self.issues: list[ConfigIssue] = list(issues)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class SignalError(VcommissionError):
    """Raised when a signal is unknown, written in the wrong direction or given a bad value."""


class RegistryError(VcommissionError):
    """Raised when a component kind is unknown or cannot be imported."""


class PlantError(VcommissionError):
    """Raised when a plant cannot be built or stepped (a harness fault, not a PLC failure)."""
