"""Packaging hook: ship the repository's bundled models and scenario suites inside the package.

Everything else lives in ``pyproject.toml``. Only what cannot be said there is here: the
top-level ``plant_models/`` and ``scenarios/`` folders stay where the README's commands use them
and become the data packages ``vcommission._bundled.plant_models`` and
``vcommission._bundled.scenarios`` of the wheel (``package_dir`` maps them), while every
``vcommission`` subpackage is still found automatically (a static ``packages`` list in
``pyproject.toml`` would have to name each one, and a new subpackage left out would be missing
from the wheel only).
"""

from __future__ import annotations

from pathlib import Path

from setuptools import find_packages, setup

#: Data package -> its folder in the repository.
BUNDLED = {
    "vcommission._bundled.plant_models": "plant_models",
    "vcommission._bundled.scenarios": "scenarios",
}


def _data_packages() -> dict[str, list[str]]:
    """Every folder below a data package as a package of its own, with all its files.

    setuptools treats each folder as a package: naming them (rather than one recursive glob)
    keeps it from warning that they "would be ignored".
    """
    found: dict[str, list[str]] = {}
    for package, folder in BUNDLED.items():
        root = Path(__file__).resolve().parent / folder
        for directory in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            if "__pycache__" in directory.parts:
                continue
            relative = directory.relative_to(root).parts
            found[".".join((package, *relative))] = ["*"]
    return found


#: Folders of files inside the package (the web pages, scripts and vendored three.js): every
#: folder below them a data package with all its files, so new files need no edit here.
PACKAGE_DATA_FOLDERS = ("vcommission/web/static", "vcommission/web/templates")


def _package_data_folders() -> dict[str, list[str]]:
    here = Path(__file__).resolve().parent
    found: dict[str, list[str]] = {}
    for folder in PACKAGE_DATA_FOLDERS:
        root = here / folder
        if not root.is_dir():
            continue
        for directory in [root, *sorted(p for p in root.rglob("*") if p.is_dir())]:
            if "__pycache__" not in directory.parts:
                found[".".join(directory.relative_to(here).parts)] = ["*"]
    return found


DATA = _data_packages()
WEB = _package_data_folders()

setup(
    # The report's templates and the bundled URDFs are data packages (no __init__.py), named
    # here so that setuptools ships them without a warning that they are "absent from packages".
    packages=[
        *find_packages(include=["vcommission", "vcommission.*"]),
        "vcommission.reporting.fat.templates",
        "vcommission.plant.robot.urdf",
        *DATA,
        *WEB,
    ],
    package_dir=BUNDLED,
    package_data={
        "vcommission.plc": ["grammar.lark"],
        "vcommission.plant.robot.urdf": ["*.urdf"],
        "vcommission.reporting.fat.templates": ["*.j2", "*.css"],
        **DATA,
        **WEB,
    },
)
