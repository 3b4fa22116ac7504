"""Result files written atomically: a reader never sees half a file, a crash leaves the old one."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from vcommission.errors import VcommissionError

__all__ = ["write_atomic"]


def _create_beside(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target``, open for writing: (descriptor, path).

    Created with mode 0666, so the kernel applies the umask as for any file the user makes
    (``tempfile.mkstemp`` would give 0600), without reading the umask: setting it to read
    it would change it for every thread meanwhile.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        temporary = str(target.parent / f".{target.name}.{secrets.token_hex(6)}")
        try:
            return os.open(temporary, flags, 0o666), temporary
        except FileExistsError:
            continue


def write_atomic(path: str | Path, data: str | bytes) -> None:
    """Write ``data`` (text as UTF-8) to ``path`` through a temporary file in the same folder.

    The file gets the permissions of any file the user creates (0666 less the umask), not
    the temporary file's 0600, so a CI job's other steps can read it.

    Raises:
        VcommissionError: The file cannot be written (a full disk, no permission); the
            message names the file, and the previous file, if any, is left as it was.
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = _create_beside(target)
    except OSError as exc:
        raise VcommissionError(f"cannot write {target}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data.encode("utf-8") if isinstance(data, str) else data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        if isinstance(exc, OSError):
            raise VcommissionError(f"cannot write {target}: {exc.strerror or exc}") from exc
        raise
