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

from setuptools import find_packages, setup

#: Data package -> its folder in the repository.
BUNDLED = {
    "vcommission._bundled.plant_models": "plant_models",
    "vcommission._bundled.scenarios": "scenarios",
}

setup(
    packages=[*find_packages(include=["vcommission", "vcommission.*"]), *BUNDLED],
    package_dir=BUNDLED,
)
