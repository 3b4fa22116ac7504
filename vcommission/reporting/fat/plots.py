"""The report's pictures, drawn with matplotlib's SVG backend and inlined into the HTML.

A timing diagram is logic-analyser style: one row per tag, BOOL rows as high/low traces,
numbers as lines scaled to their row (the row's label gives the range), time in seconds,
the evidence window shaded. Output is deterministic: a fixed ``svg.hashsalt`` per figure
(unique, so the ids of two inline SVGs never clash), no date in the metadata, text kept as
text in a generic font family (no font file is embedded or fetched).

Speed: a report of 100 scenarios draws over 100 figures. matplotlib's ``Axes`` build a
tick machinery per axis and lay out every label through FreeType, which took most of a
report's time; so the plots here put their collections straight on a :class:`Figure` in
a data-to-figure transform (:class:`_Canvas`), and write the labels into the SVG as plain
``<text>``, which the browser places.
"""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["Row", "flow_plot", "timing_diagram"]

#: Width of every figure, inches: the A4 text width (210 mm less 2 x 15 mm margins).
WIDTH_IN = 7.0
#: Most points drawn per numeric row: a REAL that changes every tick would make megabytes.
MAX_POINTS = 1200
_COLOURS = {"bool": "#1f5fa8", "number": "#b5562a"}
_VARIANTS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b")
_FONTS = "DejaVu Sans, Liberation Sans, Arial, sans-serif"
_XML_HEAD = re.compile(r"^<\?xml[^>]*>\s*(<!DOCTYPE[^>]*>\s*)?", re.S)


@dataclass
class Row:
    """One tag of a timing diagram: its name, kind and (time s, value) steps in time order."""

    name: str
    kind: str  # "bool" or "number"
    points: list[tuple[float, float]] = field(default_factory=list)


@dataclass(frozen=True)
class _Label:
    """Text written straight into the SVG, at points from the figure's top left."""

    x: float
    y: float
    text: str
    anchor: str = "end"  # SVG text-anchor
    size: float = 6.5
    colour: str = "#111111"

    def svg(self) -> str:
        return (
            f'<text x="{self.x:.2f}" y="{self.y:.2f}" font-size="{self.size}" '
            f'text-anchor="{self.anchor}" fill="{self.colour}">{escape(self.text)}</text>'
        )


class _Figure:
    """A matplotlib figure (no pyplot, no Axes) and the labels to write into its SVG."""

    def __init__(self, height_in: float) -> None:
        from matplotlib.figure import Figure

        self.figure = Figure(figsize=(WIDTH_IN, height_in), dpi=72)
        self.width_pt, self.height_pt = WIDTH_IN * 72, height_in * 72
        self.labels: list[_Label] = []

    def svg(self, salt: str) -> str:
        import matplotlib

        buffer = io.StringIO()
        with matplotlib.rc_context({"svg.hashsalt": salt, "svg.fonttype": "none"}):
            self.figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        svg = _XML_HEAD.sub("", buffer.getvalue())
        group = "".join(label.svg() for label in self.labels)
        head, _, tail = svg.rpartition("</svg>")
        return f'{head}<g font-family="{_FONTS}">{group}</g></svg>{tail}'


