"""The report's pictures, drawn with matplotlib's SVG backend and inlined into the HTML.

A timing diagram is logic-analyser style: one row per tag, BOOL rows as high/low traces,
numbers as lines scaled to their row (the row's label gives the range), time in seconds,
the evidence window shaded. Output is deterministic: a fixed ``svg.hashsalt`` per figure
(unique, so the ids of two inline SVGs never clash), no date in the metadata, text kept as
text in a generic font family (no font file is embedded or fetched).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Row", "flow_plot", "timing_diagram"]

#: Width of every figure, inches: the A4 text width (210 mm less 2 x 15 mm margins).
WIDTH_IN = 7.0
#: Most points drawn per numeric row: a REAL that changes every tick would make megabytes.
MAX_POINTS = 1200
_COLOURS = {"bool": "#1f5fa8", "number": "#b5562a"}
_XML_HEAD = re.compile(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)


@dataclass
class Row:
    """One tag of a timing diagram: its name, kind and (time s, value) steps in time order."""

    name: str
    kind: str  # "bool" or "number"
    points: list[tuple[float, float]] = field(default_factory=list)


def _figure(height_in: float):  # type: ignore[no-untyped-def]
    # Figure without pyplot: no global state, no GUI backend is ever picked.
    from matplotlib.figure import Figure

    return Figure(figsize=(WIDTH_IN, height_in), dpi=72)


def _svg(figure, salt: str) -> str:  # type: ignore[no-untyped-def]
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context(
        {"svg.hashsalt": salt, "svg.fonttype": "none", "font.family": "sans-serif"}
    ):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    return _XML_HEAD.sub("", buffer.getvalue())


def _thin(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    if len(points) <= MAX_POINTS:
        return points
    step = -(-len(points) // MAX_POINTS)
    return [*points[:-1:step], points[-1]]


def _steps(times: list[float], ys: list[float]) -> list[tuple[float, float]]:
    """Vertices of a post-step line: each value held until the next time."""
    out = []
    for i, y in enumerate(ys[:-1]):
        out += [(times[i], y), (times[i + 1], y)]
    return out


def timing_diagram(
    rows: Sequence[Row],
    start_s: float,
    end_s: float,
    shaded: Sequence[tuple[float, float]] = (),
    marks: Sequence[float] = (),
    salt: str = "fat",
    title: str = "",
) -> str:
    """An SVG timing diagram of ``rows`` between two times; ``shaded`` spans, ``marks`` lines."""
    from matplotlib.collections import LineCollection, PolyCollection

    end_s = max(end_s, start_s + 1e-3)
    count = max(len(rows), 1)
    height = 0.75 + 0.3 * count
    figure = _figure(height)
    axes = figure.add_axes((0.25, 0.45 / height, 0.73, 0.3 * count / height))
    lines: dict[str, list[list[tuple[float, float]]]] = {"bool": [], "number": []}
    fills = []
    for i, row in enumerate(rows):
        base = count - 1 - i
        points = [(t, v) for t, v in row.points if t <= end_s]
        label = row.name
        if points:
            # Held from the window's start to its end.
            times = [max(t, start_s) for t, _ in points] + [end_s]
            values = [v for _, v in points] + [points[-1][1]]
            if row.kind == "bool":
                ys = [base + 0.12 + 0.7 * (1.0 if v else 0.0) for v in values]
                vertices = _steps(times, ys)
                fills.append([(start_s, base + 0.12), *vertices, (end_s, base + 0.12)])
            else:
                low, high = min(values), max(values)
                span = (high - low) or 1.0
                ys = [base + 0.12 + 0.7 * (v - low) / span for v in values]
                vertices = _thin(_steps(times, ys))
                label = f"{row.name}\n{_num(low)} .. {_num(high)}"
            lines[row.kind].append(vertices)
        else:
            label = f"{row.name}\n(no data)"
        # Labels as plain text: a tick per row costs four artists.
        axes.text(
            -0.01,
            base + 0.47,
            label,
            transform=axes.get_yaxis_transform(),
            ha="right",
            va="center",
            fontsize=6.5,
            linespacing=1.0,
        )
    if fills:
        axes.add_collection(PolyCollection(fills, facecolors=_COLOURS["bool"], alpha=0.16, lw=0))
    for kind, segments in lines.items():
        if segments:
            axes.add_collection(LineCollection(segments, colors=_COLOURS[kind], linewidths=1.0))
    for left, right in shaded:
        axes.axvspan(max(left, start_s), min(right, end_s), color="#e8a317", alpha=0.25, lw=0)
    for mark in marks:
        if start_s <= mark <= end_s:
            axes.axvline(mark, color="#c0392b", lw=1.0, ls="--")
    if count > 1:
        axes.hlines(range(1, count), start_s, end_s, colors="#dddddd", linewidths=0.5)
    axes.set_xlim(start_s, end_s)
    axes.set_ylim(-0.05, count)
    _time_axis(axes, start_s, end_s)
    if title:
        axes.set_title(title, fontsize=8, loc="left")
    return _svg(figure, salt)


def _time_axis(axes, start_s: float, end_s: float) -> None:  # type: ignore[no-untyped-def]
    """The time axis drawn by hand: matplotlib's own ticks cost most of a figure's time."""
    from matplotlib.collections import LineCollection
    from matplotlib.ticker import MaxNLocator

    axes.set_axis_off()
    ticks = [t for t in MaxNLocator(10).tick_values(start_s, end_s) if start_s <= t <= end_s]
    below = axes.get_xaxis_transform()
    axes.add_collection(
        LineCollection(
            [[(start_s, 0), (end_s, 0)], *([(t, 0), (t, -0.02)] for t in ticks)],
            colors="#333333",
            linewidths=0.7,
            transform=below,
            clip_on=False,
        )
    )
    axes.vlines(ticks, -0.05, axes.get_ylim()[1], colors="#eeeeee", linewidths=0.5, zorder=0)
    for tick in ticks:
        axes.text(tick, -0.03, f"{tick:g}", transform=below, ha="center", va="top", fontsize=7)
    axes.text(
        1.0,
        -0.16,
        "time (s)",
        transform=axes.transAxes,
        ha="right",
        va="top",
        fontsize=7,
        color="#444444",
    )


def flow_plot(
    transit_s: dict[str, list[float]],
    arrivals_s: list[float],
    end_s: float,
    limits: Sequence[float] = (),
    salt: str = "fat",
) -> str:
    """Histogram of part transit times per variant, and cumulative arrivals over time."""
    figure = _figure(2.3)
    histogram = figure.add_axes((0.08, 0.2, 0.4, 0.68))
    cumulative = figure.add_axes((0.58, 0.2, 0.4, 0.68))
    every = [t for values in transit_s.values() for t in values]
    if every:
        low, high = min(every), max([*every, *limits])
        bins = [low + (high - low) * k / 20 for k in range(21)] if high > low else 10
        for variant in sorted(transit_s):
            histogram.hist(transit_s[variant], bins=bins, alpha=0.6, label=variant)
        for limit in limits:
            histogram.axvline(limit, color="#c0392b", lw=1.0, ls="--")
        histogram.legend(fontsize=6, frameon=False)
    histogram.set_title("cycle time: spawned -> sink", fontsize=8, loc="left")
    histogram.set_xlabel("seconds", fontsize=7)
    histogram.set_ylabel("parts", fontsize=7)
    arrivals = sorted(arrivals_s)
    cumulative.step(
        [0.0, *arrivals, end_s], [0, *range(1, len(arrivals) + 1), len(arrivals)], where="post"
    )
    cumulative.set_xlim(0, max(end_s, 1e-3))
    cumulative.set_title("parts into a sink (throughput)", fontsize=8, loc="left")
    cumulative.set_xlabel("time (s)", fontsize=7)
    from matplotlib.ticker import MaxNLocator

    for axes in (histogram, cumulative):
        axes.xaxis.set_major_locator(MaxNLocator(5))
        axes.yaxis.set_major_locator(MaxNLocator(4, integer=True))
        axes.tick_params(labelsize=7)
        for side in ("top", "right"):
            axes.spines[side].set_visible(False)
    return _svg(figure, salt)


def _num(value: float) -> str:
    return f"{value:g}"
