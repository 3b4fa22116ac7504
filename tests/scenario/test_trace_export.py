"""``vcommission trace show|export``: a real run's trace as text, CSV and VCD.

The CSV is read back with the csv module and the VCD with vcdvcd, an independent parser
from PyPI; both must give the value the trace itself gives at every change.
"""

from __future__ import annotations

import csv
import io

import pytest
import vcdvcd

from tests.helpers import ROOT, run_cli
from vcommission.scenario.trace import Trace

SCENARIO = ROOT / "scenarios" / "sorting_line" / "r8_pusher_stuck.yaml"
TAGS = ["pusher_extend", "light_red", "speed_actual", "start_pb.pressed"]


@pytest.fixture(scope="module")
def trace_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("traces")
    result = run_cli("run", str(SCENARIO), "-j", "1", "--trace-dir", str(folder))
    assert result.returncode == 0, result.stdout + result.stderr
    (path,) = folder.glob("*.npz")
    return path


def test_the_csv_holds_every_value_the_trace_does(trace_file):
    result = run_cli(
        "trace", "export", str(trace_file), "--format", "csv", "--tags", ",".join(TAGS)
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    trace = Trace.load(trace_file)
    assert {row["tag"] for row in rows} == set(TAGS)
    for row in rows:
        time_ns = round(float(row["time_s"]) * 1e9)
        expected = trace.value_at(row["tag"], time_ns)
        shown = ("TRUE" if expected else "FALSE") if isinstance(expected, bool) else str(expected)
        assert row["value"] == shown, row
    assert len(rows) == len(TAGS) + sum(len(trace.changes_of(tag)) for tag in TAGS)


def _vcd_value(text: str, signed: bool, width: int) -> int:
    value = int(text, 2)
    return value - (1 << width) if signed and value >> (width - 1) else value


def test_a_vcd_parser_reads_back_every_change(trace_file, tmp_path):
    output = tmp_path / "run.vcd"
    result = run_cli(
        "trace", "export", str(trace_file), "--format", "vcd", "-o", str(output),
        "--tags", ",".join(TAGS),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    parsed = vcdvcd.VCDVCD(str(output))
    trace = Trace.load(trace_file)
    assert set(parsed.references_to_ids) == {
        "sorting_line.pusher_extend", "sorting_line.light_red",
        "sorting_line.speed_actual", "sorting_line.start_pb.pressed",
    }  # fmt: skip
    for tag in TAGS:
        signal = parsed[f"sorting_line.{tag}"]
        assert signal.tv, tag
        for time_ns, text in signal.tv:
            expected = trace.value_at(tag, time_ns)
            if isinstance(expected, bool):
                assert text == ("1" if expected else "0"), (tag, time_ns)
            else:
                assert _vcd_value(text, True, int(signal.size)) == expected, (tag, time_ns)
        changes = trace.changes_of(tag)
        assert len(signal.tv) == 1 + len(changes)  # the initial value, then each change
    again = tmp_path / "again.vcd"
    run_cli("trace", "export", str(trace_file), "--format", "vcd", "-o", str(again), "--tags",
            ",".join(TAGS))  # fmt: skip
    assert again.read_bytes() == output.read_bytes()  # no date: the same file every time


def test_show_prints_what_the_trace_holds_and_a_window_of_changes(trace_file):
    result = run_cli("trace", "show", str(trace_file), "--tags", "light_red", "--from", "2")
    assert result.returncode == 0, result.stderr
    assert "R8 pusher stuck" in result.stdout and "signals" in result.stdout
    trace = Trace.load(trace_file)
    rises = [t for t, v in trace.changes_of("light_red") if v and t > 2e9]
    assert rises and f"t={rises[0] / 1e9:9.3f} s  light_red = TRUE" in result.stdout


def test_bad_traces_and_tags_are_errors(trace_file, tmp_path):
    result = run_cli("trace", "export", str(trace_file), "--format", "csv", "--tags", "nope")
    assert result.returncode == 2 and "no signal 'nope'" in result.stderr
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a trace")
    result = run_cli("trace", "show", str(junk))
    assert result.returncode == 2 and "not a vcommission trace" in result.stderr
    assert run_cli("trace", "export", str(trace_file)).returncode == 3  # --format required


def test_plot_draws_one_row_per_tag_the_same_every_time(trace_file, tmp_path):
    import xml.etree.ElementTree as ET

    tags = "start_pb,pusher_extend,speed_actual"
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    for output in (first, second):
        result = run_cli("trace", "plot", str(trace_file), "--tags", tags, "-o", str(output))
        assert result.returncode == 0, result.stderr
    assert first.read_bytes() == second.read_bytes()  # no date, a fixed hash salt
    svg = ET.parse(first).getroot()
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert {"start_pb", "pusher_extend", "speed_actual", "time (s)"} <= set(texts)
    assert "0 .. 400" in texts  # the numeric row's range: speed_actual ramps to 400 mm/s
    result = run_cli(
        "trace", "plot", str(trace_file), "--tags", tags, "-o", str(tmp_path / "x.png")
    )
    assert result.returncode == 3 and ".svg" in result.stderr
