"""Start time: the standard address space, cached per asyncua and Python version.

asyncua's ``Server.init()`` builds the standard address space (about 6,200 nodes of namespace
0) node by node, which costs 1.3 s of CPU on a CI machine, more than everything else of a
start together. asyncua can load that space lazily from a ``shelve`` file instead
(``Server.init(shelf_file)``, meant for slow devices); the OPC UA server keeps one such cache
per asyncua and Python version under the user's cache folder, built by the first start
(:func:`prepare_address_space_cache` builds it ahead, e.g. in a CI setup step).
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

from asyncua import Server

from vcommission.adapters.opcua import _asyncua_internals as internals
from vcommission.adapters.opcua.security import Users

__all__ = ["address_space_cache_dir", "initialised_server", "prepare_address_space_cache"]

log = logging.getLogger(__name__)


def address_space_cache_dir() -> Path:
    """Folder of the cached standard address space for the running asyncua and Python."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "vcommission" / f"asyncua-{version('asyncua')}-{sys.implementation.cache_tag}"


#: Name of the shelf inside a cache folder; no dot in it (see ``internals.mark_shelf``).
_SHELF = "aspace"


def _install_cache(built: Path, cache: Path) -> None:
    """Move a freshly built cache folder into place atomically; a concurrent builder may win."""
    internals.mark_shelf(built / _SHELF)
    cache.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(built, cache)
    except OSError:  # another process installed its cache first: keep that one
        shutil.rmtree(built, ignore_errors=True)


async def initialised_server(users: Mapping[str, str], cache: Path) -> Server:
    """A new asyncua server after ``init()``, from the address space cache when possible.

    Without a cache in place the start builds one (asyncua fills the space, then writes the
    shelf); a cache that cannot be read is dropped and built again. A cache folder exists
    only complete (see :func:`_install_cache`).
    """
    server = Server(user_manager=Users(users))  # type: ignore[arg-type]
    if cache.is_dir():
        try:
            await server.init(cache / _SHELF)
            return server
        except Exception as exc:
            log.warning("OPC UA address space cache %s unusable, rebuilding it: %r", cache, exc)
            shutil.rmtree(cache, ignore_errors=True)
            server = Server(user_manager=Users(users))  # type: ignore[arg-type]
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=".building-", dir=cache.parent))
    except OSError as exc:
        log.warning("OPC UA address space cache disabled (%s): %s", cache, exc)
        await server.init()
        return server
    log.info("building the OPC UA address space cache in %s (once per asyncua version)", cache)
    try:
        await server.init(building / _SHELF)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    _install_cache(building, cache)
    return server


async def prepare_address_space_cache(cache_dir: str | Path | None = None) -> Path:
    """Build the standard address space cache now, so that no server start has to.

    Args:
        cache_dir: Cache folder; :func:`address_space_cache_dir` by default.

    Returns:
        The cache folder.
    """
    cache = Path(cache_dir) if cache_dir is not None else address_space_cache_dir()
    if not cache.is_dir():
        await initialised_server({}, cache)
    return cache
