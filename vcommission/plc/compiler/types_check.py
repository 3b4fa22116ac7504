"""Type checking: the whole library typed, folded and checked, annotated on the syntax tree.

The second pass, after :mod:`~vcommission.plc.compiler.symbols`. :meth:`TypeChecker.check`
walks every declaration and body in the order code will be generated, reports every
error at its line and column (all at once: a wrong node gets the ERROR type, which raises
no further error), and leaves the typed tree (:mod:`~vcommission.plc.compiler.typed`):
each expression's :class:`~.typed.Typed` (IEC type, folded constant, lowering rule and
the type its operands meet at) and the plan of each statement that needs one. Here is
every typing decision: the type of every node, where operands meet, whether a literal
fits, whether a store, a call or a jump is allowed, the value of a CASE label. The code
is written afterwards from these annotations alone. An untyped literal keeps its
literal type (``integer literal``) until an operator or a store gives it one.
"""

from __future__ import annotations

import math

from vcommission.plc import nodes as n
from vcommission.plc.compiler import stdfuncs
from vcommission.plc.compiler.diagnostics import Diagnostics, describe
from vcommission.plc.compiler.folding import FOLD, fold_binary, fold_negate, fold_power
from vcommission.plc.compiler.pycode import COMPARE, size
from vcommission.plc.compiler.symbols import NOT_CONST, FunctionSig, Scope, SymbolTable, py_attr
from vcommission.plc.compiler.typed import BoundCall, FbCallPlan, ForPlan, Typed, TypedProgram
from vcommission.plc.nodes import key
from vcommission.plc.stdlib import _f32
from vcommission.plc.types import (
    ANY_INT,
    ANY_REAL,
    BOOL,
    ERROR,
    LREAL,
    REAL,
    TIME,
    ArrayType,
    DataType,
    ElementaryType,
    EnumType,
    FbType,
    LiteralType,
    StringType,
    StructType,
    common_type,
    implicitly_converts,
)

__all__ = ["TypeChecker", "same_array"]

_PY_LOGIC = {"AND": "&", "OR": "|", "XOR": "^"}


#: Statements (IF, CASE, FOR, WHILE, REPEAT) inside one another, at most: each is a level of
#: Python indentation in the generated code, which CPython caps at 100.
MAX_NESTING = 64
#: Loops inside one another, at most: CPython allows 20 statically nested blocks.
MAX_LOOP_NESTING = 16
#: Operators and calls inside one another in one expression, at most: the generated Python
#: nests a bracket or two per level, and CPython's tokenizer allows 200.
MAX_EXPRESSION_DEPTH = 100
_LOOPS = (n.For, n.While, n.Repeat)
_NESTING = (n.If, n.Case, *_LOOPS)


