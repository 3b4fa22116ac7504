"""The FAT report from real runs: HTML rendered by real headless Chromium, PDF by pdftoppm.

A small real suite (two bundled sorting_line scenarios, with traces) is run once per module;
a mutated copy of sorting.st (pusher and belt no longer interlocked) gives a failing run.
The browser tests measure the page in Chromium itself: a script injected into a copy of the
report writes its measurements into the DOM, which ``--dump-dom`` prints (no WebDriver: the
browser's own headless mode is enough, and no new dev dependency is needed).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT
from tests.peers import require_tool
from vcommission.cli import main
from vcommission.reporting.fat import build_report, compare, load_results, markdown, parse_results

pytest.importorskip("jinja2")
pytest.importorskip("matplotlib")

SUITE = ROOT / "scenarios" / "sorting_line"
MODEL = ROOT / "plant_models" / "sorting_line"
PICKED = ("r1_start.yaml", "r4_interlock.yaml")
#: A4 at 96 px per inch: 210 mm.
A4_PX = 794

#: Written into a copy of the report: measures the laid-out page, and leaves the result in a
#: <pre id="measure"> that --dump-dom prints.
MEASURE = """
<script>
window.addEventListener("load", () => {
  const body = document.body, style = getComputedStyle(body);
  const right = body.getBoundingClientRect().right - parseFloat(style.paddingRight);
  const overflowing = () => {
    const found = [];
    for (const element of body.querySelectorAll("*")) {
      const box = element.getBoundingClientRect();
      if (box.width > 0 && box.right > right + 1) {
        found.push(`${element.tagName}#${element.id} ${Math.round(box.right)}`);
      }
    }
    return found;
  };
  // The control: a table cell too wide for the page must be caught.
  const probe = document.createElement("div");
  probe.innerHTML = "<table><tr><td><code style='white-space:nowrap'>" + "x".repeat(400) +
    "</code></td></tr></table>";
  document.querySelector("#coverage").appendChild(probe);
  const control = overflowing().length > 0;
  probe.remove();
  const over = overflowing();
  const count = (selector) => document.querySelectorAll(selector).length;
  const result = {
    viewport: document.documentElement.clientWidth,
    scroll: document.documentElement.scrollWidth,
    content_right: right,
    over: over.slice(0, 20),
    control: control,
    matrix_rows: count("#matrix table.matrix tbody.req"),
    plots: count("figure svg"),
    deviation_plots: count("#deviations .deviation svg"),
    io_rows: count("#coverage table.io tr") - 1,
    interlock_rows: count("#coverage table tr a[href^='#s']"),
    listing: count("#coverage .listing"),
    sections: [...document.querySelectorAll("section")].map((s) => s.id),
  };
  const pre = document.createElement("pre");
  pre.id = "measure";
  pre.textContent = JSON.stringify(result);
  body.appendChild(pre);
});
</script>
"""


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    # Missing: skipped on a developer's machine, failed under CI (.ci/run installs it).
    return subprocess.run(
        [require_tool("chromium"), "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _run(tmp: Path, name: str, files: tuple[str, ...], *extra: str) -> Path:
    """Run scenario files as the CLI does, with traces; the results JSON's path."""
    out = tmp / name
    code = main(
        ["run", *map(str, files), "-j", "1", "--json", str(out / "results.json"),
         "--trace-dir", str(out / "traces"), *extra]
    )  # fmt: skip
    assert code in (0, 1, 5), code  # 5: a vacuous check without --strict
    return out / "results.json"


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fat")


@pytest.fixture(scope="module")
def good(work: Path) -> Path:
    return _run(work, "good", tuple(str(SUITE / f) for f in PICKED))


@pytest.fixture(scope="module")
def failing(work: Path) -> Path:
    """R4 with a program whose pusher no longer waits for the belt to stop."""
    source = (MODEL / "plc" / "sorting.st").read_text()
    mutated = source.replace(
        "pusher_extend := pusher_cmd AND NOT conveyor_run_cmd AND estop_ok;",
        "pusher_extend := pusher_cmd AND estop_ok;",
    ).replace(
        "conveyor_run  := conveyor_run_cmd AND estop_ok;",
        "conveyor_run  := (conveyor_run_cmd OR pusher_cmd) AND estop_ok;",
    )
    assert mutated != source
    program = work / "sorting_mutated.st"
    program.write_text(mutated)
    return _run(work, "failing", (str(SUITE / "r4_interlock.yaml"),), "--plc", str(program))


