"""The browser HMI: trainee and instructor pages served beside the plant (aiohttp).

:class:`WebServer` serves a :class:`~vcommission.training.TrainingSession` (HTTP pages,
WebSockets, the 3D view's files); :func:`train` is ``vcommission train``: a real-time plant, its
PLC (built in, or external over the protocol servers) and the web server in one event loop.
The only module tree that imports aiohttp. The 3D view's browser side is ``static/view3d.js``
(three.js vendored in ``static/vendor/``); its data comes from :mod:`vcommission.plant.scene`.
"""

from __future__ import annotations

from vcommission.web.server import FRAME_HZ, MAX_MESSAGE, STATIC, WebServer, web_server
from vcommission.web.train import TrainingThread, TrainOptions, train

__all__ = [
    "FRAME_HZ",
    "MAX_MESSAGE",
    "STATIC",
    "TrainOptions",
    "TrainingThread",
    "WebServer",
    "train",
    "web_server",
]
