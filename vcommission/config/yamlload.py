"""Strict YAML loading into dataclasses, every problem located by file, line and YAML path.

``yaml.safe_load`` forgets where values came from and silently keeps the last of two
duplicate keys. Here the file is only *composed* (kept as nodes that carry line numbers) and
`build` converts the nodes into typed dataclasses itself, collecting every problem as a located
`ConfigIssue`, so a user fixes a file in one pass instead of one error per run::

    doc = load_document("cell.yaml")
    cell = build(doc, CellConfig)
    doc.raise_if_issues()
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import functools
import math
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vcommission.errors import ConfigError, ConfigIssue

__all__ = ["Document", "YamlPath", "build", "load_document"]

T = TypeVar("T")

#: A path into a document: mapping keys are ``str``, sequence indexes ``int``.
YamlPath = tuple[str | int, ...]

_NULL, _BOOL, _INT, _FLOAT, _STR, _TIME, _MERGE = (
    f"tag:yaml.org,2002:{name}"
    for name in ("null", "bool", "int", "float", "str", "timestamp", "merge")
)
_KNOWN_TAGS = {tag for tag in SafeConstructor.yaml_constructors if tag} | {_MERGE}
_KIND_WORDS = {_NULL: "null", _BOOL: "boolean", _INT: "number", _FLOAT: "number", _TIME: "date"}
# YAML 1.1 (PyYAML) reads ``1e-3`` without a dot as a string; the user meant a number.
_EXPONENT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")
_SHOWN = 40  # longest scalar quoted whole in a message
# Stateless for scalars, so one instance serves every call without caching nodes.
_CONSTRUCTOR = SafeConstructor()

#: Bounds on what a file may make the loader do (a hostile or broken file must fail fast
#: with a located message, not exhaust memory or the stack). Far above any real model or
#: scenario: the bundled ones nest at most 9 deep and expand to under 2,000 nodes.
MAX_FILE_BYTES = 16 * 1024 * 1024
#: Mappings and sequences inside one another.
MAX_DEPTH = 64
#: Nodes the document holds once every alias is expanded where it is used ("billion laughs":
#: nine aliases of nine make 10^9 nodes from a file of a few hundred bytes).
MAX_EXPANDED_NODES = 200_000


@dataclasses.dataclass
class Document:
    """A composed YAML file: its node tree and the issues found in it so far."""

    #: Path of the file, as the user gave it.
    file: str
    #: Root node, or None when the file is empty.
    root: Node | None
    #: Every problem found so far, by `load_document` and by `build`.
    issues: list[ConfigIssue] = dataclasses.field(default_factory=list)

    def location(self, path: YamlPath) -> int:
        """Return the 1-based line of the node at ``path``.

        A mapping entry is located at its key, where the user looks. A path that does not
        exist gives the line of its deepest existing ancestor; an empty document gives 0.
        """
        return self._resolve(path)[0]

    def node_at(self, path: YamlPath) -> Node | None:
        """Return the node at ``path``, or None when the path does not exist."""
        return self._resolve(path)[1]

    def issue(self, path: YamlPath, message: str, node: Node | None = None) -> None:
        """Record a problem at ``path``; located at ``node``'s own line when one is given."""
        line = _line(node) if node is not None else self.location(path)
        self.issues.append(ConfigIssue(self.file, line, _dotted(path), message))

    def raise_if_issues(self) -> None:
        """Raise `ConfigError` with every issue, in line order, if there are any."""
        if self.issues:
            raise ConfigError(sorted(self.issues, key=lambda issue: issue.line))

    def _resolve(self, path: YamlPath) -> tuple[int, Node | None]:
        node = self.root
        if node is None:
            return 0, None
        line = _line(node)
        for step in path:
            child = _child(node, step)
            if child is None:
                return line, None
            key_node, node = child
            line = _line(key_node or node)
        return line, node