class _Canvas:
    """A data rectangle on a :class:`_Figure`: collections in data coordinates, clipped."""

    def __init__(
        self,
        owner: _Figure,
        rect: tuple[float, float, float, float],
        xlim: tuple[float, float],
        ylim: tuple[float, float],
    ) -> None:
        from matplotlib.transforms import Affine2D, Bbox, TransformedBbox

        self.owner, self.rect, self.xlim, self.ylim = owner, rect, xlim, ylim
        left, bottom, width, height = rect
        sx = width / ((xlim[1] - xlim[0]) or 1.0)
        sy = height / ((ylim[1] - ylim[0]) or 1.0)
        figure = owner.figure
        self.transform = (
            Affine2D().translate(-xlim[0], -ylim[0]).scale(sx, sy).translate(left, bottom)
            + figure.transFigure
        )
        self.clip = TransformedBbox(
            Bbox([[left, bottom], [left + width, bottom + height]]), figure.transFigure
        )

    def add(self, artist: Any, clip: bool = True) -> None:
        artist.set_transform(self.transform)
        if clip:
            artist.set_clip_box(self.clip)
        self.owner.figure.add_artist(artist)

    def lines(self, segments: list[Any], clip: bool = True, **style: Any) -> None:
        from matplotlib.collections import LineCollection

        if segments:
            self.add(LineCollection(segments, **style), clip)

    def polygons(self, polygons: list[Any], **style: Any) -> None:
        from matplotlib.collections import PolyCollection

        if polygons:
            self.add(PolyCollection(polygons, **style))

    def at(self, x: float, y: float) -> tuple[float, float]:
        """Data coordinates -> SVG points (y down)."""
        left, bottom, width, height = self.rect
        fx = left + width * (x - self.xlim[0]) / ((self.xlim[1] - self.xlim[0]) or 1.0)
        fy = bottom + height * (y - self.ylim[0]) / ((self.ylim[1] - self.ylim[0]) or 1.0)
        return fx * self.owner.width_pt, (1 - fy) * self.owner.height_pt

    def label(self, x: float, y: float, text: str, dx: float = 0, dy: float = 0, **kw: Any) -> None:
        px, py = self.at(x, y)
        self.owner.labels.append(_Label(px + dx, py + dy, text, **kw))

    def x_axis(self, title: str, ticks: int = 10, grid: bool = True) -> None:
        from matplotlib.ticker import MaxNLocator

        (x0, x1), (y0, y1) = self.xlim, self.ylim
        values = [t for t in MaxNLocator(ticks).tick_values(x0, x1) if x0 <= t <= x1]
        if grid:
            self.lines([[(t, y0), (t, y1)] for t in values], colors="#eeeeee", linewidths=0.5)
        tick = 0.02 * (y1 - y0)
        self.lines(
            [[(x0, y0), (x1, y0)], *([(t, y0), (t, y0 - tick)] for t in values)],
            clip=False,
            colors="#333333",
            linewidths=0.7,
        )
        for value in values:
            self.label(value, y0, f"{value:g}", dy=10, anchor="middle", size=7)
        self.label(x1, y0, title, dy=20, size=7, colour="#444444")

    def y_axis(self, ticks: int = 4) -> None:
        from matplotlib.ticker import MaxNLocator

        (x0, _), (y0, y1) = self.xlim, self.ylim
        values = [v for v in MaxNLocator(ticks, integer=True).tick_values(y0, y1) if y0 <= v <= y1]
        tick = 0.01 * (self.xlim[1] - x0)
        self.lines(
            [[(x0, y0), (x0, y1)], *([(x0, v), (x0 - tick, v)] for v in values)],
            clip=False,
            colors="#333333",
            linewidths=0.7,
        )
        for value in values:
            self.label(x0, value, f"{value:g}", dx=-4, dy=2.5, size=7)

    def title(self, text: str) -> None:
        self.label(self.xlim[0], self.ylim[1], text, dy=-5, anchor="start", size=8)


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
) -> str:
    """An SVG timing diagram of ``rows`` between two times; ``shaded`` spans, ``marks`` lines."""
    end_s = max(end_s, start_s + 1e-3)
    count = max(len(rows), 1)
    height = 0.75 + 0.3 * count
    owner = _Figure(height)
    y_low, y_high = -0.05, float(count)
    canvas = _Canvas(
        owner, (0.25, 0.45 / height, 0.73, 0.3 * count / height), (start_s, end_s), (y_low, y_high)
    )
    canvas.polygons(
        [[(max(a, start_s), y_low), (min(b, end_s), y_low), (min(b, end_s), y_high),
          (max(a, start_s), y_high)] for a, b in shaded],
        facecolors="#e8a317", alpha=0.25, linewidths=0,
    )  # fmt: skip
    canvas.x_axis("time (s)")
    if count > 1:
        canvas.lines(
            [[(start_s, y), (end_s, y)] for y in range(1, count)], colors="#dddddd", linewidths=0.5
        )
    lines: dict[str, list[list[tuple[float, float]]]] = {"bool": [], "number": []}
    fills = []
    for i, row in enumerate(rows):
        base = count - 1 - i
        points = [(t, v) for t, v in row.points if t <= end_s]
        second = ""
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
                second = f"{_num(low)} .. {_num(high)}"
            lines[row.kind].append(vertices)
        else:
            second = "(no data)"
        if second:
            canvas.label(start_s, base + 0.47, row.name, dx=-4, dy=-1)
            canvas.label(start_s, base + 0.47, second, dx=-4, dy=6, size=5.5, colour="#555555")
        else:
            canvas.label(start_s, base + 0.47, row.name, dx=-4, dy=2.3)
    canvas.polygons(fills, facecolors=_COLOURS["bool"], alpha=0.16, linewidths=0)
    for kind, segments in lines.items():
        canvas.lines(segments, colors=_COLOURS[kind], linewidths=1.0)
    canvas.lines(
        [[(m, y_low), (m, y_high)] for m in marks if start_s <= m <= end_s],
        colors="#c0392b", linewidths=1.0, linestyles="--",
    )  # fmt: skip
    return owner.svg(salt)


