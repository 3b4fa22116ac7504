"""Generate a large plant: N copies of a bundled station (sorting line or pick-and-place cell).

Each station is a full copy of the bundled model's components (belt, beams, pusher, bins,
buttons, stack light; or belt, robot, gripper, fence, safety devices), renamed ``sNN_<name>``
and shifted so that stations stand side by side:

* ``lanes`` (default): parallel lanes, station k shifted by k x ``pitch`` along +y;
* ``row``: stations one after another along +x, each with its own infeed.

Every signal is copied as ``sNN_<signal>`` with its Modbus address moved into the station's
own block of each table (a block is the bundled model's span rounded up to whole bytes), so
the generated model has a complete, non-overlapping I/O map.

The ST program is derived from the bundled program by text: its ``PROGRAM`` becomes a
``FUNCTION_BLOCK FB_<name>`` whose located inputs become ``VAR_INPUT`` and located outputs
``VAR_OUTPUT``; a new ``PROGRAM`` declares every station's located variables and calls one
instance per station, so every station runs the reference logic unchanged.

Usage::

    python3 tools/gen_large.py sorting_line 10 OUT_DIR [--layout lanes|row] [--pitch 2.0]
    python3 tools/gen_large.py pick_and_place 3 OUT_DIR
    python3 tools/gen_large.py sorting_line 10 OUT_DIR --interval 1.0 --keep-parts

writes ``OUT_DIR/model.yaml`` and ``OUT_DIR/plc/<program>.st``; check them with
``vcommission check OUT_DIR`` and ``vcommission check --model OUT_DIR OUT_DIR/plc/*.st``.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "plant_models"

#: Per bundled model: its program file and the default distance between stations, metres.
#: Sorting: a lane spans y -0.4..1.0 (pusher to bin wall); a row station x 0..4.8 (bin_small).
#: Pick-and-place: the fence spans -0.8..0.8 and the belt starts at x -1.55.
STATIONS = {
    "sorting_line": {"program": "sorting.st", "lanes": 2.0, "row": 5.5},
    "pick_and_place": {"program": "pick_and_place.st", "lanes": 2.0, "row": 3.0},
}

#: Parameters holding a world point (x, y, z): shifted with the station.
_POINT_KEYS = {"start", "end", "position", "emitter", "receiver", "origin", "base", "eye", "target"}
#: Parameters naming another component: renamed with the station.
_REFERENCE_KEYS = {"tool", "mount", "mode"}
_REFERENCE_LIST_KEYS = {"robots", "doors", "curtains", "estops"}

_MODBUS = re.compile(r"^\s*(DI|IR|coil|HR)\s+(\d+)\s*$", re.IGNORECASE)
#: Bit tables are blocked in whole bytes so that located addresses stay readable.
_BIT_TABLES = {"di", "coil"}


@dataclass(frozen=True)
class Generated:
    """What :func:`generate` wrote."""

    model: Path
    program: Path
    stations: int


def station_name(index: int) -> str:
    return f"s{index + 1:02d}"


def _shift(point: list[float], offset: tuple[float, float, float]) -> list[float]:
    return [round(v + d, 6) for v, d in zip(point, offset, strict=False)]


def _copy_component(
    spec: dict[str, Any], prefix: str, offset: tuple[float, float, float]
) -> dict[str, Any]:
    """One component's parameters for a station: points shifted, references renamed."""
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if key in _POINT_KEYS and isinstance(value, list) and len(value) == 3:
            out[key] = _shift(value, offset)
        elif key in _REFERENCE_KEYS and isinstance(value, str):
            out[key] = f"{prefix}_{value}"
        elif key in _REFERENCE_LIST_KEYS and isinstance(value, list):
            out[key] = [f"{prefix}_{v}" for v in value]
        elif key == "points" and spec.get("kind") == "safety_fence":
            out[key] = [_shift(p, offset) for p in value]  # 2-D polygon: x, y only
        elif key == "points" and spec.get("kind") == "robot":
            # Robot points are in the robot's base frame, except those in a component's.
            out[key] = {
                name: {**p, "frame": f"{prefix}_{p['frame']}"} if "frame" in p else p
                for name, p in value.items()
            }
        elif key == "boxes" and spec.get("kind") == "fixture":
            out[key] = {
                name: {**box, "position": _shift(box["position"], offset)}
                for name, box in value.items()
            }
        else:
            out[key] = value
    return out


