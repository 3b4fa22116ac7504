"""Tag tables of PLC and simulation tools, out of and into a model's I/O list.

Written (``io-list --format tia|factoryio``) and read (``import-tags``):

- ``tia``: a TIA Portal PLC tag table as TIA exports it (Name, Path, Data Type, Logical
  Address, Comment, Hmi Visible, Hmi Accessible, Hmi Writeable, Typeobject ID, Version ID), as
  CSV or as the xlsx TIA itself exports and imports (sheet "PLC Tags"). Addresses are byte
  addresses: discrete input n is ``%I(n div 8).(n mod 8)``, coil n ``%Q..``, input register n
  ``%IW(2n)`` (``%ID(2n)`` for 32 bits), holding register n ``%QW(2n)``.
- ``factoryio``: Factory I/O's tag properties as CSV (Name, Type ``Bit|Int|Float``, Kind
  ``Input|Output`` as the PLC sees them, Address in the Modbus TCP/IP server driver's table and
  0-based offset, Description); see the README for why this layout.
- ``codesys`` (read only here; ``io-list --format codesys`` writes it): a global variable list,
  ``name AT %IX0.0 : BOOL; // comment``, OpenPLC's located addresses (the model's ``iec``).
- ``openplc`` (read only): an ST program's located variables, OpenPLC's addresses; a slave
  device's area (``%IX100.0``, ``%QX100.0``, ``%IW100``, ``%QW100`` on) counts from its start.

Reading is bounded (file size, rows, field size; the xlsx's unpacked size) and every bad row
is a located :class:`~vcommission.errors.ConfigIssue` (``file:line: column: message``).
:func:`signals_section` writes a model's ``signals:`` section from a table (wiring each tag
to a port through the model), :func:`differences` compares a table with a model.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vcommission.addressing import ModbusAddress, ModbusTable, register_count
from vcommission.errors import ConfigError, ConfigIssue
from vcommission.signals import Direction, SignalType

if TYPE_CHECKING:
    from vcommission.config.model import IoRow, Model

__all__ = [
    "FORMATS",
    "MAX_FIELD_CHARS",
    "MAX_TABLE_BYTES",
    "MAX_TABLE_ROWS",
    "TIA_COLUMNS",
    "Difference",
    "TagRow",
    "differences",
    "factoryio_csv",
    "read_tag_table",
    "signals_section",
    "tia_csv",
    "tia_rows",
    "tia_xlsx",
]

FORMATS = ("tia", "codesys", "factoryio", "openplc")
#: Largest tag table read (bytes, and unpacked for xlsx): some thousand times a real one.
MAX_TABLE_BYTES = 8 * 1024 * 1024
#: Most rows read: a hundred times the signals of a large line, and read in well under 1 s.
MAX_TABLE_ROWS = 20_000
#: Longest field (characters).
MAX_FIELD_CHARS = 4096

TIA_COLUMNS = (
    "Name", "Path", "Data Type", "Logical Address", "Comment", "Hmi Visible", "Hmi Accessible",
    "Hmi Writeable", "Typeobject ID", "Version ID",
)  # fmt: skip
#: The tag table TIA puts tags in unless told otherwise.
TIA_TABLE = "Default tag table"
TIA_SHEET = "PLC Tags"
FACTORYIO_COLUMNS = ("Name", "Type", "Kind", "Address", "Description")

_TIA_TYPE = {
    SignalType.BOOL: "Bool", SignalType.INT: "Int", SignalType.DINT: "DInt",
    SignalType.UINT: "UInt", SignalType.UDINT: "UDInt", SignalType.WORD: "Word",
    SignalType.DWORD: "DWord", SignalType.REAL: "Real", SignalType.LREAL: "LReal",
}  # fmt: skip
_TIA_TYPE_BACK = {v.lower(): k for k, v in _TIA_TYPE.items()}
_FACTORYIO_TYPE = {"bit": SignalType.BOOL, "int": SignalType.INT, "float": SignalType.REAL}
_TIA_ADDRESS = re.compile(r"^%?([IQM])([BWD]?)\s*(\d+)(?:\.(\d))?$", re.I)
_IEC_ADDRESS = re.compile(r"^%([IQM])([XBWDL]?)(\d+)(?:\.(\d+))?$", re.I)
#: A located declaration in ST text: ``name AT %IX0.0 : BOOL``.
_DECLARATION = re.compile(
    r"\b([A-Za-z_][A-Za-z0-9_]*)\s+AT\s+(%[A-Za-z]+[0-9.]+)\s*:\s*([A-Za-z_][A-Za-z0-9_]*)", re.I
)
_OPAQUE = re.compile(r"\(\*.*?\*\)|/\*.*?\*/|//[^\n]*|\{[^}]*\}|'(?:[^'$\n]|\$.)*'", re.S)
_COMMENT = re.compile(r"\(\*(.*?)\*\)|//(.*)$")
#: OpenPLC maps a Modbus slave device's tables from here (bits from byte 100).
_OPENPLC_SLAVE_BASE = 100


@dataclass(frozen=True)
class TagRow:
    """One tag read from a table: a PLC-facing signal as the tool sees it."""

    name: str
    #: None where the tool's type says less than an IEC type (Factory I/O's ``Int``).
    type: SignalType | None
    direction: Direction
    address: ModbusAddress
    description: str
    #: Line (CSV, ST) or row (xlsx) of the file, 1-based.
    line: int
    #: The type as the table wrote it.
    type_text: str = ""


# ---- writing -------------------------------------------------------------------------------


def _tia_address(row: IoRow, path: str) -> str:
    assert row.modbus is not None
    n = row.modbus.address
    area = "I" if row.direction is Direction.FROM_PLANT else "Q"
    if row.modbus.table.is_bit:
        return f"%{area}{n // 8}.{n % 8}"
    width = register_count(row.type)
    if width > 2:
        raise ConfigError(
            f"{path}: signal {row.tag!r} is {row.type.value}: TIA I/O addresses are at most "
            "32 bits wide (%ID): use REAL, or scale it to an integer"
        )
    return f"%{area}{'W' if width == 1 else 'D'}{2 * n}"


def tia_rows(model: Model) -> list[list[str]]:
    """The rows of a TIA Portal PLC tag table for ``model``'s PLC-facing signals, header first."""
    rows = [list(TIA_COLUMNS)]
    for row in model.io_rows():
        rows.append(
            [
                row.tag,
                TIA_TABLE,
                _TIA_TYPE[row.type],
                _tia_address(row, model.path),
                " ".join(row.description.split()),
                # TIA's defaults for a new tag: visible, accessible, writeable from HMI.
                "True",
                "True",
                "True",
                "",
                "",
            ]
        )
    return rows


