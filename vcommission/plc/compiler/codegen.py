"""Code generation: the typed tree of a checked library to one Python module.

The generated module has a class per PROGRAM, FUNCTION_BLOCK and STRUCT, a function per
FUNCTION and a ``Globals`` class, and is executed once per PLC instance (so instances
share nothing). Runs only on a library checked without error, and reads only the typed
tree (:mod:`~vcommission.plc.compiler.typed`): each expression's code comes from
:func:`~vcommission.plc.compiler.lower_expr.lower`, each statement's shape from its
plan; nothing is checked or typed here. Every loop iteration spends one unit of the
scan's loop budget, so an endless loop stops the PLC with its line instead of hanging
the harness.
"""

from __future__ import annotations

from vcommission.plc import nodes as n
from vcommission.plc.compiler.emitter import Emitter
from vcommission.plc.compiler.lower_expr import (
    Value,
    array_code,
    call_code,
    default_code,
    lower,
    size,
    store,
    wrap_code,
    wrapped,
)
from vcommission.plc.compiler.symbols import FunctionSig, Scope, class_name, py_attr
from vcommission.plc.compiler.typed import BoundCall, FbCallPlan, ForPlan, TypedProgram
from vcommission.plc.nodes import key
from vcommission.plc.types import BOOL, ERROR, ArrayType, DataType, FbType, StructType

__all__ = ["CodeGenerator"]


