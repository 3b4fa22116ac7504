"""Registries of named kinds: ``name -> object``, with entry points for third parties.

One :class:`Registry` per extension point (check, fault and step kinds in
:mod:`vcommission.scenario.registry`, reporters in :mod:`vcommission.reporting.registry`).
A registry fills itself on first use, in this order:

1. its *built-in modules* are imported: their decorators register the built-in kinds, so
   a built-in kind is written in one place, its module;
2. its *entry-point group* is read (``[project.entry-points."vcommission.checks"]``,
   ``my_check = "my_pkg.checks:MyCheck"``): each entry's name is registered as a
   ``"module:attr"`` string, imported only when that name is first loaded. Importing it
   may register the name by a decorator; otherwise the attribute itself is the entry.

:meth:`Registry.register` adds a kind in-process (a test, a conftest, a script), before the
scenarios that use it are loaded. Built-in names win over entry points of the same name.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import importlib.metadata
import types
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from vcommission.errors import RegistryError

__all__ = ["Registry"]

T = TypeVar("T")


def _same_definition(a: object, b: object) -> bool:
    """Whether ``b`` is ``a`` defined again: the same module and name, field by field."""
    if a is b:
        return True
    if isinstance(a, type | types.FunctionType) and isinstance(b, type | types.FunctionType):
        return (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
    kind_a, kind_b = type(a), type(b)
    if (kind_a.__module__, kind_a.__qualname__) != (kind_b.__module__, kind_b.__qualname__):
        return False
    if dataclasses.is_dataclass(a) and not isinstance(a, type):
        return all(
            _same_definition(getattr(a, f.name), getattr(b, f.name)) for f in dataclasses.fields(a)
        )
    try:
        return bool(a == b)
    except Exception:  # an entry whose == raises is not the same definition
        return False


class Registry(Generic[T]):
    """Named entries of one kind, registered in code or found through entry points.

    Args:
        what: What an entry is, for messages: ``"check kind"``.
        group: The entry-point group third parties register in.
        modules: Built-in modules, imported on first use (their decorators register).
        accept: Tells a valid entry from anything else an entry point may name.
        expected: What an entry is, for the message when ``accept`` refuses one.
    """

    def __init__(
        self,
        what: str,
        group: str,
        *,
        modules: Iterable[str] = (),
        accept: Callable[[Any], bool] | None = None,
        expected: str = "a valid entry",
    ) -> None:
        self.what = what
        self.group = group
        self.modules = tuple(modules)
        self.accept = accept
        self.expected = expected
        #: name -> entry, or the ``"module:attr"`` of an entry point not imported yet. Kept in
        #: registration order: messages list the built-in kinds in their modules' order.
        self._entries: dict[str, T | str] = {}
        self._filled = False
        self._filling = False

    def register(self, name: str, entry: T | str, *, override: bool = False) -> None:
        """Register ``entry`` (or a ``"module:attr"`` string, imported lazily) as ``name``.

        Raises:
            RegistryError: ``name`` is registered already (pass ``override=True`` to replace).
        """
        current = self._entries.get(name)
        # An entry point's module registering the very name it was listed under fulfils the
        # placeholder, and a module imported again (importlib.reload, pytester's in-process
        # runs) registers the same definition again; anything else twice is a clash.
        if (
            current is not None
            and not override
            and not isinstance(current, str)
            and not _same_definition(current, entry)
        ):
            raise RegistryError(f"{self.what} {name!r} is already registered")
        if self.accept is not None and not isinstance(entry, str) and not self.accept(entry):
            raise RegistryError(f"{self.what} {name!r}: {entry!r} is not {self.expected}")
        self._entries[name] = entry

    def unregister(self, name: str) -> None:
        """Forget ``name`` (tests that register a kind for themselves clean up with this)."""
        self._fill()
        self._entries.pop(name, None)

    def names(self) -> list[str]:
        """Every registered name, built-in ones first, in registration order."""
        self._fill()
        return list(self._entries)

    def __contains__(self, name: object) -> bool:
        self._fill()
        return name in self._entries

    def load(self, name: str) -> T:
        """Return the entry registered as ``name``, importing it if it is not yet.

        Raises:
            RegistryError: ``name`` is unknown (with the closest name, if any), its module
                does not import, or it is not a valid entry.
        """
        self._fill()
        try:
            entry = self._entries[name]
        except KeyError:
            raise RegistryError(f"unknown {self.what} {name!r}{self.hint(name)}") from None
        if isinstance(entry, str):
            entry = self._import(name, entry)
        return entry

    def entries(self) -> list[tuple[str, T]]:
        """(name, entry) of every registered name, each loaded, in :meth:`names` order."""
        return [(name, self.load(name)) for name in self.names()]

    def hint(self, name: str) -> str:
        """`` (did you mean 'x'?)`` for the closest registered name, or nothing."""
        close = difflib.get_close_matches(name, self.names(), n=1)
        return f" (did you mean {close[0]!r}?)" if close else ""

    def _fill(self) -> None:
        if self._filled or self._filling:
            return
        self._filling = True  # a built-in module asking for names while it registers
        try:
            for module in self.modules:
                importlib.import_module(module)
            for entry_point in importlib.metadata.entry_points(group=self.group):
                self._entries.setdefault(entry_point.name, entry_point.value)
            self._filled = True
        finally:
            self._filling = False

    def _import(self, name: str, target: str) -> T:
        module_name, _, attr = target.partition(":")
        try:
            module = importlib.import_module(module_name.strip())
            registered = self._entries.get(name)
            if registered is not None and not isinstance(registered, str):
                return registered  # the module's decorator registered it on import
            if not attr:
                raise AttributeError(f"importing {module_name} did not register {name!r}")
            entry: Any = module
            for part in attr.strip().split("."):
                entry = getattr(entry, part)
        except (ImportError, AttributeError) as exc:
            raise RegistryError(f"{self.what} {name!r}: cannot import {target}: {exc}") from exc
        if self.accept is not None and not self.accept(entry):
            raise RegistryError(f"{self.what} {name!r}: {target} is not {self.expected}")
        self._entries[name] = entry
        return entry