def _blocks(signals: dict[str, Any]) -> dict[str, int]:
    """Per Modbus table (lower case): the span of one station's addresses."""
    high: dict[str, int] = {}
    for spec in signals.values():
        match = _MODBUS.match(str(spec.get("modbus", "")))
        if match:
            table, address = match.group(1).lower(), int(match.group(2))
            width = 2 if spec.get("type") in ("REAL", "DINT", "UDINT", "DWORD") else 1
            high[table] = max(high.get(table, 0), address + width)
    return {t: (-(-n // 8) * 8 if t in _BIT_TABLES else n) for t, n in high.items()}


def generate_model(
    base: str,
    stations: int,
    layout: str = "lanes",
    pitch: float | None = None,
    interval: float | None = None,
    keep_parts: bool = False,
) -> tuple[dict[str, Any], dict[str, dict[tuple[str, int], tuple[str, int]]]]:
    """The model dict for ``stations`` copies of ``base``, and per station its address map.

    The map sends each bundled (table, address) to the station's (table, address).
    ``interval`` overrides every spawner's; ``keep_parts`` makes every sink keep its parts'
    bodies (``remove_after: null``), so a benchmark can fill the world.
    """
    source = yaml.safe_load((MODELS / base / "model.yaml").read_text())
    step = STATIONS[base][layout] if pitch is None else pitch
    blocks = _blocks(source["signals"])
    components: dict[str, Any] = {}
    signals: dict[str, Any] = {}
    moves: dict[str, dict[tuple[str, int], tuple[str, int]]] = {}
    for k in range(stations):
        prefix = station_name(k)
        offset = (0.0, k * step, 0.0) if layout == "lanes" else (k * step, 0.0, 0.0)
        for name, spec in source["components"].items():
            copy = _copy_component(spec, prefix, offset)
            if interval is not None and spec["kind"] == "spawner":
                copy["interval"] = interval
            if keep_parts and spec["kind"] == "sink":
                copy["remove_after"] = None
            components[f"{prefix}_{name}"] = copy
        moved: dict[tuple[str, int], tuple[str, int]] = {}
        for name, spec in source["signals"].items():
            copy = dict(spec)
            component, port = spec["port"].split(".", 1)
            copy["port"] = f"{prefix}_{component}.{port}"
            match = _MODBUS.match(str(spec.get("modbus", "")))
            if match:
                table, address = match.group(1), int(match.group(2))
                new = address + k * blocks[table.lower()]
                copy["modbus"] = f"{table} {new}"
                moved[(table.lower(), address)] = (table.lower(), new)
            copy["description"] = f"station {k + 1}: {spec.get('description', name)}"
            signals[f"{prefix}_{name}"] = copy
        moves[prefix] = moved
    model = {
        "name": f"{base}_x{stations}",
        "description": f"{stations} stations of {base} ({layout}), generated by tools/gen_large.py",
        "seed": source.get("seed", 1),
        "physics": source["physics"],
        "parts": source["parts"],
        "components": components,
        "signals": signals,
    }
    return model, moves


# ---- the ST program ----------------------------------------------------------------------------

_LOCATED = re.compile(
    r"^\s*(?P<name>\w+)\s+AT\s+%(?P<area>[IQ])(?P<size>[XW]?)(?P<number>\d+)(?:\.(?P<bit>\d))?"
    r"\s*:\s*(?P<type>\w+)\s*;(?P<rest>.*)$"
)


@dataclass(frozen=True)
class _Located:
    name: str
    is_input: bool
    bit: bool
    address: int  # Modbus address in its table
    type: str
    comment: str

    @property
    def table(self) -> str:
        if self.bit:
            return "di" if self.is_input else "coil"
        return "ir" if self.is_input else "hr"

    def location(self, address: int) -> str:
        area = "I" if self.is_input else "Q"
        if self.bit:
            return f"%{area}X{address // 8}.{address % 8}"
        return f"%{area}W{address}"


def _split_program(source: str) -> tuple[str, str, list[_Located], str]:
    """(text before PROGRAM, program name, its located variables, the rest of its body)."""
    match = re.search(r"^PROGRAM\s+(\w+)\s*$", source, re.MULTILINE)
    if match is None:
        raise SystemExit("the bundled program has no PROGRAM")
    head, name = source[: match.start()], match.group(1)
    body = source[match.end() :]
    var = re.match(r"\s*VAR\s*\n(.*?)^END_VAR\s*\n", body, re.MULTILINE | re.DOTALL)
    if var is None:
        raise SystemExit("the bundled PROGRAM does not start with its located VAR block")
    located = []
    for line in var.group(1).splitlines():
        m = _LOCATED.match(line)
        if m is None:
            continue
        bit = m.group("size") in ("", "X")
        number = int(m.group("number"))
        address = number * 8 + int(m.group("bit") or 0) if bit else number
        located.append(
            _Located(
                m.group("name"),
                m.group("area") == "I",
                bit,
                address,
                m.group("type"),
                m.group("rest").strip(),
            )
        )
    rest = body[var.end() :]
    end = re.search(r"^END_PROGRAM\s*$", rest, re.MULTILINE)
    if end is None:
        raise SystemExit("the bundled program has no END_PROGRAM")
    return head, name, located, rest[: end.start()]


def generate_program(
    base: str, moves: dict[str, dict[tuple[str, int], tuple[str, int]]], task_interval: str
) -> str:
    """The ST program running the bundled program once per station."""
    source = (MODELS / base / "plc" / STATIONS[base]["program"]).read_text()
    head, name, located, body = _split_program(source)
    block = f"FB_{name}"
    inputs = [v for v in located if v.is_input]
    outputs = [v for v in located if not v.is_input]
    lines = [
        f"(* Generated by tools/gen_large.py: {len(moves)} stations of {base}, each running",
        f"   the reference program {STATIONS[base]['program']} as one {block} instance. *)",
        "",
        head.strip(),
        "",
        "",
        f"FUNCTION_BLOCK {block}",
        "VAR_INPUT",
        *(f"    {v.name} : {v.type}; {v.comment}".rstrip() for v in inputs),
        "END_VAR",
        "VAR_OUTPUT",
        *(f"    {v.name} : {v.type}; {v.comment}".rstrip() for v in outputs),
        "END_VAR",
        body.strip("\n"),
        "",
        "END_FUNCTION_BLOCK",
        "",
        "",
        f"PROGRAM {name}Line",
        "VAR",
    ]
    for prefix, moved in moves.items():
        for v in located:
            _table, address = moved[(v.table, v.address)]
            lines.append(f"    {prefix}_{v.name} AT {v.location(address)} : {v.type};")
    lines.append("END_VAR")
    lines.append("VAR")
    lines += [f"    {prefix} : {block};" for prefix in moves]
    lines.append("END_VAR")
    lines.append("")
    for prefix in moves:
        args = ", ".join(f"{v.name} := {prefix}_{v.name}" for v in inputs)
        lines.append(f"{prefix}({args});")
        lines += [f"{prefix}_{v.name} := {prefix}.{v.name};" for v in outputs]
    lines += [
        "",
        "END_PROGRAM",
        "",
        "",
        f"CONFIGURATION {name}LineConfig",
        "    RESOURCE Cpu ON PLC",
        f"        TASK Main(INTERVAL := {task_interval}, PRIORITY := 1);",
        f"        PROGRAM LineInst WITH Main : {name}Line;",
        "    END_RESOURCE",
        "END_CONFIGURATION",
        "",
    ]
    return "\n".join(lines)


def generate(
    base: str,
    stations: int,
    out: Path,
    layout: str = "lanes",
    pitch: float | None = None,
    interval: float | None = None,
    keep_parts: bool = False,
) -> Generated:
    """Write ``out/model.yaml`` and ``out/plc/<program>`` for ``stations`` copies of ``base``."""
    if base not in STATIONS:
        raise SystemExit(f"unknown model {base!r}; one of {', '.join(STATIONS)}")
    if stations < 1:
        raise SystemExit(f"stations={stations} must be >= 1")
    if layout not in ("lanes", "row"):
        raise SystemExit(f"layout={layout!r} must be 'lanes' or 'row'")
    model, moves = generate_model(base, stations, layout, pitch, interval, keep_parts)
    tick_ms = round(float(model["physics"]["tick"]) * 1000)
    program = generate_program(base, moves, f"T#{tick_ms}ms")
    out.mkdir(parents=True, exist_ok=True)
    (out / "plc").mkdir(exist_ok=True)
    model_path = out / "model.yaml"
    header = f"# Generated: tools/gen_large.py {base} {stations} --layout {layout}; do not edit.\n"
    model_path.write_text(header + yaml.safe_dump(model, sort_keys=False, width=100))
    program_path = out / "plc" / STATIONS[base]["program"]
    program_path.write_text(program)
    return Generated(model_path, program_path, stations)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", choices=sorted(STATIONS))
    parser.add_argument("stations", type=int)
    parser.add_argument("out", type=Path)
    parser.add_argument("--layout", choices=("lanes", "row"), default="lanes")
    parser.add_argument("--pitch", type=float, default=None, help="metres between stations")
    parser.add_argument("--interval", type=float, default=None, help="spawner interval, s")
    parser.add_argument(
        "--keep-parts", action="store_true", help="bins keep their parts' bodies (benchmarks)"
    )
    args = parser.parse_args(argv)
    made = generate(
        args.model,
        args.stations,
        args.out,
        args.layout,
        args.pitch,
        args.interval,
        args.keep_parts,
    )
    print(f"wrote {made.model} and {made.program} ({made.stations} stations)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
