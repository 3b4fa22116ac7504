"""The one place pybullet is imported and its clients are created.

pybullet's C code prints ``argv[0]=`` to the process's stdout for every new DIRECT client,
which corrupts piped output such as ``vcommission io-list --format csv``, and its build
time to stderr at import. Both happen here with those file descriptors on /dev/null.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

__all__ = ["BulletClient", "new_client", "pybullet"]


@contextlib.contextmanager
def _quiet(*fds: int) -> Iterator[None]:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, OSError, ValueError):
            stream.flush()
    saved = [os.dup(fd) for fd in fds]
    try:
        with open(os.devnull, "w") as devnull:
            for fd in fds:
                os.dup2(devnull.fileno(), fd)
            yield
    finally:
        for fd, copy in zip(fds, saved, strict=True):
            os.dup2(copy, fd)
            os.close(copy)


# The build-time banner goes to stderr; nothing else is printed at import.
with _quiet(1, 2):
    import pybullet
    from pybullet_utils.bullet_client import BulletClient


class _Client(BulletClient):
    """A BulletClient whose finaliser copes with a constructor that never finished.

    A Ctrl-C landing inside ``BulletClient.__init__`` leaves an object without ``_client``;
    its ``__del__`` then asks ``pybullet`` for the name and prints an AttributeError
    traceback on the way out of an interrupted run. The class default says "not connected".
    """

    _client = -1


def new_client() -> BulletClient:
    """A new DIRECT (headless, in-process) physics client."""
    with _quiet(1):
        return _Client(connection_mode=pybullet.DIRECT)