@pytest.fixture(scope="module")
def good_html(work: Path, good: Path) -> str:
    return build_report(load_results(good))


@pytest.fixture(scope="module")
def failing_html(failing: Path) -> str:
    return build_report(load_results(failing))


def _measure(html: str, folder: Path) -> dict[str, object]:
    page = folder / "measured.html"
    page.write_text(html.replace("</body>", MEASURE + "</body>"))
    done = _chromium(f"--window-size={A4_PX},1123", "--virtual-time-budget=10000",
                     "--dump-dom", page.as_uri())  # fmt: skip
    found = re.search(r'<pre id="measure">(.*?)</pre>', done.stdout, re.S)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))


# -- the real suite's report in Chromium ------------------------------------------------------


@pytest.mark.browser
def test_the_report_renders_in_chromium_with_matrix_plots_and_coverage_inside_a4(
    good_html: str, tmp_path: Path
) -> None:
    measured = _measure(good_html, tmp_path)
    assert measured["viewport"] == A4_PX
    assert measured["control"], "the overflow measurement must catch a too-wide element"
    assert measured["over"] == [], measured
    assert measured["scroll"] <= measured["viewport"]
    # R1 and R4 (and whatever else the two scenarios declare) each have a matrix row.
    assert measured["matrix_rows"] >= 2
    # A timing diagram per scenario, and the flow plot of R4's cycle_time check.
    assert measured["plots"] >= 3
    assert measured["io_rows"] == len(__import__("vcommission").load_model(MODEL).io_rows())
    assert measured["interlock_rows"] >= 1
    assert measured["sections"][:2] == ["cover", "matrix"]  # no deviation: matrix next

    screenshot = tmp_path / "page.png"
    done = _chromium(f"--window-size={A4_PX},1123", f"--screenshot={screenshot}",
                     (tmp_path / "measured.html").as_uri())  # fmt: skip
    assert screenshot.is_file(), done.stderr[-2000:]
    from matplotlib.image import imread

    pixels = imread(screenshot)
    assert pixels.shape[1] == A4_PX
    # Not a blank page: text and table rules make a good share of the pixels dark.
    assert (pixels[..., :3].mean(axis=2) < 0.5).mean() > 0.01


