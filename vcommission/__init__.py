"""vcommission: headless, deterministic virtual commissioning of PLC code.

Plant models (pybullet physics described in YAML) run in virtual time against PLC programs;
see the README for the architecture and the command line.
"""

from __future__ import annotations

from vcommission.clock import ClockMode
from vcommission.config.model import Model, load_model
from vcommission.errors import ConfigError, VcommissionError
from vcommission.plant.plant import Plant
from vcommission.signals import Direction, ProcessImage, Signal, SignalTable, SignalType
from vcommission.simulator import ChangeRecorder, Simulator

__version__ = "0.1.0"

__all__ = [
    "ChangeRecorder",
    "ClockMode",
    "ConfigError",
    "Direction",
    "Model",
    "Plant",
    "ProcessImage",
    "Signal",
    "SignalTable",
    "SignalType",
    "Simulator",
    "VcommissionError",
    "__version__",
    "load_model",
]