def _csv_text(rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


def tia_csv(model: Model) -> str:
    """``model``'s TIA Portal tag table as CSV (comma separated, CRLF, as TIA writes it)."""
    return _csv_text(tia_rows(model))


def tia_xlsx(model: Model) -> bytes:
    """``model``'s TIA Portal tag table as the xlsx TIA imports (needs the ``tags`` extra)."""
    try:
        from openpyxl import Workbook
    except ImportError:
        from vcommission.errors import VcommissionError

        raise VcommissionError(
            "xlsx tag tables need openpyxl: pip install 'vcommission[tags]'"
        ) from None
    import datetime

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = TIA_SHEET
    for values in tia_rows(model):
        sheet.append(values)
    # Fixed dates: the same model gives the same cells and properties run to run.
    fixed = datetime.datetime(2000, 1, 1)
    workbook.properties.created = fixed
    workbook.properties.modified = fixed
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def factoryio_csv(model: Model) -> str:
    """``model``'s PLC-facing signals as a Factory I/O tag CSV (see the module docstring)."""
    rows = [list(FACTORYIO_COLUMNS)]
    for row in model.io_rows():
        assert row.modbus is not None
        kind = "Input" if row.direction is Direction.FROM_PLANT else "Output"
        type_ = "Bit" if row.type.is_bool else "Float" if row.type.is_float else "Int"
        rows.append([row.tag, type_, kind, str(row.modbus), " ".join(row.description.split())])
    return _csv_text(rows)


# ---- reading -------------------------------------------------------------------------------


#: Most problems reported one by one: a table wrong on every row says so in a screenful.
MAX_ISSUES = 100


class _Issues:
    def __init__(self, file: str) -> None:
        self.file = file
        self.issues: list[ConfigIssue] = []
        self.untold = 0

    def add(self, line: int, column: str, message: str) -> None:
        if len(self.issues) >= MAX_ISSUES:
            self.untold += 1
            return
        self.issues.append(ConfigIssue(self.file, line, column, message))

    def raise_if_any(self) -> None:
        if self.untold:
            more = f"and {self.untold} more problem(s) in later rows, not listed"
            self.issues.append(ConfigIssue(self.file, 0, "", more))
            self.untold = 0
        if self.issues:
            raise ConfigError(self.issues)


def _read_bytes(path: Path) -> bytes:
    file = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_TABLE_BYTES:
            raise ConfigError(
                ConfigIssue(
                    file,
                    0,
                    "",
                    f"{size} bytes: larger than the {MAX_TABLE_BYTES} bytes a tag table may have",
                )
            )
        return path.read_bytes()
    except OSError as error:
        raise ConfigError(ConfigIssue(file, 0, "", f"cannot read: {error.strerror}")) from None


def _text(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        message = f"not UTF-8 text (byte {data[error.start]:#04x}): save the file as UTF-8"
        raise ConfigError(ConfigIssue(file, line, "", message)) from None


def _csv_records(
    text: str, file: str, columns: tuple[str, ...]
) -> list[tuple[int, dict[str, str]]]:
    """(line, {column: value}) per data row; the header must name ``columns`` (any order)."""
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    records: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    issues = _Issues(file)
    try:
        for values in reader:
            line = reader.line_num
            if header is None:
                header = [v.strip() for v in values]
                missing = [c for c in columns if c not in header]
                if missing:
                    issues.add(
                        line,
                        "",
                        f"header lacks column(s) {', '.join(missing)} "
                        f"(expected {', '.join(columns)})",
                    )
                    issues.raise_if_any()
                continue
            if not any(v.strip() for v in values):
                continue
            if len(records) >= MAX_TABLE_ROWS:
                issues.add(line, "", f"more than {MAX_TABLE_ROWS} rows")
                issues.raise_if_any()
            long = [i for i, v in enumerate(values) if len(v) > MAX_FIELD_CHARS]
            if long:
                column = header[long[0]] if long[0] < len(header) else f"field {long[0] + 1}"
                issues.add(line, column, f"longer than {MAX_FIELD_CHARS} characters")
                continue
            records.append((line, dict(zip(header, (v.strip() for v in values), strict=False))))
    except csv.Error as error:
        issues.add(reader.line_num, "", f"not CSV: {error}")
    issues.raise_if_any()
    if header is None:
        raise ConfigError(ConfigIssue(file, 0, "", "empty file: no header row"))
    return records


def _xlsx_records(data: bytes, file: str) -> list[tuple[int, dict[str, str]]]:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        raise ConfigError(
            ConfigIssue(file, 0, "", "not an xlsx workbook (not a zip archive)")
        ) from None
    if unpacked > MAX_TABLE_BYTES:
        raise ConfigError(
            ConfigIssue(file, 0, "", f"unpacks to {unpacked} bytes: more than {MAX_TABLE_BYTES}")
        )
    try:
        from openpyxl import load_workbook
    except ImportError:
        from vcommission.errors import VcommissionError

        raise VcommissionError(
            "xlsx tag tables need openpyxl: pip install 'vcommission[tags]'"
        ) from None
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a broken workbook
        raise ConfigError(
            ConfigIssue(file, 0, "", f"not a readable xlsx workbook: {error}")
        ) from None
    sheet = workbook[TIA_SHEET] if TIA_SHEET in workbook.sheetnames else workbook.worksheets[0]
    records: list[tuple[int, dict[str, str]]] = []
    header: list[str] | None = None
    issues = _Issues(file)
    for number, cells in enumerate(sheet.iter_rows(values_only=True), 1):
        values = ["" if c is None else str(c).strip() for c in cells]
        if header is None:
            header = values
            missing = [c for c in TIA_COLUMNS[:4] if c not in header]
            if missing:
                issues.add(number, "", f"header lacks column(s) {', '.join(missing)}")
                break
            continue
        if not any(values):
            continue
        if len(records) >= MAX_TABLE_ROWS:
            issues.add(number, "", f"more than {MAX_TABLE_ROWS} rows")
            break
        long = [i for i, v in enumerate(values) if len(v) > MAX_FIELD_CHARS]
        if long:
            issues.add(number, header[long[0]] if long[0] < len(header) else "", "field too long")
            continue
        records.append((number, dict(zip(header, values, strict=False))))
    workbook.close()
    issues.raise_if_any()
    return records


def _from_tia(records: list[tuple[int, dict[str, str]]], issues: _Issues) -> list[TagRow]:
    rows = []
    for line, record in records:
        name, type_text = record.get("Name", ""), record.get("Data Type", "")
        address_text = record.get("Logical Address", "").replace(" ", "")
        type_ = _TIA_TYPE_BACK.get(type_text.strip('"').lower())
        if not name:
            issues.add(line, "Name", "empty")
            continue
        if type_ is None:
            known = ", ".join(_TIA_TYPE.values())
            issues.add(line, "Data Type", f"{type_text!r} is not a plant signal type ({known})")
            continue
        match = _TIA_ADDRESS.match(address_text)
        if match is None:
            issues.add(
                line,
                "Logical Address",
                f"{address_text!r} is not an address like %I0.0, %Q1.7, %IW64 or %QD4",
            )
            continue
        area, size, number, bit = (
            match.group(1).upper(),
            match.group(2).upper(),
            match.group(3),
            match.group(4),
        )
        if area == "M":
            continue  # a memory tag: the PLC's own, not plant I/O
        direction = Direction.FROM_PLANT if area == "I" else Direction.TO_PLANT
        byte = int(number)
        if type_.is_bool:
            if size or bit is None:
                issues.add(
                    line, "Logical Address", f"{address_text}: a Bool has a bit address (%I0.0)"
                )
                continue
            table = ModbusTable.for_signal(type_, direction)
            address = 8 * byte + int(bit)
        else:
            expected = "W" if register_count(type_) == 1 else "D"
            if size != expected or bit is not None:
                issues.add(
                    line,
                    "Logical Address",
                    f"{address_text}: a {type_text} sits at %{area}{expected}<byte>",
                )
                continue
            if byte % 2:
                issues.add(
                    line,
                    "Logical Address",
                    f"{address_text}: an odd byte address does not fall on a 16-bit register",
                )
                continue
            table = ModbusTable.for_signal(type_, direction)
            address = byte // 2
        modbus = _address(table, address, line, "Logical Address", issues)
        if modbus is not None:
            description = record.get("Comment", "")
            rows.append(TagRow(name, type_, direction, modbus, description, line, type_text))
    return rows


def _address(
    table: ModbusTable, address: int, line: int, column: str, issues: _Issues
) -> ModbusAddress | None:
    try:
        return ModbusAddress(table, address)
    except ValueError as error:
        issues.add(line, column, str(error))
        return None


def _from_factoryio(records: list[tuple[int, dict[str, str]]], issues: _Issues) -> list[TagRow]:
    rows = []
    for line, record in records:
        name, type_text = record.get("Name", ""), record.get("Type", "")
        kind = record.get("Kind", "").lower()
        if not name:
            issues.add(line, "Name", "empty")
            continue
        if type_text.lower() not in _FACTORYIO_TYPE:
            issues.add(line, "Type", f"{type_text!r}: write Bit, Int or Float")
            continue
        if kind not in ("input", "output"):
            issues.add(line, "Kind", f"{record.get('Kind', '')!r}: write Input or Output")
            continue
        try:
            modbus = ModbusAddress.from_yaml_scalar(record.get("Address", ""))
        except ValueError as error:
            issues.add(line, "Address", str(error))
            continue
        direction = Direction.FROM_PLANT if kind == "input" else Direction.TO_PLANT
        type_ = _FACTORYIO_TYPE[type_text.lower()]
        if modbus.table is not ModbusTable.for_signal(type_, direction):
            expected = ModbusTable.for_signal(type_, direction)
            issues.add(
                line,
                "Address",
                f"a {type_text} {kind} belongs in {expected.short}, not {modbus.table.short}",
            )
            continue
        # Int says "a register", not which integer type: the model's type decides.
        rows.append(
            TagRow(
                name,
                None if type_text.lower() == "int" else type_,
                direction,
                modbus,
                record.get("Description", ""),
                line,
                type_text,
            )
        )
    return rows


def _iec_address(text: str, type_: SignalType, openplc: bool) -> tuple[ModbusTable, int] | str:
    """Table and address of an OpenPLC-convention located address, or what is wrong."""
    match = _IEC_ADDRESS.match(text)
    if match is None:
        return f"{text!r} is not a located address like %IX0.0, %QX0.1, %IW0 or %QW0"
    area, size, number, bit = (
        match.group(1).upper(),
        match.group(2).upper(),
        int(match.group(3)),
        match.group(4),
    )
    if area == "M":
        return "memory"
    direction = Direction.FROM_PLANT if area == "I" else Direction.TO_PLANT
    if openplc and number >= _OPENPLC_SLAVE_BASE:
        number -= _OPENPLC_SLAVE_BASE
    if type_.is_bool:
        if size not in ("", "X") or bit is None:
            return f"{text}: a BOOL has a bit address (%{area}X0.0)"
        if int(bit) > 7:
            return f"{text}: bit {bit} is not 0..7"
        return ModbusTable.for_signal(type_, direction), 8 * number + int(bit)
    expected = {1: "W", 2: "D", 4: "L"}[register_count(type_)]
    if size != expected or bit is not None:
        return f"{text}: a {type_.value} sits at %{area}{expected}<n>"
    return ModbusTable.for_signal(type_, direction), number


def _from_st(text: str, issues: _Issues, openplc: bool) -> list[TagRow]:
    masked = _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), text)
    lines = text.split("\n")
    rows = []
    for match in _DECLARATION.finditer(masked):
        line = masked.count("\n", 0, match.start()) + 1
        if len(rows) >= MAX_TABLE_ROWS:
            issues.add(line, "", f"more than {MAX_TABLE_ROWS} declarations")
            break
        name, address_text, type_text = (
            match.group(1),
            match.group(2).upper(),
            match.group(3).upper(),
        )
        try:
            type_ = SignalType(type_text)
        except ValueError:
            issues.add(
                line,
                name,
                f"type {type_text} is not a plant signal type "
                f"({', '.join(t.value for t in SignalType)})",
            )
            continue
        where = _iec_address(address_text, type_, openplc)
        if where == "memory":
            continue
        if isinstance(where, str):
            issues.add(line, name, where)
            continue
        table, address = where
        end_line = masked.count("\n", 0, match.end())
        rest = lines[end_line][match.end() - (masked.rfind("\n", 0, match.end()) + 1) :]
        comment = _COMMENT.search(rest)
        description = (
            " ".join((comment.group(1) or comment.group(2) or "").split()) if comment else ""
        )
        modbus = _address(table, address, line, name, issues)
        if modbus is not None:
            rows.append(TagRow(name, type_, table.direction, modbus, description, line, type_text))
    return rows


