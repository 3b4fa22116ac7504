"""Bundled plant models and scenario suites, shipped as package data.

In a checkout the files live in the repository's top-level ``plant_models/`` and
``scenarios/`` folders; ``setup.py`` maps them to ``vcommission/_bundled/plant_models`` and
``vcommission/_bundled/scenarios`` in a wheel. Find them through :mod:`vcommission.resources`,
never by path arithmetic.
"""

from __future__ import annotations

__all__: list[str] = []
