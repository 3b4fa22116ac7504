"""JUnit XML: valid against the schema CI servers use, right counts, escaping, atomic."""

from __future__ import annotations

import os
import stat
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

import vcommission.fileio as fileio
from tests.reporting.conftest import NASTY, make_results, scenario_for
from vcommission.errors import VcommissionError
from vcommission.reporting import Hooks, JUnitReporter
from vcommission.reporting.junit import junit_xml
from vcommission.scenario.results import ScenarioResult, Verdict

SCHEMA = Path(__file__).with_name("junit-10.xsd")


@pytest.fixture(scope="module")
def schema():
    return xmlschema.XMLSchema(SCHEMA)


def run(path: Path, results: list[ScenarioResult], wall_s: float = 2.5) -> ET.Element:
    """Drive a JUnitReporter through the hooks as the runner does; parse what it wrote."""
    hooks = Hooks([JUnitReporter(path)])
    scenarios = [scenario_for(r) for r in results]
    hooks.run_start(scenarios)
    for scenario, result in zip(scenarios, results, strict=True):
        hooks.scenario_start(scenario)
        hooks.scenario_done(scenario, result)
    hooks.run_finish(results, wall_s)
    return ET.parse(path).getroot()


def suites_by_name(root: ET.Element) -> dict[str, ET.Element]:
    return {suite.get("name"): suite for suite in root.iter("testsuite")}


def properties(suite: ET.Element) -> list[tuple[str, str]]:
    return [(p.get("name"), p.get("value")) for p in suite.iter("property")]


def test_valid_against_schema(tmp_path, schema, results):
    path = tmp_path / "out.xml"
    run(path, results)
    schema.validate(path)


def test_empty_run_is_valid(tmp_path, schema):
    root = run(tmp_path / "out.xml", [], wall_s=0.0)
    schema.validate(tmp_path / "out.xml")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("0", "0", "0")


def test_the_schema_rejects_what_it_should(schema):
    # The validation above means something only if the schema has teeth.
    assert not schema.is_valid("<testsuites><testsuite name='x'/></testsuites>")
    bad_time = '<testsuite name="x" tests="0" failures="0" errors="0" time="1e-05"/>'
    assert not schema.is_valid(bad_time)


def test_counts(tmp_path, results):
    root = run(tmp_path / "out.xml", results, wall_s=2.5)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "1", "2")
    assert root.get("time") == "2.500"
    counts = {
        name: (s.get("tests"), s.get("failures"), s.get("errors"), s.get("time"))
        for name, s in suites_by_name(root).items()
    }
    assert counts == {
        "nominal sorting": ("2", "0", "0", "1.250"),
        NASTY: ("2", "1", "0", "0.500"),
        "e-stop during push": ("1", "0", "1", "0.200"),
        "belt slip": ("1", "0", "1", "0.000"),
    }
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        assert int(suite.get("tests")) == len(cases)
        assert int(suite.get("failures")) == sum(c.find("failure") is not None for c in cases)
        assert int(suite.get("errors")) == sum(c.find("error") is not None for c in cases)


def test_structure(tmp_path, results):
    suites = suites_by_name(run(tmp_path / "out.xml", results))
    nominal = suites["nominal sorting"]
    assert nominal.get("file") == "scenarios/sorting_line/nominal.yaml"
    assert nominal.get("timestamp")
    cases = nominal.findall("testcase")
    assert [c.get("name") for c in cases] == ["cycle", "rate"]
    assert {c.get("classname") for c in cases} == {"scenarios.sorting_line.nominal.nominal sorting"}
    assert all(len(c) == 0 for c in cases)  # passed: no failure, no error
    assert properties(nominal) == [
        ("requirement", "R1"),
        ("requirement", "R10"),
        ("virtual_s", "60.0"),
        ("cycle.requirement", "R1"),
        ("cycle.max_s", "3.1"),
        ("cycle.mean_s", "2.5"),
        ("rate.per_minute", "31.0"),
    ]
    # Properties live on the testsuite only: junit-10.xsd allows none on a testcase.
    assert not [p for c in cases for p in c.iter("properties")]


