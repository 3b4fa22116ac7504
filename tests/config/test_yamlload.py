"""Tests for the strict YAML loader: every issue carries file, line and dotted path."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum, StrEnum
from pathlib import Path
from typing import Any

import pytest

from vcommission.config import yamlload
from vcommission.config.yamlload import Document, build, load_document
from vcommission.errors import ConfigError, ConfigIssue


class Lamp(str, Enum):
    GREEN = "green"
    AMBER = "amber"
    RED = "red"


class Switch(StrEnum):
    ON = "on"
    OFF = "off"


@dataclass(frozen=True)
class Address:
    area: str
    index: int

    @classmethod
    def from_yaml_scalar(cls, value: object) -> Address:
        area, _, index = str(value).partition(" ")
        if not index.isdigit():
            raise ValueError(f"bad address {value!r}, expected e.g. 'DI 0'")
        return cls(area, int(index))


class Pin:
    def __init__(self, number: int) -> None:
        self.number = number

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Pin) and other.number == self.number

    @classmethod
    def from_yaml_scalar(cls, value: object) -> Pin:
        if value == 0:
            raise ConfigError("pin 0 does not exist")
        return cls(int(str(value)))


@dataclass
class Cylinder:
    stroke: float
    speed: float = 0.5
    io: list[Address] = field(default_factory=list)
    lamp: Lamp = Lamp.GREEN

    def __post_init__(self) -> None:
        if self.stroke <= 0:
            raise ValueError(f"stroke={self.stroke} must be > 0")


@dataclass
class Link:
    source: str = field(metadata={"yaml": "from"})
    to: str = ""


@dataclass
class Move:
    target: str
    speed: float = 1.0


@dataclass
class Step:
    action: Move | str
    timeout: float | None = None


@dataclass
class Cell:
    name: str
    components: dict[str, Cylinder] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    tags: tuple[str, ...] = ()
    enabled: bool = True
    count: int = 1
    extra: Any = None
    note: str | None = None


@dataclass
class Checked:
    low: int
    high: int

    def __post_init__(self) -> None:
        if self.low > self.high:
            raise ConfigError(f"low={self.low} must be <= high={self.high}")


@dataclass
class Scalars:
    i: int = 0
    f: float = 0.0
    b: bool = False
    s: str = ""
    switch: Switch = Switch.OFF


def doc_of(text: str) -> Document:
    return load_document(Path("m.yaml"), text=text)


def issues_of(doc: Document) -> list[tuple[int, str, str]]:
    return sorted((issue.line, issue.path, issue.message) for issue in doc.issues)


def build_issues(cls: type, text: str) -> list[tuple[int, str, str]]:
    doc = doc_of(text)
    assert build(doc, cls) is None
    return issues_of(doc)


def test_builds_a_full_document() -> None:
    doc = doc_of(
        """\
name: cell1
components:
  pusher: &p
    stroke: 0.2
    io: ["DI 0", "DQ 4"]
    lamp: AMBER
  lifter:
    <<: *p
    speed: 3
links:
  - {from: pusher, to: lifter}
origin: [1, 2.5, 0]
tags: [a, b]
enabled: no
count: 0x10
extra: {k: [1, two, null]}
note: ~
"""
    )
    cell = build(doc, Cell)
    assert doc.issues == []
    assert cell == Cell(
        name="cell1",
        components={
            "pusher": Cylinder(0.2, 0.5, [Address("DI", 0), Address("DQ", 4)], Lamp.AMBER),
            "lifter": Cylinder(0.2, 3.0, [Address("DI", 0), Address("DQ", 4)], Lamp.AMBER),
        },
        links=[Link(source="pusher", to="lifter")],
        origin=(1.0, 2.5, 0.0),
        tags=("a", "b"),
        enabled=False,
        count=16,
        extra={"k": [1, "two", None]},
        note=None,
    )
    assert isinstance(cell.origin[0], float)
    doc.raise_if_issues()  # no issues: no exception


def test_typo_wrong_type_and_duplicate_are_reported_together() -> None:
    doc = doc_of(
        """\
name: cell
components:
  pusher:
    strok: 0.2
    speed: fast
  pusher:
    stroke: 0.3
    speed: 1
"""
    )
    # The second 'pusher' wins (as in PyYAML) but the duplicate is reported.
    assert build(doc, Cell) == Cell(name="cell", components={"pusher": Cylinder(0.3, 1.0)})
    assert issues_of(doc) == [(6, "components.pusher", "duplicate key 'pusher' (first at line 3)")]

    doc = doc_of(
        """\
