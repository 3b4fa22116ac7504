"""PLCopen TC6 XML (v2.01) projects in and out: the interchange format of CODESYS, TwinCAT, Beremiz.

:func:`read_plcopen` reads a project holding Structured Text POUs (programs, function
blocks, functions), data types, global variable lists (with addresses) and a
configuration / resource / task, and writes it as the project's own ST text
(:class:`StSource`), which :func:`vcommission.plc.compile_program` then compiles: an
``.xml`` program runs wherever an ``.st`` one does. A POU written in another language (LD,
FBD, SFC, IL) is a located error naming it. Each ST line is placed on the XML line it
came from where the XML leaves room (pretty-printed XML always does), so compile errors
and runtime faults name the XML file's own lines; where it does not, ``line_map`` maps
them back.

:func:`export_plcopen` turns an ST file into such a project (the round trip the tests
drive): POU bodies keep their text and comments; declarations, types and the configuration
become XML elements, one-line trailing comments their ``documentation``.

The XML is read with expat under bounds, since a program file may come from anywhere: a
size cap, no DTD (so no entity expansion: no "billion laughs"), a nesting-depth cap and an
element-count cap, each a located error.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from vcommission.errors import PlcCompileError, SourceIssue
from vcommission.plc import nodes as n
from vcommission.plc.unparse import unparse

__all__ = [
    "MAX_XML_BYTES",
    "MAX_XML_DEPTH",
    "MAX_XML_ELEMENTS",
    "NAMESPACE",
    "StSource",
    "export_plcopen",
    "is_plcopen",
    "read_plcopen",
]

#: The namespace of PLCopen TC6 XML v2.01.
NAMESPACE = "http://www.plcopen.org/xml/tc6_0201"
_XHTML = "http://www.w3.org/1999/xhtml"
#: Largest project file read (bytes): far above real projects' ST (sorting.st is 20 kB).
MAX_XML_BYTES = 16 * 1024 * 1024
#: Deepest element nesting accepted: PLCopen ST projects stay under 20 (nested array types
#: and graphical bodies add a few).
MAX_XML_DEPTH = 100
#: Most elements in one file (the export of sorting.st has about 330): reached in well
#: under a second.
MAX_XML_ELEMENTS = 50_000

_BLOCK_ELEMENT = {
    "VAR": "localVars",
    "VAR_TEMP": "tempVars",
    "VAR_INPUT": "inputVars",
    "VAR_OUTPUT": "outputVars",
    "VAR_IN_OUT": "inOutVars",
    "VAR_EXTERNAL": "externalVars",
    "VAR_GLOBAL": "globalVars",
}
_ELEMENT_BLOCK = {v: k for k, v in _BLOCK_ELEMENT.items()}
_QUALIFIER_ATTRIBUTE = {
    "CONSTANT": "constant",
    "RETAIN": "retain",
    "NON_RETAIN": "nonretain",
    "PERSISTENT": "persistent",
}
_POU_TYPE = {"PROGRAM": "program", "FUNCTION_BLOCK": "functionBlock", "FUNCTION": "function"}
_POU_KIND = {v: k for k, v in _POU_TYPE.items()}
#: Elementary types the schema names as elements (``string``/``wstring`` take a length).
_XML_ELEMENTARY = {
    "BOOL", "BYTE", "WORD", "DWORD", "LWORD", "SINT", "INT", "DINT", "LINT", "USINT", "UINT",
    "UDINT", "ULINT", "REAL", "LREAL", "TIME", "DATE", "DT", "TOD",
}  # fmt: skip
_ST_SPELLING = {"DATE_AND_TIME": "DT", "TIME_OF_DAY": "TOD"}
#: Most problems listed one by one (a project wrong everywhere says so in a screenful).
_MAX_ISSUES = 100
_GRAPHICAL = {"LD": "Ladder Diagram", "FBD": "Function Block Diagram", "SFC": "SFC", "IL": "IL"}
#: Comments, pragmas and strings blanked before keywords are looked for (as the parser does).
_OPAQUE = re.compile(r"\(\*.*?\*\)|/\*.*?\*/|//[^\n]*|\{[^}]*\}|'(?:[^'$\n]|\$.)*'", re.S)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRAILING_COMMENT = re.compile(r";\s*(?:\(\*(.*?)\*\)|//(.*?))\s*$")
_RESOURCE = re.compile(r"\bRESOURCE\s+([A-Za-z_][A-Za-z0-9_]*)", re.I)
#: Fixed so an export is byte-identical run to run (the schema requires a date).
_CREATED = "1970-01-01T00:00:00"
#: The version of the format's writer; not the package's (the layer rule keeps plc/ from
#: importing it, and an export should not change with every release).
_PRODUCT_VERSION = "1"


def is_plcopen(path: str | Path) -> bool:
    """Whether a program path names a PLCopen XML project (by its suffix)."""
    return Path(path).suffix.lower() == ".xml"


# ---- bounded XML reading --------------------------------------------------------------------


@dataclass
class _Element:
    tag: str
    namespace: str
    attrs: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)
    #: Text directly inside: each chunk's place in the document, text and first line.
    text: list[tuple[int, str, int]] = field(default_factory=list)

    def child(self, tag: str) -> _Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def all(self, tag: str) -> list[_Element]:
        return [c for c in self.children if c.tag == tag]

    def all_text(self) -> tuple[str, int]:
        """Every text below, in document order, and the line the first chunk starts on."""
        chunks: list[tuple[int, str, int]] = []
        self._collect(chunks)
        # Text and child elements interleave: document order is the chunks' sequence.
        chunks.sort()
        return "".join(t for _, t, _ in chunks), (chunks[0][2] if chunks else self.line)

    def _collect(self, chunks: list[tuple[int, str, int]]) -> None:
        chunks.extend(self.text)
        for child in self.children:
            child._collect(chunks)


class _XmlError(Exception):
    def __init__(self, line: int, col: int, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.col = col
        self.message = message


def _parse_xml(data: bytes, file: str) -> _Element:
    """The element tree of ``data``, bounded (see the module docstring)."""
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    stack: list[_Element] = []
    root: list[_Element] = []
    count = 0
    sequence = itertools.count()

    def here() -> tuple[int, int]:
        return parser.CurrentLineNumber, parser.CurrentColumnNumber + 1

    def doctype(*_args: object) -> None:
        raise _XmlError(*here(), "a DTD (<!DOCTYPE>) is not accepted in a PLCopen project")

    def entity(*_args: object) -> None:
        raise _XmlError(*here(), "entity declarations are not accepted")

    def start(name: str, attrs: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if len(stack) >= MAX_XML_DEPTH:
            raise _XmlError(*here(), f"elements nested more than {MAX_XML_DEPTH} deep")
        if count > MAX_XML_ELEMENTS:
            raise _XmlError(*here(), f"more than {MAX_XML_ELEMENTS} elements")
        namespace, _, tag = name.rpartition(" ")
        plain = {key.rpartition(" ")[2]: value for key, value in attrs.items()}
        element = _Element(tag, namespace, plain, parser.CurrentLineNumber)
        if stack:
            stack[-1].children.append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text.append((next(sequence), data, parser.CurrentLineNumber))

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = entity
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(data, True)
    except _XmlError as error:
        raise PlcCompileError([SourceIssue(file, error.line, error.col, error.message)]) from None
    except expat.ExpatError as error:
        message = expat.errors.messages.get(error.code, str(error))
        issue = SourceIssue(file, error.lineno, error.offset + 1, f"not well-formed XML: {message}")
        raise PlcCompileError([issue]) from None
    return root[0]


# ---- XML -> ST ------------------------------------------------------------------------------


@dataclass
class StSource:
    """ST text made from a PLCopen project, and where each of its lines came from."""

    text: str
    #: 0-based ST line -> 1-based XML line (0 for lines with no counterpart).
    line_map: list[int]
    #: 0-based ST line -> whether it is XML text copied verbatim (so columns agree too).
    verbatim: list[bool]

    def locate(self, issue: SourceIssue, file: str) -> SourceIssue:
        """``issue`` (about the ST text) moved to the XML line it came from."""
        index = issue.line - 1
        if 0 <= index < len(self.line_map) and self.line_map[index]:
            col = issue.col if self.verbatim[index] else 0
            return SourceIssue(file, self.line_map[index], col, issue.message)
        return SourceIssue(file, 0, 0, issue.message)


class _StWriter:
    """Lines of ST, each placed on its XML line when the XML is at least as tall."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.line_map: list[int] = []
        self.verbatim: list[bool] = []

    def emit(self, text: str, xml_line: int, *, verbatim: bool = False) -> None:
        while xml_line > len(self.lines) + 1:
            self.lines.append("")
            self.line_map.append(0)
            self.verbatim.append(False)
        self.lines.append(text)
        self.line_map.append(xml_line)
        self.verbatim.append(verbatim)

    def source(self) -> StSource:
        return StSource("\n".join(self.lines) + "\n", self.line_map, self.verbatim)


