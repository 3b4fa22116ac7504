"""``vcommission render``: a labelled picture of a model, headless (pybullet's TinyRenderer)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.cli._common import Subparsers, model_path
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
    render.add_argument("model", type=model_path, metavar="MODEL")
    render.add_argument(
        "-o", "--output", type=Path, default=None, metavar="FILE.png",
        help="where to write the picture (default: MODEL_NAME.png here)",
    )  # fmt: skip
    render.add_argument("--view", choices=_VIEWS, default="iso", help="camera (default iso)")
    render.add_argument(
        "--size", type=_size, default=(1280, 800), metavar="WxH", help="pixels (default 1280x800)"
    )
    render.set_defaults(handler=handle)


def handle(args: argparse.Namespace, out: Console, err: Console) -> ExitCode:
    from vcommission.config.model import load_model

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        err.print("render needs matplotlib: pip install 'vcommission[plot]'", markup=False)
        return ExitCode.ERROR
    from vcommission.fileio import write_atomic
    from vcommission.plant.plant import Plant
    from vcommission.plant.render import View, render, write_png

    model = load_model(args.model)
    output = args.output if args.output is not None else Path(f"{model.name}.png")
    if output.suffix.lower() != ".png":
        err.print(f"{output}: the picture is a PNG; name it .png", markup=False)
        return ExitCode.USAGE
    with Plant(model) as plant:
        rendering = render(plant, View(args.view), *args.size)
    # Drawn to a temporary name beside the target, then moved: never half a picture.
    temporary = output.with_name(f".{output.name}.rendering.png")
    try:
        write_png(rendering, temporary)
        write_atomic(output, temporary.read_bytes())
    finally:
        temporary.unlink(missing_ok=True)
    out.print(
        f"{output}: {model.name}, {args.view} view, {len(rendering.labels)} labelled", markup=False
    )
    return ExitCode.OK
