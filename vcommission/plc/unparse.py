"""Unparser: a syntax tree of :mod:`vcommission.plc.nodes` back to Structured Text.

``unparse(node)`` writes readable ST (four-space indentation, one statement per line,
keywords in upper case, the fewest parentheses the precedence needs) that parses back to
an equal tree, positions aside: ``parse(unparse(parse(text)))`` has the same nodes as
``parse(text)``, and unparsing is idempotent. Comments, pragmas and the original layout
are not in the tree and so not in the text; literals come out in one canonical spelling
(``16#FF`` as ``255``, ``T#1.5s`` as ``T#1s500ms``). A library comes out as its TYPEs,
then its VAR_GLOBAL blocks, POUs and CONFIGURATIONs, each group in source order.
"""

from __future__ import annotations

import math

from vcommission.plc import nodes as n

__all__ = ["unparse"]

_INDENT = "    "

#: Binding strength of binary operators (IEC 61131-3 table 71), loosest first.
_PRECEDENCE = {
    "OR": 1,
    "XOR": 2,
    "AND": 3,
    "&": 3,
    "=": 4,
    "<>": 4,
    "<": 5,
    ">": 5,
    "<=": 5,
    ">=": 5,
    "+": 6,
    "-": 6,
    "*": 7,
    "/": 7,
    "MOD": 7,
    "**": 8,
}
_UNARY = 9
_ATOM = 10

_TIME_UNITS = (
    ("d", 86_400_000_000_000),
    ("h", 3_600_000_000_000),
    ("m", 60_000_000_000),
    ("s", 1_000_000_000),
    ("ms", 1_000_000),
    ("us", 1_000),
    ("ns", 1),
)
_ESCAPES = {"$": "$$", "'": "$'", "\n": "$N", "\r": "$R", "\t": "$T", "\f": "$P"}


def unparse(node: object) -> str:
    """ST text of a node: a library, element, statement (or list), declaration or expression.

    Expressions and type references come out as one line without a newline; everything
    else as lines, each ending with a newline.
    """
    if isinstance(node, n.Expr):
        return _expr(node)
    if isinstance(node, n.TypeRef):
        return _type_ref(node)
    lines: list[str] = []
    if isinstance(node, n.Library):
        _library(node, lines)
    elif isinstance(node, n.Pou):
        _pou(node, lines)
    elif isinstance(node, n.Config):
        _config(node, lines)
    elif isinstance(node, n.TypeDecl):
        _types([node], lines)
    elif isinstance(node, n.VarBlock):
        _var_block(node, 0, lines)
    elif isinstance(node, n.VarDecl):
        lines.append(_var_decl(node))
    elif isinstance(node, n.Statement):
        _statement(node, 0, lines)
    elif isinstance(node, list) and all(isinstance(s, n.Statement) for s in node):
        _statements(node, 0, lines)
    else:
        raise TypeError(f"cannot unparse {type(node).__name__}")
    return "".join(line + "\n" for line in lines)


# ---- library elements -----------------------------------------------------------------------


def _library(lib: n.Library, lines: list[str]) -> None:
    groups: list[list[str]] = []
    if lib.types:
        groups.append([])
        _types(lib.types, groups[-1])
    for block in lib.globals:
        groups.append([])
        _var_block(block, 0, groups[-1])
    for pou in lib.pous:
        groups.append([])
        _pou(pou, groups[-1])
    for config in lib.configs:
        groups.append([])
        _config(config, groups[-1])
    for i, group in enumerate(groups):
        if i:
            lines.append("")  # a blank line between elements
        lines.extend(group)


def _types(decls: list[n.TypeDecl], lines: list[str]) -> None:
    lines.append("TYPE")
    for decl in decls:
        _type_decl(decl, 1, lines)
    lines.append("END_TYPE")


def _type_decl(decl: n.TypeDecl, depth: int, lines: list[str]) -> None:
    pad = _INDENT * depth
    if isinstance(decl, n.StructDecl):
        lines.append(f"{pad}{decl.name} : STRUCT")
        for field in decl.fields:
            lines.append(pad + _INDENT + _var_decl(field))
        lines.append(f"{pad}END_STRUCT;")
    elif isinstance(decl, n.EnumDecl):
        values = []
        for name, value, _line in decl.values:
            values.append(name if value is None else f"{name} := {_expr(value)}")
        base = f"{decl.base} " if decl.base else ""
        default = f" := {decl.default}" if decl.default else ""
        lines.append(f"{pad}{decl.name} : {base}({', '.join(values)}){default};")
    elif isinstance(decl, n.AliasDecl):
        init = f" := {_initializer(decl.init)}" if decl.init is not None else ""
        lines.append(f"{pad}{decl.name} : {_type_ref(decl.type)}{init};")
    else:
        raise TypeError(f"cannot unparse {type(decl).__name__}")


