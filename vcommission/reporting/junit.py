"""JUnit XML reporter: one ``<testsuite>`` per scenario, one ``<testcase>`` per check.

The output validates against the JUnit schema CI servers read (Jenkins xUnit
``junit-10.xsd``; ``tests/reporting`` checks it). That schema allows ``<properties>``
on a testsuite but not on a testcase, so a scenario's requirements and every check's
measured figures (``<check>.<figure>``) are properties of the scenario's testsuite. A
failed check is a ``<failure>``, an error verdict an ``<error>``; a harness error of the
scenario itself (nothing ran, or the run broke off) is one more testcase named after the
scenario, carrying an ``<error>``. A vacuous check (it held without meeting the situation it
judges, or a fault that never acted) is ``<skipped message="vacuous: ...">``, so a CI server
never counts it as a plain pass; under ``--strict`` it is a ``<failure>`` like any other.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path, PurePath
from typing import TYPE_CHECKING, Any

from vcommission.fileio import write_atomic
from vcommission.reporting.hooks import Reporter
from vcommission.scenario.results import CheckResult, ScenarioResult, Verdict

if TYPE_CHECKING:
    from vcommission.scenario.schema import Scenario

__all__ = ["JUnitReporter", "junit_xml"]

#: Characters XML 1.0 cannot carry at all, not even as references (ANSI escapes from a
#: crashed PLC runtime's output, NULs): ElementTree would write them as they are.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class JUnitReporter(Reporter):
    """Writes JUnit XML to ``path`` when the run finishes, atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._started: datetime | None = None

    def run_start(self, scenarios: list[Scenario]) -> None:
        self._started = datetime.now(UTC)

    def run_finish(self, results: list[ScenarioResult], wall_s: float) -> None:
        write_atomic(self.path, junit_xml(results, wall_s, self._started))


def junit_xml(results: list[ScenarioResult], wall_s: float, started: datetime | None = None) -> str:
    """The JUnit XML document of a run, as text."""
    root = ET.Element("testsuites", name="vcommission")
    # The schema has no ``skipped`` on <testsuites>: vacuous counts are per testsuite.
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for result in results:
        suite = _testsuite(result, started)
        root.append(suite)
        for key in totals:
            totals[key] += int(suite.get(key, "0"))
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", _seconds(wall_s))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _testsuite(result: ScenarioResult, started: datetime | None) -> ET.Element:
    suite = ET.Element("testsuite", name=_text(result.name), file=_text(result.file))
    if started is not None:
        suite.set("timestamp", started.isoformat(timespec="seconds"))
    properties = ET.SubElement(suite, "properties")
    for name, value in _properties(result):
        ET.SubElement(properties, "property", name=_text(name), value=_text(_value(value)))
    classname = _classname(result)
    cases = [_check_case(classname, check) for check in result.checks]
    if result.error is not None or not result.checks:
        cases.append(_scenario_case(classname, result))
    suite.extend(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(case.find("failure") is not None for case in cases)))
    suite.set("errors", str(sum(case.find("error") is not None for case in cases)))
    suite.set("skipped", str(sum(case.find("skipped") is not None for case in cases)))
    suite.set("time", _seconds(result.wall_s))
    return suite


def _properties(result: ScenarioResult) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("requirement", r) for r in result.requirements]
    if result.seed is not None:
        rows.append(("seed", result.seed))
    rows += [(f"param.{k}", v) for k, v in result.params.items()]
    rows.append(("virtual_s", result.virtual_s))
    rows += [(f"coverage.{k}", v) for k, v in result.coverage.items()]
    rows += [(f"pacing.{k}", v) for k, v in result.pacing.items()]
    if result.trace_file:
        rows.append(("trace_file", result.trace_file))
    for check in result.checks:
        if check.requirement:
            rows.append((f"{check.name}.requirement", check.requirement))
        rows += [(f"{check.name}.{k}", v) for k, v in check.figures.items()]
    return rows


def _check_case(classname: str, check: CheckResult) -> ET.Element:
    case = ET.Element("testcase", classname=classname, name=_text(check.name))
    if check.verdict is Verdict.VACUOUS:
        reason = check.vacuity or check.message
        ET.SubElement(
            case, "skipped", message=_text(_first_line(f"vacuous: {reason}")), type="vacuous"
        ).text = _text(f"{check.message}\nnot exercised: {reason}")
    elif check.verdict is not Verdict.PASSED:
        tag = "failure" if check.verdict is Verdict.FAILED else "error"
        body = [check.message]
        if check.evidence is not None:
            tags = ", ".join(check.evidence.tags) or "-"
            body.append(f"at t={check.evidence.time_s:.3f} s, tags: {tags}")
            body += check.evidence.lines()
        ET.SubElement(
            case, tag, message=_text(_first_line(check.message)), type=_text(check.kind)
        ).text = _text("\n".join(body))
        if check.evidence is not None and check.evidence.images:
            # The attachment convention GitLab and Jenkins show beside the failure.
            ET.SubElement(case, "system-out").text = _text(
                "\n".join(f"[[ATTACHMENT|{image['path']}]]" for image in check.evidence.images)
            )
    return case


def _scenario_case(classname: str, result: ScenarioResult) -> ET.Element:
    """The scenario as a testcase of its own: its harness error, or its bare verdict."""
    case = ET.Element("testcase", classname=classname, name=_text(result.name))
    case.set("time", _seconds(result.wall_s))
    if result.error is not None or result.verdict is Verdict.ERROR:
        error = result.error or "error verdict without a harness error"
        ET.SubElement(
            case, "error", message=_text(_first_line(error)), type="harness"
        ).text = _text(error)
    elif result.verdict is Verdict.FAILED:
        # A failed verdict without a failed check should not happen; say so, not "passed".
        ET.SubElement(case, "failure", message="failed without a failed check", type="scenario")
    return case


def _classname(result: ScenarioResult) -> str:
    """``scenarios.sorting_line.jam.jam at exit [seed=2]``: file as a dotted path, then name.

    CI servers group testcases by classname, so each matrix case gets its own group and
    two files' same-named scenarios stay apart.
    """
    path = PurePath(result.file).with_suffix("")
    parts = [p for p in path.parts if p not in (path.anchor, ".", "..")]
    return _text(".".join([*parts, result.name]))


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else ""


def _value(value: Any) -> str:
    if isinstance(value, Verdict):
        return value.value
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _seconds(seconds: float) -> str:
    # Three decimals and no exponent: the schema's SUREFIRE_TIME is digits and a point.
    return f"{seconds:.3f}" if math.isfinite(seconds) and seconds > 0 else "0.000"


def _text(text: str) -> str:
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
