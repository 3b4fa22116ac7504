"""The component catalogue: every kind's parameters and ports, read from the code itself.

``vcommission kinds`` and the README's component table are made from here, so what users read
is what the loader accepts. Parameters come from each kind's ``Params`` dataclass: the field's
name, its type as the YAML must write it, its default, and the ``#:`` comment above it (a unit
is taken from that comment's last words, "..., metres." -> m). Ports come from an instance
built from the kind's :attr:`~vcommission.plant.component.Component.example` parameters, since
a kind declares its ports in ``__init__`` and some depend on the parameters (a stack light has
one input per lamp, a sink one count per part variant; the catalogue names that variant
``<variant>``).

Nothing here builds a world: listing kinds never imports pybullet.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import re
import textwrap
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from vcommission.config.yamlload import Document, build
from vcommission.errors import ConfigError, RegistryError
from vcommission.plant import registry
from vcommission.plant.parts import PartVariant

__all__ = ["KindDoc", "ParamDoc", "PortDoc", "describe", "markdown_table"]

#: The part variant name ports are listed with when a kind declares one port per variant.
VARIANT_PLACEHOLDER = "<variant>"

#: Unit words that end a parameter's description ("Stroke length, metres.") -> unit.
_UNITS = {
    "metres": "m",
    "meters": "m",
    "m": "m",
    "seconds": "s",
    "s": "s",
    "m/s": "m/s",
    "m/s^2": "m/s^2",
    "kg": "kg",
    "degrees": "deg",
    "deg": "deg",
    "mm": "mm",
    "mm/s": "mm/s",
    "rad": "rad",
    "rad/s": "rad/s",
    "%": "%",
}
_UNIT_AT_END = re.compile(r"(?:,|\bin)\s+([\w/^%]+)\.?$")


@dataclass(frozen=True)
class ParamDoc:
    """One parameter of a kind, as the model YAML writes it."""

    #: YAML key; nested keys are dotted (``guide_gaps[].side``).
    name: str
    #: The type in YAML words: ``number``, ``[number, number, number]``, ``one of: a, b``.
    type: str
    unit: str
    #: The default as YAML, or "" for a required parameter.
    default: str
    required: bool
    description: str


@dataclass(frozen=True)
class PortDoc:
    """One port of a kind."""

    name: str
    #: ``input`` (PLC -> plant), ``output`` (plant -> PLC) or ``operator`` (a person).
    kind: str
    type: str
    unit: str
    default: str
    description: str


@dataclass(frozen=True)
class KindDoc:
    """Everything the catalogue says about one kind."""

    kind: str
    #: The first line of the kind's docstring.
    summary: str
    #: The rest of the docstring, dedented.
    description: str
    params: tuple[ParamDoc, ...]
    ports: tuple[PortDoc, ...]


def describe(kind: str, *, ports: bool = True) -> KindDoc:
    """The catalogue entry of ``kind`` (without its ports when ``ports`` is False).

    Raises:
        RegistryError: ``kind`` is not registered (the message lists the registered ones).
        ConfigError: the kind's example parameters do not load (a bug in the kind).
    """
    try:
        cls = registry.load(kind)
    except RegistryError as exc:
        raise RegistryError(f"{exc}; the kinds are: {', '.join(registry.kinds())}") from None
    doc = inspect.getdoc(cls) or ""
    summary, _, rest = doc.partition("\n")
    return KindDoc(
        kind,
        summary.strip(),
        _without_ports_section(rest).strip(),
        tuple(_params(cls.Params)),
        tuple(_ports(kind, cls)) if ports else (),
    )


def markdown_table(docs: Iterable[KindDoc]) -> str:
    """The README's component table: one row per kind with its ports and parameters."""
    lines = [
        "| kind | what it is | ports | parameters (required in bold) |",
        "| --- | --- | --- | --- |",
    ]
    for doc in docs:
        ports = (
            ", ".join(
                f"`{p.name}` ({p.kind} {p.type}{', ' + p.unit if p.unit else ''})"
                for p in doc.ports
            )
            or "none"
        )
        params = (
            ", ".join(
                f"**`{p.name}`**" if p.required else f"`{p.name}`"
                for p in doc.params
                if "." not in p.name
            )
            or "none"
        )
        summary = doc.summary.replace("|", "\\|")
        lines.append(f"| `{doc.kind}` | {summary} | {ports} | {params} |")
    return "\n".join(lines) + "\n"