class _Reader:
    """Walks a PLCopen project and writes its ST."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.out = _StWriter()
        self.issues: list[SourceIssue] = []
        self.untold = 0

    def fail(self, element: _Element, message: str) -> None:
        if len(self.issues) < _MAX_ISSUES:
            self.issues.append(SourceIssue(self.file, element.line, 0, message))
        else:
            self.untold += 1

    def name(self, element: _Element, what: str) -> str | None:
        name = element.attrs.get("name", "").strip()
        if not _WORD.fullmatch(name):
            self.fail(element, f"{what} needs a name that is an ST identifier, got {name!r}")
            return None
        return name

    # -- types and values

    def type_text(self, holder: _Element | None) -> str | None:
        """ST text of the data type held by ``holder`` (a <type>, <baseType>, <returnType>)."""
        if holder is None or not holder.children:
            where = holder if holder is not None else None
            if where is not None:
                self.fail(where, f"<{where.tag}> names no data type")
            return None
        element = holder.children[0]
        tag = element.tag
        if tag in _XML_ELEMENTARY:
            return tag
        if tag in ("string", "wstring"):
            length = element.attrs.get("length")
            word = tag.upper()
            return f"{word}[{length}]" if length else word
        if tag == "derived":
            return self.name(element, "a derived type")
        if tag == "array":
            ranges = []
            for dimension in element.all("dimension"):
                low, high = dimension.attrs.get("lower"), dimension.attrs.get("upper")
                if low is None or high is None:
                    self.fail(dimension, "an array dimension needs lower and upper")
                    return None
                ranges.append(f"{low}..{high}")
            base = self.type_text(element.child("baseType"))
            if not ranges or base is None:
                if not ranges:
                    self.fail(element, "an array needs at least one <dimension>")
                return None
            return f"ARRAY[{', '.join(ranges)}] OF {base}"
        if tag in ("subrangeSigned", "subrangeUnsigned"):
            bounds = element.child("range")
            base = self.type_text(element.child("baseType"))
            if bounds is None or base is None:
                if bounds is None:
                    self.fail(element, "a subrange needs a <range>")
                return None
            return f"{base}({bounds.attrs.get('lower', '')}..{bounds.attrs.get('upper', '')})"
        if tag == "pointer":
            self.fail(element, "pointer types are not supported by the built-in PLC")
            return None
        self.fail(element, f"data type <{tag}> is not supported here")
        return None

    def value_text(self, value: _Element | None) -> str | None:
        """ST initializer text of an <initialValue> (or a nested <value>)."""
        if value is None or not value.children:
            return None
        inner = value.children[0]
        if inner.tag == "simpleValue":
            return inner.attrs.get("value", "")
        if inner.tag == "arrayValue":
            items = []
            for item in inner.all("value"):
                text = self.value_text(item) or ""
                repeat = item.attrs.get("repetitionValue", "1").strip()
                items.append(text if repeat == "1" else f"{repeat}({text})")
            return "[" + ", ".join(items) + "]"
        if inner.tag == "structValue":
            members = []
            for item in inner.all("value"):
                members.append(f"{item.attrs.get('member', '')} := {self.value_text(item) or ''}")
            return "(" + ", ".join(members) + ")"
        self.fail(inner, f"initial value <{inner.tag}> is not supported")
        return None

    # -- declarations

    def var_list(self, element: _Element, kind: str, indent: str) -> None:
        qualifiers = [
            q
            for q, attribute in _QUALIFIER_ATTRIBUTE.items()
            if element.attrs.get(attribute, "false").strip() in ("true", "1")
        ]
        self.out.emit(indent + " ".join([kind, *qualifiers]), element.line)
        for variable in element.all("variable"):
            name = self.name(variable, "a variable")
            type_text = self.type_text(variable.child("type"))
            if name is None or type_text is None:
                continue
            text = name
            address = variable.attrs.get("address", "").strip()
            if address:
                text += f" AT {address}"
            text += f" : {type_text}"
            init = self.value_text(variable.child("initialValue"))
            if init is not None:
                text += f" := {init}"
            text += ";" + _comment(variable.child("documentation"))
            self.out.emit(f"{indent}    {text}", variable.line)
        self.out.emit(indent + "END_VAR", element.line)

    def data_types(self, data_types: _Element) -> None:
        decls = data_types.all("dataType")
        if not decls:
            return
        self.out.emit("TYPE", data_types.line)
        for decl in decls:
            name = self.name(decl, "a data type")
            base = decl.child("baseType")
            if name is None or base is None or not base.children:
                if base is None or not base.children:
                    self.fail(decl, "a data type needs a <baseType>")
                continue
            inner = base.children[0]
            init = self.value_text(decl.child("initialValue"))
            default = f" := {init}" if init is not None else ""
            if inner.tag == "struct":
                self.out.emit(f"    {name} : STRUCT", decl.line)
                for variable in inner.all("variable"):
                    member = self.name(variable, "a struct member")
                    type_text = self.type_text(variable.child("type"))
                    if member is None or type_text is None:
                        continue
                    member_init = self.value_text(variable.child("initialValue"))
                    text = f"{member} : {type_text}"
                    text += f" := {member_init}" if member_init is not None else ""
                    comment = _comment(variable.child("documentation"))
                    self.out.emit(f"        {text};{comment}", variable.line)
                self.out.emit("    END_STRUCT;", decl.line)
            elif inner.tag == "enum":
                values = []
                holder = inner.child("values")
                for value in holder.all("value") if holder is not None else []:
                    value_name = self.name(value, "an enumerated value")
                    if value_name is None:
                        continue
                    number = value.attrs.get("value")
                    values.append(value_name if number is None else f"{value_name} := {number}")
                base_type = inner.child("baseType")
                prefix = ""
                if base_type is not None and base_type.children:
                    prefix = f"{self.type_text(base_type)} "
                self.out.emit(f"    {name} : {prefix}({', '.join(values)}){default};", decl.line)
            else:
                type_text = self.type_text(base)
                if type_text is not None:
                    self.out.emit(f"    {name} : {type_text}{default};", decl.line)
        self.out.emit("END_TYPE", data_types.line)

    # -- POUs

    def pou(self, pou: _Element) -> None:
        name = self.name(pou, "a POU")
        pou_type = pou.attrs.get("pouType", "")
        kind = _POU_KIND.get(pou_type)
        if name is None:
            return
        if kind is None:
            expected = "program, functionBlock or function"
            self.fail(pou, f"POU {name}: pouType {pou_type!r} is not {expected}")
            return
        bodies = pou.all("body")
        languages = [c.tag for b in bodies for c in b.children if c.tag in (*_GRAPHICAL, "ST")]
        language = "ST" if "ST" in languages else (languages[0] if languages else None)
        if language is None:
            self.fail(pou, f"POU {name} has no <body>")
            return
        if language != "ST":
            self.fail(
                pou,
                f"POU {name} is written in {_GRAPHICAL[language]} ({language}): only Structured "
                "Text POUs can be read (convert it to ST in the source tool)",
            )
            return
        for extra in ("actions", "transitions"):
            holder = pou.child(extra)
            if holder is not None and holder.children:
                self.fail(holder, f"POU {name}: {extra} are not supported (write them as ST code)")
                return
        interface = pou.child("interface")
        header = f"{kind} {name}"
        if interface is not None and interface.child("returnType") is not None:
            return_type = self.type_text(interface.child("returnType"))
            if return_type is None:
                return
            header += f" : {return_type}"
        elif kind == "FUNCTION":
            self.fail(pou, f"FUNCTION {name} needs a <returnType> in its <interface>")
            return
        self.out.emit(header, pou.line)
        for block in interface.children if interface is not None else []:
            block_kind = _ELEMENT_BLOCK.get(block.tag)
            if block_kind is not None:
                self.var_list(block, block_kind, "")
            elif block.tag not in ("returnType", "addData", "documentation"):
                self.fail(block, f"POU {name}: <{block.tag}> is not supported")
        st = next(c for b in bodies for c in b.children if c.tag == "ST")
        text, line = st.all_text()
        body_lines = text.split("\n")
        # Blank lines around the code carry nothing; dropping them keeps the rest aligned.
        # The text's first line shares its XML line with the opening tag (or CDATA) unless a
        # line break comes first: only lines that start an XML line have the same columns.
        starts_line = False
        while body_lines and not body_lines[0].strip():
            body_lines.pop(0)
            line += 1
            starts_line = True
        while body_lines and not body_lines[-1].strip():
            body_lines.pop()
        for offset, body_line in enumerate(body_lines):
            self.out.emit(body_line, line + offset, verbatim=offset > 0 or starts_line)
        self.out.emit(f"END_{kind}", self.out_line_after(st))

    def out_line_after(self, element: _Element) -> int:
        # The END_ keyword has no XML line of its own: the body's last line is as close.
        return self.out.line_map[-1] if self.out.line_map else element.line

    # -- configurations

    def configuration(self, config: _Element) -> None:
        name = self.name(config, "a configuration")
        if name is None:
            return
        self.out.emit(f"CONFIGURATION {name}", config.line)
        for block in config.all("globalVars"):
            self.var_list(block, "VAR_GLOBAL", "    ")
        for resource in config.all("resource"):
            resource_name = self.name(resource, "a resource")
            if resource_name is None:
                continue
            self.out.emit(f"    RESOURCE {resource_name} ON PLC", resource.line)
            for block in resource.all("globalVars"):
                self.var_list(block, "VAR_GLOBAL", "        ")
            instances: list[tuple[_Element, str | None]] = []
            for task in resource.all("task"):
                task_name = self.name(task, "a task")
                if task_name is None:
                    continue
                params = []
                if task.attrs.get("single"):
                    params.append(f"SINGLE := {task.attrs['single']}")
                if task.attrs.get("interval"):
                    params.append(f"INTERVAL := {task.attrs['interval']}")
                params.append(f"PRIORITY := {task.attrs.get('priority', '0')}")
                self.out.emit(f"        TASK {task_name}({', '.join(params)});", task.line)
                instances += [(i, task_name) for i in task.all("pouInstance")]
            instances += [(i, None) for i in resource.all("pouInstance")]
            for instance, task_name in instances:
                instance_name = self.name(instance, "a POU instance")
                type_name = instance.attrs.get("typeName", "").strip()
                if instance_name is None:
                    continue
                if not _WORD.fullmatch(type_name):
                    self.fail(instance, f"POU instance {instance_name} needs a typeName")
                    continue
                with_task = f" WITH {task_name}" if task_name else ""
                self.out.emit(
                    f"        PROGRAM {instance_name}{with_task} : {type_name};", instance.line
                )
            self.out.emit("    END_RESOURCE", resource.line)
        self.out.emit("END_CONFIGURATION", config.line)

    def project(self, root: _Element) -> None:
        if root.tag != "project" or root.namespace != NAMESPACE:
            where = f"{{{root.namespace}}}{root.tag}" if root.namespace else root.tag
            self.fail(
                root,
                f"not a PLCopen TC6 XML v2.01 project: root element {where}, "
                f"expected project in namespace {NAMESPACE}",
            )
            return
        types = root.child("types")
        if types is not None:
            data_types = types.child("dataTypes")
            if data_types is not None:
                self.data_types(data_types)
        # CODESYS keeps its global variable lists in the project's addData.
        for add_data in root.all("addData"):
            for data in add_data.all("data"):
                for block in data.all("globalVars"):
                    self.var_list(block, "VAR_GLOBAL", "")
        if types is not None:
            pous = types.child("pous")
            for pou in pous.all("pou") if pous is not None else []:
                self.pou(pou)
        instances = root.child("instances")
        configurations = instances.child("configurations") if instances is not None else None
        for config in configurations.all("configuration") if configurations is not None else []:
            self.configuration(config)


def _comment(documentation: _Element | None) -> str:
    if documentation is None:
        return ""
    text = " ".join(documentation.all_text()[0].split())
    # "*)" inside the text would end the comment early.
    return f"  (* {text.replace('*)', '* )')} *)" if text else ""


def read_plcopen(path: str | Path) -> StSource:
    """The ST text of the PLCopen TC6 XML project at ``path``.

    Raises:
        PlcCompileError: unreadable, too large, not well-formed, a DTD, too deep, not a
            PLCopen project, or a POU not in ST; each located by XML line.
    """
    file = str(path)
    try:
        size = Path(path).stat().st_size
        if size > MAX_XML_BYTES:
            message = f"{size} bytes: larger than the {MAX_XML_BYTES} bytes a project may have"
            raise PlcCompileError([SourceIssue(file, 0, 0, message)])
        data = Path(path).read_bytes()
    except OSError as error:
        raise PlcCompileError([SourceIssue(file, 0, 0, f"cannot read: {error.strerror}")]) from None
    return plcopen_source(data, file)


def plcopen_source(data: bytes, file: str = "<string>") -> StSource:
    """Like :func:`read_plcopen`, from the file's bytes."""
    if len(data) > MAX_XML_BYTES:
        message = f"{len(data)} bytes: larger than the {MAX_XML_BYTES} bytes a project may have"
        raise PlcCompileError([SourceIssue(file, 0, 0, message)])
    root = _parse_xml(data, file)
    reader = _Reader(file)
    reader.project(root)
    if reader.untold:
        more = f"and {reader.untold} more problem(s) further on, not listed"
        reader.issues.append(SourceIssue(file, 0, 0, more))
    if reader.issues:
        raise PlcCompileError(reader.issues)
    return reader.out.source()


