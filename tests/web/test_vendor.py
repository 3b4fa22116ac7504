"""The vendored three.js: the committed files are what VERSIONS.json says npm gave.

tools/vendor_three.py is the only writer of vcommission/web/static/vendor/; it records each
file's sha256. A hand edit, a partial refresh or a file lost in a merge shows up here, with
no network needed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR = ROOT / "vcommission" / "web" / "static" / "vendor"


def _tool():
    spec = importlib.util.spec_from_file_location("vendor_three", ROOT / "tools/vendor_three.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_files_match_their_recorded_sha256():
    record = json.loads((VENDOR / "VERSIONS.json").read_text())["three"]
    tool = _tool()
    assert record["version"] == tool.VERSION  # the pin in the tool is what is committed
    assert record["license"] == "MIT" and record["integrity"].startswith("sha512-")
    assert set(record["files"]) == set(tool.FILES.values())
    for name, entry in record["files"].items():
        data = (VENDOR / name).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
    assert tool.check() == []
    assert "MIT License" in (VENDOR / "LICENSE").read_text()


def test_addons_import_the_vendored_module_not_a_bare_name():
    for name in ("OrbitControls.js", "STLLoader.js", "OBJLoader.js"):
        text = (VENDOR / name).read_text()
        assert "from './three.module.min.js'" in text, name
        assert not re.search(r"""from\s*['"]three['"]""", text), name
    # The module itself pulls in the core build next to it, nothing else.
    imports = set(
        re.findall(r"""from\s*['"]([^'"]+)['"]""", (VENDOR / "three.module.min.js").read_text())
    )
    assert imports == {"./three.core.min.js"}


def test_rewrite_changes_only_the_bare_import():
    tool = _tool()
    source = "import {\n\tMesh,\n} from 'three';\nconst a = 'three';\n"
    assert (
        tool.rewrite(source)
        == "import {\n\tMesh,\n} from './three.module.min.js';\nconst a = 'three';\n"
    )