def load_document(path: str | Path, text: str | None = None) -> Document:
    """Read and compose a YAML file, recording duplicate keys and unknown tags as issues.

    Args:
        path: The file to read; only its name is used when ``text`` is given.
        text: The file's content, to skip reading it (tests, editors).

    Raises:
        ConfigError: The file is missing, unreadable or not valid YAML.

    """
    name = str(path)
    if text is None:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise ConfigError(ConfigIssue(name, 0, "", "file not found")) from None
        except OSError as exc:
            raise ConfigError(ConfigIssue(name, 0, "", f"cannot read file: {exc}")) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            message = f"not UTF-8 text at byte {exc.start} (save the file as UTF-8)"
            raise ConfigError(ConfigIssue(name, line, "", message)) from None
    if len(text) > MAX_FILE_BYTES:
        message = f"file is {len(text):,} characters; the limit is {MAX_FILE_BYTES:,}"
        raise ConfigError(ConfigIssue(name, 0, "", message))
    try:
        root = yaml.compose(text, Loader=_BoundedLoader)
    except _DepthError as exc:
        message = f"nested more than {MAX_DEPTH} levels deep"
        raise ConfigError(ConfigIssue(name, exc.line, "", message)) from None
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_issue(name, exc)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(ConfigIssue(name, 0, "", f"invalid YAML: {exc}")) from None
    if root is None or _is_null(root):
        return Document(name, None, [ConfigIssue(name, 0, "", "file is empty")])
    _check_expansion(name, root)
    doc = Document(name, root)
    _scan(doc, root, (), set(), set())
    return doc


