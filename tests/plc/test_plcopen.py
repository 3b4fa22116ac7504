"""PLCopen TC6 XML: exports valid against the official schema, round trips, same verdicts, bounds.

The schema (``plcopen_schema/tc6_xml_v201.xsd``, see the README there) is loaded once; the
exports of both bundled programs are validated against it with xmlschema, read back, and
compared with the source as syntax trees. A representative part of the reference suite runs
in-process with ``sorting.st`` and with its PLCopen export: the verdicts, check messages and
traces must be the same. Hostile files (a DTD with entities, deep nesting, a file past the size
cap) and POUs in other languages are located errors.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import xmlschema

from tests.helpers import PLANT_MODELS, SORTING_LINE, SORTING_ST, SORTING_SUITE
from vcommission.cli import main
from vcommission.errors import PlcCompileError
from vcommission.plc import compile_program
from vcommission.plc import plcopen as plcopen_module
from vcommission.plc.parser import parse
from vcommission.plc.plcopen import export_plcopen, plcopen_source, read_plcopen
from vcommission.plc.unparse import unparse
from vcommission.scenario.loader import load_scenarios
from vcommission.scenario.runner import WorkerCache, run_scenario
from vcommission.scenario.trace import Trace

SCHEMA_FILE = Path(__file__).parent / "plcopen_schema" / "tc6_xml_v201.xsd"
PICK_AND_PLACE_ST = PLANT_MODELS / "pick_and_place" / "plc" / "pick_and_place.st"
#: Both bundled programs (the faulty ones are copies of sorting.st with one change each).
PROGRAMS = [SORTING_ST, PICK_AND_PLACE_ST]


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(SCHEMA_FILE)


@pytest.fixture(scope="module")
def sorting_xml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("plcopen") / "sorting.xml"
    path.write_text(export_plcopen(SORTING_ST.read_text(encoding="utf-8"), str(SORTING_ST)))
    return path


def _tree(source: str) -> str:
    library, issues = parse(source)
    assert not issues
    return unparse(library)


@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_export_is_schema_valid_and_round_trips(
    program: Path, schema: xmlschema.XMLSchema, tmp_path: Path
) -> None:
    source = program.read_text(encoding="utf-8")
    xml = export_plcopen(source, str(program))
    target = tmp_path / "out.xml"
    target.write_text(xml)
    errors = list(schema.iter_errors(str(target)))
    assert not errors, errors[0]
    back = read_plcopen(target)
    assert _tree(back.text) == _tree(source)


def test_export_keeps_body_comments_and_declaration_comments(sorting_xml: Path) -> None:
    xml = sorting_xml.read_text()
    assert "(* R7, R8 *)" in xml  # a comment in the program body, kept verbatim
    assert "<xhtml:p>append value this scan</xhtml:p>" in xml  # a declaration's comment
    assert '<variable name="start_pb" address="%IX0.0">' in xml
    assert '<task name="Main" interval="T#10ms" priority="1">' in xml
    assert '<resource name="Cpu">' in xml


def test_st_lines_sit_on_their_xml_lines(sorting_xml: Path) -> None:
    st = read_plcopen(sorting_xml)
    xml_lines = sorting_xml.read_text().split("\n")
    st_lines = st.text.split("\n")
    for index, verbatim in enumerate(st.verbatim):
        if verbatim:
            assert st.line_map[index] == index + 1
            assert xml_lines[index] == st_lines[index]


def test_compile_errors_and_faults_name_xml_lines(sorting_xml: Path, tmp_path: Path) -> None:
    text = sorting_xml.read_text()
    bad = tmp_path / "bad.xml"
    bad.write_text(text.replace("ELSIF NOT stop_pb_nc", "ELSIF NOT stop_pb_nx"))
    line = next(i for i, x in enumerate(bad.read_text().split("\n"), 1) if "stop_pb_nx" in x)
    with pytest.raises(PlcCompileError) as caught:
        compile_program(bad)
    assert [str(i) for i in caught.value.issues] == [
        f"{bad}:{line}:11: unknown variable 'stop_pb_nx'"
    ]


def _outcome(result: object) -> list[tuple[str, str, str]]:
    rows = [(result.verdict.value, result.name, result.error or "")]  # type: ignore[attr-defined]
    rows += [(c.verdict.value, c.name, c.message) for c in result.checks]  # type: ignore[attr-defined]
    return rows


#: Representative of the suite: start, the sorting pattern, a jam fault and an e-stop.
REPRESENTATIVE = ("r1_start.yaml", "r7_jam_pusher.yaml", "r6_estop_during_push.yaml")


def test_plcopen_export_runs_the_reference_suite_like_the_st(
    sorting_xml: Path, tmp_path: Path
) -> None:
    cache = WorkerCache()
    try:
        for name in REPRESENTATIVE:
            st_cases = load_scenarios(SORTING_SUITE / name, plc=SORTING_ST)
            xml_cases = load_scenarios(SORTING_SUITE / name, plc=sorting_xml)
            for i, (st_case, xml_case) in enumerate(zip(st_cases, xml_cases, strict=True)):
                assert xml_case.program_path == sorting_xml.resolve()
                st_result = run_scenario(st_case, cache, trace_dir=tmp_path / f"st{name}{i}")
                xml_result = run_scenario(xml_case, cache, trace_dir=tmp_path / f"xml{name}{i}")
                assert st_result.verdict.value == "passed", _outcome(st_result)
                assert _outcome(xml_result) == _outcome(st_result)
                # The same run, edge for edge (the header's meta names the program file).
                st_trace = Trace.load(st_result.trace_file or "")
                xml_trace = Trace.load(xml_result.trace_file or "")
                assert xml_trace.changes == st_trace.changes
                assert xml_trace.parts == st_trace.parts
                assert (xml_trace.names, xml_trace.initial) == (st_trace.names, st_trace.initial)
    finally:
        cache.close()


def test_cli_export_check_and_back(sorting_xml: Path, tmp_path: Path) -> None:
    out_xml, out_st = tmp_path / "s.xml", tmp_path / "s.st"
    model = str(SORTING_LINE)
    assert main(["plc", "--export-plcopen", str(out_xml), str(SORTING_ST), "--model", model]) == 0
    assert out_xml.read_text() == sorting_xml.read_text()  # deterministic: a second export
    assert main(["check", str(out_xml), "--model", model]) == 0
    assert main(["plc", "--export-st", str(out_st), str(out_xml)]) == 0
    assert _tree(out_st.read_text()) == _tree(SORTING_ST.read_text(encoding="utf-8"))
    assert main(["plc", "--export-st", str(out_st), str(SORTING_ST)]) == 3


# ---- hand-written projects and hostile files -------------------------------------------------

_HEAD = """<?xml version="1.0" encoding="utf-8"?>
<project xmlns="http://www.plcopen.org/xml/tc6_0201" xmlns:xhtml="http://www.w3.org/1999/xhtml">
  <fileHeader companyName="x" productName="x" productVersion="1"
              creationDateTime="2024-01-01T00:00:00"/>
  <contentHeader name="t"><coordinateInfo><fbd><scaling x="1" y="1"/></fbd>
    <ld><scaling x="1" y="1"/></ld><sfc><scaling x="1" y="1"/></sfc></coordinateInfo>
  </contentHeader>
