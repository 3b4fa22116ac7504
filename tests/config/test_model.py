"""Model files: the sorting_line contract and every cross-check, located by file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.helpers import ROOT, SORTING_LINE, write_model
from vcommission.config.model import find_models, load_model
from vcommission.errors import ConfigError
from vcommission.signals import Direction, SignalType

# The I/O contract of the foundation issue, verbatim: a PLC program written elsewhere is run
# against these addresses, so the model must reproduce them exactly.
CONTRACT = [
    ("start_pb", "BOOL", "from_plant", "DI 0", "%IX0.0"),
    ("stop_pb_nc", "BOOL", "from_plant", "DI 1", "%IX0.1"),
    ("reset_pb", "BOOL", "from_plant", "DI 2", "%IX0.2"),
    ("estop_ok", "BOOL", "from_plant", "DI 3", "%IX0.3"),
    ("pe_entry", "BOOL", "from_plant", "DI 4", "%IX0.4"),
    ("pe_tall", "BOOL", "from_plant", "DI 5", "%IX0.5"),
    ("pe_pusher", "BOOL", "from_plant", "DI 6", "%IX0.6"),
    ("pe_exit", "BOOL", "from_plant", "DI 7", "%IX0.7"),
    ("pusher_retracted", "BOOL", "from_plant", "DI 8", "%IX1.0"),
    ("pusher_extended", "BOOL", "from_plant", "DI 9", "%IX1.1"),
    ("speed_actual", "INT", "from_plant", "IR 0", "%IW0"),
    ("conveyor_run", "BOOL", "to_plant", "coil 0", "%QX0.0"),
    ("pusher_extend", "BOOL", "to_plant", "coil 1", "%QX0.1"),
    ("light_green", "BOOL", "to_plant", "coil 2", "%QX0.2"),
    ("light_amber", "BOOL", "to_plant", "coil 3", "%QX0.3"),
    ("light_red", "BOOL", "to_plant", "coil 4", "%QX0.4"),
    ("infeed_enable", "BOOL", "to_plant", "coil 5", "%QX0.5"),
    ("speed_sp", "INT", "to_plant", "HR 0", "%QW0"),
]


def test_sorting_line_matches_the_io_contract():
    model = load_model(SORTING_LINE)
    rows = [(r.tag, r.type.value, r.direction.value, str(r.modbus), r.iec) for r in model.io_rows()]
    assert rows == CONTRACT
    speed_sp = model.table["speed_sp"]
    assert speed_sp.default == 400 and speed_sp.range == (0, 1000) and speed_sp.unit == "mm/s"


def test_sorting_line_bin_counts_are_internal_and_buttons_are_operated():
    model = load_model(SORTING_LINE)
    for name in ("bin_tall.count_tall", "bin_tall.count_small", "bin_small.count_small"):
        assert model.table[name].direction is Direction.INTERNAL
        assert name not in model.addresses
    assert model.table["start_pb.pressed"].direction is Direction.OPERATOR
    assert model.table["estop_ok"].default is True  # healthy at power-on
    assert model.table["stop_pb_nc"].default is True  # NC contact closed at rest


def _write(tmp_path: Path, text: str) -> Path:
    return write_model(tmp_path, textwrap.dedent(text))


BASE = """\
name: m
parts:
  box: {size: [0.2, 0.2, 0.1]}
components:
  belt: {kind: belt_conveyor, start: [0, 0, 0.8], length: 2.0, width: 0.4}
  pe: {kind: photo_eye, emitter: [1, -0.3, 0.85], receiver: [1, 0.3, 0.85]}
  pe2: {kind: photo_eye, emitter: [1.5, -0.3, 0.85], receiver: [1.5, 0.3, 0.85]}
  rate: {kind: spawner, position: [0.2, 0, 0.8], interval: 2.0, mix: {box: 1}}
"""


def _issues(tmp_path: Path, text: str) -> list[str]:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_model(path)
    return [f"{i.line}: {i.path}: {i.message}" for i in info.value.issues]


def test_typo_wrong_type_and_duplicate_address_are_reported_together(tmp_path):
    issues = _issues(
        tmp_path,
        BASE
        + """\
  pusher:
    kind: cylinder
    origin: [1, -0.25, 0.85]
    direction: [0, 1, 0]
    strok: 0.5
    extend_time: fast
    retract_time: 0.5
signals:
  a: {port: pe.detected, modbus: DI 0}
  b: {port: pe2.detected, modbus: DI 0}