@pytest.mark.browser
def test_the_pdf_opens_and_pdftoppm_renders_every_page(good: Path, tmp_path: Path) -> None:
    require_tool("chromium")
    require_tool("pdftoppm")
    html, pdf = tmp_path / "fat.html", tmp_path / "fat.pdf"
    assert main(["report", str(good), "-o", str(html), "--pdf", str(pdf)]) == 0
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(re.search(r"Pages:\s+(\d+)", info.stdout).group(1))  # type: ignore[union-attr]
    assert pages >= 4  # cover, matrix, scenarios, coverage, appendix
    assert "(A4)" in info.stdout
    subprocess.run(["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) == pages


def test_a_failing_run_shows_the_deviations_first_each_with_its_evidence_plot(
    failing: Path, failing_html: str
) -> None:
    results = load_results(failing)
    failed = [c for s in results.scenarios for c in s.checks if c.verdict == "failed"]
    assert failed, "the mutated program must fail R4"
    html = failing_html
    assert html.index('id="deviations"') < html.index('id="matrix"') < html.index('id="scenarios"')
    deviations = html[html.index('id="deviations"') : html.index('id="matrix"')]
    blocks = deviations.split('<div class="deviation"')[1:]
    assert len(blocks) == len(failed)
    for block, check in zip(blocks, failed, strict=True):
        assert f'href="#{check.anchor}"' in block  # linked to the check in its scenario
        assert "<svg" in block  # the evidence timing diagram
        assert "evidence window" in block
    assert f'id="{failed[0].anchor}"' in html
    assert "FAILED" in markdown(results, None)


@pytest.mark.browser
def test_the_failing_report_keeps_its_plots_inside_the_page(
    failing_html: str, tmp_path: Path
) -> None:
    measured = _measure(failing_html, tmp_path)
    assert measured["sections"][:3] == ["cover", "deviations", "matrix"]
    assert measured["deviation_plots"] >= 1
    assert measured["over"] == [], measured


# -- vacuous checks ---------------------------------------------------------------------------

#: A line that runs with nothing on it: the pusher never extends, so R4's interlock holds
#: without its situation ever arising.
IDLE = """\
name: R4 interlock on an empty belt
description: The line runs with the infeed off; no box comes, the pusher never extends.
requirements: [R4]
model: {model}
duration: 4
steps:
  - fault: {{kind: actuator_stuck, id: infeed_off, tag: infeed_enable, value: false}}
  - hold: 0.3
  - pulse: {{tag: start_pb.pressed, for: 0.2}}
checks:
  - name: pusher never extended while the belt runs
    requirement: R4
    interlock:
      never: {{all: [{{tag: pusher_extend}}, {{tag: conveyor_run}}]}}
"""


def test_a_vacuous_interlock_from_a_run_that_never_extends_the_pusher_is_flagged(
    work: Path,
) -> None:
    scenario = work / "idle.yaml"
    scenario.write_text(IDLE.format(model=MODEL))
    results = load_results(_run(work, "idle", (str(scenario),)))
    check = next(c for c in results.scenarios[0].checks if c.kind == "interlock")
    assert check.verdict == "vacuous" and check.exercised is False
    assert check.conjuncts and not all(c["seen_true"] for c in check.conjuncts)
    html = build_report(results)
    coverage = html[html.index('id="coverage"') :]
    assert "NO: vacuous" in coverage
    assert "never TRUE" in coverage
    assert 'class="v v-vacuous"' in html
    assert "Vacuous checks" in html


def _document(**check: object) -> dict[str, object]:
    base = {"name": "guard", "kind": "interlock", "verdict": "passed", "message": "held"}
    return {"scenarios": [{"name": "idle", "verdict": "passed", "checks": [{**base, **check}]}]}


def test_the_contracts_vacuous_fields_are_shown_as_such_never_as_a_pass() -> None:
    vacuous = _document(
        verdict="vacuous",
        exercised=False,
        vacuity="pusher_extend never rose: the guarded situation never arose",
        criterion="never pusher_extend and conveyor_run in the same tick",
        tags=["pusher_extend", "conveyor_run"],
        conjuncts=[
            {"condition": "pusher_extend", "seen_true": False, "first_true_s": None},
            {"condition": "conveyor_run", "seen_true": True, "first_true_s": 0.52},
        ],
    )
    results = parse_results(json.dumps(vacuous), "vacuous.json")
    html = build_report(results)
    assert "Vacuous checks" in html
    assert "pusher_extend never rose" in html
    assert "NO: vacuous" in html and "TRUE at 0.520 s" in html
    assert 'Overall verdict: <span class="v v-vacuous">VACUOUS</span>' in html
    # An older file that does not record conjuncts: "not recorded", not "yes".
    old = build_report(parse_results(json.dumps(_document()), "old.json"))
    interlocks = old[old.index("Interlock coverage") : old.index("ST statement")]
    assert "not recorded" in interlocks and "yes" not in interlocks


# -- reproducibility, regression view, bad input ----------------------------------------------


def test_the_same_results_and_traces_give_a_byte_identical_html(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One build here, one in a fresh process with another hash seed (set and dict order).
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    here = tmp_path / "here.html"
    assert main(["report", str(good), "-o", str(here)]) == 0
    there = tmp_path / "there.html"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run(
        [sys.executable, "-m", "vcommission", "report", str(good), "-o", str(there)],
        check=True, env=env, cwd=ROOT, capture_output=True, timeout=120,
    )  # fmt: skip
    page = here.read_bytes()
    assert page == there.read_bytes()
    assert b"2023-11-14T22:13:20Z" in page
    assert b"<svg" in page
    # Self-contained: nothing is fetched from anywhere.
    assert not re.search(rb"(src|href)=\"(https?:)?//", page)
    assert b"<link" not in page and b"@import" not in page


def test_the_baseline_view_names_changed_verdicts_moved_figures_and_new_scenarios(
    good: Path, tmp_path: Path
) -> None:
    document = json.loads(good.read_text())
    old = json.loads(good.read_text())
    cycle = next(
        c for s in old["scenarios"] for c in s["checks"] if "p95_s" in c.get("figures", {})
    )
    cycle["figures"]["p95_s"] = 1.1
    first = old["scenarios"][0]
    first["checks"][0]["verdict"] = "failed"
    old["scenarios"].append({"name": "gone since", "verdict": "passed", "checks": []})
    renamed = {**document["scenarios"][0], "name": "renamed scenario"}
    document["scenarios"] = [*document["scenarios"][1:], renamed]
    new_path, old_path = tmp_path / "new.json", tmp_path / "old.json"
    new_path.write_text(json.dumps(document))
    old_path.write_text(json.dumps(old))
    regression = compare(load_results(old_path), load_results(new_path))
    assert regression.new_scenarios == ["renamed scenario"]
    assert set(regression.removed_scenarios) == {first["name"], "gone since"}
    moved = [m for m in regression.figures if m.figure == "p95_s"]
    assert moved and str(moved[0]).startswith("cycle_time p95 1.1 s -> ")

    summary, html = tmp_path / "summary.md", tmp_path / "fat.html"
    code = main(["report", str(new_path), "--baseline", str(old_path), "-o", str(html),
                 "--markdown", str(summary), "--traces", str(good.parent / "traces")])  # fmt: skip
    assert code == 0
    text = summary.read_text()
    assert text.startswith("## vcommission FAT report: PASSED")
    assert "New scenarios: renamed scenario" in text
    assert "cycle_time p95 1.1 s -> " in text
    page = html.read_text()
    assert 'id="regression"' in page and "cycle_time p95 1.1 s -&gt; " in page


def test_a_verdict_change_is_in_the_markdown_table(good: Path, tmp_path: Path) -> None:
    old = json.loads(good.read_text())
    old["scenarios"][0]["checks"][0]["verdict"] = "failed"
    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps(old))
    regression = compare(load_results(old_path), load_results(good))
    name = old["scenarios"][0]["checks"][0]["name"]
    assert [(v.check, v.before, v.after) for v in regression.verdicts] == [
        (name, "failed", "passed")
    ]
    assert f"| {name} | failed | passed |" in markdown(load_results(good), regression)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{\n  "scenarios": [\n    {"name": "x",}\n  ]\n}', r"bad\.json:3: not JSON"),
        ('{"summary": {}}', r"bad\.json:1: no 'scenarios'"),
        (
            '{"scenarios": [\n  {"name": "a", "verdict": "passed"},\n'
            '  {"name": "b", "verdict": "green"}\n]}',
            r"bad\.json:3: scenarios\[1\]\.verdict: unknown verdict 'green'",
        ),
        (
            '{"scenarios": [{"name": "a", "verdict": "passed",\n'
            '  "checks": [{"name": "c", "verdict": "passed",\n    "figures": {"max_s": "3"}}]}]}',
            r"bad\.json:3: scenarios\[0\]\.checks\[0\]\.figures\.max_s: expected a number",
        ),
    ],
)
def test_bad_results_get_a_located_error_and_exit_2(
    text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    assert main(["report", str(bad), "-o", str(tmp_path / "fat.html")]) == 2
    assert re.search(expected, capsys.readouterr().err)
    assert not (tmp_path / "fat.html").exists()


def test_a_missing_trace_is_an_error_naming_it(
    good: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(good.read_text())
    document["scenarios"][1]["trace_file"] = str(tmp_path / "nowhere.npz")
    moved = tmp_path / "results.json"
    moved.write_text(json.dumps(document))
    assert main(["report", str(moved), "-o", str(tmp_path / "fat.html")]) == 2
    err = capsys.readouterr().err
    assert "scenarios[1].trace_file" in err and "nowhere.npz" in err and "--traces" in err


def test_no_pdf_engine_is_a_clear_error_before_any_work(
    good: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on it
    monkeypatch.delenv("VCOMMISSION_CHROMIUM", raising=False)
    html = tmp_path / "fat.html"
    assert main(["report", str(good), "-o", str(html), "--pdf", str(tmp_path / "f.pdf")]) == 2
    assert "no PDF engine" in capsys.readouterr().err
    assert not html.exists()


def test_run_report_records_traces_itself_for_the_plots(tmp_path: Path) -> None:
    html = tmp_path / "fat.html"
    assert main(["run", str(SUITE / "r1_start.yaml"), "-j", "1", "--report", str(html)]) == 0
    page = html.read_text()
    assert "1 of 1 scenarios traced" in page
    assert page.count("<svg") >= 1
    assert "I/O coverage" in page and 'class="io"' in page


def test_run_report_with_json_keeps_the_traces_beside_it_for_a_later_report(
    tmp_path: Path,
) -> None:
    results = tmp_path / "results.json"
    args = ["run", str(SUITE / "r1_start.yaml"), "-j", "1", "--json", str(results)]
    assert main([*args, "--report", str(tmp_path / "fat.html")]) == 0
    assert list((tmp_path / "results-traces").glob("*.npz"))
    again = tmp_path / "again.html"
    assert main(["report", str(results), "-o", str(again)]) == 0  # the traces it names exist
    assert "1 of 1 scenarios traced" in again.read_text()


# -- the contract's recorded fields (req's run block and provenance, without a run) ----------

SOURCE = "PROGRAM P\nVAR x : BOOL; END_VAR\nIF x THEN\n  x := FALSE;\nEND_IF;\nEND_PROGRAM\n"


def _recorded() -> dict[str, object]:
    coverage = {
        "file": "p.st",
        "sha256": "ab" * 32,
        "statements": {"items": [{"line": 3, "col": 1, "hits": 5},
                                 {"line": 4, "col": 3, "hits": 0}]},
        "branches": {"items": [{"line": 3, "branch": "then", "hits": 0},
                               {"line": 3, "branch": "else", "hits": 5}]},
    }  # fmt: skip
    failed = {
        "name": "belt stops", "kind": "reaction", "verdict": "failed", "requirement": "R1",
        "message": "conveyor_run still TRUE 0.5 s after stop", "criterion": "within 100 ms",
        "figures": {"max_reaction_s": 0.5},
        "evidence": {"time_s": 2.0, "tags": ["stop", "conveyor_run"],
                     "window": [[0.0, "stop", False], [0.0, "conveyor_run", True],
                                [1.5, "stop", True], [2.5, "conveyor_run", False]]},
    }  # fmt: skip
    return {
        "run": {
            "vcommission": "9.9.9", "python": "3.11.7", "platform": "Linux", "seed": None,
            "started": "2026-01-02T03:04:05Z", "strict": True, "packages": {"numpy": "2.0"},
            "requirements": [
                {"id": "R1", "title": "Stop", "text": "The belt stops.", "criterion": "100 ms",
                 "category": "safety", "source": "spec 4.1"},
                {"id": "R10", "title": "Never tested", "text": "...", "criterion": "-",
                 "category": "function", "source": "spec 9"},
            ],
            "untested": ["R10"],
            "programs": {"ab" * 32: {"path": "p.st", "source": SOURCE}},
        },
        "scenarios": [{
            "name": "stop", "verdict": "failed", "requirements": ["R1"], "checks": [failed],
            "description": "Press stop while running.", "steps": ["pulse stop for 0.2 s"],
            "provenance": {"model": {"path": "nowhere/model", "sha256": "cd" * 32},
                           "scenario": {"path": "s.yaml", "sha256": "ef" * 32},
                           "plc": {"kind": "st", "files": [{"path": "p.st", "sha256": "ab" * 32}]},
                           "requirements": {"path": "requirements.yaml", "sha256": "12" * 32}},
            "st_coverage": coverage,
        }],
    }  # fmt: skip


def test_recorded_identity_untested_requirements_and_st_coverage_are_shown() -> None:
    html = build_report(parse_results(json.dumps(_recorded()), "recorded.json"))
    cover = html[: html.index('id="deviations"')]
    for sha in ("ab" * 32, "cd" * 32, "12" * 32):
        assert sha in cover
    assert "9.9.9" in cover and "2026-01-02T03:04:05Z" in cover
    matrix = html[html.index('id="matrix"') : html.index('id="scenarios"')]
    r10 = matrix[matrix.index("<b>R10</b>") :]
    assert "UNTESTED" in r10[:200] and "The belt stops." in matrix
    # The deviation's plot comes from its evidence window when there is no trace.
    deviation = html[html.index('class="deviation"') : html.index('id="matrix"')]
    assert "<svg" in deviation and "from the evidence window" in deviation
    assert "Press stop while running." in html and "pulse stop for 0.2 s" in html
    listing = html[html.index("ST statement and branch coverage") :]
    assert "statements 50.0 %" in listing and "branches 50.0 %" in listing
    assert "#####" in listing and "x := FALSE;" in listing and "then" in listing
    assert "numpy" in html[html.index('id="appendix"') :]