def read_tag_table(path: str | Path, fmt: str) -> list[TagRow]:
    """The PLC-facing tags of a tag table (memory tags are skipped).

    Raises:
        ConfigError: with every bad row, each ``file:line: column: message``.
    """
    path = Path(path)
    file = str(path)
    data = _read_bytes(path)
    issues = _Issues(file)
    if fmt == "tia":
        records = (
            _xlsx_records(data, file)
            if path.suffix.lower() == ".xlsx"
            else _csv_records(_text(data, file), file, TIA_COLUMNS[:4])
        )
        rows = _from_tia(records, issues)
    elif fmt == "factoryio":
        rows = _from_factoryio(_csv_records(_text(data, file), file, FACTORYIO_COLUMNS[:4]), issues)
    elif fmt in ("codesys", "openplc"):
        rows = _from_st(_text(data, file), issues, openplc=fmt == "openplc")
    else:
        raise ValueError(f"unknown tag table format {fmt!r}")
    seen: dict[str, int] = {}
    for row in rows:
        key = row.name.lower()
        if key in seen:
            issues.add(row.line, row.name, f"tag {row.name!r} already at line {seen[key]}")
        seen.setdefault(key, row.line)
    issues.raise_if_any()
    return rows


# ---- against a model -----------------------------------------------------------------------