def test_failure_carries_message_kind_and_evidence(tmp_path, results):
    suite = suites_by_name(run(tmp_path / "out.xml", results))[NASTY]
    failing = suite.find("testcase[failure]")
    assert failing.get("name") == "no push <while> running & 'busy'"
    failure = failing.find("failure")
    assert failure.get("type") == "interlock"
    assert failure.get("message") == "pusher extended while belt ran"
    assert failure.text.splitlines() == [
        "pusher extended while belt ran",
        "second line",
        "at t=12.500 s, tags: pusher.extended, belt.run",
        "  t=   11.500 s  pusher.extended = FALSE",
        "  t=   12.500 s  pusher.extended = TRUE",
    ]
    assert ("seed", "2") in properties(suite)
    assert ("param.belt", "slow") in properties(suite)
    assert ("trace_file", "traces/jam.npz") in properties(suite)
    assert ("no push <while> running & 'busy'.violations", "1") in properties(suite)


def test_error_verdicts(tmp_path, results):
    suites = suites_by_name(run(tmp_path / "out.xml", results))
    (case,) = suites["e-stop during push"].findall("testcase")
    assert case.find("error").get("type") == "wait"
    assert case.find("failure") is None
    (harness,) = suites["belt slip"].findall("testcase")
    assert harness.get("name") == "belt slip"
    error = harness.find("error")
    assert error.get("type") == "harness"
    assert error.get("message") == "the worker process running it died (exit code -9)"
    # Control characters XML cannot carry are spelt out rather than breaking the file.
    assert error.text.endswith("\\x1b[31mtrace\\x00back\\x1b[0m")


def test_harness_error_after_some_checks_adds_a_testcase(schema):
    result = make_results()[0]
    result.verdict = Verdict.ERROR
    result.error = "physics server lost"
    root = ET.fromstring(junit_xml([result], 1.0))
    schema.validate(root)
    (suite,) = root.iter("testsuite")
    assert (suite.get("tests"), suite.get("errors")) == ("3", "1")
    assert suite.findall("testcase")[-1].get("name") == "nominal sorting"


def test_escaping_round_trips(tmp_path, results):
    path = tmp_path / "out.xml"
    run(path, results)
    text = path.read_text(encoding="utf-8")
    assert "&lt;A&amp;B&gt;" in text
    assert "<A&B>" not in text
    assert NASTY in suites_by_name(ET.parse(path).getroot())


def test_written_atomically(tmp_path, results, monkeypatch):
    path = tmp_path / "reports" / "out.xml"
    path.parent.mkdir()
    path.write_text("x" * 100_000)  # longer than the report: a truncating write would show
    run(path, results)
    text = path.read_text(encoding="utf-8")
    assert "x" not in text.splitlines()[-1]
    ET.fromstring(text)
    assert [p.name for p in path.parent.iterdir()] == ["out.xml"]  # no temporary left

    # A writer that dies mid-way leaves the previous report whole.
    real_fdopen = fileio.os.fdopen

    def fdopen(*args, **kwargs):
        stream = real_fdopen(*args, **kwargs)
        stream.write = failing_write
        return stream

    def failing_write(data):
        raise OSError("disk full")

    before = path.read_bytes()
    monkeypatch.setattr(fileio.os, "fdopen", fdopen)
    with pytest.raises(VcommissionError, match=f"cannot write {path}: disk full"):
        run(path, results)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["out.xml"]


def test_a_report_is_readable_as_any_file_the_user_makes(tmp_path, results):
    path = tmp_path / "out.xml"
    previous = os.umask(0o022)
    try:
        run(path, results)
    finally:
        os.umask(previous)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not the temporary file's 0600