def _pou(pou: n.Pou, lines: list[str]) -> None:
    head = f"{pou.kind} {pou.name}"
    if pou.return_type is not None:
        head += f" : {_type_ref(pou.return_type)}"
    lines.append(head)
    for block in pou.blocks:
        _var_block(block, 0, lines)
    _statements(pou.body, 1, lines)
    lines.append(f"END_{pou.kind}")


def _config(config: n.Config, lines: list[str]) -> None:
    lines.append(f"CONFIGURATION {config.name}")
    for block in config.blocks:
        _var_block(block, 1, lines)
    for task in config.tasks:
        params = ", ".join(f"{name} := {_expr(value)}" for name, value in task.params.items())
        lines.append(f"{_INDENT}TASK {task.name}({params});")
    for program in config.programs:
        task = f" WITH {program.task}" if program.task is not None else ""
        lines.append(f"{_INDENT}PROGRAM {program.instance}{task} : {program.type_name};")
    lines.append("END_CONFIGURATION")


# ---- declarations ---------------------------------------------------------------------------


def _var_block(block: n.VarBlock, depth: int, lines: list[str]) -> None:
    pad = _INDENT * depth
    lines.append(pad + " ".join([block.kind, *block.qualifiers]))
    for decl in block.decls:
        lines.append(pad + _INDENT + _var_decl(decl))
    lines.append(f"{pad}END_VAR")


def _var_decl(decl: n.VarDecl) -> str:
    text = ", ".join(decl.names)
    if decl.location is not None:
        text += f" AT {decl.location}"
    text += f" : {_type_ref(decl.type)}"
    if decl.init is not None:
        text += f" := {_initializer(decl.init)}"
    return text + ";"


def _type_ref(ref: n.TypeRef) -> str:
    if isinstance(ref, n.NamedTypeRef):
        return ref.name
    if isinstance(ref, n.StringTypeRef):
        word = "WSTRING" if ref.wide else "STRING"
        return word if ref.size is None else f"{word}[{_expr(ref.size)}]"
    if isinstance(ref, n.ArrayTypeRef):
        ranges = ", ".join(f"{_expr(low)}..{_expr(high)}" for low, high in ref.ranges)
        return f"ARRAY[{ranges}] OF {_type_ref(ref.element)}"
    if isinstance(ref, n.SubrangeTypeRef):
        return f"{ref.base}({_expr(ref.low)}..{_expr(ref.high)})"
    raise TypeError(f"cannot unparse {type(ref).__name__}")


def _initializer(init: object) -> str:
    if isinstance(init, list):
        return "[" + ", ".join(_array_items(init)) + "]"
    if isinstance(init, dict):
        return "(" + ", ".join(f"{k} := {_initializer(v)}" for k, v in init.items()) + ")"
    if init is None:  # an element left at its default: ``3()`` in the source
        return ""
    assert isinstance(init, n.Expr)
    return _expr(init)


def _array_items(items: list[object]) -> list[str]:
    """``count(value)`` for a run of one repeated item (``[3(0)]`` shares one node)."""
    texts: list[str] = []
    i = 0
    while i < len(items):
        j = i + 1
        while j < len(items) and items[j] is items[i]:
            j += 1
        text = _initializer(items[i])
        count = j - i
        texts.append(f"{count}({text})" if count > 1 or items[i] is None else text)
        i = j
    return texts


# ---- statements -----------------------------------------------------------------------------


def _statements(body: list[n.Statement], depth: int, lines: list[str]) -> None:
    for statement in body:
        _statement(statement, depth, lines)


