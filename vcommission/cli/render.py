"""``vcommission render``: a labelled picture of a model, headless (pybullet's TinyRenderer).

From a view (``--view iso|top|front``) framing the scene or from one of the model's
``camera`` components (``--camera NAME``); at power-on, or at a moment of a recorded run
(``--trace FILE [--at SECONDS]``: the parts and moving bodies where the trace has them).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, model_path, non_negative_float
from vcommission.cli.exitcodes import ExitCode

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["handle", "register"]

_VIEWS = ("iso", "top", "front")


def _size(text: str) -> tuple[int, int]:
    width, _, height = text.lower().partition("x")
    try:
        size = int(width), int(height)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WIDTHxHEIGHT, e.g. 1280x800") from None
    if not all(16 <= n <= 4096 for n in size):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 16..4096 pixels")
    return size


def register(commands: Subparsers) -> None:
    render = commands.add_parser(
        "render", help="draw a model to a PNG: components labelled, beams drawn (headless)"
    )
    render.add_argument(
        "model", type=model_path, metavar="MODEL", help="model file or folder, or a bundled name"
    )
    render.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE.png",
        help="where to write the picture (default: MODEL_NAME.png here, MODEL_NAME-tT.png "
        "with --at)",
    )  # fmt: skip
    render.add_argument(
        "--view", choices=_VIEWS, default=None, help="camera direction (default iso)"
    )
    render.add_argument(
        "--camera", default=None, metavar="NAME",
        help="take the picture from the model's camera component NAME (not with --view)",
    )  # fmt: skip
    render.add_argument(
        "--size", type=_size, default=None, metavar="WxH",
        help="pixels (default 1280x800, or the camera's size)",
    )  # fmt: skip
    render.add_argument(
        "--trace", type=Path, default=None, metavar="FILE.npz",
        help="picture a moment of this recorded run (run --trace-dir): parts where they were",
    )  # fmt: skip
    render.add_argument(
        "--at", type=non_negative_float, default=None, metavar="SECONDS",
        help="the moment of --trace to picture, virtual seconds (default: its end)",
    )  # fmt: skip
    render.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.clock import s_to_ns
    from vcommission.config.model import load_model

    if args.at is not None and args.trace is None:
        err.print("--at needs --trace FILE: the run to picture a moment of", markup=False)
        return ExitCode.USAGE
    if args.camera is not None and args.view is not None:
        err.print("--camera and --view both say where to look from: give one", markup=False)
        return ExitCode.USAGE
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        err.print("render needs matplotlib: pip install 'vcommission[plot]'", markup=False)
        return ExitCode.ERROR
    from vcommission.plant.camera import ViewpointSource
    from vcommission.plant.plant import Plant
    from vcommission.plant.poses import place
    from vcommission.plant.render import View, render, write_png
    from vcommission.scenario.trace import Trace

    model = load_model(args.model)
    trace = Trace.load(args.trace) if args.trace is not None else None
    at_ns = None
    if trace is not None:
        if trace.names != [s.name for s in model.table.signals]:
            err.print(
                f"{args.trace}: recorded from another model ({trace.meta.get('model', '?')}): "
                f"its signals are not {model.name}'s",
                markup=False,
            )
            return ExitCode.ERROR
        at_ns = trace.end_ns if args.at is None else s_to_ns(args.at)
    suffix = f"-t{at_ns / 1e9:g}s" if at_ns is not None else ""
    output = args.output if args.output is not None else Path(f"{model.name}{suffix}.png")
    if output.suffix.lower() != ".png":
        err.print(f"{output}: the picture is a PNG; name it .png", markup=False)
        return ExitCode.USAGE
    view = View(args.view or "iso")
    with Plant(model) as plant:
        viewpoint = None
        if args.camera is not None:
            cameras = {c.name: c for c in plant.components if isinstance(c, ViewpointSource)}
            if args.camera not in cameras:
                known = ", ".join(sorted(cameras)) or "none"
                err.print(
                    f"--camera {args.camera}: {model.name} has no such camera (cameras: {known})",
                    markup=False,
                )
                return ExitCode.USAGE
            viewpoint = cameras[args.camera].viewpoint()
        size = args.size or (
            (viewpoint.width, viewpoint.height) if viewpoint is not None else (1280, 800)
        )
        if trace is not None and at_ns is not None:
            poses, parts = trace.moment(at_ns)
            place(plant, poses, parts)
        rendering = render(plant, view, *size, viewpoint=viewpoint, camera=args.camera)
    if trace is not None and at_ns is not None:
        scenario = trace.meta.get("scenario")
        rendering.moment = f"t={at_ns / 1e9:.3f} s" + (f" of {scenario}" if scenario else "")
    write_png(rendering, output)  # atomically: never half a picture
    seen = f"camera {args.camera}" if args.camera else f"{view.value} view"
    moment = f", {rendering.moment}" if rendering.moment else ""
    out.print(
        f"{output}: {model.name}, {seen}{moment}, {len(rendering.labels)} labelled", markup=False
    )
    return ExitCode.OK
