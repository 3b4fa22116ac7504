"""Self-contained scenarios: a scenario with its model's files and its program's text.

A unit run elsewhere (a Dask worker on another machine) cannot assume the files a scenario
names exist there. :func:`pack` puts the model folder's files (a few kB of YAML, ST and
URDF) and the program's source into the payload; :func:`unpack` writes them into a folder of
the worker, once per content (a folder named by the content's hash), and gives back the
scenario pointing at them. The model is found there under its own folder name, so every
path inside it resolves as on the machine that packed it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from vcommission.scenario.schema import Scenario

__all__ = ["PackedScenario", "pack", "unpack"]

#: A model folder larger than this is refused: a unit is sent to every worker that runs it.
MAX_MODEL_BYTES = 32 * 2**20


@dataclass(frozen=True)
class PackedScenario:
    """A scenario and every file it needs, by content."""

    scenario: Scenario
    #: The model folder's name and files: relative path -> bytes.
    model_folder: str
    model_files: dict[str, bytes]
    #: Whether ``scenario.model_path`` named the folder's ``model.yaml`` rather than the folder.
    model_is_file: bool
    program_name: str | None
    program_source: bytes | None


def pack(scenario: Scenario) -> PackedScenario:
    """``scenario`` with the files of its model folder and its program."""
    model_path = Path(scenario.model_path)
    folder = model_path if model_path.is_dir() else model_path.parent
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            data = path.read_bytes()
            total += len(data)
            if total > MAX_MODEL_BYTES:
                raise ValueError(f"{folder}: model folder larger than {MAX_MODEL_BYTES} bytes")
            files[path.relative_to(folder).as_posix()] = data
    program = scenario.program_path
    return PackedScenario(
        scenario,
        folder.name,
        files,
        not model_path.is_dir(),
        program.name if program is not None else None,
        Path(program).read_bytes() if program is not None else None,
    )


def unpack(packed: PackedScenario, root: Path | None = None) -> Scenario:
    """Write the packed files under ``root`` (a temporary folder by default), once per content.

    Returns the scenario with its model and program paths pointing at the written files.
    """
    digest = hashlib.sha256()
    for name, data in sorted(packed.model_files.items()):
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    if packed.program_source is not None:
        digest.update(b"program\0" + hashlib.sha256(packed.program_source).digest())
    base = (root or Path(tempfile.gettempdir()) / "vcommission-units") / digest.hexdigest()[:20]
    folder = base / packed.model_folder
    if not (base / ".complete").exists():
        # Two units of one worker may unpack the same content at once: each file appears
        # whole (written aside, then renamed), and the marker comes last.
        for name, data in packed.model_files.items():
            _write_whole(folder / name, data)
        if packed.program_source is not None and packed.program_name is not None:
            _write_whole(base / "program" / packed.program_name, packed.program_source)
        _write_whole(base / ".complete", b"")
    program = (
        base / "program" / packed.program_name
        if packed.program_source is not None and packed.program_name is not None
        else None
    )
    model_path = folder / "model.yaml" if packed.model_is_file else folder
    return dataclasses.replace(packed.scenario, model_path=model_path, program_path=program)


def _write_whole(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    aside = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}")
    aside.write_bytes(data)
    os.replace(aside, target)