def _statement(s: n.Statement, depth: int, lines: list[str]) -> None:
    pad = _INDENT * depth
    if isinstance(s, n.Assign):
        lines.append(f"{pad}{_expr(s.target)} := {_expr(s.value)};")
    elif isinstance(s, n.CallStatement):
        lines.append(f"{pad}{_expr(s.target)}({_arguments(s.args)});")
    elif isinstance(s, n.If):
        for i, (condition, body) in enumerate(s.branches):
            lines.append(f"{pad}{'IF' if i == 0 else 'ELSIF'} {_expr(condition)} THEN")
            _statements(body, depth + 1, lines)
        if s.else_body is not None:
            lines.append(f"{pad}ELSE")
            _statements(s.else_body, depth + 1, lines)
        lines.append(f"{pad}END_IF;")
    elif isinstance(s, n.Case):
        lines.append(f"{pad}CASE {_expr(s.selector)} OF")
        for arm in s.arms:
            labels = ", ".join(
                _expr(low) if high is None else f"{_expr(low)}..{_expr(high)}"
                for low, high in arm.labels
            )
            lines.append(f"{pad}{_INDENT}{labels}:")
            _statements(arm.body, depth + 2, lines)
        if s.else_body is not None:
            lines.append(f"{pad}ELSE")
            _statements(s.else_body, depth + 1, lines)
        lines.append(f"{pad}END_CASE;")
    elif isinstance(s, n.For):
        step = f" BY {_expr(s.step)}" if s.step is not None else ""
        lines.append(f"{pad}FOR {s.variable} := {_expr(s.start)} TO {_expr(s.end)}{step} DO")
        _statements(s.body, depth + 1, lines)
        lines.append(f"{pad}END_FOR;")
    elif isinstance(s, n.While):
        lines.append(f"{pad}WHILE {_expr(s.condition)} DO")
        _statements(s.body, depth + 1, lines)
        lines.append(f"{pad}END_WHILE;")
    elif isinstance(s, n.Repeat):
        lines.append(f"{pad}REPEAT")
        _statements(s.body, depth + 1, lines)
        lines.append(f"{pad}UNTIL {_expr(s.condition)}")
        lines.append(f"{pad}END_REPEAT;")
    elif isinstance(s, n.Jump):
        lines.append(pad + ("" if s.kind == "EMPTY" else s.kind) + ";")
    else:
        raise TypeError(f"cannot unparse {type(s).__name__}")


# ---- expressions ----------------------------------------------------------------------------


def _arguments(args: list[n.CallArg]) -> str:
    texts = []
    for arg in args:
        value = _expr(arg.value)
        if arg.name is None:
            texts.append(value)
        elif arg.output:
            texts.append(f"{'NOT ' if arg.negated else ''}{arg.name} => {value}")
        else:
            texts.append(f"{arg.name} := {value}")
    return ", ".join(texts)


def _expr(e: n.Expr) -> str:
    return _expr_at(e)[0]


def _expr_at(e: n.Expr) -> tuple[str, int]:
    """The text of ``e`` and how strongly it binds (to decide on parentheses)."""
    if isinstance(e, n.Binary):
        strength = _PRECEDENCE[e.op]
        left, left_strength = _expr_at(e.left)
        right, right_strength = _expr_at(e.right)
        # Every binary operator groups to the left: a right operand as loose needs ().
        if left_strength < strength:
            left = f"({left})"
        if right_strength <= strength:
            right = f"({right})"
        return f"{left} {e.op} {right}", strength
    if isinstance(e, n.Unary):
        operand, strength = _expr_at(e.operand)
        if strength < _UNARY or (e.op != "NOT" and operand[:1] in "+-"):
            operand = f"({operand})"
        return (f"NOT {operand}" if e.op == "NOT" else f"{e.op}{operand}"), _UNARY
    if isinstance(e, n.Literal):
        return _literal(e), _ATOM
    if isinstance(e, n.EnumLiteral):
        return f"{e.type_name}#{e.value}", _ATOM
    if isinstance(e, n.Name):
        return e.name, _ATOM
    if isinstance(e, n.Field):
        return f"{_expr(e.base)}.{e.name}", _ATOM
    if isinstance(e, n.Bit):
        return f"{_expr(e.base)}.{e.bit}", _ATOM
    if isinstance(e, n.Index):
        return f"{_expr(e.base)}[{', '.join(_expr(i) for i in e.indices)}]", _ATOM
    if isinstance(e, n.Call):
        return f"{e.name}({_arguments(e.args)})", _ATOM
    raise TypeError(f"cannot unparse {type(e).__name__}")


def _literal(e: n.Literal) -> str:
    if e.kind == "time":
        return "T#" + _duration(int(e.value))
    if e.kind == "string":
        return _string(str(e.value))
    if e.kind == "bool":
        text = "TRUE" if e.value else "FALSE"
    elif e.kind == "real":
        text = _real(float(e.value))
    else:
        text = str(int(e.value))
    return f"{e.type_name}#{text}" if e.type_name is not None else text


def _real(value: float) -> str:
    """A REAL token the grammar reads back to ``value`` (always with a decimal point)."""
    if math.isinf(value):
        return "-1.0E999" if value < 0 else "1.0E999"
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return f"{mantissa}E{exponent}" if exponent else mantissa


def _duration(ns: int) -> str:
    """``1s500ms`` for 1.5e9 ns: whole units, largest first."""
    if ns == 0:
        return "0s"
    sign, rest, parts = ("-" if ns < 0 else ""), abs(ns), []
    for unit, size in _TIME_UNITS:
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"${ord(char):02X}")
        else:
            out.append(char)
    return "'" + "".join(out) + "'"