def _without_ports_section(text: str) -> str:
    """The docstring without its ``Ports:`` section: the catalogue lists the real ports."""
    return re.sub(r"(?ms)^Ports:\n(?:[ \t]+.*\n?)+", "", text).replace("\n\n\n", "\n\n")


# ---- parameters -------------------------------------------------------------------------------


def _params(cls: type, prefix: str = "") -> Iterable[ParamDoc]:
    if not dataclasses.is_dataclass(cls):
        return
    comments = _field_comments(cls)
    hints = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        key = field.metadata.get("yaml", field.name)
        tp = hints[field.name]
        description = comments.get(field.name, "")
        required = (
            field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        )
        if required:
            default = ""
        elif field.default is not dataclasses.MISSING:
            default = _yaml(field.default)
        else:
            default = _yaml(field.default_factory())
        yield ParamDoc(
            f"{prefix}{key}", _type_words(tp), _unit(description), default, required, description
        )
        nested = _nested_dataclass(tp)
        if nested is not None:
            inner = "[]" if typing.get_origin(tp) in (list, tuple) else ""
            yield from _params(nested, f"{prefix}{key}{inner}.")


def _field_comments(cls: type) -> dict[str, str]:
    """``#:`` comment lines directly above each field of a dataclass, joined."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # defined in a REPL or built dynamically
        return {}
    comments: dict[str, str] = {}
    pending: list[str] = []
    #: The comment of the field on the line before, for fields that share one
    #: (``#: Heights of the lowest and highest beam`` above ``low`` and ``high``).
    shared = ""
    for line in source.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        match = re.match(r"(\w+)\s*:", stripped)
        if match and (pending or shared):
            shared = " ".join(pending) if pending else shared
            comments[match.group(1)] = shared
        else:
            shared = ""
        pending = []
    return comments


def _nested_dataclass(tp: Any) -> type | None:
    for candidate in (tp, *typing.get_args(tp)):
        if dataclasses.is_dataclass(candidate) and isinstance(candidate, type):
            return candidate
    return None


def _type_words(tp: Any) -> str:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        words = [_type_words(a) for a in args if a is not type(None)]
        text = " or ".join(words)
        return f"{text} or null" if type(None) in args else text
    if origin is typing.Literal:
        return "one of: " + ", ".join(str(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list of {_type_words(args[0])}"
        return "[" + ", ".join(_type_words(a) for a in args) + "]"
    if origin is list:
        return f"list of {_type_words(args[0])}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_words(args[0])} to {_type_words(args[1])}" if args else "mapping"
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of: " + ", ".join(str(member.value) for member in tp)
    if dataclasses.is_dataclass(tp):
        return "mapping"
    return {bool: "true/false", int: "integer", float: "number", str: "text"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _unit(description: str) -> str:
    match = _UNIT_AT_END.search(description.rstrip())
    return _UNITS.get(match.group(1), "") if match else ""


def _yaml(value: Any) -> str:
    if isinstance(value, enum.Enum):
        value = value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, tuple):
        value = list(value)
    if value is None:
        return "null"
    return (
        yaml.safe_dump(value, default_flow_style=True, width=10_000)
        .strip()
        .removesuffix("\n...")
        .strip()
    )


# ---- ports ------------------------------------------------------------------------------------


def _ports(kind: str, cls: type) -> Iterable[PortDoc]:
    text = yaml.safe_dump(dict(cls.example), default_flow_style=False) if cls.example else "{}\n"
    doc = Document(f"<example of {kind}>", yaml.compose(text))
    params = build(doc, cls.Params, node=doc.root)
    if params is None:
        raise ConfigError(doc.issues)
    variants = {VARIANT_PLACEHOLDER: PartVariant((0.1, 0.1, 0.1))}
    component = cls(kind, params, variants=variants)
    for port in component.ports.values():
        yield PortDoc(
            port.name,
            port.kind.value,
            port.type.value,
            port.unit,
            _yaml(port.default),
            port.description,
        )