name: cell
components:
  pusher:
    strok: 0.2
    speed: fast
  pusher: {stroke: 1}
  lifter:
    strok: 0.2
    speed: fast
"""
    )
    assert build(doc, Cell) is None
    assert issues_of(doc) == [
        (6, "components.pusher", "duplicate key 'pusher' (first at line 3)"),
        (7, "components.lifter", "missing required key 'stroke'"),
        (8, "components.lifter.strok", "unknown key 'strok' (did you mean 'stroke'?)"),
        (9, "components.lifter.speed", "expected a number, got string 'fast'"),
    ]
    with pytest.raises(ConfigError) as raised:
        doc.raise_if_issues()
    assert [issue.line for issue in raised.value.issues] == [6, 7, 8, 9]
    assert str(raised.value).splitlines()[2] == (
        "m.yaml:8: components.lifter.strok: unknown key 'strok' (did you mean 'stroke'?)"
    )


def test_unknown_key_without_close_match_lists_allowed_keys() -> None:
    assert build_issues(Move, "target: a\nzzz: 1\n") == [
        (2, "zzz", "unknown key 'zzz'; allowed: target, speed")
    ]


def test_missing_required_key_at_root_and_in_list_item() -> None:
    assert build_issues(Cell, "\n\ncount: 2\n") == [(3, "", "missing required key 'name'")]
    text = "name: x\nlinks:\n  - to: a\n  - from: b\n"
    assert build_issues(Cell, text) == [(3, "links[0]", "missing required key 'from'")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("i: true", "expected an integer, got boolean true"),
        ("i: 2.5", "expected an integer, got number 2.5"),
        ("i: '3'", "expected an integer, got string '3'"),
        ("f: yes", "expected a number, got boolean yes"),
        ("f: abc", "expected a number, got string 'abc'"),
        ("f:", "expected a number, got null"),
        ("b: 1", "expected a boolean, got number 1"),
        ("b: 'true'", "expected a boolean, got string 'true'"),
        ("s: 1.10", "expected a string, got number 1.10 (put it in quotes)"),
        ("s: 2024-01-02", "expected a string, got date 2024-01-02 (put it in quotes)"),
        ("s: [a]", "expected a string, got a list"),
        ("switch: blue", "'blue' is not one of: on, off"),
        ("switch: {a: 1}", "expected one of: on, off, got a mapping"),
        ("b: " + "x" * 60, "expected a boolean, got string '" + "x" * 37 + "...'"),
    ],
)
def test_scalar_type_errors(text: str, message: str) -> None:
    assert build_issues(Scalars, "\n" + text + "\n") == [(2, text.split(":")[0], message)]


def test_scalar_conversions() -> None:
    doc = doc_of("i: -7\nf: 3\nb: true\ns: 'yes'\nswitch: on\n")
    value = build(doc, Scalars)
    assert value == Scalars(i=-7, f=3.0, b=True, s="yes", switch=Switch.ON)
    assert isinstance(value.f, float)
    # YAML 1.1 reads 1e-3 as a string; a float field takes it as the number meant.
    assert build(doc_of("f: 1e-3\n"), Scalars) == Scalars(f=0.001)
    assert build(doc_of("switch: OFF\n"), Scalars) == Scalars(switch=Switch.OFF)


def test_enum_case_sensitive_then_insensitive_and_error() -> None:
    assert build(doc_of("stroke: 1\nlamp: Red\n"), Cylinder).lamp is Lamp.RED
    assert build_issues(Cylinder, "stroke: 1\nlamp: blue\n") == [
        (2, "lamp", "'blue' is not one of: green, amber, red")
    ]


def test_tuples() -> None:
    assert build_issues(Cell, "name: x\norigin: [1, 2]\n") == [
        (2, "origin", "expected 3 numbers, got 2")
    ]
    assert build_issues(Cell, "name: x\norigin:\n  - 1\n  - a\n  - 3\n") == [
        (4, "origin[1]", "expected a number, got string 'a'")
    ]
    assert build_issues(Cell, "name: x\ntags: a\n") == [
        (2, "tags", "expected a list, got string 'a'")
    ]
    assert build(doc_of("name: x\ntags: []\n"), Cell) == Cell(name="x")


def test_dict_of_dataclasses_paths_and_key_types() -> None:
    text = "name: x\ncomponents:\n  a: {stroke: 1}\n  b:\n    stroke: [1]\n  3: {stroke: 1}\n"
    assert build_issues(Cell, text) == [
        (5, "components.b.stroke", "expected a number, got a list"),
        (6, "components.3", "expected a string, got number 3 (put it in quotes)"),
    ]
    assert build_issues(Cell, "name: x\ncomponents: [a]\n") == [
        (2, "components", "expected a mapping, got a list")
    ]


def test_wrong_kind_for_dataclass() -> None:
    assert build_issues(Cell, "- a\n- b\n") == [(1, "", "expected a mapping, got a list")]


def test_aliases_and_merge_keys() -> None:
    text = """\
