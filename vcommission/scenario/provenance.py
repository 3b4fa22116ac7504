"""Provenance: which model, scenario, PLC program and requirements a run used, by SHA-256.

A FAT document must say exactly what was tested. Each result carries, for every file that
decided its outcome, the path and the SHA-256 of its bytes, so the report can print them and
anyone can check them with ``sha256sum``. A model is a folder of YAML files; its hash is
defined once, by :func:`model_sha256`.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from vcommission.scenario.collect import SKIP_DIRS, SUFFIXES, looks_like_scenario
from vcommission.scenario.requirements import REQUIREMENTS_FILE
from vcommission.scenario.schema import Scenario

__all__ = ["file_sha256", "model_files", "model_sha256", "provenance"]


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file's bytes, hex (what ``sha256sum FILE`` prints)."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def model_files(model_path: str | Path) -> list[Path]:
    """The YAML files that make up a model, sorted by their path relative to its folder.

    The model's folder is ``model_path`` itself, or the folder of a ``model.yaml`` given as a
    file. Every ``*.yaml``/``*.yml`` below it counts, except scenario files and a suite's
    ``requirements.yaml`` kept beside the model (they have their own hashes) and anything in
    ``.git`` or ``__pycache__``.
    """
    path = Path(model_path)
    folder = path if path.is_dir() else path.parent
    found = []
    for candidate in folder.rglob("*"):
        relative = candidate.relative_to(folder)
        if SKIP_DIRS & set(relative.parts) or candidate.suffix not in SUFFIXES:
            continue
        if not candidate.is_file() or candidate.name == REQUIREMENTS_FILE:
            continue
        if looks_like_scenario(candidate):
            continue
        found.append(candidate)
    return sorted(found, key=lambda file: file.relative_to(folder).as_posix())


def model_sha256(model_path: str | Path) -> str:
    r"""The hash of a model: SHA-256 over its YAML files (:func:`model_files`) in sorted order.

    It is the SHA-256 of the text ``sha256sum`` prints for those files, one line per file in
    the order of their relative paths (``<hex>  <relative/path>`` and a newline), so it can be
    checked in a shell, in the model's folder::

        find . -type f \( -name '*.yaml' -o -name '*.yml' \) | sed 's|^\./||' \
            | LC_ALL=C sort | xargs sha256sum | sha256sum

    (when no scenario or requirements file sits in the folder; leave such files out, e.g. the
    bundled sorting line's ``-not -path './exercises/*'``). Renaming, adding or changing a
    YAML file of the model changes it; the PLC programs under ``plc/`` do not.
    """
    path = Path(model_path)
    folder = path if path.is_dir() else path.parent
    listing = "".join(
        f"{file_sha256(file)}  {file.relative_to(folder).as_posix()}\n"
        for file in model_files(folder)
    )
    return hashlib.sha256(listing.encode("utf-8")).hexdigest()


def _entry(path: Path, sha256: str | None = None) -> dict[str, str | None]:
    """``{"path", "sha256"}`` of a file; the hash None when the file cannot be read."""
    if sha256 is None:
        try:
            sha256 = file_sha256(path)
        except OSError:
            sha256 = None
    return {"path": str(path), "sha256": sha256}


def provenance(
    scenario: Scenario, *, model_sha: str | None = None, program_sha: str | None = None
) -> dict[str, Any]:
    """The provenance of a run of ``scenario``: every file that decided it, with its hash.

    ``{"model": {"path", "sha256"}, "scenario": {"path", "sha256"}, "plc": {"kind":
    "st"|"external"|"none", "files": [{"path", "sha256"}]}, "requirements": {"path",
    "sha256"} | None}``. Paths are absolute. ``model_sha`` and ``program_sha`` are the hashes
    taken when the model was loaded and the program compiled (a worker keeps both between
    scenarios, so the file may have changed since); without them the files are hashed now. An
    external PLC's ``plc`` also holds its ``link`` and ``command``, and its files are the
    command's arguments that name existing files (its program, as far as vcommission can
    know it). A hash is None for a file that cannot be read.
    """
    model_path = Path(scenario.model_path).resolve()
    if model_sha is None:
        try:
            model_sha = model_sha256(model_path)
        except OSError:
            model_sha = None
    plc: dict[str, Any]
    external = scenario.spec.plc.external
    if scenario.program_path is not None:
        program = Path(scenario.program_path).resolve()
        plc = {"kind": "st", "files": [_entry(program, program_sha)]}
    elif external is not None:
        files = [Path(word).resolve() for word in external.command[1:] if Path(word).is_file()]
        plc = {
            "kind": "external",
            "link": external.link.value,
            "command": list(external.command),
            "files": [_entry(file) for file in files],
        }
    else:
        plc = {"kind": "none", "files": []}
    requirements = scenario.requirements_file
    return {
        "model": {"path": str(model_path), "sha256": model_sha},
        "scenario": _entry(Path(scenario.file).resolve()),
        "plc": plc,
        "requirements": _entry(Path(requirements).resolve()) if requirements else None,
    }
