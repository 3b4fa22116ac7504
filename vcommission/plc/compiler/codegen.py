"""Code generation: declarations and statements of a checked library to one Python module.

The generated module has a class per PROGRAM, FUNCTION_BLOCK and STRUCT, a function per
FUNCTION and a ``Globals`` class, and is executed once per PLC instance (so instances
share nothing). Statements are checked here (assignability, loop context, CASE labels,
call parameters) with their expressions typed by the
:class:`~vcommission.plc.compiler.types_check.TypeChecker`. Every loop iteration spends
one unit of the scan's loop budget, so an endless loop stops the PLC with its line
instead of hanging the harness.
"""

from __future__ import annotations

from vcommission.plc import nodes as n
from vcommission.plc.compiler.diagnostics import Diagnostics, describe
from vcommission.plc.compiler.emitter import Emitter
from vcommission.plc.compiler.lower_expr import (
    Value,
    array_code,
    default_code,
    size,
    wrap_code,
    wrapped,
)
from vcommission.plc.compiler.stdfuncs import is_standard_function
from vcommission.plc.compiler.symbols import (
    NOT_CONST,
    FunctionSig,
    Scope,
    SymbolTable,
    class_name,
    py_attr,
)
from vcommission.plc.compiler.types_check import TypeChecker
from vcommission.plc.nodes import key
from vcommission.plc.types import (
    BOOL,
    ERROR,
    ArrayType,
    DataType,
    EnumType,
    FbType,
    StructType,
)

__all__ = ["CodeGenerator"]