def flow_plot(
    transit_s: dict[str, list[float]],
    arrivals_s: list[float],
    end_s: float,
    limits: Sequence[float] = (),
    salt: str = "fat",
) -> str:
    """Histogram of part transit times per variant, and cumulative arrivals over time."""
    owner = _Figure(2.3)
    every = [t for values in transit_s.values() for t in values]
    low = min(every, default=0.0)
    high = max([*every, *limits], default=1.0)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    width = (high - low) / 20
    edges = [low + width * k for k in range(21)]
    counts = {
        variant: [sum(1 for t in transit_s[variant] if a <= t < b or (k == 19 and t == b))
                  for k, (a, b) in enumerate(itertools.pairwise(edges))]
        for variant in sorted(transit_s)
    }  # fmt: skip
    tallest = max((max(c) for c in counts.values() if c), default=1) or 1
    histogram = _Canvas(owner, (0.08, 0.2, 0.38, 0.66), (low, high + width), (0, tallest * 1.1))
    histogram.x_axis("seconds", ticks=5, grid=False)
    histogram.y_axis()
    histogram.title("cycle time: spawned -> sink, per variant")
    for n, (variant, bins) in enumerate(counts.items()):
        colour = _VARIANTS[n % len(_VARIANTS)]
        histogram.polygons(
            [[(a, 0), (a + width, 0), (a + width, c), (a, c)]
             for a, c in zip(edges, bins, strict=False) if c],
            facecolors=colour, alpha=0.6, linewidths=0,
        )  # fmt: skip
        histogram.label(high + width, tallest * (1.05 - 0.1 * n), variant, size=6.5, colour=colour)
    histogram.lines(
        [[(v, 0), (v, tallest * 1.1)] for v in limits],
        colors="#c0392b", linewidths=1.0, linestyles="--",
    )  # fmt: skip
    arrivals = sorted(arrivals_s)
    end = max(end_s, 1e-3)
    cumulative = _Canvas(owner, (0.58, 0.2, 0.4, 0.66), (0, end), (0, max(len(arrivals), 1) * 1.1))
    cumulative.x_axis("time (s)", ticks=6, grid=False)
    cumulative.y_axis()
    cumulative.title("parts into a sink (throughput)")
    counted = list(range(len(arrivals) + 1))
    cumulative.lines([_steps([0.0, *arrivals, end], [*counted, len(arrivals)])], colors="#1f5fa8")
    return owner.svg(salt)


def _num(value: float) -> str:
    return f"{value:g}"