@dataclass(frozen=True)
class Difference:
    """One way a tag table and a model disagree."""

    #: ``missing`` (in the model, not the table), ``extra`` (the other way), ``type``,
    #: ``address`` or ``direction``.
    kind: str
    tag: str
    message: str
    #: The table's line, 0 for a tag the table lacks.
    line: int = 0


def _type_matches(row: TagRow, model_type: SignalType) -> bool:
    if row.type is not None:
        return row.type is model_type
    # Factory I/O's Int: any integer type of one register.
    return model_type.is_integer and register_count(model_type) == 1


def differences(model: Model, rows: list[TagRow]) -> list[Difference]:
    """Missing, extra, and type, direction or address mismatches, table order then model order."""
    model_rows = {r.tag.lower(): r for r in model.io_rows()}
    found: list[Difference] = []
    named = set()
    for row in rows:
        io_row = model_rows.get(row.name.lower())
        if io_row is None:
            found.append(
                Difference(
                    "extra",
                    row.name,
                    f"{row.address} {row.type_text}: not in model {model.name}",
                    row.line,
                )
            )
            continue
        named.add(io_row.tag.lower())
        if io_row.direction is not row.direction:
            found.append(
                Difference(
                    "direction",
                    row.name,
                    f"table {row.direction.value}, model {io_row.direction.value}",
                    row.line,
                )
            )
        elif not _type_matches(row, io_row.type):
            found.append(
                Difference(
                    "type", row.name, f"table {row.type_text}, model {io_row.type.value}", row.line
                )
            )
        elif row.address != io_row.modbus:
            found.append(
                Difference(
                    "address", row.name, f"table {row.address}, model {io_row.modbus}", row.line
                )
            )
    for key, io_row in model_rows.items():
        if key not in named:
            found.append(
                Difference(
                    "missing",
                    io_row.tag,
                    f"{io_row.modbus} {io_row.type.value} {io_row.direction.value}: "
                    "not in the table",
                )
            )
    return found


