"""Tag tables: io-list --format tia|factoryio out, import-tags in, round trips, diffs, bounds.

Everything runs in-process (``vcommission.cli.main``) on real files: a TIA-format table (CSV and
xlsx) written from the bundled model is read back into a model file equal to the original;
each format's table of the unchanged model has no differences; edited tables give the
differences they should; bad rows and hostile files are located errors with exit 1.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from tests.helpers import SORTING_LINE, SORTING_ST
from vcommission.cli import main
from vcommission.config import tagtables
from vcommission.config.model import load_model

MODEL = str(SORTING_LINE)


@pytest.fixture(scope="module")
def model_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the bundled model, so written files land beside a model we own."""
    folder = tmp_path_factory.mktemp("model")
    (folder / "model.yaml").write_text((SORTING_LINE / "model.yaml").read_text(encoding="utf-8"))
    return folder / "model.yaml"


def _same_model(a: Path | str, b: Path | str) -> None:
    first, second = load_model(a), load_model(b)
    assert first.io_rows(include_internal=True) == second.io_rows(include_internal=True)
    assert first.table.signals == second.table.signals
    assert (first.addresses, first.scaling) == (second.addresses, second.scaling)


def test_tia_csv_has_tia_columns_and_byte_addresses(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["io-list", MODEL, "--format", "tia"]) == 0
    text = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(tagtables.TIA_COLUMNS)
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["start_pb"] == [
        "start_pb", "Default tag table", "Bool", "%I0.0", "start button, TRUE while pressed",
        "True", "True", "True", "", "",
    ]  # fmt: skip
    assert by_name["pusher_extended"][3] == "%I1.1"  # DI 9
    assert by_name["speed_actual"][2:4] == ["Int", "%IW0"]
    assert by_name["light_red"][3] == "%Q0.4"
    assert by_name["speed_sp"][2:4] == ["Int", "%QW0"]
    assert text.count("\r\n") == len(rows)  # CRLF, as TIA writes it


def test_tia_csv_round_trips_through_import(model_copy: Path, tmp_path: Path) -> None:
    table, written = tmp_path / "tags.csv", tmp_path / "model.yaml"
    assert main(["io-list", str(model_copy), "--format", "tia", "-o", str(table)]) == 0
    assert (
        main(["import-tags", str(table), "--format", "tia", "--model", str(model_copy), "--diff"])
        == 0
    )
    assert (
        main(
            [
                "import-tags",
                str(table),
                "--format",
                "tia",
                "--model",
                str(model_copy),
                "-o",
                str(written),
            ]
        )
        == 0
    )
    _same_model(model_copy, written)
    text = written.read_text()
    assert text.startswith((SORTING_LINE / "model.yaml").read_text().split("signals:")[0])
    assert "  speed_sp: {port: belt.speed_setpoint, type: INT, direction: to_plant, " in text


def test_tia_xlsx_round_trips(model_copy: Path, tmp_path: Path) -> None:
    workbook_file, written = tmp_path / "tags.xlsx", tmp_path / "model.yaml"
    assert main(["io-list", str(model_copy), "--format", "tia", "-o", str(workbook_file)]) == 0
    sheet = openpyxl.load_workbook(workbook_file)["PLC Tags"]
    assert [c.value for c in sheet[1]] == list(tagtables.TIA_COLUMNS)
    assert [c.value for c in sheet[2]][:4] == ["start_pb", "Default tag table", "Bool", "%I0.0"]
    assert (
        main(
            [
                "import-tags",
                str(workbook_file),
                "--format",
                "tia",
                "--model",
                str(model_copy),
                "-o",
                str(written),
            ]
        )
        == 0
    )
    _same_model(model_copy, written)