class CodeGenerator:
    """Writes the Python of a declared library through an :class:`Emitter`."""

    def __init__(
        self,
        symbols: SymbolTable,
        checker: TypeChecker,
        emitter: Emitter,
        diagnostics: Diagnostics,
    ) -> None:
        self.symbols = symbols
        self.checker = checker
        self.expr = checker.expr
        self.out = emitter
        self.emit = emitter.emit
        self.error = diagnostics.error

    def generate(self) -> None:
        """Emit structures, globals, then every POU in source order."""
        self.emit(0, "# generated from Structured Text by vcommission; do not edit", 0)
        self._emit_structs()
        self._emit_globals(self.symbols.global_blocks, self.symbols.global_scope)
        for pou in self.symbols.library.pous:
            if pou.kind == "FUNCTION":
                self._emit_function(pou)
            else:
                self._emit_class(pou)

    # ---- generated classes ---------------------------------------------------------------

    def _emit_structs(self) -> None:
        for k, decl in self.symbols.type_decls.items():
            struct = self.symbols.types.get(k)
            if not isinstance(struct, StructType):
                continue
            assert isinstance(decl, n.StructDecl)
            attrs = [py_attr(spelling) for spelling, _ in struct.fields.values()]
            self.emit(0, f"class {struct.py_class}:", decl.line)
            self.emit(1, f"__slots__ = {tuple(attrs)!r}")
            self.emit(1, "def __init__(self):")
            scope = Scope(self.symbols, None)
            for var_decl in decl.fields:
                field_type = struct.fields[key(var_decl.names[0])][1]
                init = self.initial_code(field_type, var_decl.init, scope, var_decl)
                for name in var_decl.names:
                    self.emit(2, f"self.{py_attr(name)} = {init}", var_decl.line)
            if not attrs:
                self.emit(2, "pass")

    def _emit_globals(self, blocks: list[n.VarBlock], scope: Scope) -> None:
        globals_ = self.symbols.globals
        attrs = tuple(py_attr(v.name) for v in globals_.values())
        self.emit(0, "class Globals:")
        self.emit(1, f"__slots__ = {attrs!r}")
        self.emit(1, "def __init__(self):")
        for block in blocks:
            if block.kind != "VAR_GLOBAL":
                continue
            for decl in block.decls:
                var = globals_.get(key(decl.names[0]))
                if var is None or var.line != decl.line:
                    continue
                init = self.initial_code(var.type, decl.init, scope, decl)
                for name in decl.names:
                    self.emit(2, f"self.{py_attr(name)} = {init}", decl.line)
        self.emit(2, "pass")

    def _emit_class(self, pou: n.Pou) -> None:
        scope = self.symbols.pou_scope(pou)
        own = [v for v in scope.vars.values() if v.section != "RESULT"]
        self.emit(0, f"class {class_name(pou)}:", pou.line)
        self.emit(1, f"__slots__ = {tuple(py_attr(v.name) for v in own)!r}")
        self.emit(1, "def __init__(self):", pou.line)
        temps = []
        for block in pou.blocks:
            for decl in block.decls:
                for name in decl.names:
                    var = scope.vars.get(key(name))
                    if var is None or var.line != decl.line:
                        continue
                    init = self.initial_code(var.type, decl.init, scope, decl)
                    self.emit(2, f"{var.py} = {init}", decl.line)
                    if block.kind == "VAR_TEMP":
                        temps.append((var, init, decl.line))
        self.emit(2, "pass")
        self.emit(1, "def __call__(self):", pou.line)
        for var, init, line in temps:
            self.emit(2, f"{var.py} = {init}", line)
        self.block(pou.body, scope, 2)
        self.emit(2, "return", pou.end_line)

    def _emit_function(self, pou: n.Pou) -> None:
        scope = self.symbols.pou_scope(pou)
        function = self.symbols.functions[key(pou.name)]
        params = [f"v_{k}" for k, _, _, section in function.params if section != "VAR_OUTPUT"]
        self.emit(0, f"def {function.py}({', '.join(params)}):", pou.line)
        if function.result is not None:
            self.emit(1, f"r_ = {default_code(function.result)}", pou.line)
        for block in pou.blocks:
            if block.kind in ("VAR_INPUT", "VAR_IN_OUT"):
                continue
            for decl in block.decls:
                declared = scope.vars.get(key(decl.names[0]))
                var_type = declared.type if declared else ERROR
                init = self.initial_code(var_type, decl.init, scope, decl)
                for name in decl.names:
                    self.emit(1, f"v_{key(name)} = {init}", decl.line)
        self.block(pou.body, scope, 1)
        self.emit(1, _function_return(function), pou.end_line)

    def initial_code(self, t: DataType, init: object, scope: Scope, where: n.Node) -> str:
        """Code of the initial value ``init`` (expression, list or dict) of a ``t``."""
        if init is None:
            return default_code(t)
        if isinstance(init, list):
            if not isinstance(t, ArrayType):
                self.error(where, f"an array initialiser for {t}")
                return default_code(t)
            total = size(t)
            if len(init) > total:
                self.error(where, f"{len(init)} initial values for {total} elements")
            items = [self.initial_code(t.element, item, scope, where) for item in init[:total]]
            items += [default_code(t.element)] * (total - len(items))
            return array_code(t, items)
        if isinstance(init, dict):
            if isinstance(t, StructType):
                members = {k: ty for k, (_, ty) in t.fields.items()}
            elif isinstance(t, FbType):
                members = {k: ty for k, (_, ty, s) in t.members.items() if s == "VAR_INPUT"}
            else:
                self.error(where, f"a structure initialiser for {t}")
                return default_code(t)
            parts = []
            for name, value in init.items():
                if key(name) not in members:
                    self.error(where, f"{t} has no field or input {name!r}")
                    continue
                parts.append(
                    f"{py_attr(name)}={self.initial_code(members[key(name)], value, scope, where)}"
                )
            return f"_with({default_code(t)}, {', '.join(parts)})"
        assert isinstance(init, n.Expr)
        if isinstance(t, ArrayType):  # ARRAY[..] OF INT := 5: every element
            value = self.initial_code(t.element, init, scope, where)
            return array_code(t, [value] * size(t))
        checked = self.expr(init, scope)
        if checked.const is NOT_CONST and checked.type is not ERROR:
            self.error(init, "an initial value must be a constant expression")
        return self.checker.convert_for_store(checked, t, init, "initial value")

    # ---- statements ----------------------------------------------------------------------

    def block(self, body: list[n.Statement], scope: Scope, depth: int) -> None:
        if not body:
            self.emit(depth, "pass")
        for statement in body:
            self.statement(statement, scope, depth)

    def statement(self, s: n.Statement, scope: Scope, depth: int) -> None:
        self.out.current_line = s.line
        if isinstance(s, n.Jump) and s.kind == "EMPTY":
            return
        self.out.count_statement(s, depth)
        if isinstance(s, n.Assign):
            self.assign(s, scope, depth)
        elif isinstance(s, n.CallStatement):
            self.call_statement(s.target, s.args, scope, depth, s)
        elif isinstance(s, n.If):
            self.if_statement(s, scope, depth)
        elif isinstance(s, n.Case):
            self.case_statement(s, scope, depth)
        elif isinstance(s, n.For):
            self.for_statement(s, scope, depth)
        elif isinstance(s, n.While):
            condition = self.checker.condition(s.condition, scope)
            self.emit(depth, f"while {condition}:")
            self._loop_body(s.body, scope, depth + 1)
        elif isinstance(s, n.Repeat):
            self.emit(depth, "while True:")
            self._loop_body(s.body, scope, depth + 1, repeat=True)
            self.out.current_line = s.condition.line
            self.emit(depth + 1, f"if {self.checker.condition(s.condition, scope)}:")
            self.emit(depth + 2, "break")
        elif isinstance(s, n.Jump):
            self.jump(s, scope, depth)

    def _loop_body(
        self, body: list[n.Statement], scope: Scope, depth: int, repeat: bool = False
    ) -> None:
        self.emit(depth, "_rt.budget -= 1")
        self.emit(depth, "if _rt.budget < 0: _budget_exceeded()")
        scope.loop_depth += 1
        previous, scope.in_repeat = scope.in_repeat, repeat
        self.block(body, scope, depth)
        scope.in_repeat = previous
        scope.loop_depth -= 1

    def jump(self, s: n.Jump, scope: Scope, depth: int) -> None:
        if s.kind in ("EXIT", "CONTINUE"):
            if scope.loop_depth == 0:
                self.error(s, f"{s.kind} outside a loop")
            elif s.kind == "CONTINUE" and scope.in_repeat:
                self.error(s, "CONTINUE inside REPEAT is not supported; use IF around the rest")
            self.emit(depth, "break" if s.kind == "EXIT" else "continue")
            return
        if scope.kind == "FUNCTION":
            assert scope.pou is not None
            self.emit(depth, _function_return(self.symbols.functions[key(scope.pou.name)]))
        else:
            self.emit(depth, "return")

    def assign(self, s: n.Assign, scope: Scope, depth: int) -> None:
        functions = self.symbols.functions
        if isinstance(s.value, n.Call) and key(s.value.name) in functions:
            function = functions[key(s.value.name)]
            if function.extra_results:
                self._call_function_statement(function, s.value, scope, depth, s.target)
                return
        value = self.expr(s.value, scope)
        if isinstance(s.target, n.Bit):
            self._assign_bit(s.target, value, scope, depth)
            return
        target = self.expr(s.target, scope)
        if not self._writable(target, s.target):
            return
        code = self.checker.convert_for_store(value, target.type, s.value, "assignment")
        self.emit(depth, f"{target.code} = {code}")

    def _writable(self, target: Value, node: n.Expr) -> bool:
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

    def _assign_bit(self, target: n.Bit, value: Value, scope: Scope, depth: int) -> None:
        base = self.expr(target.base, scope)
        if not self._writable(base, target.base):
            return
        if not base.type.is_integer:
            self.error(target, f"bit access on {base.type}: needs an integer or bit string")
            return
        self.checker.check_bit(target, base.type)
        target.iec_type = BOOL
        code = self.checker.convert_for_store(value, BOOL, target, "bit assignment")
        setter = f"_setbit({base.code}, {target.bit}, {code})"
        self.emit(depth, f"{base.code} = {wrap_code(setter, base.type)}")

    def if_statement(self, s: n.If, scope: Scope, depth: int) -> None:
        for i, (condition_expr, body) in enumerate(s.branches):
            self.out.current_line = condition_expr.line
            keyword_ = "if" if i == 0 else "elif"
            self.emit(depth, f"{keyword_} {self.checker.condition(condition_expr, scope)}:")
            self.out.count_branch(condition_expr.line, "IF" if i == 0 else "ELSIF", depth + 1)
            self.block(body, scope, depth + 1)
        self.emit(depth, "else:", s.else_line)
        self.out.count_branch(
            s.else_line, "ELSE" if s.else_body is not None else "(no ELSE)", depth + 1
        )
        if s.else_body is not None:
            self.block(s.else_body, scope, depth + 1)

    def case_statement(self, s: n.Case, scope: Scope, depth: int) -> None:
        selector = self.expr(s.selector, scope)
        st = selector.type
        if not (st.is_integer or isinstance(st, EnumType)) and st is not ERROR:
            self.error(s.selector, f"CASE selector must be an integer or enumeration, not {st}")
        name = scope.fresh("s")
        self.emit(depth, f"{name} = {wrapped(selector)}")
        seen: list[tuple[int, int, int]] = []
        for i, arm in enumerate(s.arms):
            tests = []
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
                tests.append(f"{name} == {low}" if low == high else f"{low} <= {name} <= {high}")
            self.out.current_line = arm.line
            self.emit(depth, f"{'if' if i == 0 else 'elif'} {' or '.join(tests) or 'False'}:")
            self.out.count_branch(arm.line, "CASE", depth + 1)
            self.block(arm.body, scope, depth + 1)
        if not s.arms:
            self.emit(depth, "if False:")
            self.emit(depth + 1, "pass")
        self.emit(depth, "else:", s.else_line)
        self.out.count_branch(
            s.else_line, "ELSE" if s.else_body is not None else "(no ELSE)", depth + 1
        )
        if s.else_body is not None:
            self.block(s.else_body, scope, depth + 1)

    def _case_label(self, expr: n.Expr, selector: DataType, scope: Scope) -> int | None:
        if isinstance(selector, EnumType) and isinstance(expr, n.Name):
            entry = selector.values.get(key(expr.name))
            if entry is not None:
                expr.iec_type = selector
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
        return int(value.const)  # type: ignore[arg-type]

    def for_statement(self, s: n.For, scope: Scope, depth: int) -> None:
        control = self.expr(n.Name(s.line, s.col, s.variable), scope)
        if control.type is not ERROR and not (control.type.is_integer and control.lvalue):
            self.error(s, f"FOR variable {s.variable} must be an integer variable")
        t = control.type
        convert = self.checker.convert_for_store
        start = convert(self.expr(s.start, scope), t, s.start, "FOR start")
        end = convert(self.expr(s.end, scope), t, s.end, "FOR end")
        step_value: int | None = 1
        step = "1"
        if s.step is not None:
            step_e = self.expr(s.step, scope)
            step = convert(step_e, t, s.step, "FOR step")
            step_value = None if step_e.const is NOT_CONST else int(step_e.const)  # type: ignore[arg-type]
            if step_value == 0:
                self.error(s.step, "FOR step 0 never ends")
        r = scope.fresh("r")
        k = scope.fresh("k")
        e = scope.fresh("e")
        self.emit(depth, f"{e} = {end}")
        if step_value == 1:
            self.emit(depth, f"{r} = range({start}, {e} + 1)")
        elif step_value is not None and step_value > 0:
            self.emit(depth, f"{r} = range({start}, {e} + 1, {step})")
        elif step_value is not None:
            self.emit(depth, f"{r} = range({start}, {e} - 1, {step})")
        else:
            st = scope.fresh("st")
            self.emit(depth, f"{st} = {step}")
            self.emit(depth, f"{r} = range({start}, {e} + ({st} > 0) - ({st} < 0), {st})")
        self.emit(depth, f"for {k} in {r}:")
        if control.lvalue:
            self.emit(depth + 1, f"{control.code} = {k}")
        self._loop_body(s.body, scope, depth + 1)
        self.emit(depth, "else:")
        if control.lvalue:
            after = wrap_code(f"({r}[-1] + {r}.step if {r} else {r}.start)", t)
            self.emit(depth + 1, f"{control.code} = {after}")
        else:
            self.emit(depth + 1, "pass")

    # ---- calls ---------------------------------------------------------------------------

    def call_statement(
        self, target_expr: n.Expr, args: list[n.CallArg], scope: Scope, depth: int, s: n.Node
    ) -> None:
        if isinstance(target_expr, n.Name):
            k = key(target_expr.name)
            call = n.Call(s.line, s.col, target_expr.name, args)
            functions = self.symbols.functions
            if scope.lookup(target_expr.name) is None and k in functions:
                function = functions[k]
                if function.extra_results:
                    self._call_function_statement(function, call, scope, depth, None)
                    return
                bound = self.checker.bind_arguments(function, call, scope)
                if bound is not None:
                    self.emit(depth, f"{function.py}({', '.join(bound[0])})")
                return
            if scope.lookup(target_expr.name) is None and is_standard_function(target_expr.name):
                self.emit(depth, self.expr(call, scope).code)
                return
        instance = self.expr(target_expr, scope)
        if instance.type is ERROR:
            return
        fb = instance.type
        if not isinstance(fb, FbType):
            self.error(target_expr, f"{describe(target_expr)} is a {fb}, not a function block")
            return
        ref = instance.code
        if "[" in ref:
            temp = scope.fresh("f")
            self.emit(depth, f"{temp} = {ref}")
            ref = temp
        outputs: list[tuple[str, n.CallArg]] = []
        in_outs: list[tuple[str, Value]] = []
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
                outputs.append((attr, arg))
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
                in_outs.append((attr, value))
            code = self.checker.convert_for_store(
                value, member_type, arg.value, f"input {spelling}"
            )
            self.emit(depth, f"{ref}.{attr} = {code}")
        self.emit(depth, f"{ref}()")
        for attr, value in in_outs:
            self.emit(depth, f"{value.code} = {ref}.{attr}")
        for attr, arg in outputs:
            member_type = next(t for sp, t, _ in fb.members.values() if py_attr(sp) == attr)
            source = Value(f"{ref}.{attr}", member_type)
            if arg.negated:
                source = Value(f"(not {ref}.{attr})", member_type)
            self._store(arg.value, source, scope, depth)

    def _store(self, target_expr: n.Expr, value: Value, scope: Scope, depth: int) -> None:
        if isinstance(target_expr, n.Bit):
            self._assign_bit(target_expr, value, scope, depth)
            return
        target = self.expr(target_expr, scope)
        if self._writable(target, target_expr):
            code = self.checker.convert_for_store(value, target.type, target_expr, "output")
            self.emit(depth, f"{target.code} = {code}")

    def _call_function_statement(
        self,
        function: FunctionSig,
        call: n.Call,
        scope: Scope,
        depth: int,
        result: n.Expr | None,
    ) -> None:
        bound = self.checker.bind_arguments(function, call, scope)
        if bound is None:
            return
        codes, targets = bound
        call.iec_type = function.result  # typed like an expression, although a statement
        temp = scope.fresh("t")
        self.emit(depth, f"{temp} = {function.py}({', '.join(codes)})")
        if result is not None:
            if function.result is None:
                self.error(call, f"{function.name} returns no value")
            else:
                self._store(result, Value(f"{temp}[0]", function.result), scope, depth)
        extra = function.extra_results
        for position, arg in targets:
            value_type = extra[position - 1][2]
            code = f"{temp}[{position}]"
            if arg.negated:
                code = f"(not {code})"
            self._store(arg.value, Value(code, value_type), scope, depth)


def _function_return(function: FunctionSig) -> str:
    values = ["r_" if function.result is not None else "None"]
    values += [f"v_{k}" for k, *_ in function.extra_results]
    return "return " + (values[0] if len(values) == 1 else f"({', '.join(values)})")