defaults: &d {stroke: 2, speed: 4}
items:
  a: *d
  b:
    <<: *d
    speed: 5
  c:
    <<: [{speed: 6}, *d]
"""

    @dataclass
    class Holder:
        defaults: Any
        items: dict[str, Any]

    doc = doc_of(text)
    value = build(doc, Holder)
    assert doc.issues == []
    assert value.items == {
        "a": {"stroke": 2, "speed": 4},
        "b": {"stroke": 2, "speed": 5},
        "c": {"speed": 6, "stroke": 2},
    }
    # Merged keys resolve to where they are written: the anchor's line.
    assert doc.location(("items", "b", "stroke")) == 1
    assert doc.location(("items", "b", "speed")) == 6


def test_bad_merge_and_unknown_tag_are_issues() -> None:
    doc = doc_of("a:\n  <<: 3\n  b: 1\nc: !weird x\n")
    assert issues_of(doc) == [
        (2, "a.<<", "merge key '<<' needs a mapping or a list of mappings"),
        (4, "c", "unknown tag '!weird'"),
    ]


def test_post_init_errors_are_located_at_the_mapping_key() -> None:
    text = "name: x\ncomponents:\n  pusher:\n    stroke: -1\n"
    assert build_issues(Cell, text) == [(3, "components.pusher", "stroke=-1.0 must be > 0")]
    assert build_issues(Checked, "# c\nlow: 5\nhigh: 1\n") == [(2, "", "low=5 must be <= high=1")]


def test_metadata_yaml_key_rename() -> None:
    assert build(doc_of("from: a\nto: b\n"), Link) == Link(source="a", to="b")
    assert build_issues(Link, "to: b\nsource: a\n") == [
        (1, "", "missing required key 'from'"),
        (2, "source", "unknown key 'source'; allowed: from, to"),
    ]


def test_from_yaml_scalar_hook() -> None:
    assert build(doc_of("stroke: 1\nio: [DI 3]\n"), Cylinder).io == [Address("DI", 3)]
    text = "stroke: 1\nio:\n  - DI 0\n  - DI x\n  - {area: DI}\n"
    assert build_issues(Cylinder, text) == [
        (4, "io[1]", "bad address 'DI x', expected e.g. 'DI 0'"),
        (5, "io[2]", "missing required key 'index'"),  # a dataclass hook also takes a mapping
    ]
    # A hook class that is not a dataclass takes scalars only.
    assert build(doc_of("- 7\n"), list[Pin]) == [Pin(7)]
    assert build_issues(list[Pin], "- 7\n- [7]\n- 0\n") == [
        (2, "[1]", "expected a scalar, got a list"),
        (3, "[2]", "pin 0 does not exist"),
    ]


def test_union_tries_options_in_order() -> None:
    assert build(doc_of("action: go\n"), Step) == Step("go")
    assert build(doc_of("action: {target: a}\n"), Step) == Step(Move("a"))
    # A mapping can only be a Move, so the Move's own issue is the one reported.
    assert build_issues(Step, "action:\n  targt: a\n") == [
        (1, "action", "missing required key 'target'"),
        (2, "action.targt", "unknown key 'targt' (did you mean 'target'?)"),
    ]
    assert build_issues(Step, "action: [a]\n") == [
        (1, "action", "expected a mapping or a string, got a list")
    ]


def test_optional_accepts_null() -> None:
    assert build(doc_of("action: a\ntimeout: null\n"), Step) == Step("a", None)
    assert build(doc_of("action: a\ntimeout: 2\n"), Step) == Step("a", 2.0)
    assert build_issues(Step, "action: a\ntimeout: x\n") == [
        (2, "timeout", "expected a number, got string 'x'")
    ]


def test_build_at_a_sub_path() -> None:
    doc = doc_of("cell:\n  pusher:\n    stroke: 1\n")
    assert build(doc, Cylinder, ("cell", "pusher")) == Cylinder(1.0)
    assert build(doc, Cylinder, ("cell", "lifter")) is None
    assert issues_of(doc) == [(1, "cell.lifter", "missing required key 'lifter'")]


def test_location_and_node_at() -> None:
    doc = doc_of("a:\n  b:\n    - x\n    -\n      c: 1\n")
    assert doc.location(()) == 1
    assert doc.location(("a", "b")) == 2  # a mapping entry is located at its key
    assert doc.location(("a", "b", 1)) == 5
    assert doc.location(("a", "b", 1, "c")) == 5
    assert doc.location(("a", "b", 1, "zz", "y")) == 5  # deepest existing ancestor
    assert doc.location(("a", "b", 9)) == 2
    assert doc.node_at(("a", "b", 0)).value == "x"
    assert doc.node_at(("a", "nope")) is None
    doc.issue(("a", "b", 1, "c"), "boom")
    assert doc.issues == [ConfigIssue("m.yaml", 5, "a.b[1].c", "boom")]


def test_raise_if_issues_sorts_by_line_stably() -> None:
    doc = doc_of("a: 1\nb: 2\n")
    doc.issue(("b",), "second")
    doc.issue(("a",), "first")
    doc.issue(("b",), "third")
    with pytest.raises(ConfigError) as raised:
        doc.raise_if_issues()
    assert [issue.message for issue in raised.value.issues] == ["first", "second", "third"]


def test_syntax_error_has_line() -> None:
    with pytest.raises(ConfigError) as raised:
        doc_of("a: 1\nb: [1, 2\nc: 3\n")
    (issue,) = raised.value.issues
    assert (issue.file, issue.path) == ("m.yaml", "")
    assert issue.line == 3
    assert issue.message.startswith("invalid YAML: ")


def test_empty_and_missing_files(tmp_path: Path) -> None:
    doc = doc_of("# only a comment\n")
    assert doc.issues == [ConfigIssue("m.yaml", 0, "", "file is empty")]
    assert build(doc, Cell) is None
    assert len(doc.issues) == 1
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as raised:
        load_document(missing)
    assert raised.value.issues == [ConfigIssue(str(missing), 0, "", "file not found")]


def test_reads_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cell.yaml"
    path.write_text("name: x\nnmae: y\n", encoding="utf-8")
    doc = load_document(path)
    assert doc.file == str(path)
    assert build(doc, Cell) is None
    assert [str(issue) for issue in doc.issues] == [
        f"{path}:2: nmae: unknown key 'nmae' (did you mean 'name'?)"
    ]


def test_recursive_alias_is_rejected() -> None:
    with pytest.raises(ConfigError, match="recursive alias"):
        doc_of("a: &x\n  b: *x\n")


# -- bounded input ---------------------------------------------------------------------------

ALIAS_BOMB = "\n".join(
    ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    + [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    + ["value: *a8"]
)


def issue_of(text: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_document("hostile.yaml", text)
    return str(raised.value)


def test_an_alias_bomb_is_refused_at_once_with_its_line():
    started = time.process_time()
    message = issue_of(ALIAS_BOMB)
    assert time.process_time() - started < 1.0  # counted, never expanded
    assert "hostile.yaml:" in message and "expands to more than 200,000 values" in message


def test_aliases_used_a_few_times_are_fine():
    doc = load_document("ok.yaml", "base: &b {x: 1, y: [1, 2]}\none: *b\ntwo: *b\n")
    assert doc.issues == []


@pytest.mark.parametrize("depth", [65, 300, 1500])
def test_deep_nesting_is_a_located_error_not_a_crash(depth):
    block = "".join(f"{'  ' * i}k{i}:\n" for i in range(depth)) + f"{'  ' * depth}v\n"
    message = issue_of(block)
    assert "nested more than 64 levels deep" in message and "hostile.yaml:65" in message
    flow = "[" * depth + "]" * depth
    assert "nested more than 64 levels deep" in issue_of(flow)


def test_nesting_up_to_the_limit_loads():
    text = "[" * 64 + "]" * 64
    assert load_document("deep.yaml", text).issues == []


def test_a_file_past_the_size_limit_is_refused_before_parsing(monkeypatch):
    monkeypatch.setattr(yamlload, "MAX_FILE_BYTES", 100)
    assert "the limit is 100" in issue_of("k: " + "x" * 200)