class CodeGenerator:
    """Writes the Python of a checked library (a :class:`TypedProgram`) through an emitter."""

    def __init__(self, program: TypedProgram, emitter: Emitter) -> None:
        self.program = program
        self.symbols = program.symbols
        self.out = emitter
        self.emit = emitter.emit

    def generate(self) -> None:
        """Emit structures, globals, then every POU in source order."""
        self.emit(0, "# generated from Structured Text by vcommission; do not edit", 0)
        self._emit_structs()
        self._emit_globals()
        for pou, scope in zip(self.symbols.library.pous, self.program.scopes, strict=True):
            if pou.kind == "FUNCTION":
                self._emit_function(pou, scope)
            else:
                self._emit_class(pou, scope)

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
            for var_decl in decl.fields:
                field_type = struct.fields[key(var_decl.names[0])][1]
                init = self.initial_code(field_type, var_decl.init)
                for name in var_decl.names:
                    self.emit(2, f"self.{py_attr(name)} = {init}", var_decl.line)
            if not attrs:
                self.emit(2, "pass")

    def _emit_globals(self) -> None:
        globals_ = self.symbols.globals
        attrs = tuple(py_attr(v.name) for v in globals_.values())
        self.emit(0, "class Globals:")
        self.emit(1, f"__slots__ = {attrs!r}")
        self.emit(1, "def __init__(self):")
        for block in self.symbols.global_blocks:
            if block.kind != "VAR_GLOBAL":
                continue
            for decl in block.decls:
                var = globals_.get(key(decl.names[0]))
                if var is None or var.line != decl.line:
                    continue
                init = self.initial_code(var.type, decl.init)
                for name in decl.names:
                    self.emit(2, f"self.{py_attr(name)} = {init}", decl.line)
        self.emit(2, "pass")

    def _emit_class(self, pou: n.Pou, scope: Scope) -> None:
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
                    init = self.initial_code(var.type, decl.init)
                    self.emit(2, f"{var.py} = {init}", decl.line)
                    if block.kind == "VAR_TEMP":
                        temps.append((var, init, decl.line))
        self.emit(2, "pass")
        self.emit(1, "def __call__(self):", pou.line)
        for var, init, line in temps:
            self.emit(2, f"{var.py} = {init}", line)
        self.block(pou.body, scope, 2)
        self.emit(2, "return", pou.end_line)

    def _emit_function(self, pou: n.Pou, scope: Scope) -> None:
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
                init = self.initial_code(var_type, decl.init)
                for name in decl.names:
                    self.emit(1, f"v_{key(name)} = {init}", decl.line)
        self.block(pou.body, scope, 1)
        self.emit(1, _function_return(function), pou.end_line)

    def initial_code(self, t: DataType, init: object) -> str:
        """Code of the initial value ``init`` (expression, list or dict) of a ``t``."""
        if init is None:
            return default_code(t)
        if isinstance(init, list):
            assert isinstance(t, ArrayType)
            total = size(t)
            items = [self.initial_code(t.element, item) for item in init[:total]]
            items += [default_code(t.element)] * (total - len(items))
            return array_code(t, items)
        if isinstance(init, dict):
            if isinstance(t, StructType):
                members = {k: ty for k, (_, ty) in t.fields.items()}
            else:
                assert isinstance(t, FbType)
                members = {k: ty for k, (_, ty, s) in t.members.items() if s == "VAR_INPUT"}
            parts = [
                f"{py_attr(name)}={self.initial_code(members[key(name)], value)}"
                for name, value in init.items()
            ]
            return f"_with({default_code(t)}, {', '.join(parts)})"
        assert isinstance(init, n.Expr)
        if isinstance(t, ArrayType):  # ARRAY[..] OF INT := 5: every element
            return array_code(t, [self.initial_code(t.element, init)] * size(t))
        return store(lower(init), t)

    # ---- statements ----------------------------------------------------------------------

    def block(self, body: list[n.Statement], scope: Scope, depth: int) -> None:
        if not body:
            self.emit(depth, "pass")
        continues = False
        for statement in body:
            self.statement(statement, scope, depth, continues)
            # After an assignment or a call the next statement always runs (unless this one
            # raises); after anything that branches, loops or jumps it may not.
            simple = isinstance(statement, n.Assign | n.CallStatement)
            empty = isinstance(statement, n.Jump) and statement.kind == "EMPTY"
            continues = simple or (continues and empty)

    def statement(self, s: n.Statement, scope: Scope, depth: int, continues: bool = False) -> None:
        self.out.current_line = s.line
        if isinstance(s, n.Jump) and s.kind == "EMPTY":
            return
        index = self.out.count_statement(s, depth, continues)
        self._statement(s, scope, depth)
        self.out.end_statement(index)

    def _statement(self, s: n.Statement, scope: Scope, depth: int) -> None:
        if isinstance(s, n.Assign):
            self.assign(s, scope, depth)
        elif isinstance(s, n.CallStatement):
            self.call_statement(s, scope, depth)
        elif isinstance(s, n.If):
            self.if_statement(s, scope, depth)
        elif isinstance(s, n.Case):
            self.case_statement(s, scope, depth)
        elif isinstance(s, n.For):
            self.for_statement(s, scope, depth)
        elif isinstance(s, n.While):
            self.emit(depth, f"while {lower(s.condition).code}:")
            self._loop_body(s.body, scope, depth + 1)
        elif isinstance(s, n.Repeat):
            self.emit(depth, "while True:")
            self._loop_body(s.body, scope, depth + 1)
            self.out.current_line = s.condition.line
            self.emit(depth + 1, f"if {lower(s.condition).code}:")
            self.emit(depth + 2, "break")
        elif isinstance(s, n.Jump):
            self.jump(s, scope, depth)

    def _loop_body(self, body: list[n.Statement], scope: Scope, depth: int) -> None:
        self.emit(depth, "_rt.budget -= 1")
        self.emit(depth, "if _rt.budget < 0: _budget_exceeded()")
        self.block(body, scope, depth)

    def jump(self, s: n.Jump, scope: Scope, depth: int) -> None:
        if s.kind in ("EXIT", "CONTINUE"):
            self.emit(depth, "break" if s.kind == "EXIT" else "continue")
        elif scope.kind == "FUNCTION":
            assert scope.pou is not None
            self.emit(depth, _function_return(self.symbols.functions[key(scope.pou.name)]))
        else:
            self.emit(depth, "return")

    def assign(self, s: n.Assign, scope: Scope, depth: int) -> None:
        typed = s.value.typed
        if typed is not None and typed.form == "outputs":
            self._call_with_outputs(s.value, scope, depth, s.target)  # type: ignore[arg-type]
            return
        self._store(s.target, lower(s.value), depth)

    def _store(self, target_expr: n.Expr, value: Value, depth: int) -> None:
        if isinstance(target_expr, n.Bit):
            base = lower(target_expr.base)
            setter = f"_setbit({base.code}, {target_expr.bit}, {store(value, BOOL)})"
            self.emit(depth, f"{base.code} = {wrap_code(setter, base.type)}")
            return
        target = lower(target_expr)
        self.emit(depth, f"{target.code} = {store(value, target.type)}")

    def if_statement(self, s: n.If, scope: Scope, depth: int) -> None:
        for i, (condition_expr, body) in enumerate(s.branches):
            self.out.current_line = condition_expr.line
            keyword_ = "if" if i == 0 else "elif"
            self.emit(depth, f"{keyword_} {lower(condition_expr).code}:")
            self.out.count_branch(condition_expr.line, "IF" if i == 0 else "ELSIF", depth + 1)
            self.block(body, scope, depth + 1)
        self.emit(depth, "else:", s.else_line)
        self.out.count_branch(
            s.else_line, "ELSE" if s.else_body is not None else "(no ELSE)", depth + 1
        )
        if s.else_body is not None:
            self.block(s.else_body, scope, depth + 1)

    def case_statement(self, s: n.Case, scope: Scope, depth: int) -> None:
        name = scope.fresh("s")
        self.emit(depth, f"{name} = {wrapped(lower(s.selector))}")
        labels: list[list[tuple[int, int]]] = s.plan  # type: ignore[assignment]
        for i, (arm, ranges) in enumerate(zip(s.arms, labels, strict=True)):
            tests = [
                f"{name} == {low}" if low == high else f"{low} <= {name} <= {high}"
                for low, high in ranges
            ]
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

    def for_statement(self, s: n.For, scope: Scope, depth: int) -> None:
        plan: ForPlan = s.plan  # type: ignore[assignment]
        control = lower(plan.control)
        t = control.type
        start = store(lower(s.start), t)
        end = store(lower(s.end), t)
        step = "1" if s.step is None else store(lower(s.step), t)
        step_value = plan.step
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
        self.emit(depth + 1, f"{control.code} = {k}")
        self._loop_body(s.body, scope, depth + 1)
        self.emit(depth, "else:")
        after = wrap_code(f"({r}[-1] + {r}.step if {r} else {r}.start)", t)
        self.emit(depth + 1, f"{control.code} = {after}")

    # ---- calls ---------------------------------------------------------------------------

    def call_statement(self, s: n.CallStatement, scope: Scope, depth: int) -> None:
        if isinstance(s.plan, n.Call):  # a function called for its effect
            if s.plan.typed.form == "outputs":  # type: ignore[union-attr]
                self._call_with_outputs(s.plan, scope, depth, None)
            else:
                self.emit(depth, lower(s.plan).code)
            return
        plan: FbCallPlan = s.plan  # type: ignore[assignment]
        ref = lower(s.target).code
        if "[" in ref:
            temp = scope.fresh("f")
            self.emit(depth, f"{temp} = {ref}")
            ref = temp
        for attr, member_type, value_expr in plan.inputs:
            self.emit(depth, f"{ref}.{attr} = {store(lower(value_expr), member_type)}")
        self.emit(depth, f"{ref}()")
        for attr, variable in plan.in_outs:
            self.emit(depth, f"{lower(variable).code} = {ref}.{attr}")
        for attr, member_type, arg in plan.outputs:
            code = f"(not {ref}.{attr})" if arg.negated else f"{ref}.{attr}"
            self._store(arg.value, Value(code, member_type), depth)

    def _call_with_outputs(
        self, call: n.Call, scope: Scope, depth: int, result: n.Expr | None
    ) -> None:
        bound: BoundCall = call.typed.info  # type: ignore[union-attr,assignment]
        function: FunctionSig = bound.function  # type: ignore[assignment]
        temp = scope.fresh("t")
        self.emit(depth, f"{temp} = {call_code(bound)}")
        if result is not None:
            self._store(result, Value(f"{temp}[0]", function.result), depth)  # type: ignore[arg-type]
        extra = function.extra_results
        for position, arg in bound.targets:
            code = f"{temp}[{position}]"
            if arg.negated:
                code = f"(not {code})"
            self._store(arg.value, Value(code, extra[position - 1][2]), depth)


def _function_return(function: FunctionSig) -> str:
    values = ["r_" if function.result is not None else "None"]
    values += [f"v_{k}" for k, *_ in function.extra_results]
    return "return " + (values[0] if len(values) == 1 else f"({', '.join(values)})")