class TypeChecker:
    """Types (and reports) a library; each checked node gets its ``typed`` annotation."""

    def __init__(self, symbols: SymbolTable, diagnostics: Diagnostics) -> None:
        self.symbols = symbols
        self.diagnostics = diagnostics
        self.error = diagnostics.error
        #: Expression node class -> its ``_x_<Class>`` method (looked up once, not per node).
        expression_classes = (
            n.Literal, n.EnumLiteral, n.Name, n.Field, n.Index, n.Bit, n.Unary, n.Binary, n.Call,
        )  # fmt: skip
        self._checks = {cls: getattr(self, f"_x_{cls.__name__}") for cls in expression_classes}
        #: How deep the statement being checked is, in all and in loops.
        self._nesting = 0
        self._loop_nesting = 0
        self._expression_depth = 0
        self._depth_reported = False

    def invalid(self, node: n.Node, message: str) -> Typed:
        """Report ``message`` at ``node``; the annotation of an expression that has no type."""
        self.error(node, message)
        return Typed(ERROR)

    def expr(self, e: n.Expr, scope: Scope) -> Typed:
        """Check ``e`` in ``scope``; annotate it (``e.typed``) and return the annotation."""
        self._expression_depth += 1
        try:
            # A leaf under MAX_EXPRESSION_DEPTH operators is fine; one level more is not.
            if self._expression_depth > MAX_EXPRESSION_DEPTH + 1:
                if not self._depth_reported:  # once per statement, where it first goes too deep
                    self._depth_reported = True
                    self.error(e, f"expression nested more than {MAX_EXPRESSION_DEPTH} deep")
                typed = Typed(ERROR)
            else:
                typed = self._checks[type(e)](e, scope)
        finally:
            self._expression_depth -= 1
        e.typed = typed
        return typed

    # ---- the library ---------------------------------------------------------------------

    def check(self) -> TypedProgram:
        """Check structures, globals, then every POU in source order (as code will be)."""
        symbols = self.symbols
        program = TypedProgram(symbols.library, symbols, issues=self.diagnostics.issues)
        for k, decl in symbols.type_decls.items():
            struct = symbols.types.get(k)
            if not isinstance(struct, StructType):
                continue
            assert isinstance(decl, n.StructDecl)
            scope = Scope(symbols, None)
            for var_decl in decl.fields:
                field_type = struct.fields[key(var_decl.names[0])][1]
                self.initial(field_type, var_decl.init, scope, var_decl)
        for block in symbols.global_blocks:
            if block.kind != "VAR_GLOBAL":
                continue
            for decl in block.decls:
                var = symbols.globals.get(key(decl.names[0]))
                if var is not None and var.line == decl.line:
                    self.initial(var.type, decl.init, symbols.global_scope, decl)
        for pou in symbols.library.pous:
            program.scopes.append(self._pou(pou))
        return program

    def _pou(self, pou: n.Pou) -> Scope:
        scope = self.symbols.pou_scope(pou)
        for block in pou.blocks:
            if pou.kind == "FUNCTION":
                if block.kind in ("VAR_INPUT", "VAR_IN_OUT"):
                    continue
                for decl in block.decls:
                    declared = scope.vars.get(key(decl.names[0]))
                    var_type = declared.type if declared else ERROR
                    self.initial(var_type, decl.init, scope, decl)
                continue
            for decl in block.decls:
                for name in decl.names:  # (each name is initialised, so checked, in turn)
                    var = scope.vars.get(key(name))
                    if var is not None and var.line == decl.line:
                        self.initial(var.type, decl.init, scope, decl)
        self.block(pou.body, scope)
        return scope

    def initial(self, t: DataType, init: object, scope: Scope, where: n.Node) -> None:
        """Check the initial value ``init`` (expression, list or dict) of a ``t``."""
        if init is None:
            return
        if isinstance(init, list):
            if not isinstance(t, ArrayType):
                self.error(where, f"an array initialiser for {t}")
                return
            total = size(t)
            if len(init) > total:
                self.error(where, f"{len(init)} initial values for {total} elements")
            for item in init[:total]:
                self.initial(t.element, item, scope, where)
            return
        if isinstance(init, dict):
            if isinstance(t, StructType):
                members = {k: ty for k, (_, ty) in t.fields.items()}
            elif isinstance(t, FbType):
                members = {k: ty for k, (_, ty, s) in t.members.items() if s == "VAR_INPUT"}
            else:
                self.error(where, f"a structure initialiser for {t}")
                return
            for name, value in init.items():
                if key(name) not in members:
                    self.error(where, f"{t} has no field or input {name!r}")
                    continue
                self.initial(members[key(name)], value, scope, where)
            return
        assert isinstance(init, n.Expr)
        if isinstance(t, ArrayType):  # ARRAY[..] OF INT := 5: every element
            self.initial(t.element, init, scope, where)
            return
        checked = self.expr(init, scope)
        if checked.const is NOT_CONST and checked.type is not ERROR:
            self.error(init, "an initial value must be a constant expression")
        self.check_store(checked, t, init, "initial value")

    # ---- statements ----------------------------------------------------------------------

    def block(self, body: list[n.Statement], scope: Scope) -> None:
        for statement in body:
            self.statement(statement, scope)

    def statement(self, s: n.Statement, scope: Scope) -> None:
        self._depth_reported = False
        if isinstance(s, _NESTING):
            loop = isinstance(s, _LOOPS)
            self._nesting += 1
            self._loop_nesting += loop
            try:
                if self._nesting > MAX_NESTING:
                    self.error(s, f"statements nested more than {MAX_NESTING} deep")
                elif self._loop_nesting > MAX_LOOP_NESTING:
                    self.error(s, f"loops nested more than {MAX_LOOP_NESTING} deep")
                else:
                    self._statement(s, scope)
            finally:
                self._nesting -= 1
                self._loop_nesting -= loop
            return
        self._statement(s, scope)

    def _statement(self, s: n.Statement, scope: Scope) -> None:
        if isinstance(s, n.Assign):
            self.assign(s, scope)
        elif isinstance(s, n.CallStatement):
            self.call_statement(s, scope)
        elif isinstance(s, n.If):
            for condition, body in s.branches:
                self.condition(condition, scope)
                self.block(body, scope)
            if s.else_body is not None:
                self.block(s.else_body, scope)
        elif isinstance(s, n.Case):
            self.case_statement(s, scope)
        elif isinstance(s, n.For):
            self.for_statement(s, scope)
        elif isinstance(s, n.While):
            self.condition(s.condition, scope)
            self._loop_body(s.body, scope)
        elif isinstance(s, n.Repeat):
            self._loop_body(s.body, scope, repeat=True)
            self.condition(s.condition, scope)
        elif isinstance(s, n.Jump) and s.kind in ("EXIT", "CONTINUE"):
            if scope.loop_depth == 0:
                self.error(s, f"{s.kind} outside a loop")
            elif s.kind == "CONTINUE" and scope.in_repeat:
                self.error(s, "CONTINUE inside REPEAT is not supported; use IF around the rest")

    def _loop_body(self, body: list[n.Statement], scope: Scope, repeat: bool = False) -> None:
        scope.loop_depth += 1
        previous, scope.in_repeat = scope.in_repeat, repeat
        self.block(body, scope)
        scope.in_repeat = previous
        scope.loop_depth -= 1

    def condition(self, expr: n.Expr, scope: Scope) -> None:
        """Check a condition (IF, WHILE, UNTIL), which must be BOOL."""
        typed = self.expr(expr, scope)
        if typed.type is not BOOL and typed.type is not ERROR:
            self.error(expr, f"condition must be BOOL, not {typed.type}")

    def assign(self, s: n.Assign, scope: Scope) -> None:
        functions = self.symbols.functions
        if isinstance(s.value, n.Call) and key(s.value.name) in functions:
            function = functions[key(s.value.name)]
            if function.extra_results:
                self.call_with_outputs(function, s.value, scope, s.target)
                return
        value = self.expr(s.value, scope)
        self.store_to(s.target, value, scope, s.value, "assignment")

    def store_to(
        self, target_expr: n.Expr, value: Typed, scope: Scope, where: n.Node, what: str
    ) -> None:
        """Check storing ``value`` into ``target_expr`` (a variable, field, element or bit)."""
        if isinstance(target_expr, n.Bit):
            self._store_bit(target_expr, value, scope)
            return
        target = self.expr(target_expr, scope)
        if self._writable(target, target_expr):
            self.check_store(value, target.type, where, what)

    def _writable(self, target: Typed, node: n.Expr) -> bool:
        if target.type is ERROR:
            return False
        if not target.lvalue:
            what = (
                "a constant" if target.var is not None and target.var.constant else "not a variable"
            )
            self.error(node, f"cannot assign to {describe(node)}: {what}")
            return False
        if isinstance(target.type, FbType):
            self.error(node, f"cannot assign to function block instance {describe(node)}")
            return False
        return True

    def _store_bit(self, target: n.Bit, value: Typed, scope: Scope) -> None:
        base = self.expr(target.base, scope)
        if not self._writable(base, target.base):
            return
        if not base.type.is_integer:
            self.error(target, f"bit access on {base.type}: needs an integer or bit string")
            return
        self.check_bit(target, base.type)
        target.typed = Typed(BOOL, form="bit")
        self.check_store(value, BOOL, target, "bit assignment")

    def case_statement(self, s: n.Case, scope: Scope) -> None:
        selector = self.expr(s.selector, scope)
        st = selector.type
        if not (st.is_integer or isinstance(st, EnumType)) and st is not ERROR:
            self.error(s.selector, f"CASE selector must be an integer or enumeration, not {st}")
        seen: list[tuple[int, int, int]] = []
        labels: list[list[tuple[int, int]]] = []
        for arm in s.arms:
            ranges = []
            for low_expr, high_expr in arm.labels:
                low = self._case_label(low_expr, st, scope)
                high = low if high_expr is None else self._case_label(high_expr, st, scope)
                if low is None or high is None:
                    continue
                if high < low:
                    self.error(low_expr, f"CASE range {low}..{high} is empty")
                for other_low, other_high, line in seen:
                    if low <= other_high and other_low <= high:
                        self.error(low_expr, f"CASE label overlaps the one at line {line}")
                seen.append((low, high, low_expr.line))
                ranges.append((low, high))
            labels.append(ranges)
            self.block(arm.body, scope)
        s.plan = labels  # each arm's (low, high) label values
        if s.else_body is not None:
            self.block(s.else_body, scope)

    def _case_label(self, expr: n.Expr, selector: DataType, scope: Scope) -> int | None:
        if isinstance(selector, EnumType) and isinstance(expr, n.Name):
            entry = selector.values.get(key(expr.name))
            if entry is not None:
                expr.typed = Typed(selector, entry[1], form="const")
                return entry[1]
        value = self.expr(expr, scope)
        if value.type is ERROR or selector is ERROR:
            return None
        if value.const is NOT_CONST:
            self.error(expr, "CASE labels must be constants")
            return None
        if isinstance(selector, EnumType):
            if value.type is not selector:
                self.error(expr, f"CASE label of type {value.type} for a {selector} selector")
                return None
        elif not (value.type.is_integer and not isinstance(value.const, bool)):
            self.error(expr, f"CASE label of type {value.type} for a {selector} selector")
            return None
        return int(value.const)  # type: ignore[call-overload]

    def for_statement(self, s: n.For, scope: Scope) -> None:
        control_name = n.Name(s.line, s.col, s.variable)
        control = self.expr(control_name, scope)
        if control.type is not ERROR and not (control.type.is_integer and control.lvalue):
            self.error(s, f"FOR variable {s.variable} must be an integer variable")
        t = control.type
        self.check_store(self.expr(s.start, scope), t, s.start, "FOR start")
        self.check_store(self.expr(s.end, scope), t, s.end, "FOR end")
        step_value: int | None = 1
        if s.step is not None:
            step = self.expr(s.step, scope)
            self.check_store(step, t, s.step, "FOR step")
            step_value = None if step.const is NOT_CONST else int(step.const)  # type: ignore[call-overload]
            if step_value == 0:
                self.error(s.step, "FOR step 0 never ends")
        s.plan = ForPlan(control_name, step_value)
        self._loop_body(s.body, scope)

    # ---- call statements -----------------------------------------------------------------

    def call_statement(self, s: n.CallStatement, scope: Scope) -> None:
        """A call of a function block instance, or of a function for its effect only."""
        target_expr, args = s.target, s.args
        if isinstance(target_expr, n.Name) and scope.lookup(target_expr.name) is None:
            k = key(target_expr.name)
            call = n.Call(s.line, s.col, target_expr.name, args)
            functions = self.symbols.functions
            if k in functions:
                function = functions[k]
                if function.extra_results:
                    self.call_with_outputs(function, call, scope, None)
                else:
                    bound = self.bind_arguments(function, call, scope)
                    if bound is not None:
                        call.typed = Typed(function.result, form="call", info=bound)  # type: ignore[arg-type]
                s.plan = call
                return
            if stdfuncs.is_standard_function(target_expr.name):
                self.expr(call, scope)
                s.plan = call
                return
        instance = self.expr(target_expr, scope)
        if instance.type is ERROR:
            return
        fb = instance.type
        if not isinstance(fb, FbType):
            self.error(target_expr, f"{describe(target_expr)} is a {fb}, not a function block")
            return
        plan = FbCallPlan()
        positional = fb.inputs()
        for i, arg in enumerate(args):
            if arg.name is None:
                if i >= len(positional):
                    self.error(arg, f"{fb.name} takes {len(positional)} inputs")
                    continue
                member_key = positional[i]
            else:
                member_key = key(arg.name)
            member = fb.members.get(member_key)
            if member is None:
                self.error(arg, f"{fb.name} has no parameter {arg.name!r}")
                continue
            spelling, member_type, section = member
            attr = py_attr(spelling)
            if arg.output:
                if section != "VAR_OUTPUT":
                    self.error(arg, f"{spelling} is not an output of {fb.name}")
                    continue
                plan.outputs.append((attr, member_type, arg))
                continue
            if section == "VAR_OUTPUT":
                self.error(
                    arg, f"{spelling} is an output of {fb.name}: write {spelling} => variable"
                )
                continue
            if section not in ("VAR_INPUT", "VAR_IN_OUT"):
                self.error(arg, f"{spelling} is internal to {fb.name}")
                continue
            value = self.expr(arg.value, scope)
            if section == "VAR_IN_OUT":
                if not value.lvalue:
                    self.error(arg, f"VAR_IN_OUT {spelling} needs a variable")
                    continue
                plan.in_outs.append((attr, arg.value))
            self.check_store(value, member_type, arg.value, f"input {spelling}")
            plan.inputs.append((attr, member_type, arg.value))
        for _, member_type, arg in plan.outputs:
            self.store_to(arg.value, Typed(member_type), scope, arg.value, "output")
        s.plan = plan

    def call_with_outputs(
        self, function: FunctionSig, call: n.Call, scope: Scope, result: n.Expr | None
    ) -> None:
        """A call of a function with outputs (a statement): its result and outputs stored."""
        bound = self.bind_arguments(function, call, scope)
        if bound is None:
            return
        # Typed like an expression, although a statement ("outputs": lowered as one).
        call.typed = Typed(function.result, form="outputs", info=bound)  # type: ignore[arg-type]
        if result is not None:
            if function.result is None:
                self.error(call, f"{function.name} returns no value")
            else:
                self.store_to(result, Typed(function.result), scope, result, "output")
        extra = function.extra_results
        for position, arg in bound.targets:
            value_type = extra[position - 1][2]
            self.store_to(arg.value, Typed(value_type), scope, arg.value, "output")

    # ---- leaves --------------------------------------------------------------------------

    def _x_Literal(self, e: n.Literal, scope: Scope) -> Typed:
        if e.type_name is not None and e.kind != "time":
            target = self.symbols.named_type(e.type_name, e)
            if target is ERROR:
                return Typed(ERROR)
            literal_type = {"int": ANY_INT, "real": ANY_REAL, "bool": BOOL}[e.kind]
            self.check_store(Typed(literal_type, e.value), target, e, "typed literal")
            const = e.value
            if target is REAL:
                const = _f32(float(const))
            elif target.is_real:
                const = float(const)
            return Typed(target, const, form="const")
        if e.kind == "bool":
            return Typed(BOOL, e.value, "const")
        if e.kind == "int":
            return Typed(ANY_INT, e.value, "const")
        if e.kind == "real":
            return Typed(ANY_REAL, e.value, "const")
        if e.kind == "time":
            return Typed(TIME, e.value, form="const")
        return Typed(StringType(max(1, len(str(e.value)))), e.value, form="const")

    def _x_EnumLiteral(self, e: n.EnumLiteral, scope: Scope) -> Typed:
        t = self.symbols.named_type(e.type_name, e)
        if t is ERROR:
            return Typed(ERROR)
        if not isinstance(t, EnumType):
            return self.invalid(e, f"{e.type_name} is not an enumerated type")
        entry = t.values.get(key(e.value))
        if entry is None:
            return self.invalid(e, f"{e.value!r} is not a value of {t.name}")
        return Typed(t, entry[1], form="const")

    def _x_Name(self, e: n.Name, scope: Scope) -> Typed:
        var = scope.lookup(e.name)
        if var is not None:
            if var.type is ERROR:
                return Typed(ERROR)
            if var.constant and var.const is not NOT_CONST:
                return Typed(var.type, var.const, "const", None, None, False, var)
            return Typed(var.type, NOT_CONST, "var", None, None, not var.constant, var)
        enums = self.symbols.enum_values.get(key(e.name), [])
        if len(enums) == 1:
            return Typed(enums[0], enums[0].values[key(e.name)][1], form="const")
        if len(enums) > 1:
            names = " or ".join(f"{t.name}#{e.name}" for t in enums)
            return self.invalid(e, f"{e.name} is a value of several enumerations: write {names}")
        return self.invalid(e, f"unknown variable {e.name!r}")

    # ---- selectors -----------------------------------------------------------------------

    def _x_Field(self, e: n.Field, scope: Scope) -> Typed:
        base = self.expr(e.base, scope)
        t = base.type
        if t is ERROR:
            return base
        if isinstance(t, StructType):
            entry = t.fields.get(key(e.name))
            if entry is None:
                return self.invalid(e, f"{t.name} has no field {e.name!r}")
            return Typed(entry[1], form="member", info=py_attr(entry[0]), lvalue=base.lvalue)
        if isinstance(t, FbType):
            member = t.members.get(key(e.name))
            if member is None:
                return self.invalid(e, f"{t.name} has no member {e.name!r}")
            spelling, member_type, section = member
            if section not in ("VAR_INPUT", "VAR_OUTPUT", "VAR_IN_OUT"):
                return self.invalid(
                    e, f"{spelling} is internal to {t.name}: only inputs and outputs show"
                )
            lvalue = section == "VAR_INPUT" and base.lvalue
            return Typed(member_type, form="member", info=py_attr(spelling), lvalue=lvalue)
        return self.invalid(e, f"{describe(e.base)} is a {t}: it has no fields")

    def _x_Index(self, e: n.Index, scope: Scope) -> Typed:
        base = self.expr(e.base, scope)
        t = base.type
        if t is ERROR:
            return base
        if not isinstance(t, ArrayType):
            return self.invalid(e, f"{describe(e.base)} is a {t}, not an array")
        if len(e.indices) != len(t.dims):
            self.error(e, f"{describe(e.base)} has {len(t.dims)} dimension(s), indexed with "
                          f"{len(e.indices)}")  # fmt: skip
            return Typed(ERROR)
        for index_expr, (low, high) in zip(e.indices, t.dims, strict=True):
            index = self.expr(index_expr, scope)
            if index.type is ERROR:
                return index
            if not index.type.is_integer and not isinstance(index.type, EnumType):
                return self.invalid(index_expr, f"array index must be an integer, not {index.type}")
            if index.const is not NOT_CONST:
                value = int(index.const)  # type: ignore[call-overload]
                if not low <= value <= high:
                    return self.invalid(index_expr, f"index {value} outside {low}..{high}")
        return Typed(t.element, NOT_CONST, "element", None, t.dims, base.lvalue)

    def _x_Bit(self, e: n.Bit, scope: Scope) -> Typed:
        base = self.expr(e.base, scope)
        if base.type is ERROR:
            return base
        if not base.type.is_integer:
            return self.invalid(e, f"bit access on {base.type}: needs an integer or bit string")
        self.check_bit(e, base.type)
        return Typed(BOOL, form="bit")

    def check_bit(self, node: n.Bit, t: DataType) -> None:
        """Report a bit number beyond the width of ``t``."""
        bits = t.bits if isinstance(t, ElementaryType) else 0
        if node.bit >= bits:
            self.error(node, f"bit {node.bit} of a {bits}-bit {t}: bits run 0..{bits - 1}")

    # ---- operators -----------------------------------------------------------------------

    def _x_Unary(self, e: n.Unary, scope: Scope) -> Typed:
        value = self.expr(e.operand, scope)
        t = value.type
        if t is ERROR:
            return value
        if e.op == "NOT":
            if t is BOOL:
                const = (not value.const) if value.const is not NOT_CONST else NOT_CONST
                return Typed(BOOL, const, form="not")
            if t.is_integer and isinstance(t, ElementaryType):
                return Typed(t, form="not")
            return self.invalid(e, f"NOT needs BOOL or a bit string, not {t}")
        if not (t.is_numeric or t.is_time):
            return self.invalid(e, f"unary {e.op} needs a number, not {t}")
        if e.op == "+":  # the operand as it is
            return Typed(t, value.const, form="same", lvalue=value.lvalue, var=value.var)
        unsigned = isinstance(t, ElementaryType) and not t.signed and t.is_integer
        if value.const is NOT_CONST:
            if unsigned:
                self.error(e, f"unary minus on unsigned {t}")
            return Typed(t, form="neg")
        return Typed(t, fold_negate(t, value.const), form="const")

    def _x_Binary(self, e: n.Binary, scope: Scope) -> Typed:
        left = self.expr(e.left, scope)
        right = self.expr(e.right, scope)
        if left.type is ERROR or right.type is ERROR:
            return Typed(ERROR)
        op = e.op
        if op in ("AND", "&", "OR", "XOR"):
            return self._logic(e, left, right)
        if op in COMPARE:
            return self._compare(e, left, right)
        return self.arithmetic(e, op, left, right, e.right)

    def _logic(self, e: n.Binary, left: Typed, right: Typed) -> Typed:
        op = "AND" if e.op == "&" else e.op
        if left.type is BOOL and right.type is BOOL:
            const = NOT_CONST
            if left.const is not NOT_CONST and right.const is not NOT_CONST:
                const = {"AND": left.const and right.const, "OR": left.const or right.const,
                         "XOR": left.const != right.const}[op]  # fmt: skip
            return Typed(BOOL, const, form="bool")
        t = self.unify(e, left, right)
        if t is None:
            return Typed(ERROR)
        if not t.is_integer:
            return self.invalid(
                e, f"{op} needs BOOL or bit strings, not {left.type} and {right.type}"
            )
        self.check_operands(left, right, t, e)
        return self._folded(t, _PY_LOGIC[op], left, right, "bitwise")

    def _compare(self, e: n.Binary, left: Typed, right: Typed) -> Typed:
        lt, rt = left.type, right.type
        t: DataType | None = None
        if isinstance(lt, EnumType) or isinstance(rt, EnumType):
            if lt is not rt:
                return self.invalid(e, f"cannot compare {lt} with {rt}")
        elif lt is BOOL or rt is BOOL or isinstance(lt, StringType) or isinstance(rt, StringType):
            same = (lt is BOOL and rt is BOOL) or (
                isinstance(lt, StringType) and isinstance(rt, StringType)
            )
            if not same:
                return self.invalid(e, f"cannot compare {lt} with {rt}")
        else:
            t = self.unify(e, left, right)
            if t is None:
                return Typed(ERROR)
            self.check_operands(left, right, t, e)
        if left.const is not NOT_CONST and right.const is not NOT_CONST:
            return Typed(BOOL, FOLD[COMPARE[e.op]](left.const, right.const), form="const")
        return Typed(BOOL, form="compare", operand=t)

    def arithmetic(
        self, e: n.Node, op: str, left: Typed, right: Typed, right_node: n.Node
    ) -> Typed:
        """``left op right`` for ``+ - * / MOD **`` (numbers and TIME), reported at ``e``."""
        lt, rt = left.type, right.type
        if lt.is_time or rt.is_time:
            return self._time_arithmetic(e, op, left, right)
        if not (lt.is_numeric and rt.is_numeric):
            return self.invalid(e, f"{op} needs numbers, not {lt} and {rt}")
        if op == "**":
            t = lt if lt.is_real and not isinstance(lt, LiteralType) else LREAL
            if isinstance(lt, LiteralType) and isinstance(rt, LiteralType):
                t = ANY_REAL  # like any literal expression, it takes the type it is used as
            const = fold_power(t, left.const, right.const)
            return Typed(t, const, form="power" if const is NOT_CONST else "const")
        t = self.unify(e, left, right)
        if t is None:
            return Typed(ERROR)
        if op == "MOD" and not t.is_integer:
            return self.invalid(e, f"MOD needs integers, not {lt} and {rt}")
        self.check_operands(left, right, t, e)
        if op in ("/", "MOD") and right.const is not NOT_CONST and right.const == 0:
            return self.invalid(right_node, "division by zero")
        if op in ("+", "-", "*"):
            return self._folded(t, op, left, right, "modular")
        if op == "MOD":
            return self._folded(t, "MOD", left, right, "mod")
        return self._folded(t, "/", left, right, "idiv" if t.is_integer else "fdiv")

    @staticmethod
    def _folded(t: DataType, op: str, left: Typed, right: Typed, form: str) -> Typed:
        """``left op right`` met at ``t``: its constant if both are, else lowered by ``form``."""
        result, const = fold_binary(op, t, left.const, right.const)
        if const is NOT_CONST:
            return Typed(t, NOT_CONST, form, t)
        return Typed(result, const, "const")

    def _time_arithmetic(self, e: n.Node, op: str, left: Typed, right: Typed) -> Typed:
        lt, rt = left.type, right.type
        if op in ("+", "-") and lt.is_time and rt.is_time:
            return self._folded(TIME, op, left, right, "time")
        if op in ("*", "/") and lt.is_time and rt.is_numeric:
            return Typed(TIME, form="time_scale", info=(False, rt.is_real))
        if op == "*" and lt.is_numeric and rt.is_time:
            return Typed(TIME, form="time_scale", info=(True, lt.is_real))
        return self.invalid(e, f"{op} is not defined for {lt} and {rt}")

    # ---- where types meet ----------------------------------------------------------------

    def unify(self, e: n.Node, left: Typed, right: Typed) -> DataType | None:
        """Type both operands of a numeric operator meet at, or None (reported)."""
        lt, rt = left.type, right.type
        if isinstance(lt, LiteralType) and isinstance(rt, LiteralType):
            return ANY_REAL if ANY_REAL in (lt, rt) else ANY_INT
        if isinstance(lt, LiteralType):
            return self._literal_meets(left, rt, e)
        if isinstance(rt, LiteralType):
            return self._literal_meets(right, lt, e)
        if lt is rt:
            return lt
        t = common_type(lt, rt)
        if t is None:
            self.error(e, f"{lt} and {rt} do not mix: convert one (e.g. {lt}_TO_{rt})")
        return t

    def _literal_meets(self, literal: Typed, t: DataType, e: n.Node) -> DataType | None:
        if literal.type is ANY_REAL and t.is_integer:
            self.error(e, f"real literal {_spelling(literal)} with {t}: the result would be "
                          f"REAL; convert with {t}_TO_REAL or write an integer")  # fmt: skip
            return None
        if not (t.is_numeric):
            self.error(e, f"number {_spelling(literal)} with {t}")
            return None
        return t

    def check_literal_operand(self, value: Typed, t: DataType, where: n.Node) -> None:
        """Report a literal operand that does not fit ``t``, the type it is used as."""
        if isinstance(value.type, LiteralType) and not isinstance(t, LiteralType):
            self.check_literal(value, t, where)

    def check_operands(self, left: Typed, right: Typed, t: DataType, where: n.Node) -> None:
        """Report a literal operand that does not fit ``t``, the type both operands meet at."""
        self.check_literal_operand(left, t, where)
        self.check_literal_operand(right, t, where)

    def check_literal(self, value: Typed, t: DataType, where: n.Node) -> None:
        """Report literal ``value`` if it does not fit a ``t``."""
        const = value.const
        if t is REAL:  # a literal used as a REAL is a REAL: 0.1 means REAL#0.1 there
            single = _f32(float(const))  # type: ignore[arg-type]
            if math.isinf(single) and not math.isinf(float(const)):  # type: ignore[arg-type]
                self.error(where, f"constant {const} does not fit REAL (about 3.4E38 at most)")
        elif (
            isinstance(t, ElementaryType) and t.is_integer and not t.low <= int(const) <= t.high  # type: ignore[call-overload]
        ):
            self.error(where, f"constant {const} does not fit {t} ({t.low}..{t.high})")

    def check_store(self, value: Typed, t: DataType, where: n.Node, what: str) -> None:
        """Report a type error if ``value`` may not be stored into a ``t``."""
        vt = value.type
        if vt is ERROR or t is ERROR:
            return
        if isinstance(vt, LiteralType):
            if t.is_numeric and not (vt is ANY_REAL and t.is_integer):
                self.check_literal(value, t, where)
                return
            self.error(where, f"{what}: {vt} {_spelling(value)} cannot become {t}")
            return
        if vt is t or implicitly_converts(vt, t) or same_array(vt, t):
            if isinstance(t, FbType):
                self.error(where, f"{what}: function block instances cannot be copied")
            return
        self.error(where, f"{what}: {vt} cannot be stored in {t}" + _hint(vt, t))

    # ---- calls ---------------------------------------------------------------------------

    def _x_Call(self, e: n.Call, scope: Scope) -> Typed:
        k = key(e.name)
        functions = self.symbols.functions
        if k in functions:
            function = functions[k]
            if function.extra_results:
                return self.invalid(e, f"{function.name} has outputs: call it as a statement, "
                                       "or alone on the right of :=")  # fmt: skip
            bound = self.bind_arguments(function, e, scope)
            if bound is None or function.result is None:
                if function.result is None:
                    self.error(e, f"{function.name} returns no value")
                return Typed(ERROR)
            return Typed(function.result, form="call", info=bound)
        var = scope.lookup(e.name)
        if var is not None and isinstance(var.type, FbType):
            return self.invalid(e, f"{e.name} is a function block instance: call it as a statement")
        ordered = stdfuncs.ordered_arguments(self, e)
        if ordered is None:
            return Typed(ERROR)
        args = [self.expr(a, scope) for a in ordered]
        if any(a.type is ERROR for a in args):
            return Typed(ERROR)
        return stdfuncs.standard_call(self, e, ordered, args)

    def bind_arguments(self, function: FunctionSig, call: n.Call, scope: Scope) -> BoundCall | None:
        """Match a call's arguments to ``function``'s parameters (None if it cannot be)."""
        inputs = [p for p in function.params if p[3] != "VAR_OUTPUT"]
        given: dict[str, n.CallArg] = {}
        for i, arg in enumerate(call.args):
            if arg.name is None:
                if i >= len(inputs):
                    self.error(arg, f"{function.name} takes {len(inputs)} inputs")
                    return None
                given[inputs[i][0]] = arg
            else:
                if key(arg.name) in given:
                    self.error(arg, f"{arg.name} given twice")
                given[key(arg.name)] = arg
        bound = BoundCall(function, [], [])
        extra = [p[0] for p in function.extra_results]
        for k, spelling, param_type, section in function.params:
            arg = given.pop(k, None)
            if section == "VAR_OUTPUT":
                if arg is not None:
                    if not arg.output:
                        self.error(arg, f"{spelling} is an output: write {spelling} => variable")
                    else:
                        bound.targets.append((1 + extra.index(k), arg))
                continue
            if arg is None:
                if section == "VAR_IN_OUT":
                    self.error(call, f"{function.name}: VAR_IN_OUT {spelling} must be given")
                bound.inputs.append((param_type, None))
                continue
            if arg.output:
                self.error(arg, f"{spelling} is an input of {function.name}")
                continue
            value = self.expr(arg.value, scope)
            if section == "VAR_IN_OUT":
                if not value.lvalue:
                    self.error(arg, f"VAR_IN_OUT {spelling} needs a variable")
                bound.targets.append((1 + extra.index(k), arg))
            self.check_store(value, param_type, arg.value, f"input {spelling}")
            bound.inputs.append((param_type, arg.value))
        for name, arg in given.items():
            self.error(arg, f"{function.name} has no parameter {name!r}")
        return bound


def same_array(a: DataType, b: DataType) -> bool:
    """Arrays of the same bounds and element type (assignable one to the other)."""
    return (
        isinstance(a, ArrayType)
        and isinstance(b, ArrayType)
        and a.dims == b.dims
        and (a.element is b.element or same_array(a.element, b.element))
    )


def _spelling(literal: Typed) -> str:
    """How a message shows a literal: its value as the source could spell it."""
    return repr(literal.const)


def _hint(source: DataType, target: DataType) -> str:
    if isinstance(source, ElementaryType) and isinstance(target, ElementaryType):
        return f" (convert with {source.name}_TO_{target.name})"
    return ""
