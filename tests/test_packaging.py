"""Bundled models and suites: the resolver, the package-data globs, and names on the CLI.

The wheel itself is built and run from another directory by ``.ci/run``; these tests keep the
pieces it relies on true in a checkout.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import yaml

from tests.peers import run_cli
from vcommission import resources
from vcommission.demo import BUNDLED_MODEL

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_FOLDERS = {
    "plant_models": "vcommission._bundled.plant_models",
    "scenarios": "vcommission._bundled.scenarios",
}


def test_bundled_models_and_suites_are_found_by_name():
    models = resources.bundled_models()
    suites = resources.bundled_suites()
    assert models["sorting_line"] == ROOT / "plant_models" / "sorting_line"
    assert (models["sorting_line"] / "model.yaml").is_file()
    assert suites["sorting_line"] == ROOT / "scenarios" / "sorting_line"
    assert models["sorting_line"] == BUNDLED_MODEL


def test_a_bare_name_resolves_to_the_bundle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_model("sorting_line") == resources.bundled_models()["sorting_line"]
    assert resources.resolve_suite("sorting_line") == resources.bundled_suites()["sorting_line"]


def test_an_existing_path_wins_over_a_bundled_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sorting_line").mkdir()
    assert resources.resolve_model("sorting_line") == Path("sorting_line")
    assert resources.resolve_suite(Path("sorting_line")) == Path("sorting_line")


def test_anything_else_comes_back_unchanged(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resources.resolve_model("no_such_model") == Path("no_such_model")
    # Only a bare name is looked up: a path with a folder part is the user's path.
    assert resources.resolve_model("elsewhere/sorting_line") == Path("elsewhere/sorting_line")
    assert resources.resolve_suite("no_such_suite") == Path("no_such_suite")


def test_bundled_scenarios_find_their_model_by_the_same_relative_path():
    # The wheel keeps plant_models/ and scenarios/ side by side, as in the repository.
    for suite in resources.bundled_suites().values():
        for file in sorted(suite.glob("*.yaml")):
            if file.name == "requirements.yaml":  # the suite's requirements, not a scenario
                continue
            model = (file.parent / yaml.safe_load(file.read_text())["model"]).resolve()
            assert model.parent == resources.models_dir().resolve(), file


def test_the_wheel_ships_every_file_of_the_bundled_models_and_suites(tmp_path):
    """Built from a copy of the sources (a build writes build/ beside them), then opened."""
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
    for folder in ("vcommission", *BUNDLED_FOLDERS):
        shutil.copytree(ROOT / folder, source / folder, ignore=ignore)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    assert "would be ignored" not in built.stderr, built.stderr
    (wheel,) = tmp_path.glob("vcommission-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    wanted = {
        f"vcommission/_bundled/{file.relative_to(ROOT).as_posix()}"
        for folder in BUNDLED_FOLDERS
        for file in (ROOT / folder).rglob("*")
        if file.is_file() and "__pycache__" not in file.parts
    }
    assert wanted and not wanted - shipped, sorted(wanted - shipped)
    assert "vcommission/plc/grammar.lark" in shipped
    web = {
        file.relative_to(ROOT).as_posix()
        for folder in ("static", "templates")
        for file in (ROOT / "vcommission" / "web" / folder).rglob("*")
        if file.is_file()
    }
    assert "vcommission/web/static/vendor/three.module.min.js" in web
    assert not web - shipped, sorted(web - shipped)


def test_io_list_takes_a_bundled_model_name_from_any_directory(tmp_path):
    result = run_cli("io-list", "sorting_line", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "sorting_line"


def test_a_model_folder_of_that_name_wins_on_the_command_line(tmp_path):
    mine = tmp_path / "sorting_line"
    shutil.copytree(resources.bundled_models()["sorting_line"], mine)
    text = (mine / "model.yaml").read_text()
    (mine / "model.yaml").write_text(text.replace("name: sorting_line", "name: my_line", 1))
    result = run_cli("io-list", "sorting_line", "--format", "json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["model"] == "my_line"


def test_run_takes_a_bundled_suite_name_from_any_directory(tmp_path):
    result = run_cli("run", "sorting_line", "-k", "r9_speed", "-j", "1", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout, result.stdout
