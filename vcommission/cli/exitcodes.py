"""Process exit codes of every ``vcommission`` subcommand."""

from __future__ import annotations

from enum import IntEnum

__all__ = ["ExitCode"]


class ExitCode(IntEnum):
    """Process exit codes of every subcommand."""

    #: Everything checked out.
    OK = 0
    #: The input was read and found wrong (invalid model, failed checks).
    FAILED = 1
    #: vcommission itself could not do the job (harness error).
    ERROR = 2
    #: Bad command-line arguments.
    USAGE = 3
    #: Nothing to work on (no model found).
    NO_INPUT = 4
    #: ``run`` without ``--strict``: nothing failed, but a check was vacuous (never met the
    #: situation it judges) or a fault never acted.
    VACUOUS = 5
