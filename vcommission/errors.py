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
    "PlcCompileError",
    "PlcFault",
    "RegistryError",
    "SignalError",
    "SourceIssue",
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

    def __init__(
        self,
        issues: list[ConfigIssue] | ConfigIssue | str,
        *,
        path: tuple[str | int, ...] = (),
    ) -> None:
        if isinstance(issues, str):
            issues = [ConfigIssue("", 0, ".".join(str(step) for step in path), issues)]
        elif isinstance(issues, ConfigIssue):
            issues = [issues]
        self.issues: list[ConfigIssue] = list(issues)
        #: Where below the object being loaded the problem is (``("points", "pick")``), so a
        #: loader that knows the file can locate it: a component's parameters raise with
        #: it and the model loader prefixes the component's own path.
        self.yaml_path: tuple[str | int, ...] = tuple(path)
        super().__init__("\n".join(str(issue) for issue in self.issues))


class SignalError(VcommissionError):
    """Raised when a signal is unknown, written in the wrong direction or given a bad value."""


class RegistryError(VcommissionError):
    """Raised when a component kind is unknown or cannot be imported."""


class PlantError(VcommissionError):
    """Raised when a plant cannot be built or stepped (a harness fault, not a PLC failure)."""


@dataclass(frozen=True)
class SourceIssue:
    """One problem found in a PLC source file, with its location."""

    #: Path of the file, as the user gave it.
    file: str
    #: 1-based line (0 when the problem concerns the whole file).
    line: int
    #: 1-based column (0 when unknown).
    col: int
    #: What is wrong, in a sentence the user can act on.
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
            if self.col:
                where += f":{self.col}"
        return f"{where}: {self.message}"


class PlcCompileError(VcommissionError):
    """Raised when a PLC program cannot be compiled; carries every issue found, not the first."""

    def __init__(self, issues: list[SourceIssue]) -> None:
        self.issues = sorted(issues, key=lambda i: (i.file, i.line, i.col))
        super().__init__("\n".join(str(issue) for issue in self.issues))


class PlcFault(VcommissionError):
    """Raised when a running PLC program hits a runtime fault; the PLC stops (as in STOP mode)."""

    def __init__(self, message: str, file: str = "", line: int = 0, time_ns: int = 0) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.time_ns = time_ns
        where = f"{file}:{line}: " if line else (f"{file}: " if file else "")
        super().__init__(f"{where}{message}")