""",
    )
    assert "13: components.pusher.strok: unknown key 'strok' (did you mean 'stroke'?)" in issues
    assert "14: components.pusher.extend_time: expected a number, got string 'fast'" in issues
    assert "18: signals.b.modbus: DI 0 overlaps 'a' at DI 0 (line 17)" in issues
    assert "10: components.pusher: missing required key 'stroke'" in issues
    assert len(issues) == 4, issues


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ("x: {port: blet.run}", "signals.x.port: dangling port 'blet.run': no component 'blet'"),
        ("x: {port: belt.rn}", "signals.x.port: dangling port 'belt.rn': belt has ports"),
        ("x: {port: belt}", "write 'component.port'"),
        ("x: {port: belt.run, type: INT}", "type INT does not match port belt.run (BOOL)"),
        ("x: {port: pe.detected, direction: to_plant}", "direction must be from_plant or internal"),
        ("x: {port: belt.run, modbus: DI 0}", "belong in coil (coil), not discrete_input"),
        ("x: {port: pe.detected, modbus: HR 0}", "belong in discrete_input (DI)"),
        ("x: {port: belt.speed_setpoint, default: 5.5}", "signals.x.default: INT needs an integer"),
        ("x: {port: [pe.detected, pe2.detected]}", "only input ports can share one signal"),
        ("x: {port: belt.run}\n  y: {port: belt.run}", "port belt.run is already wired to 'x'"),
        ("bad-name: {port: belt.run}", "must be an identifier"),
        ("x: {port: pe.detected, direction: internal, modbus: DI 0}", "internal signals have no"),
        ("x: {port: rate.enable, direction: sideways}", "'sideways' is not one of"),
    ],
)
def test_wiring_errors_are_located(tmp_path, signals, expected):
    issues = _issues(tmp_path, BASE + "signals:\n  " + signals + "\n")
    assert any(expected in issue for issue in issues), issues
    assert all(issue.split(":")[0] in ("10", "11") for issue in issues), issues


def test_component_errors_are_located(tmp_path):
    issues = _issues(
        tmp_path,
        BASE
        + """\
  gone: {kind: beltconveyor}
  spawn2: {kind: spawner, position: [0, 0, 0.8], interval: 1.0, mix: {crate: 1}}
  belt: {kind: belt_conveyor, start: [0, 0, 0.8], length: 1.0, width: 0.4}
  neg: {kind: belt_conveyor, start: [0, 0, 0.8], length: -1.0, width: 0.4}
""",
    )
    assert any(i.startswith("9: components.gone.kind: unknown component kind") for i in issues)
    assert any("did you mean 'belt_conveyor'" in i for i in issues)
    assert any(i.startswith("10: components.spawn2: mix names unknown") for i in issues)
    assert any(i.startswith("11: ") and "duplicate key 'belt'" in i for i in issues)
    assert any(i.startswith("12: components.neg: length=-1.0 must be > 0") for i in issues)


def test_addresses_are_assigned_in_declaration_order_around_explicit_ones(tmp_path):
    path = _write(
        tmp_path,
        BASE
        + """\
signals:
  first: {port: pe.detected}
  fixed: {port: pe2.detected, modbus: DI 0}
  run: {port: belt.run}
  sp: {port: belt.speed_setpoint, modbus: HR 1}
  enable: {port: rate.enable}
  speed: {port: belt.speed_actual}
""",
    )
    model = load_model(path)
    assigned = {name: str(address) for name, address in model.addresses.items()}
    assert assigned == {
        "fixed": "DI 0",
        "first": "DI 1",
        "run": "coil 0",
        "enable": "coil 1",
        "sp": "HR 1",
        "speed": "IR 0",
    }
    assert model.table["speed"].type is SignalType.INT


def test_one_output_can_drive_several_inputs(tmp_path):
    path = _write(
        tmp_path,
        BASE
        + """\
  belt2: {kind: belt_conveyor, start: [3, 0, 0.8], length: 1.0, width: 0.4}
signals:
  run_all: {port: [belt.run, belt2.run], modbus: coil 0}
""",
    )
    model = load_model(path)
    assert model.wiring["belt.run"] == model.wiring["belt2.run"] == model.table.index("run_all")


def test_find_models(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "c").mkdir(parents=True)
    (tmp_path / "a" / "model.yaml").write_text(BASE)
    (tmp_path / "b" / "c" / "model.yaml").write_text(BASE)
    assert len(find_models(tmp_path)) == 2
    assert find_models(tmp_path / "a") == [tmp_path / "a" / "model.yaml"]
    assert find_models(ROOT / "plant_models") == [
        ROOT / "plant_models" / "pick_and_place" / "model.yaml",
        SORTING_LINE / "model.yaml",
    ]
