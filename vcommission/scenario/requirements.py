"""Requirements as data: a suite's ``requirements.yaml``, loaded strictly, and what covers them.

A suite's requirements file lists what the customer's specification asks, each with the text a
customer reads and signs, its acceptance criterion with its figure, a category and the clause
of the specification it comes from::

    requirements:
      - id: R1
        title: Start
        category: function
        source: Sorting line specification, clause R1
        text: >
          A start_pb press while estop_ok and stop_pb_nc are TRUE and no fault is latched
          starts automatic operation.
        criterion: conveyor_run, infeed_enable and light_green TRUE within 100 ms of the press

Every key is required, unknown keys are errors, ids are unique; every problem is reported at
once, located by file, line and YAML path. Discovery (:func:`find_requirements`): the file that
applies to a scenario file is the nearest ``requirements.yaml`` in its folder or a parent, up
to the path the user named. When one applies, every id a scenario lists under
``requirements:`` and every check's ``requirement:`` must be in it (checked by the scenario
loader, located in the scenario file).
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.config.yamlload import build, load_document
from vcommission.errors import ConfigError

if TYPE_CHECKING:
    from vcommission.scenario.schema import Scenario

__all__ = [
    "REQUIREMENTS_FILE",
    "Category",
    "Requirement",
    "Requirements",
    "covered_ids",
    "find_requirements",
    "load_requirements",
]

#: The name of a suite's requirements file.
REQUIREMENTS_FILE = "requirements.yaml"
#: What an id looks like: it appears in ``-k`` expressions and report anchors.
_ID = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


class Category(str, Enum):
    """What kind of requirement it is (the FAT report groups by it)."""

    FUNCTION = "function"
    SAFETY = "safety"
    PERFORMANCE = "performance"


@dataclass(frozen=True)
class Requirement:
    """One requirement of the customer's specification."""

    #: Unique in the file: ``R1``, ``SAF-2.1``; what checks name in ``requirement:``.
    id: str
    #: A few words: ``Start``.
    title: str
    #: The requirement as the customer reads and signs it.
    text: str
    #: The acceptance criterion, with its figure: ``... within 100 ms of the press``.
    criterion: str
    category: Category
    #: Where it comes from: the clause of the customer's specification.
    source: str

    def __post_init__(self) -> None:
        if not _ID.fullmatch(self.id):
            raise ConfigError(
                f"id={self.id!r} must be a letter followed by letters, digits, '_', '.' or '-'"
            )
        for name in ("title", "text", "criterion", "source"):
            if not getattr(self, name).strip():
                raise ConfigError(f"{name} of {self.id} must not be empty")

    def to_json(self) -> dict[str, str]:
        """The requirement as the results JSON lists it (text folded to single spaces)."""
        return {
            "id": self.id,
            "title": self.title.strip(),
            "text": " ".join(self.text.split()),
            "criterion": " ".join(self.criterion.split()),
            "category": self.category.value,
            "source": self.source.strip(),
        }


@dataclass(frozen=True)
class _File:
    """The file as written: a mapping with one key."""

    requirements: list[Requirement]


@dataclass(frozen=True)
class Requirements:
    """A loaded requirements file: its requirements in file order, and what it was."""

    #: The file, as found.
    file: str
    #: SHA-256 of the file's bytes, hex.
    sha256: str
    items: tuple[Requirement, ...]

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.items]

    def __contains__(self, requirement: object) -> bool:
        return any(r.id == requirement for r in self.items)

    def get(self, requirement: str) -> Requirement | None:
        return next((r for r in self.items if r.id == requirement), None)

    def unknown(self, requirement: str) -> str:
        """The message for an id this file does not have, with the closest one it has."""
        close = difflib.get_close_matches(requirement, self.ids, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; it has {', '.join(self.ids)}"
        return f"unknown requirement '{requirement}' (not in {self.file}{hint})"

    def untested(self, scenarios: Iterable[Scenario]) -> list[str]:
        """Ids of this file that no check of ``scenarios`` (those under it) covers, in order."""
        mine = [s for s in scenarios if s.requirements_file == Path(self.file)]
        covered = covered_ids(mine)
        return [r.id for r in self.items if r.id not in covered]


def load_requirements(path: str | Path) -> Requirements:
    """Load a requirements file strictly.

    Raises:
        ConfigError: every problem found (syntax, unknown or missing keys, a category that is
            not one of function, safety, performance, an empty text, duplicate ids), located.
    """
    doc = load_document(path)
    doc.raise_if_issues()
    loaded = build(doc, _File)
    if loaded is not None:
        if not loaded.requirements:
            doc.issue(("requirements",), "lists no requirements")
        first: dict[str, int] = {}
        for index, requirement in enumerate(loaded.requirements):
            where = ("requirements", index, "id")
            if requirement.id in first:
                line = doc.location(("requirements", first[requirement.id], "id"))
                message = f"duplicate requirement id '{requirement.id}' (first at line {line})"
                doc.issue(where, message)
            else:
                first[requirement.id] = index
    doc.raise_if_issues()
    assert loaded is not None
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return Requirements(str(path), digest, tuple(loaded.requirements))


def find_requirements(scenario_file: Path, top: Path | None = None) -> Path | None:
    """The requirements file that applies to ``scenario_file``, or None.

    The nearest ``requirements.yaml`` in the file's own folder or in a parent folder, going up
    no further than ``top`` (the file or folder the user named: ``vcommission run`` is given
    a folder, pytest its rootdir). Without ``top``, or when the file is not below it, only the
    file's own folder is looked in.
    """
    folder = scenario_file.parent
    stop = None
    if top is not None:
        stop = (top if top.is_dir() else top.parent).resolve()
    for candidate_dir in (folder, *folder.parents):
        candidate = candidate_dir / REQUIREMENTS_FILE
        if candidate.is_file():
            return candidate
        resolved = candidate_dir.resolve()
        if stop is None or resolved == stop or stop not in resolved.parents:
            return None
    return None


def covered_ids(scenarios: Iterable[Scenario]) -> set[str]:
    """Requirement ids some check of ``scenarios`` counts for.

    A check tagged ``requirement: R4`` covers R4; an untagged check judges its whole scenario,
    so it covers every id the scenario lists (as requirement verdicts count it). An id a
    scenario lists without any check counting for it is not covered.
    """
    covered: set[str] = set()
    for scenario in scenarios:
        spec = scenario.spec
        for check in spec.checks:
            if check.requirement is not None:
                covered.add(check.requirement)
            else:
                covered.update(spec.requirements)
    return covered