"""

#: As CODESYS writes it: the GVL in the project's addData, the ST in an <xhtml> element.
CODESYS_STYLE = (
    _HEAD
    + """  <types><dataTypes/><pous>
    <pou name="Main" pouType="program">
      <interface>
        <localVars><variable name="n"><type><INT/></type>
          <initialValue><simpleValue value="5"/></initialValue></variable></localVars>
      </interface>
      <body><ST><xhtml xmlns="http://www.w3.org/1999/xhtml">n := n + 1;
lamp := n &gt; 7;</xhtml></ST></body>
    </pou>
    <pou name="Ladder" pouType="functionBlock">
      <interface/>
      <body><LD/></body>
    </pou>
  </pous></types>
  <instances><configurations>
    <configuration name="Config0"><resource name="Res0">
      <task name="T" interval="T#20ms" priority="0"><pouInstance name="i" typeName="Main"/></task>
    </resource></configuration>
  </configurations></instances>
  <addData><data name="http://www.3s-software.com/plcopenxml/globalvars"
                 handleUnknown="implementation">
    <globalVars name="GVL"><variable name="lamp" address="%QX0.0"><type><BOOL/></type>
      </variable></globalVars>
  </data></addData>
</project>
"""
)


def test_a_pou_in_ladder_is_a_located_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "codesys.xml"
    path.write_text(CODESYS_STYLE)
    with pytest.raises(PlcCompileError) as caught:
        read_plcopen(path)
    (issue,) = caught.value.issues
    assert (
        issue.line
        == CODESYS_STYLE.split("\n").index('    <pou name="Ladder" pouType="functionBlock">') + 1
    )
    assert "POU Ladder is written in Ladder Diagram (LD)" in issue.message


def test_codesys_style_project_compiles_and_runs(tmp_path: Path) -> None:
    path = tmp_path / "codesys.xml"
    path.write_text(CODESYS_STYLE.replace("<body><LD/></body>", "<body><ST><xhtml:p/></ST></body>"))
    program = compile_program(path)
    assert [t.interval_ns for t in program.tasks] == [20_000_000]
    assert [(p.name, p.location, p.output) for p in program.io] == [("lamp", "%QX0.0", True)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        pytest.param(
            '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
            ' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n]>\n'
            "<project>&lol2;</project>\n",
            2,
            "a DTD (<!DOCTYPE>) is not accepted",
            id="billion-laughs",
        ),
        pytest.param("<a>" * 150 + "</a>" * 150, 1, "nested more than 100 deep", id="deep"),
        pytest.param("<project>\n<types>\n</project>", 3, "not well-formed XML", id="malformed"),
        pytest.param("<project/>", 1, "not a PLCopen TC6 XML v2.01 project", id="not-plcopen"),
        pytest.param(
            _HEAD + '  <types><dataTypes/><pous>\n    <pou name="S" pouType="program">\n'
            "      <body><SFC/></body></pou></pous></types>\n"
            "  <instances><configurations/></instances>\n</project>\n",
            9,
            "POU S is written in SFC (SFC)",
            id="sfc",
        ),
    ],
)
def test_hostile_and_foreign_files_are_located_errors(
    text: str, line: int, words: str, tmp_path: Path
) -> None:
    path = tmp_path / "p.xml"
    path.write_text(text)
    started = time.perf_counter()
    with pytest.raises(PlcCompileError) as caught:
        compile_program(path)
    assert time.perf_counter() - started < 1.0
    (issue,) = caught.value.issues
    assert (issue.file, issue.line) == (str(path), line), issue
    assert words in issue.message


def test_file_size_cap(monkeypatch: pytest.MonkeyPatch, sorting_xml: Path) -> None:
    monkeypatch.setattr(plcopen_module, "MAX_XML_BYTES", 1000)
    with pytest.raises(PlcCompileError, match="larger than the 1000 bytes"):
        read_plcopen(sorting_xml)
    with pytest.raises(PlcCompileError, match="larger than the 1000 bytes"):
        plcopen_source(b" " * 1001)


def test_cli_check_reports_xml_errors_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "p.xml"
    path.write_text("<project>\n<types>\n</project>")
    assert main(["check", str(path)]) == 1
    assert f"{path}:3:" in capsys.readouterr().err


def test_a_scenario_names_a_plcopen_program(sorting_xml: Path, tmp_path: Path) -> None:
    text = (SORTING_SUITE / "r1_start.yaml").read_text(encoding="utf-8")
    text = text.replace("model: ../../plant_models/sorting_line", f"model: {SORTING_LINE}")
    scenario_file = tmp_path / "r1.yaml"
    scenario_file.write_text(text.replace("duration: 4", f"duration: 4\nplc:\n  st: {sorting_xml}"))
    (scenario,) = load_scenarios(scenario_file)
    assert scenario.program_path == sorting_xml.resolve()


def test_an_error_on_a_body_line_shared_with_its_tag_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "codesys.xml"
    text = CODESYS_STYLE.replace("<body><LD/></body>", "<body><ST><xhtml:p/></ST></body>")
    path.write_text(text.replace("n := n + 1;", "n := m + 1;"))
    line = next(i for i, x in enumerate(path.read_text().split("\n"), 1) if "n := m + 1;" in x)
    with pytest.raises(PlcCompileError) as caught:
        compile_program(path)
    # The ST column is not the XML column on this line (the code follows <xhtml ...>).
    assert [str(i) for i in caught.value.issues] == [f"{path}:{line}: unknown variable 'm'"]


def test_a_project_wrong_everywhere_lists_the_first_hundred_problems() -> None:
    pous = "".join(
        f'<pou name="P{i}" pouType="program"><body><LD/></body></pou>' for i in range(150)
    )
    text = f"{_HEAD}<types><dataTypes/><pous>{pous}</pous></types></project>"
    with pytest.raises(PlcCompileError) as caught:
        plcopen_source(text.encode(), "x.xml")
    messages = [issue.message for issue in caught.value.issues]
    assert len(messages) == 101
    assert "and 50 more problem(s) further on, not listed" in messages
