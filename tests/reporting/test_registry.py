"""Reporters by name: the built-in ones, a registered one, and the errors."""

from __future__ import annotations

import json

import pytest

from vcommission.errors import RegistryError
from vcommission.reporting import REPORTERS, JsonReporter, Reporter, make_reporter


def test_the_built_in_reporters_are_registered(tmp_path, results):
    assert REPORTERS.names()[:3] == ["console", "junit", "json"]
    reporter = make_reporter("json", tmp_path / "out.json")
    assert isinstance(reporter, JsonReporter)
    reporter.run_finish(results, 1.0)
    assert json.loads((tmp_path / "out.json").read_text())["summary"]["scenarios"] == 4


def test_a_registered_reporter_is_made_by_name(results, monkeypatch):
    class Counting(Reporter):
        def __init__(self, seen: list[int]) -> None:
            self.seen = seen

        def run_finish(self, results, wall_s) -> None:
            self.seen.append(len(results))

    monkeypatch.setattr(REPORTERS, "_entries", dict(REPORTERS._entries))
    REPORTERS.register("counting", Counting)
    seen: list[int] = []
    make_reporter("counting", seen).run_finish(results, 1.0)
    assert seen == [4]


def test_unknown_and_invalid_reporters_are_registry_errors():
    with pytest.raises(RegistryError, match=r"unknown reporter 'jsn' \(did you mean 'json'\?\)"):
        make_reporter("jsn")
    with pytest.raises(RegistryError, match="is not a Reporter subclass"):
        REPORTERS.register("not_one", dict)
