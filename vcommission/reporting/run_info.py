"""What a run records at run level: environment, date, options, requirements, untested ids.

The entry point (``vcommission run``) builds one :class:`RunInfo` after collecting scenarios and
hands it to every reporter through the ``run_info`` hook, before ``run_start``. The JSON report
writes it as its ``"run"`` block, which the FAT report's cover and traceability matrix read.

The date is the one wall-clock value a report holds, and it is documented as such: the start
of the run, or ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when that is set, so that the
same results give byte-identical reports (https://reproducible-builds.org/specs/source-date-epoch/).
It is never simulation input.
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vcommission.errors import VcommissionError

if TYPE_CHECKING:
    from vcommission.scenario.collect import Collection
    from vcommission.scenario.requirements import Requirements

__all__ = ["KEY_PACKAGES", "RunInfo", "environment", "report_date"]

#: Distributions whose versions decide a run's outcome or its report (those installed).
KEY_PACKAGES = (
    "pybullet",
    "numpy",
    "PyYAML",
    "lark",
    "pymodbus",
    "asyncua",
    "rich",
    "pytest",
    "Jinja2",
    "matplotlib",
)


def report_date(environ: Mapping[str, str] = os.environ) -> str:
    """The run's date, ISO 8601 in UTC to the second: ``2026-12-01T23:50:36Z``.

    ``SOURCE_DATE_EPOCH`` (an integer number of seconds since 1970-01-01 UTC) wins over the
    wall clock when it is set and not empty.

    Raises:
        VcommissionError: ``SOURCE_DATE_EPOCH`` is set but not an integer.
    """
    text = environ.get("SOURCE_DATE_EPOCH", "").strip()
    if text:
        try:
            moment = datetime.datetime.fromtimestamp(int(text), datetime.UTC)
        except (ValueError, OverflowError, OSError):
            raise VcommissionError(
                f"SOURCE_DATE_EPOCH={text!r} must be an integer number of seconds since 1970"
            ) from None
    else:
        moment = datetime.datetime.now(datetime.UTC)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def environment() -> dict[str, Any]:
    """The versions of vcommission, Python and the :data:`KEY_PACKAGES`, and the platform."""
    packages = {}
    for name in KEY_PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue  # an optional one (the report's) that is not installed
    try:
        version = metadata.version("vcommission")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        version = "unknown"
    return {
        "vcommission": version,
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "packages": packages,
    }


@dataclass(frozen=True)
class RunInfo:
    """Run-level facts the reporters record (see the module docstring)."""

    #: ISO date of the run (:func:`report_date`).
    started: str
    #: ``--seed``: the plant seed given for every scenario, or None (each its own).
    seed: int | None = None
    #: Whether not-exercised checks fail (``--strict``).
    strict: bool = False
    #: The requirements files that apply to the scenarios collected, in discovery order.
    requirements: tuple[Requirements, ...] = ()
    #: Requirement ids no collected check covers, in file order.
    untested: tuple[str, ...] = ()
    #: :func:`environment`.
    environment: dict[str, Any] = field(default_factory=environment)

    @classmethod
    def of(
        cls,
        found: Collection,
        *,
        seed: int | None = None,
        strict: bool = False,
        environ: Mapping[str, str] = os.environ,
    ) -> RunInfo:
        """The run info of a collection: its requirements, and which no check covers.

        Raises:
            VcommissionError: a malformed ``SOURCE_DATE_EPOCH``.
        """
        untested = [i for r in found.requirements for i in r.untested(found.scenarios)]
        return cls(
            started=report_date(environ),
            seed=seed,
            strict=strict,
            requirements=tuple(found.requirements),
            untested=tuple(untested),
        )

    def to_json(self) -> dict[str, Any]:
        """The run block without ``programs`` (the JSON reporter adds them from the results)."""
        return {
            **self.environment,
            "started": self.started,
            "seed": self.seed,
            "strict": self.strict,
            "requirements": [
                {**requirement.to_json(), "file": str(Path(requirements.file).resolve())}
                for requirements in self.requirements
                for requirement in requirements.items
            ],
            "requirements_files": [
                {"path": str(Path(requirements.file).resolve()), "sha256": requirements.sha256}
                for requirements in self.requirements
            ],
            "untested": list(self.untested),
        }
