"""Operator training in the browser: the web server, its pages and the live 3D view.

The 3D view's browser side is ``static/view3d.js`` (three.js vendored in ``static/vendor/``);
its data comes from :mod:`vcommission.plant.scene`.
"""

from __future__ import annotations

__all__: list[str] = []
