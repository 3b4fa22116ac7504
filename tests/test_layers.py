"""The layer rule, read from the source: which module may import which.

Every module of ``vcommission`` belongs to one layer of :data:`LAYERS`, and may import only
modules of its own layer or of layers listed before it. Only ``vcommission/adapters/`` imports
the protocol stacks (pymodbus, asyncua) and only ``vcommission/plant/`` imports pybullet.

Every import counts, wherever it is written: at module level, inside a function (a lazy
import is still a dependency, and is how import cycles get hidden) and under
``if TYPE_CHECKING:`` (a type-only import still makes the lower layer know the higher one).
A second rule is about import time only (module-level imports outside ``TYPE_CHECKING``, and
the parent packages Python imports first): the parser of the command line and the light
commands (``--help``, ``check``, ``io-list``) must not load the physics engine or the
protocol stacks.

Violations that the files' owners remove are listed in :data:`KNOWN`, each with the issue
item that removes it: the test fails on any other violation, and on a known one that is gone
(so the list only shrinks).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "vcommission"

#: The layers, lowest first: a module may import its own layer and the layers listed before
#: it. A module in none of them fails test_every_module_has_a_layer: place it here. Entries
#: are module paths relative to ``vcommission``; a package covers its submodules and the
#: longest match wins, so ``scenario.faults`` is the faults layer inside ``scenario``.
#: ``__init__`` is the ``vcommission`` package itself, the public facade.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("kernel", (
        "signals", "clock", "simulator", "errors", "fileio", "addressing", "watchdog",
        "resources", "_bundled", "registry",
    )),
    ("plant", ("plant",)),
    ("config", ("config",)),
    ("plc", ("plc",)),
    ("adapters", ("adapters",)),
    # The composition root: wires plant, PLC and adapters; the scenario layer runs on it.
    ("session", ("session",)),
    # The scenario file format and its kind registries: definitions only, which the faults
    # are written against (a fault's spec is part of the scenario format).
    ("scenario definitions", ("scenario.schema", "scenario.registry")),
    ("faults", ("faults", "scenario.faults")),
    # Executors run the scenario layer's units (a scenario case, a mutant's suite run).
    ("scenario", ("scenario", "executors")),
    ("reporting", ("reporting", "mutation")),
    # Operator training: the session a trainee and an instructor share, then its web pages.
    ("training", ("training",)),
    ("web", ("web",)),
    ("app", ("cli", "serve", "demo", "pytest_plugin", "__main__", "__init__")),
)  # fmt: skip

#: Third-party packages only one part of the tree may import.
ONLY_IN: dict[str, str] = {
    "pybullet": "plant",
    "pybullet_utils": "plant",
    "pymodbus": "adapters",
    "asyncua": "adapters",
    "distributed": "executors",
    "dask": "executors",
    "aiohttp": "web",
}

#: Packages (with their modules) that must stay light at import time, and what they must not
#: load: the command line (every command module, since ``--help`` imports them all) and config.
LIGHT = ("cli", "config")
HEAVY = ("pybullet", "pybullet_utils", "pymodbus", "asyncua")

#: Violations known today, as (importer, imported) modules relative to ``vcommission``.
#: Each is removed by the issue 9 item named; delete its line then.
KNOWN: frozenset[tuple[str, str]] = frozenset({
})  # fmt: skip

#: Import-time edges that make a LIGHT module load a HEAVY one today.
KNOWN_HEAVY: frozenset[tuple[str, str]] = frozenset({
})  # fmt: skip


@dataclass(frozen=True)
class Import:
    """One imported module, as written in ``importer``."""

    importer: str
    #: Dotted module name (absolute), e.g. ``vcommission.plant.world`` or ``pybullet``.
    module: str
    line: int
    #: Executed when the importer is imported (module level, not under TYPE_CHECKING).
    at_import: bool


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _target(importer: str, node: ast.ImportFrom, name: str) -> str:
    """The module ``from X import name`` brings in: ``X.name`` if that is a module, else X."""
    if node.level:  # relative: from the importer's package, one level up per extra dot
        base = importer.split(".")
        if _modules()[importer].name != "__init__.py":
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join([*base, *([node.module] if node.module else [])])
    else:
        module = node.module or ""
    candidate = f"{module}.{name}"
    return candidate if candidate in _modules() else module


@cache
def _imports(importer: str) -> tuple[Import, ...]:
    tree = ast.parse(_modules()[importer].read_text(encoding="utf-8"))
    found: list[Import] = []

    def visit(node: ast.AST, at_import: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(importer, a.name, node.lineno, at_import) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for alias in node.names:
                module = _target(importer, node, alias.name)
                found.append(Import(importer, module, node.lineno, at_import))
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                visit(child, False)
            for child in node.orelse:
                visit(child, at_import)
            return
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            at_import = False  # runs when called, not when the module is imported
        for child in ast.iter_child_nodes(node):
            visit(child, at_import)

    visit(tree, True)
    return tuple(found)


def _short(module: str) -> str:
    """``vcommission.plant.world`` -> ``plant.world``; the package itself -> ``__init__``."""
    return module.removeprefix("vcommission").removeprefix(".") or "__init__"


def _layer(module: str) -> int:
    """The index in LAYERS of a ``vcommission`` module (by its short name)."""
    best: tuple[int, int] | None = None
    for index, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(f"{prefix}.")
            if matches and (best is None or len(prefix) > best[1]):
                best = (index, len(prefix))
    if best is None:
        raise LookupError(module)
    return best[0]


def _ours(module: str) -> bool:
    return module == "vcommission" or module.startswith("vcommission.")


def test_every_module_has_a_layer():
    missing = []
    for module in _modules():
        try:
            _layer(_short(module))
        except LookupError:
            missing.append(_short(module))
    assert not missing, f"add these modules to LAYERS in {__file__}: {missing}"


def _layer_violations() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for module in _modules():
        importer = _short(module)
        for imp in _imports(module):
            if not _ours(imp.module):
                continue
            imported = _short(imp.module)
            if _layer(imported) > _layer(importer):
                where = f"vcommission/{_modules()[module].relative_to(PACKAGE)}:{imp.line}"
                found.setdefault((importer, imported), where)
    return found


def test_modules_import_only_their_layer_or_lower_ones():
    found = _layer_violations()
    names = [name for name, _ in LAYERS]
    new = [
        f"{where}: {importer} ({names[_layer(importer)]}) imports {imported} "
        f"({names[_layer(imported)]})"
        for (importer, imported), where in sorted(found.items())
        if (importer, imported) not in KNOWN
    ]
    assert not new, "layer rule broken (see LAYERS):\n" + "\n".join(new)
    gone = sorted(KNOWN - set(found))
    assert not gone, f"these known violations are gone: delete them from KNOWN: {gone}"


@pytest.mark.parametrize("library", sorted(ONLY_IN))
def test_only_one_part_of_the_tree_imports(library):
    allowed = ONLY_IN[library]
    offenders = sorted(
        f"vcommission/{_modules()[module].relative_to(PACKAGE)}:{imp.line}"
        for module in _modules()
        if not (_short(module) == allowed or _short(module).startswith(f"{allowed}."))
        for imp in _imports(module)
        if imp.module == library or imp.module.startswith(f"{library}.")
    )
    assert not offenders, f"only vcommission/{allowed}/ may import {library}: {offenders}"


def _import_time_edges(module: str) -> list[tuple[str, list[str]]]:
    """What importing ``module`` imports at once: (module as written, what that loads)."""
    edges: list[tuple[str, list[str]]] = []
    for imp in _imports(module):
        if imp.at_import:
            parts = imp.module.split(".")
            # Importing a.b.c runs a/__init__ and a/b/__init__ first.
            edges.append((imp.module, [".".join(parts[: i + 1]) for i in range(len(parts))]))
    return edges


def _heavy_paths(start: str) -> list[list[str]]:
    """Import chains from ``start`` to a HEAVY library, skipping the KNOWN_HEAVY edges."""
    chains: list[list[str]] = []
    seen: set[str] = set()
    parts = f"vcommission.{start}".split(".")
    stack = [[".".join(parts[: i + 1])] for i in range(len(parts))]
    while stack:
        chain = stack.pop()
        module = chain[-1]
        if module in seen:
            continue
        seen.add(module)
        for written, loaded in _import_time_edges(module):
            if (_short(module), _short(written)) in KNOWN_HEAVY:
                continue
            for target in loaded:
                if target.split(".")[0] in HEAVY:
                    chains.append([*chain, target])
                elif target in _modules():
                    stack.append([*chain, target])
    return chains


def _light_modules() -> list[str]:
    return [
        _short(m)
        for m in _modules()
        if any(_short(m) == p or _short(m).startswith(f"{p}.") for p in LIGHT)
    ]


@pytest.mark.parametrize("module", _light_modules())
def test_light_modules_do_not_load_heavy_libraries_at_import(module):
    chains = [" -> ".join(_short(m) for m in chain) for chain in _heavy_paths(module)]
    assert not chains, "import these inside the functions that need them:\n" + "\n".join(chains)


def test_known_heavy_edges_still_exist():
    edges = {
        (_short(module), _short(written))
        for module in _modules()
        for written, _ in _import_time_edges(module)
        if _ours(written)
    }
    gone = sorted(KNOWN_HEAVY - edges)
    assert not gone, f"these known edges are gone: delete them from KNOWN_HEAVY: {gone}"