def _yaml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def signals_section(model: Model, rows: list[TagRow]) -> tuple[str, list[TagRow]]:
    """A ``signals:`` section for ``model`` from ``rows``, and the rows no port was found for.

    Each tag is wired to the port of the model's signal of the same name, else of the signal
    at the same address and direction, else to the port its name spells (``belt_run`` or
    ``belt.run``). Tags without a port are written as comments, to be wired by hand.
    """
    from vcommission.signals import is_identifier

    by_name = {r.tag.lower(): r for r in model.io_rows()}
    by_address = {(r.modbus, r.direction): r for r in model.io_rows()}
    ports: dict[int, list[str]] = {}
    for port_path, index in model.wiring.items():
        ports.setdefault(index, []).append(port_path)
    index_of = {signal.name: i for i, signal in enumerate(model.table)}
    spelled = {path.replace(".", "_").lower(): path for path in model.wiring}
    spelled.update({path.lower(): path for path in model.wiring})
    lines = ["signals:"]
    unwired: list[TagRow] = []
    for row in rows:
        io_row = by_name.get(row.name.lower()) or by_address.get((row.address, row.direction))
        type_ = row.type
        if io_row is not None:
            wired = ports.get(index_of[io_row.tag], [io_row.port])
            type_ = type_ or io_row.type
        elif row.name.lower() in spelled:
            wired = [spelled[row.name.lower()]]
        else:
            wired = []
        fields = []
        if len(wired) == 1:
            fields.append(f"port: {wired[0]}")
        elif wired:
            fields.append(f"port: [{', '.join(wired)}]")
        if type_ is not None:
            fields.append(f"type: {type_.value}")
        fields.append(f"direction: {row.direction.value}")
        fields.append(f"modbus: {row.address}")
        if io_row is not None:
            signal = model.table[io_row.tag]
            scaling = model.scaling.get(io_row.tag)
            if signal.default != signal.type.zero:
                fields.append(f"default: {signal.default}")
            if signal.range is not None:
                fields.append(f"range: [{signal.range[0]:g}, {signal.range[1]:g}]")
            if scaling is not None:
                fields.append(f"scale: {scaling.scale:g}")
                if scaling.offset:
                    fields.append(f"offset: {scaling.offset:g}")
                fields.append(f"raw_type: {scaling.raw.value}")
        description = row.description or (io_row.description if io_row is not None else "")
        if description:
            fields.append(f"description: {_yaml_string(description)}")
        entry = f"  {row.name}: {{{', '.join(fields)}}}"
        if not wired or not is_identifier(row.name):
            unwired.append(row)
            lines.append(
                f"  # line {row.line}: no port found for this tag: wire it (port: component.port)"
            )
            lines.append(f"  #{entry[1:]}")
        else:
            lines.append(entry)
    return "\n".join(lines) + "\n", unwired
