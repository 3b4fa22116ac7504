"""Strict YAML configuration: the generic loader and the plant model schema."""

from __future__ import annotations

from vcommission.config.model import IoRow, Model, SignalSpec, find_models, load_model
from vcommission.config.yamlload import Document, build, load_document

__all__ = [
    "Document",
    "IoRow",
    "Model",
    "SignalSpec",
    "build",
    "find_models",
    "load_document",
    "load_model",
]
