"""Traces: where two runs first differ, and the ``.npz`` file a trace is saved to."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vcommission.errors import VcommissionError
from vcommission.scenario.trace import Divergence, Trace, first_divergence

MS = 1_000_000


def trace(**changes: object) -> Trace:
    """A small trace of three signals; keyword arguments replace its fields."""
    base = Trace(
        names=["run", "speed", "level"],
        types=["BOOL", "INT", "REAL"],
        initial=[False, 0, 0.5],
        changes=[(10 * MS, 0, True), (20 * MS, 1, 400), (30 * MS, 2, 0.75), (90 * MS, 0, False)],
        parts=[
            {
                "id": 1,
                "variant": "small",
                "spawned_ns": 15 * MS,
                "destination": "bin_small",
                "journey": [(15 * MS, "spawned", "infeed"), (80 * MS, "arrived", "bin_small")],
            }
        ],
        meta={"scenario": "s", "seed": 1},
        end_ns=100 * MS,
    )
    return dataclasses.replace(base, **changes)


# ---- first divergence ------------------------------------------------------------------------


def test_identical_traces_do_not_diverge():
    assert first_divergence(trace(), trace()) is None


def test_meta_and_end_time_are_not_compared():
    # The same run under another name, or recorded a little longer, is the same behaviour.
    assert first_divergence(trace(), trace(meta={"scenario": "other"}, end_ns=200 * MS)) is None


def test_a_value_that_differs():
    other = trace()
    other.changes[1] = (20 * MS, 1, 500)
    divergence = first_divergence(trace(), other)
    assert divergence == Divergence(
        20 * MS, "speed changes", "speed -> 400 at 0.020 s", "speed -> 500 at 0.020 s"
    )
    assert str(divergence) == (
        "t=0.020 s: speed changes: 'speed -> 400 at 0.020 s' vs 'speed -> 500 at 0.020 s'"
    )


def test_the_earliest_of_several_differences_is_reported():
    other = trace()
    other.changes[3] = (95 * MS, 0, False)
    other.changes[2] = (30 * MS, 2, 0.8)
    divergence = first_divergence(trace(), other)
    assert divergence is not None
    assert (divergence.time_ns, divergence.what) == (30 * MS, "level changes")


def test_the_same_change_at_another_time_diverges_at_the_earlier_one():
    late = trace()
    late.changes[0] = (12 * MS, 0, True)
    divergence = first_divergence(trace(), late)
    assert divergence is not None
    assert (divergence.time_ns, divergence.what) == (10 * MS, "run changes")
    assert (divergence.left, divergence.right) == (
        "run -> True at 0.010 s",
        "run -> True at 0.012 s",
    )
    assert first_divergence(late, trace()).time_ns == 10 * MS  # symmetric in time


def test_different_changes_at_one_time_name_the_first_trace_s_signal():
    other = trace()
    other.changes[1] = (20 * MS, 2, 0.6)
    divergence = first_divergence(trace(), other)
    assert divergence is not None
    assert divergence.what == "speed changes"
    assert divergence.right == "level -> 0.6 at 0.020 s"


def test_an_initial_value_that_differs_diverges_at_time_zero():
    divergence = first_divergence(trace(), trace(initial=[False, 0, 0.25]))
    assert divergence == Divergence(0, "initial level", 0.5, 0.25)


def test_a_tag_missing_from_one_trace():
    fewer = trace(names=["run", "speed"], types=["BOOL", "INT"], initial=[False, 0])
    divergence = first_divergence(trace(), fewer)
    assert divergence == Divergence(0, "signal tables differ", ["level"], 1)
    renamed = trace(names=["run", "speed", "height"])
    divergence = first_divergence(trace(), renamed)
    assert divergence == Divergence(0, "signal tables differ", ["height", "level"], 0)


def test_one_trace_with_more_changes():
    longer = trace()
    longer.changes.append((95 * MS, 1, 0))
    divergence = first_divergence(trace(), longer)
    assert divergence == Divergence(95 * MS, "speed changes in one trace only", 4, 5)
    assert first_divergence(longer, trace()) == Divergence(
        95 * MS, "speed changes in one trace only", 5, 4
    )


def test_a_part_that_went_elsewhere():
    other = trace()
    other.parts = [{**trace().parts[0], "destination": "bin_tall"}]
    divergence = first_divergence(trace(), other)
    assert divergence is not None
    assert (divergence.time_ns, divergence.what) == (15 * MS, "part 1")
    assert divergence.left["destination"] == "bin_small"
    assert divergence.right["destination"] == "bin_tall"


def test_a_different_number_of_parts():
    divergence = first_divergence(trace(), trace(parts=[]))
    assert divergence == Divergence(100 * MS, "part count", 1, 0)


def test_signals_are_compared_before_parts():
    other = trace(parts=[])
    other.changes[0] = (10 * MS, 0, False)
    assert first_divergence(trace(), other).what == "run changes"


# ---- the .npz file ---------------------------------------------------------------------------


def test_a_saved_trace_loads_back_equal(tmp_path):
    path = tmp_path / "run.npz"
    original = trace()
    original.save(path)
    loaded = Trace.load(path)
    assert loaded == original
    assert first_divergence(original, loaded) is None


def test_loaded_values_keep_their_signal_types(tmp_path):
    path = tmp_path / "run.npz"
    trace().save(path)
    loaded = Trace.load(path)
    assert [type(v) for v in loaded.initial] == [bool, int, float]
    assert [type(v) for _, _, v in loaded.changes] == [bool, int, float, bool]
    assert all(type(t) is int and type(i) is int for t, i, _ in loaded.changes)
    assert loaded.parts[0]["journey"][0] == (15 * MS, "spawned", "infeed")


def test_an_empty_trace_round_trips(tmp_path):
    path = tmp_path / "empty.npz"
    empty = Trace(names=[], types=[], initial=[], changes=[])
    empty.save(path)
    assert Trace.load(path) == empty


def test_a_trace_saved_over_a_longer_file_replaces_it(tmp_path):
    path = tmp_path / "run.npz"
    path.write_bytes(b"x" * 100_000)
    trace().save(path)
    assert Trace.load(path) == trace()


def test_a_file_that_is_not_a_trace_is_refused(tmp_path):
    path = tmp_path / "junk.npz"
    path.write_text("not numpy")
    with pytest.raises(VcommissionError, match="not a vcommission trace"):
        Trace.load(path)
    with pytest.raises(VcommissionError, match="not a vcommission trace"):
        Trace.load(tmp_path / "missing.npz")
    other = tmp_path / "other.npz"
    np.savez(other, values=np.zeros(3))
    with pytest.raises(VcommissionError, match="not a vcommission trace"):
        Trace.load(other)


def test_a_trace_of_another_format_is_refused(tmp_path):
    path = tmp_path / "future.npz"
    header = '{"format": "vcommission-trace-99"}'
    empty = np.zeros(0)
    np.savez(path, header=np.array(header), times=empty, indices=empty, values=empty)
    with pytest.raises(VcommissionError, match="unknown trace format 'vcommission-trace-99'"):
        Trace.load(path)


# ---- reading a trace -------------------------------------------------------------------------


def test_value_at_and_changes_of():
    t = trace()
    assert t.changes_of("run") == [(10 * MS, True), (90 * MS, False)]
    assert [t.value_at("run", n * MS) for n in (0, 9, 10, 89, 90)] == [
        False,
        False,
        True,
        True,
        False,
    ]
    with pytest.raises(VcommissionError, match="the trace has no signal 'height'"):
        t.value_at("height", 0)


def test_window_starts_with_each_tag_s_value_then_its_changes():
    rows = trace().window(["run", "level"], 20 * MS, 90 * MS)
    assert rows == [
        (20 * MS, "run", True),
        (20 * MS, "level", 0.5),
        (30 * MS, "level", 0.75),
        (90 * MS, "run", False),
    ]
