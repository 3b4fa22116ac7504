"""Operator training: the panel a model offers, and a session a trainee and an instructor share.

:func:`panel_of` finds a model's operator panel from its components;
:class:`TrainingSession` runs a plant for a trainee (panel presses, one holder at a time), an
instructor (pause, speed, reset, faults of the scenario library, hidden or not) and an
exercise (a scenario file whose steps are the instructor's script and whose checks score the
trainee). No web library here: ``vcommission.web`` serves it to browsers.
"""

from __future__ import annotations

from vcommission.training.panel import Panel, panel_of
from vcommission.training.session import Alarm, TimelineEntry, TrainingError, TrainingSession

__all__ = ["Alarm", "Panel", "TimelineEntry", "TrainingError", "TrainingSession", "panel_of"]