@pytest.mark.parametrize(
    ("fmt", "source"),
    [
        ("factoryio", ["io-list", MODEL, "--format", "factoryio"]),
        ("codesys", ["io-list", MODEL, "--format", "codesys"]),
        ("openplc", None),
    ],
)
def test_each_format_of_the_model_has_no_differences(
    fmt: str, source: list[str] | None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if source is None:
        table = SORTING_ST  # sorting.st declares its I/O at OpenPLC's addresses
    else:
        assert main(source) == 0
        table = tmp_path / "table.txt"
        table.write_text(capsys.readouterr().out)
    assert main(["import-tags", str(table), "--format", fmt, "--model", MODEL, "--diff"]) == 0
    assert "no differences" in capsys.readouterr().out


def test_factoryio_csv_layout(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["io-list", MODEL, "--format", "factoryio"]) == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[0] == ["Name", "Type", "Kind", "Address", "Description"]
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["pe_entry"][:4] == ["pe_entry", "Bit", "Input", "DI 4"]
    assert by_name["speed_sp"][:4] == ["speed_sp", "Int", "Output", "HR 0"]


def test_diff_names_missing_extra_type_and_address(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tagtables.tia_rows(load_model(SORTING_LINE))
    edited = [r for r in rows if r[0] != "light_red"]  # missing
    for row in edited:
        if row[0] == "pe_exit":
            row[3] = "%I2.0"  # address: DI 16, not DI 7
        if row[0] == "speed_actual":
            row[2], row[3] = "DInt", "%ID0"  # type
    edited.append(
        ["spare_in", "Default tag table", "Bool", "%I3.0", "", "True", "True", "True", "", ""]
    )
    table = tmp_path / "tags.csv"
    table.write_text(tagtables._csv_text(edited))
    code = main(["import-tags", str(table), "--format", "tia", "--model", MODEL, "--diff"])
    output = capsys.readouterr()
    assert code == 1
    lines = output.out.strip().split("\n")
    line_of = {r[0]: i for i, r in enumerate(edited, 1)}
    assert lines == [
        f"{table}:{line_of['pe_exit']}: address: pe_exit: table DI 16, model DI 7",
        f"{table}:{line_of['speed_actual']}: type: speed_actual: table DInt, model INT",
        f"{table}:{line_of['spare_in']}: extra: spare_in: DI 24 Bool: not in model sorting_line",
        f"{table}: missing: light_red: coil 4 BOOL to_plant: not in the table",
    ]
    assert "4 difference(s)" in output.err


def test_a_tag_without_a_port_is_left_as_a_comment(
    model_copy: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = tagtables.tia_rows(load_model(model_copy))
    rows.append(
        ["spare_in", "Default tag table", "Bool", "%I3.0", "", "True", "True", "True", "", ""]
    )
    rows.append(["belt_run", "Default tag table", "Bool", "%Q2.0", "", "", "", "", "", ""])
    rows = [r for r in rows if r[0] != "conveyor_run"]  # belt_run spells its port belt.run
    table, written = tmp_path / "tags.csv", tmp_path / "model.yaml"
    table.write_text(tagtables._csv_text(rows))
    code = main(
        [
            "import-tags",
            str(table),
            "--format",
            "tia",
            "--model",
            str(model_copy),
            "-o",
            str(written),
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert f"{table}:{len(rows) - 1}: spare_in: no port of model sorting_line" in err
    text = written.read_text()
    assert "  # spare_in: {type: BOOL, direction: from_plant, modbus: DI 24}" in text
    assert "  belt_run: {port: belt.run, type: BOOL, direction: to_plant, modbus: coil 16}" in text
    assert load_model(written).addresses["belt_run"].address == 16


@pytest.mark.parametrize(
    ("fmt", "text", "expected"),
    [
        (
            "tia",
            "Name,Path,Data Type,Logical Address\nstart_pb,t,Bool,%X0.0\n",
            ":2: Logical Address: '%X0.0' is not an address like %I0.0, %Q1.7, %IW64 or %QD4",
        ),
        ("tia", "Name,Path,Data Type,Logical Address\nx,t,Bool,%IW0\n", ":2: Logical Address: "),
        ("tia", "Name,Path,Data Type,Logical Address\nx,t,Int,%IW3\n", ":2: Logical Address: "),
        ("tia", "Name,Path,Data Type,Logical Address\nx,t,Struct,%IW2\n", ":2: Data Type: "),
        ("tia", "Name,Path,Data Type\nx,t,Bool\n", ":1: header lacks column(s) Logical Address"),
        ("factoryio", "Name,Type,Kind,Address\nx,Bit,Input,HR 0\n", ":2: Address: a Bit input"),
        ("factoryio", "Name,Type,Kind,Address\nx,Bit,Sideways,DI 0\n", ":2: Kind: "),
        ("codesys", "VAR_GLOBAL\n  a AT %IX0.0 : BOOL;\n  b AT %IW0 : BOOL;\nEND_VAR\n", ":3: b: "),
        (
            "codesys",
            "VAR_GLOBAL\n  a AT %IX0.0 : BOOL;\n  a AT %IX0.1 : BOOL;\nEND_VAR\n",
            ":3: a: ",
        ),
    ],
)
def test_bad_rows_are_located_errors(
    fmt: str, text: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "tags.csv"
    table.write_text(text)
    assert main(["import-tags", str(table), "--format", fmt, "--model", MODEL, "--diff"]) == 1
    assert f"{table}{expected}" in capsys.readouterr().err


def test_hostile_tables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    header = "Name,Path,Data Type,Logical Address\n"
    table = tmp_path / "tags.csv"

    def errors_of(text: str | bytes) -> str:
        if isinstance(text, bytes):
            table.write_bytes(text)
        else:
            table.write_text(text)
        assert main(["import-tags", str(table), "--format", "tia", "--model", MODEL, "--diff"]) == 1
        return capsys.readouterr().err

    assert f"{table}:3: not UTF-8 text (byte 0xe4)" in errors_of(
        (header + "a,t,Bool,%I0.0\nb\xe4,t,Bool,%I0.1\n").encode("latin-1")
    )
    monkeypatch.setattr(tagtables, "MAX_ISSUES", 2)
    bad = "".join(f"t{i},t,Bool,%X{i}\n" for i in range(5))
    told = errors_of(header + bad)
    assert told.count(f"{table}:") == 3
    assert f"{table}: and 3 more problem(s) in later rows, not listed" in told
    monkeypatch.setattr(tagtables, "MAX_FIELD_CHARS", 50)
    assert f"{table}:2: Name: longer than 50 characters" in errors_of(
        header + "x" * 51 + ",t,Bool,%I0.0\n"
    )
    monkeypatch.setattr(tagtables, "MAX_TABLE_ROWS", 3)
    rows = "".join(f"t{i},t,Bool,%I0.{i}\n" for i in range(5))
    assert f"{table}:5: more than 3 rows" in errors_of(header + rows)
    monkeypatch.setattr(tagtables, "MAX_TABLE_BYTES", 100)
    assert "larger than the 100 bytes a tag table may have" in errors_of(header + rows * 3)
    xlsx = tmp_path / "tags.xlsx"
    xlsx.write_bytes(b"PK not a zip")
    assert main(["import-tags", str(xlsx), "--format", "tia", "--model", MODEL, "--diff"]) == 1
    assert f"{xlsx}: not an xlsx workbook" in capsys.readouterr().err


def test_io_list_output_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["io-list", MODEL, "--format", "tia", "--xlsx"]) == 3
    assert main(["io-list", MODEL, "--format", "csv", "-o", "x.xlsx"]) == 3
    assert main(["io-list", MODEL, "--format", "tia", "--all"]) == 3