# ---- ST -> XML ------------------------------------------------------------------------------


class _Writer:
    """Writes a parsed ST library as PLCopen XML, two-space indented."""

    def __init__(self, library: n.Library, file: str) -> None:
        self.library = library
        self.file = file
        self.source = library.source
        self.lines_of_source = self.source.split("\n")
        self.masked = _OPAQUE.sub(lambda m: re.sub(r"[^\n]", " ", m.group()), self.source)
        starts = [0]
        for line in self.lines_of_source:
            starts.append(starts[-1] + len(line) + 1)
        self.line_starts = starts
        self.out: list[str] = []

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col - 1

    def w(self, depth: int, text: str) -> None:
        self.out.append("  " * depth + text)

    def fail(self, line: int, message: str) -> None:
        raise PlcCompileError([SourceIssue(self.file, line, 0, message)])

    # -- types and values

    def type_xml(self, ref: n.TypeRef, depth: int) -> None:
        if isinstance(ref, n.NamedTypeRef):
            name = _ST_SPELLING.get(ref.name.upper(), ref.name.upper())
            if name in _XML_ELEMENTARY:
                self.w(depth, f"<{name}/>")
            else:
                self.w(depth, f"<derived name={quoteattr(ref.name)}/>")
        elif isinstance(ref, n.StringTypeRef):
            tag = "wstring" if ref.wide else "string"
            length = f" length={quoteattr(unparse(ref.size))}" if ref.size is not None else ""
            self.w(depth, f"<{tag}{length}/>")
        elif isinstance(ref, n.ArrayTypeRef):
            self.w(depth, "<array>")
            for low, high in ref.ranges:
                lower, upper = quoteattr(unparse(low)), quoteattr(unparse(high))
                self.w(depth + 1, f"<dimension lower={lower} upper={upper}/>")
            self.w(depth + 1, "<baseType>")
            self.type_xml(ref.element, depth + 2)
            self.w(depth + 1, "</baseType>")
            self.w(depth, "</array>")
        elif isinstance(ref, n.SubrangeTypeRef):
            tag = "subrangeUnsigned" if ref.base.upper().startswith("U") else "subrangeSigned"
            self.w(depth, f"<{tag}>")
            lower, upper = quoteattr(unparse(ref.low)), quoteattr(unparse(ref.high))
            self.w(depth + 1, f"<range lower={lower} upper={upper}/>")
            self.w(depth + 1, "<baseType>")
            self.type_xml(n.NamedTypeRef(ref.line, ref.col, ref.base), depth + 2)
            self.w(depth + 1, "</baseType>")
            self.w(depth, f"</{tag}>")
        else:  # pragma: no cover - every TypeRef the parser makes is handled above
            self.fail(ref.line, f"cannot write type {type(ref).__name__}")

    def value_xml(self, init: object, depth: int, attribute: str = "") -> None:
        """A ppx:value element's content for an initializer, wrapped by the caller."""
        if isinstance(init, list):
            self.w(depth, "<arrayValue>")
            i = 0
            while i < len(init):
                j = i + 1
                # ``[3(0)]`` shares one node three times: a repetition, as written.
                while j < len(init) and init[j] is init[i]:
                    j += 1
                repeat = f' repetitionValue="{j - i}"' if j - i > 1 else ""
                self.w(depth + 1, f"<value{repeat}>")
                self.value_xml(init[i], depth + 2)
                self.w(depth + 1, "</value>")
                i = j
            self.w(depth, "</arrayValue>")
        elif isinstance(init, dict):
            self.w(depth, "<structValue>")
            for member, value in init.items():
                self.w(depth + 1, f"<value member={quoteattr(member)}>")
                self.value_xml(value, depth + 2)
                self.w(depth + 1, "</value>")
            self.w(depth, "</structValue>")
        elif init is None:
            self.w(depth, "<simpleValue/>")
        else:
            assert isinstance(init, n.Expr)
            self.w(depth, f"<simpleValue value={quoteattr(unparse(init))}/>")

    def documentation(self, text: str, depth: int) -> None:
        if text:
            self.w(depth, "<documentation>")
            self.w(depth + 1, f"<xhtml:p>{escape(text)}</xhtml:p>")
            self.w(depth, "</documentation>")

    def trailing_comment(self, line: int) -> str:
        """A one-line comment after a declaration's semicolon, as its documentation."""
        if not 0 < line <= len(self.lines_of_source):
            return ""
        match = _TRAILING_COMMENT.search(self.lines_of_source[line - 1])
        return " ".join((match.group(1) or match.group(2) or "").split()) if match else ""

    def variables(self, block: n.VarBlock, tag: str, depth: int) -> None:
        attributes = "".join(
            f' {_QUALIFIER_ATTRIBUTE[q]}="true"'
            for q in block.qualifiers
            if q in _QUALIFIER_ATTRIBUTE
        )
        self.w(depth, f"<{tag}{attributes}>")
        self.variable_entries(block.decls, depth + 1)
        self.w(depth, f"</{tag}>")

    def variable_entries(self, decls: list[n.VarDecl], depth: int) -> None:
        depth -= 1
        for decl in decls:
            for name in decl.names:
                address = f" address={quoteattr(decl.location)}" if decl.location else ""
                self.w(depth + 1, f"<variable name={quoteattr(name)}{address}>")
                self.w(depth + 2, "<type>")
                self.type_xml(decl.type, depth + 3)
                self.w(depth + 2, "</type>")
                if decl.init is not None:
                    self.w(depth + 2, "<initialValue>")
                    self.value_xml(decl.init, depth + 3)
                    self.w(depth + 2, "</initialValue>")
                self.documentation(self.trailing_comment(decl.line), depth + 2)
                self.w(depth + 1, "</variable>")

    def data_type(self, decl: n.TypeDecl, depth: int) -> None:
        self.w(depth, f"<dataType name={quoteattr(decl.name)}>")
        self.w(depth + 1, "<baseType>")
        init: object = None
        if isinstance(decl, n.StructDecl):
            self.w(depth + 2, "<struct>")
            self.variable_entries(decl.fields, depth + 3)
            self.w(depth + 2, "</struct>")
        elif isinstance(decl, n.EnumDecl):
            self.w(depth + 2, "<enum>")
            self.w(depth + 3, "<values>")
            for name, value, _line in decl.values:
                number = f" value={quoteattr(unparse(value))}" if value is not None else ""
                self.w(depth + 4, f"<value name={quoteattr(name)}{number}/>")
            self.w(depth + 3, "</values>")
            if decl.base:
                self.w(depth + 3, "<baseType>")
                self.type_xml(n.NamedTypeRef(decl.line, decl.col, decl.base), depth + 4)
                self.w(depth + 3, "</baseType>")
            self.w(depth + 2, "</enum>")
            if decl.default:
                init = n.Name(decl.line, decl.col, decl.default)
        elif isinstance(decl, n.AliasDecl):
            self.type_xml(decl.type, depth + 2)
            init = decl.init
        self.w(depth + 1, "</baseType>")
        if init is not None:
            self.w(depth + 1, "<initialValue>")
            self.value_xml(init, depth + 2)
            self.w(depth + 1, "</initialValue>")
        self.w(depth, "</dataType>")

    # -- POUs

    def body_text(self, pou: n.Pou) -> str:
        """The POU's statements as written, comments included."""
        start = self.offset(pou.line, pou.col)
        closing = f"END_{pou.kind}"
        end = None
        for match in _WORD.finditer(self.masked, start):
            if match.group().upper() == closing:
                end = match.start()
                break
        if end is None:  # pragma: no cover - the parser accepted the POU, so it is closed
            self.fail(pou.line, f"{pou.name}: no {closing}")
        first = self.offset(pou.body[0].line, pou.body[0].col) if pou.body else end
        body_start = first
        if pou.blocks:
            for match in _WORD.finditer(self.masked, start, first):
                if match.group().upper() == "END_VAR":
                    body_start = match.end()
        text = self.source[body_start:end]
        lines = text.split("\n")
        while lines and not lines[0].strip():
            lines.pop(0)
        while lines and not lines[-1].strip():
            lines.pop()
        return "\n".join(line.rstrip() for line in lines)

    def pou(self, pou: n.Pou, depth: int) -> None:
        pou_type = _POU_TYPE[pou.kind]
        self.w(depth, f'<pou name={quoteattr(pou.name)} pouType="{pou_type}">')
        self.w(depth + 1, "<interface>")
        if pou.return_type is not None:
            self.w(depth + 2, "<returnType>")
            self.type_xml(pou.return_type, depth + 3)
            self.w(depth + 2, "</returnType>")
        for block in pou.blocks:
            tag = _BLOCK_ELEMENT.get(block.kind)
            if tag is None:
                self.fail(block.line, f"{block.kind} has no PLCopen counterpart")
            self.variables(block, tag, depth + 2)
        self.w(depth + 1, "</interface>")
        self.w(depth + 1, "<body>")
        self.w(depth + 2, "<ST>")
        text = self.body_text(pou).replace("]]>", "]]]]><![CDATA[>")
        self.out.append(f"{'  ' * (depth + 3)}<xhtml:p><![CDATA[")
        self.out.append(text)
        self.out.append(f"{'  ' * (depth + 3)}]]></xhtml:p>")
        self.w(depth + 2, "</ST>")
        self.w(depth + 1, "</body>")
        self.w(depth, "</pou>")

    # -- configurations

    def configuration(self, config: n.Config, extra_globals: list[n.VarBlock], depth: int) -> None:
        self.w(depth, f"<configuration name={quoteattr(config.name)}>")
        match = _RESOURCE.search(self.masked, self.offset(config.line, config.col))
        resource = match.group(1) if match else "Res0"
        self.w(depth + 1, f"<resource name={quoteattr(resource)}>")
        by_task: dict[str, list[n.ProgramConfig]] = {}
        for program in config.programs:
            by_task.setdefault((program.task or "").lower(), []).append(program)
        for task in config.tasks:
            attributes = []
            for param, attribute in (("SINGLE", "single"), ("INTERVAL", "interval")):
                if param in task.params:
                    attributes.append(f" {attribute}={quoteattr(unparse(task.params[param]))}")
            priority = task.params.get("PRIORITY")
            attributes.append(f" priority={quoteattr(unparse(priority) if priority else '0')}")
            programs = by_task.pop(task.name.lower(), [])
            self.w(depth + 2, f"<task name={quoteattr(task.name)}{''.join(attributes)}>")
            for program in programs:
                self.pou_instance(program, depth + 3)
            self.w(depth + 2, "</task>")
        for programs in by_task.values():
            for program in programs:
                if program.task is not None:
                    self.fail(program.line, f"PROGRAM {program.instance}: no TASK {program.task}")
                self.pou_instance(program, depth + 2)
        self.w(depth + 1, "</resource>")
        for block in [*config.blocks, *extra_globals]:
            self.variables(block, "globalVars", depth + 1)
        self.w(depth, "</configuration>")

    def pou_instance(self, program: n.ProgramConfig, depth: int) -> None:
        name, type_name = quoteattr(program.instance), quoteattr(program.type_name)
        self.w(depth, f"<pouInstance name={name} typeName={type_name}/>")

    def project(self, name: str) -> str:
        lib = self.library
        if lib.globals and not lib.configs:
            self.fail(
                lib.globals[0].line,
                "VAR_GLOBAL outside a CONFIGURATION has no place in "
                "PLCopen XML: move it into the CONFIGURATION",
            )
        self.out.append('<?xml version="1.0" encoding="utf-8"?>')
        self.out.append(f'<project xmlns="{NAMESPACE}" xmlns:xhtml="{_XHTML}">')
        self.w(
            1,
            f'<fileHeader companyName="vcommission" productName="vcommission" '
            f'productVersion="{_PRODUCT_VERSION}" creationDateTime="{_CREATED}"/>',
        )
        self.w(1, f"<contentHeader name={quoteattr(name)}>")
        self.w(2, "<coordinateInfo>")
        for language in ("fbd", "ld", "sfc"):
            self.w(3, f'<{language}><scaling x="1" y="1"/></{language}>')
        self.w(2, "</coordinateInfo>")
        self.w(1, "</contentHeader>")
        self.w(1, "<types>")
        self.w(2, "<dataTypes>")
        for decl in lib.types:
            self.data_type(decl, 3)
        self.w(2, "</dataTypes>")
        self.w(2, "<pous>")
        for pou in lib.pous:
            self.pou(pou, 3)
        self.w(2, "</pous>")
        self.w(1, "</types>")
        self.w(1, "<instances>")
        self.w(2, "<configurations>")
        for i, config in enumerate(lib.configs):
            self.configuration(config, lib.globals if i == 0 else [], 3)
        self.w(2, "</configurations>")
        self.w(1, "</instances>")
        self.out.append("</project>")
        return "\n".join(self.out) + "\n"


def export_plcopen(source: str, file: str = "<string>", *, name: str | None = None) -> str:
    """A PLCopen TC6 XML v2.01 project holding the ST ``source``.

    Raises:
        PlcCompileError: the source does not parse, or holds something PLCopen XML cannot.
    """
    from vcommission.plc.parser import parse

    library, issues = parse(source, file)
    if issues:
        raise PlcCompileError(issues)
    project_name = name or (library.configs[0].name if library.configs else Path(file).stem)
    return _Writer(library, file).project(project_name)
