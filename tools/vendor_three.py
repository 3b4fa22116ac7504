"""Refresh the vendored three.js in vcommission/web/static/vendor/ from npm, at a pinned version.

The 3D view (vcommission/web/static/view3d.js) runs in the browser of a plant that is
offline, so three.js ships inside the package (no CDN) and a plain ``pip install`` on a
machine without node works. This script is the only way those files change: it fetches
the ``three`` tarball from the npm registry with ``npm pack`` (so npm's own integrity check
applies), copies the built ES module (``build/three.module.min.js`` and the
``three.core.min.js`` it imports), the addons the view uses (OrbitControls, STLLoader,
OBJLoader) and three's LICENSE, and rewrites the addons' bare ``from 'three'`` import to
``from './three.module.min.js'`` so that they load from the same folder without an import
map. It records the version, the tarball's integrity and every file's sha256 (after the
rewrite; the upstream sha256 too for rewritten files) in ``VERSIONS.json``, which
tests/web/test_vendor.py checks the committed files against.

The version is pinned here: 0.185.0 is the newest release that still ships minified builds
(0.186 and 0.187 have only the unminified ``build/three.module.js``).

Usage: ``python3 tools/vendor_three.py [--version 0.185.0] [--check]``
(``--check`` verifies the committed files against VERSIONS.json and touches nothing.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "vcommission" / "web" / "static" / "vendor"
VERSION = "0.185.0"
#: File in the package tarball (under ``package/``) -> file in VENDOR.
FILES = {
    "build/three.module.min.js": "three.module.min.js",
    "build/three.core.min.js": "three.core.min.js",
    "examples/jsm/controls/OrbitControls.js": "OrbitControls.js",
    "examples/jsm/loaders/STLLoader.js": "STLLoader.js",
    "examples/jsm/loaders/OBJLoader.js": "OBJLoader.js",
    "LICENSE": "LICENSE",
}
#: The addons import three by its bare name, which a browser resolves only with an import
#: map; pointing them at the file next to them needs none.
_BARE_IMPORT = re.compile(r"""from\s*(['"])three\1""")


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def rewrite(text: str) -> str:
    """An addon's source with ``from 'three'`` pointing at the vendored module."""
    return _BARE_IMPORT.sub("from './three.module.min.js'", text)


def fetch(version: str, folder: Path) -> tuple[Path, str]:
    """The npm tarball of three@``version`` in ``folder``, and its integrity string."""
    out = subprocess.run(
        ["npm", "pack", f"three@{version}", "--json", "--pack-destination", str(folder)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    info = json.loads(out)[0]
    return folder / info["filename"], info["integrity"]


def vendor(version: str) -> dict:
    VENDOR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tarball, integrity = fetch(version, Path(tmp))
        files = {}
        with tarfile.open(tarball) as archive:
            for source, target in FILES.items():
                member = archive.extractfile(f"package/{source}")
                if member is None:
                    raise SystemExit(f"three@{version} has no {source}")
                upstream = member.read()
                entry = {"source": source}
                data = upstream
                if target.endswith(".js") and _BARE_IMPORT.search(upstream.decode()):
                    data = rewrite(upstream.decode()).encode()
                    entry["upstream_sha256"] = sha256(upstream)
                entry["sha256"] = sha256(data)
                (VENDOR / target).write_bytes(data)
                files[target] = entry
    record = {
        "three": {
            "version": version,
            "registry": "npm",
            "integrity": integrity,
            "license": "MIT",
            "files": files,
        }
    }
    (VENDOR / "VERSIONS.json").write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def check() -> list[str]:
    """What differs between the committed files and VERSIONS.json (empty: all as recorded)."""
    record = json.loads((VENDOR / "VERSIONS.json").read_text())
    problems = []
    for name, entry in record["three"]["files"].items():
        path = VENDOR / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif sha256(path.read_bytes()) != entry["sha256"]:
            problems.append(f"{name}: sha256 differs from VERSIONS.json")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--version", default=VERSION, help="three.js version on npm")
    parser.add_argument("--check", action="store_true", help="verify, do not fetch")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print(problem, file=sys.stderr)
        return 1 if problems else 0
    if shutil.which("npm") is None:
        print("vendor_three: npm not found (Debian: apt-get install npm)", file=sys.stderr)
        return 2
    record = vendor(args.version)
    for name, entry in sorted(record["three"]["files"].items()):
        print(f"{entry['sha256']}  {name}")
    print(f"three@{args.version} -> {VENDOR.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
