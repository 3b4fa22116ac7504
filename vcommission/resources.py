"""Bundled plant models and scenario suites, found by name or by path.

The models (``plant_models/<name>/model.yaml`` with their ``plc/`` programs) and the scenario
suites (``scenarios/<name>/*.yaml``) ship inside the package as data
(``vcommission/_bundled/``); in a source checkout they are the repository's top-level folders.
A bundled model or suite can be named without a path (``vcommission io-list sorting_line``,
``vcommission run sorting_line``). A path that exists always wins over a bundled name, and
anything else is returned unchanged, so the caller reports a missing file exactly as it would
without bundles.

Scenario files refer to their model by a relative path (``model: ../../plant_models/...``):
the two folders keep the same relative layout in the wheel as in the repository.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

__all__ = [
    "bundled_models",
    "bundled_suites",
    "models_dir",
    "resolve_model",
    "resolve_suite",
    "suites_dir",
]

_PACKAGE = Path(__file__).resolve().parent
MODELS = "plant_models"
SUITES = "scenarios"


def _bundle_dir(kind: str) -> Path:
    """Where the bundled ``kind`` folder is: in the installed package, else in the checkout."""
    installed = _PACKAGE / "_bundled" / kind
    if installed.is_dir():
        return installed
    # A source checkout (editable install, or the tree on sys.path): the repository's folder.
    return _PACKAGE.parent / kind


def models_dir() -> Path:
    """The folder holding the bundled models (one sub-folder with a ``model.yaml`` each)."""
    return _bundle_dir(MODELS)


def suites_dir() -> Path:
    """The folder holding the bundled scenario suites (one sub-folder each)."""
    return _bundle_dir(SUITES)


def bundled_models() -> dict[str, Path]:
    """Every bundled model by name: its folder (the one with ``model.yaml``)."""
    root = models_dir()
    if not root.is_dir():
        return {}
    return {d.name: d for d in sorted(root.iterdir()) if (d / "model.yaml").is_file()}


def bundled_suites() -> dict[str, Path]:
    """Every bundled scenario suite by name: its folder of scenario files."""
    root = suites_dir()
    if not root.is_dir():
        return {}
    return {
        d.name: d
        for d in sorted(root.iterdir())
        if d.is_dir() and any(f.suffix in (".yaml", ".yml") for f in d.iterdir())
    }


def _resolve(name_or_path: str | Path, bundled: Callable[[], dict[str, Path]]) -> Path:
    path = Path(name_or_path)
    if path.exists() or len(path.parts) != 1:
        return path  # a path wins; only a bare name is looked up
    return bundled().get(path.name, path)


def resolve_model(name_or_path: str | Path) -> Path:
    """A model's path: ``name_or_path`` if it exists, else the bundled model of that name.

    Only a bare name (no folder part) is looked up among the bundled models. Anything that is
    neither an existing path nor a bundled name comes back unchanged, so loading it reports
    the missing file as usual.
    """
    return _resolve(name_or_path, bundled_models)


def resolve_suite(name_or_path: str | Path) -> Path:
    """A scenario file or folder: ``name_or_path`` if it exists, else the bundled suite.

    As :func:`resolve_model`, for the bundled scenario suites.
    """
    return _resolve(name_or_path, bundled_suites)