class _DepthError(Exception):
    """Nesting past :data:`MAX_DEPTH`, at a 1-based line."""

    def __init__(self, line: int) -> None:
        super().__init__(line)
        self.line = line


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing nesting past :data:`MAX_DEPTH` while it composes.

    PyYAML's composer recurses once per level, so a deep file would end in a RecursionError
    (an "internal error" with no line) long before anything could check it afterwards.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: object) -> Node | None:
        event = self.peek_event()
        nested = isinstance(event, yaml.CollectionStartEvent)  # scalars add no level
        if not nested:
            return super().compose_node(parent, index)
        if self._depth >= MAX_DEPTH:
            raise _DepthError(event.start_mark.line + 1)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _check_expansion(name: str, root: Node) -> None:
    """Refuse a document that expands past :data:`MAX_EXPANDED_NODES` through its aliases.

    Counts each node once per use, memoised per node, so the count itself is linear in the
    file; recursive aliases are left to :func:`_scan`, which reports them located.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[Node, bool]] = [(root, False)]
    active: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if isinstance(node, ScalarNode):
            sizes[key] = 1
            continue
        children = [
            child
            for entry in node.value
            for child in (entry if isinstance(node, MappingNode) else (entry,))
        ]
        if not children_done:
            if key in active:
                return  # recursive: _scan reports it
            active.add(key)
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in sizes)
            continue
        active.discard(key)
        if any(id(child) not in sizes for child in children):
            return  # part of a cycle
        size = 1 + sum(sizes[id(child)] for child in children)
        if size > MAX_EXPANDED_NODES:
            message = (
                f"expands to more than {MAX_EXPANDED_NODES:,} values through its aliases "
                "(each use of an alias copies its anchor)"
            )
            raise ConfigError(ConfigIssue(name, _line(node), "", message))
        sizes[key] = size


def build(doc: Document, cls: type[T], path: YamlPath = (), node: Node | None = None) -> T | None:
    """Convert the node at ``path`` (default the root) into a ``cls``, recording every problem.

    Args:
        doc: The document; problems are appended to ``doc.issues``.
        cls: The target: a dataclass, str, int, float, bool, Any, an Enum, a class with a
            ``from_yaml_scalar`` classmethod, or list/tuple/dict/union of those.
        path: Where the node is, for locating issues.
        node: The node to convert; found from ``path`` when omitted.

    Returns:
        The built value, or None when it could not be built (the issues say why).

    """
    if node is None:
        node = doc.node_at(path)
    if node is None:
        if doc.root is not None:  # an empty file is already reported
            last = path[-1] if path else None
            missing = f"missing required key '{last}'" if isinstance(last, str) else "missing"
            doc.issue(path, missing)
        return None
    before = len(doc.issues)
    value = _build(doc, cls, path, node)
    return value if len(doc.issues) == before else None


def _build(doc: Document, tp: Any, path: YamlPath, node: Node) -> Any:
    origin = typing.get_origin(tp) or tp
    if tp is Any:
        return _plain(node)
    if origin in (typing.Union, types.UnionType):
        return _build_union(doc, typing.get_args(tp), path, node)
    if tp is type(None):
        return None if _is_null(node) else _wrong(doc, tp, path, node)
    hook = getattr(tp, "from_yaml_scalar", None)
    if hook is not None and isinstance(node, ScalarNode) and not _is_null(node):
        return _attempt(doc, path, lambda: node, lambda: hook(_value(node)))
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(doc, tp, path, node)
    if hook is not None:
        return _wrong(doc, tp, path, node)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _build_enum(doc, tp, path, node)
    if tp in (bool, int, float, str):
        return _build_scalar(doc, tp, path, node)
    if origin in (list, tuple, dict):
        return _build_container(doc, tp, path, node)
    raise TypeError(f"build() does not support the type {tp!r}")


def _build_dataclass(doc: Document, cls: Any, path: YamlPath, node: Node) -> Any:
    if not isinstance(node, MappingNode):
        return _wrong(doc, cls, path, node)
    fields, hints, required = _mapping_fields(cls)
    before = len(doc.issues)
    kwargs: dict[str, Any] = {}
    for key_node, value_node in mapping_entries(node):
        key = key_node.value
        name = fields.get(key)
        if name is None:
            doc.issue((*path, key), _unknown_key(key, list(fields)), key_node)
        else:
            kwargs[name] = _build(doc, hints[name], (*path, key), value_node)

    # Whole-mapping problems go to the entry's key line when the path reaches this node; found
    # only on failure, since resolving the path for every mapping built would be quadratic.
    def at() -> Node | None:
        return None if doc.node_at(path) is node else node

    for key in required:
        if fields[key] not in kwargs:
            doc.issue(path, f"missing required key '{key}'", at())
    if len(doc.issues) > before:
        return None
    return _attempt(doc, path, at, lambda: cls(**kwargs))


def _mapping_fields(cls: Any) -> tuple[dict[str, str], dict[str, Any], list[str]]:
    """(YAML key -> argument name, argument name -> type, required YAML keys) of a dataclass.

    A dataclass with a ``yaml_fields()`` classmethod lists its keys itself (YAML key ->
    type, all optional, passed to the class as keyword arguments): a mapping whose keys
    are open, such as a scenario step whose actions are registered kinds.
    """
    dynamic = getattr(cls, "yaml_fields", None)
    if dynamic is not None:
        hints = dynamic()
        return {key: key for key in hints}, hints, []
    fields = {f.metadata.get("yaml", f.name): f for f in dataclasses.fields(cls) if f.init}
    required = [
        key for key, f in fields.items() if f.default is f.default_factory is dataclasses.MISSING
    ]
    return {key: f.name for key, f in fields.items()}, _type_hints(cls), required


def _build_union(doc: Document, options: tuple[Any, ...], path: YamlPath, node: Node) -> Any:
    if type(None) in options and _is_null(node):
        return None
    options = tuple(option for option in options if option is not type(None))
    if len(options) == 1:
        return _build(doc, options[0], path, node)
    failures = []
    for option in options:
        saved, doc.issues = doc.issues, []
        try:
            value = _build(doc, option, path, node)
        finally:
            scratch, doc.issues = doc.issues, saved
        if not scratch:
            return value
        failures.append((option, scratch))
    # Explain the option the user evidently aimed at: the one taking this kind of node.
    for option, scratch in failures:
        if _node_kind(node) in _kinds(option):
            doc.issues.extend(scratch)
            return None
    return _wrong(doc, typing.Union[options], path, node)  # noqa: UP007 - built at runtime


def _build_enum(doc: Document, cls: type[enum.Enum], path: YamlPath, node: Node) -> Any:
    if not isinstance(node, ScalarNode) or _is_null(node):
        return _wrong(doc, cls, path, node)
    value = _value(node)
    if not isinstance(value, bool):  # True == 1 would match an int member
        try:
            return cls(value)
        except ValueError:
            pass
    # Match the text as written: YAML 1.1 turns ``on``/``off`` into booleans.
    text = node.value
    for test in (lambda v: v == text, lambda v: v.casefold() == text.casefold()):
        found = [member for member in cls if test(str(member.value))]
        if len(found) == 1:
            return found[0]
    allowed = ", ".join(str(member.value) for member in cls)
    doc.issue(path, f"{text!r} is not one of: {allowed}", node)
    return None


def _build_scalar(doc: Document, tp: type, path: YamlPath, node: Node) -> Any:
    if isinstance(node, ScalarNode):
        value = _value(node)
        plain_text = node.tag == _STR and node.style is None
        if tp is float and plain_text and _EXPONENT.fullmatch(node.value):
            value = float(node.value)
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        accepted = {
            bool: isinstance(value, bool),
            int: is_number and isinstance(value, int),
            float: is_number,
            str: node.tag == _STR,
        }
        if accepted[tp]:
            if tp is float:
                return _finite(doc, path, node, value)
            return tp(value)
    return _wrong(doc, tp, path, node)


def _finite(doc: Document, path: YamlPath, node: Node, value: float) -> float | None:
    """A float that is a real quantity: NaN, infinities and overflowing integers are refused."""
    try:
        number = float(value)
    except OverflowError:
        doc.issue(path, f"number too large: {node.value[:20]}...", node)
        return None
    if not math.isfinite(number):
        doc.issue(path, f"expected a finite number, got {node.value}", node)
        return None
    return number


def _build_container(doc: Document, tp: Any, path: YamlPath, node: Node) -> Any:
    origin = typing.get_origin(tp) or tp
    args = typing.get_args(tp)
    before = len(doc.issues)
    if origin is dict:
        if not isinstance(node, MappingNode):
            return _wrong(doc, tp, path, node)
        key_type, value_type = args or (Any, Any)
        result = {}
        for key_node, value_node in mapping_entries(node):
            sub = (*path, key_node.value)
            result[_build(doc, key_type, sub, key_node)] = _build(doc, value_type, sub, value_node)
        return result if len(doc.issues) == before else None
    if not isinstance(node, SequenceNode):
        return _wrong(doc, tp, path, node)
    fixed = origin is tuple and bool(args) and args[-1] is not Ellipsis
    if fixed and len(args) != len(node.value):
        noun = "numbers" if all(arg in (int, float) for arg in args) else "items"
        doc.issue(path, f"expected {len(args)} {noun}, got {len(node.value)}", node)
        return None
    types_ = args if fixed else [args[0] if args else Any] * len(node.value)
    items = [
        _build(doc, item_type, (*path, index), item)
        for index, (item_type, item) in enumerate(zip(types_, node.value, strict=True))
    ]
    return origin(items) if len(doc.issues) == before else None


def _attempt(
    doc: Document, path: YamlPath, at: Callable[[], Node | None], make: Callable[[], T]
) -> T | None:
    """Call user code (a constructor or hook); its validation errors become issues at ``at()``."""
    try:
        return make()
    except ConfigError as exc:
        messages = [issue.message for issue in exc.issues]
    except (ValueError, TypeError, OverflowError) as exc:
        messages = [str(exc) or type(exc).__name__]
    for message in messages:
        doc.issue(path, message, at())
    return None


def _wrong(doc: Document, tp: Any, path: YamlPath, node: Node) -> None:
    quotable = tp is str and isinstance(node, ScalarNode) and node.tag not in (_NULL, _STR)
    hint = " (put it in quotes)" if quotable else ""
    doc.issue(path, f"expected {_expected(tp)}, got {_describe(node)}{hint}", node)


def _expected(tp: Any) -> str:
    origin = typing.get_origin(tp) or tp
    if origin in (typing.Union, types.UnionType):
        return " or ".join(dict.fromkeys(_expected(option) for option in typing.get_args(tp)))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return "one of: " + ", ".join(str(member.value) for member in tp)
    if tp is type(None):
        return "null"
    if tp in (bool, int, float, str):
        return {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}[tp]
    return " or ".join(f"a {kind}" for kind in ("mapping", "list", "scalar") if kind in _kinds(tp))


def _kinds(tp: Any) -> set[str]:
    """Return which node kinds (mapping, list, scalar) a target type can be built from."""
    origin = typing.get_origin(tp) or tp
    if tp is Any:
        return {"mapping", "list", "scalar"}
    kinds = set()
    if dataclasses.is_dataclass(tp) or origin is dict:
        kinds.add("mapping")
    if origin in (list, tuple):
        kinds.add("list")
    if not kinds or hasattr(tp, "from_yaml_scalar"):
        kinds.add("scalar")
    return kinds


def _node_kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "mapping"
    return "list" if isinstance(node, SequenceNode) else "scalar"


def _describe(node: Node) -> str:
    if not isinstance(node, ScalarNode):
        return f"a {_node_kind(node)}"
    text = node.value if len(node.value) <= _SHOWN else node.value[: _SHOWN - 3] + "..."
    if node.tag == _NULL:
        return "null"
    if node.tag == _STR:
        return f"string {text!r}"
    return f"{_KIND_WORDS[node.tag]} {text}" if node.tag in _KIND_WORDS else f"value {text!r}"


def _unknown_key(key: str, allowed: list[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key '{key}' (did you mean '{close[0]}'?)"
    return f"unknown key '{key}'; allowed: {', '.join(allowed) or 'none'}"


@functools.cache
def _type_hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def mapping_entries(node: MappingNode) -> list[tuple[ScalarNode, Node]]:
    """Return a mapping's entries with ``<<`` merges applied, keeping the last of duplicates.

    Precedence follows PyYAML: explicit keys beat merged ones, and in ``<<: [*a, *b]`` the
    earlier mapping wins. Non-scalar keys are skipped (`load_document` reported them).
    """
    merged: dict[str, tuple[ScalarNode, Node]] = {}
    explicit: dict[str, tuple[ScalarNode, Node]] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, ScalarNode):
            continue
        if key_node.tag == _MERGE:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in reversed(sources):
                if isinstance(source, MappingNode):
                    merged.update((k.value, (k, v)) for k, v in mapping_entries(source))
        else:
            explicit[key_node.value] = (key_node, value_node)
    return list({**merged, **explicit}.values())


def _child(node: Node, step: str | int) -> tuple[Node | None, Node] | None:
    """Return (key node or None, value node) one step below ``node``, or None if absent."""
    if isinstance(node, MappingNode) and isinstance(step, str):
        return next(((k, v) for k, v in mapping_entries(node) if k.value == step), None)
    if isinstance(node, SequenceNode) and isinstance(step, int) and 0 <= step < len(node.value):
        return None, node.value[step]
    return None


def _scan(doc: Document, node: Node, path: YamlPath, seen: set[int], active: set[int]) -> None:
    """Record duplicate keys, bad merges and unknown tags; reject recursive aliases."""
    if id(node) in active:
        issue = ConfigIssue(doc.file, _line(node), _dotted(path), "recursive alias not supported")
        raise ConfigError(issue)
    if id(node) in seen:  # an alias: its anchor was checked where it was defined
        return
    seen.add(id(node))
    if node.tag not in _KNOWN_TAGS:
        doc.issue(path, f"unknown tag '{node.tag}'", node)
    active.add(id(node))
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _scan(doc, item, (*path, index), seen, active)
    elif isinstance(node, MappingNode):
        first: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                doc.issue(path, f"keys must be plain names, got {_describe(key_node)}", key_node)
                continue
            key = key_node.value
            if key_node.tag == _MERGE:
                sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
                if not all(isinstance(source, MappingNode) for source in sources):
                    message = "merge key '<<' needs a mapping or a list of mappings"
                    doc.issue((*path, key), message, value_node)
            elif key in first:
                message = f"duplicate key '{key}' (first at line {_line(first[key])})"
                doc.issue((*path, key), message, key_node)
            else:
                first[key] = key_node
            _scan(doc, value_node, (*path, key), seen, active)
    active.discard(id(node))


def _syntax_issue(file: str, exc: yaml.MarkedYAMLError) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    message = exc.problem or exc.context or "invalid YAML"
    if exc.problem and exc.context:
        elsewhere = exc.context_mark and mark and exc.context_mark.line != mark.line
        at = f" at line {exc.context_mark.line + 1}" if elsewhere else ""
        message = f"{message} ({exc.context}{at})"
    return ConfigIssue(file, mark.line + 1 if mark else 0, "", f"invalid YAML: {message}")


def _plain(node: Node) -> Any:
    """Convert a node into plain Python values (dict, list, str, int, ...)."""
    if isinstance(node, MappingNode):
        return {_value(k): _plain(v) for k, v in mapping_entries(node)}
    if isinstance(node, SequenceNode):
        return [_plain(item) for item in node.value]
    return _value(node)


def _value(node: ScalarNode) -> Any:
    """Return a scalar's Python value; its text when the tag is unknown or the value invalid."""
    construct = _CONSTRUCTOR.yaml_constructors.get(node.tag)
    try:
        return construct(_CONSTRUCTOR, node) if construct else node.value
    except (yaml.YAMLError, ValueError):
        return node.value


def _is_null(node: Node) -> bool:
    return isinstance(node, ScalarNode) and node.tag == _NULL


def _line(node: Node) -> int:
    return node.start_mark.line + 1


def _dotted(path: YamlPath) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else f".{step}" if text else str(step)
    return text
