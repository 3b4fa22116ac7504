"""Reading scenario files: strict YAML, matrix cases, paths, and checks against the model.

:func:`load_scenarios` returns one :class:`Scenario` per matrix case, each with its model
and PLC program resolved. Every problem is reported at once with file, line and YAML path:
unknown keys, wrong types, tags the model does not have, faults on the wrong kind of
signal, a missing PLC program, and (when the suite has a requirements file) a requirement id
it does not list. Which keys a step or a check may have, and what each step must find in the
model, the registered kinds say (:mod:`vcommission.scenario.registry`).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from vcommission.config.model import Model, load_model
from vcommission.config.yamlload import Document, YamlPath, build, load_document
from vcommission.errors import ConfigError, VcommissionError
from vcommission.plc import model_program
from vcommission.scenario.conditions import ConditionError, compile_condition
from vcommission.scenario.registry import STEPS
from vcommission.scenario.requirements import Requirements
from vcommission.scenario.schema import CheckSpec, ConditionSpec, Scenario, ScenarioFile, Step

__all__ = ["Scenario", "load_scenarios"]

_RESOLVER = yaml.resolver.Resolver()


#: How a user allows scenario files to run commands, as the refusal says it.
ALLOW_COMMANDS_HINT = (
    "--allow-commands (pytest: --vc-allow-commands) or VCOMMISSION_ALLOW_COMMANDS=1"
)


def commands_allowed(flag: bool) -> bool:
    """Whether scenario commands may run: the user's flag, or ``VCOMMISSION_ALLOW_COMMANDS=1``."""
    return flag or os.environ.get("VCOMMISSION_ALLOW_COMMANDS") == "1"


@cache
def _model(path: Path) -> Model:
    return load_model(path)


def load_scenarios(
    path: str | Path,
    plc: str | Path | None = None,
    requirements: Requirements | None = None,
    *,
    allow_commands: bool = True,
) -> list[Scenario]:
    """Load a scenario file: one :class:`Scenario` per matrix case.

    Args:
        path: The YAML file.
        plc: ST program for scenarios that name none (the CLI's ``--plc``).
        requirements: The suite's requirements file, if one applies: every id the file
            names (``requirements:``, a check's ``requirement:``) must be in it.
        allow_commands: Whether an external PLC's ``command`` may run. A scenario file
            with a command is code; ``run`` and the pytest plugin refuse it (a located
            error) unless the user allows commands. Python callers are code already.

    Raises:
        ConfigError: every problem found, located.
    """
    doc = load_document(path)
    doc.raise_if_issues()
    matrix = _matrix(doc)
    doc.raise_if_issues()
    combinations = itertools.product(*matrix.values())
    cases = [dict(zip(matrix, values, strict=True)) for values in combinations]
    scenarios: list[Scenario] = []
    for params in cases or [{}]:
        root = _substitute(doc.root, params) if params else doc.root
        spec = build(doc, ScenarioFile, node=root)
        if spec is None:
            break  # the same issues would repeat for every case
        _check_requirements(doc, spec, requirements)
        if not allow_commands and spec.plc.external is not None and spec.plc.external.command:
            doc.issue(
                ("plc", "external", "command"),
                f"runs {spec.plc.external.command[0]!r} on this machine: a scenario file "
                f"with a command is code; allow it with {ALLOW_COMMANDS_HINT}",
            )
            break
        scenario = _resolve(doc, spec, params, plc, requirements)
        if scenario is not None:
            scenarios.append(scenario)
    doc.issues = list(dict.fromkeys(doc.issues))  # matrix cases repeat the same problems
    doc.raise_if_issues()
    return scenarios


def _matrix(doc: Document) -> dict[str, list[Any]]:
    node = doc.node_at(("matrix",))
    if node is None:
        return {}
    matrix = build(doc, dict[str, list[bool | int | float | str]], ("matrix",), node) or {}
    for name, values in matrix.items():
        if not values:
            doc.issue(("matrix", name), "needs at least one value")
        if name == "seed" and any(not isinstance(v, int) or isinstance(v, bool) or v < 0
                                  for v in values):  # fmt: skip
            doc.issue(("matrix", name), "seeds are integers >= 0")
    return matrix


def _substitute(node: Node | None, params: dict[str, Any]) -> Node | None:
    """A copy of the node tree with every scalar written ``$name`` replaced by its value."""
    if isinstance(node, ScalarNode):
        if node.value.startswith("$") and node.value[1:] in params:
            value = params[node.value[1:]]
            text = ("true" if value else "false") if isinstance(value, bool) else str(value)
            tag = _RESOLVER.resolve(ScalarNode, text, (True, False))
            return ScalarNode(tag, text, node.start_mark, node.end_mark)
        return node
    if isinstance(node, SequenceNode):
        items = [_substitute(item, params) for item in node.value]
        return SequenceNode(node.tag, items, node.start_mark, node.end_mark, node.flow_style)
    if isinstance(node, MappingNode):
        pairs = [(k, _substitute(v, params)) for k, v in node.value]
        return MappingNode(node.tag, pairs, node.start_mark, node.end_mark, node.flow_style)
    return node


def _check_requirements(
    doc: Document, spec: ScenarioFile, requirements: Requirements | None
) -> None:
    """Every requirement id the file names is in the suite's requirements file."""
    if requirements is None:
        return
    for index, requirement in enumerate(spec.requirements):
        if requirement not in requirements:
            doc.issue(("requirements", index), requirements.unknown(requirement))
    for index, check in enumerate(spec.checks):
        if check.requirement is not None and check.requirement not in requirements:
            doc.issue(("checks", index, "requirement"), requirements.unknown(check.requirement))


def _resolve(
    doc: Document,
    spec: ScenarioFile,
    params: dict[str, Any],
    plc: str | Path | None,
    requirements: Requirements | None = None,
) -> Scenario | None:
    folder = Path(doc.file).parent
    before = len(doc.issues)
    model_path = (folder / spec.model).resolve()
    try:
        model = _model(model_path)
    except ConfigError as exc:
        doc.issue(("model",), f"model {spec.model} does not load: {exc.issues[0]}")
        return None
    program: Path | None = None
    if spec.plc.external is None:
        program = _program(doc, spec, folder, model_path, plc)
    _check_names(doc, spec, model)
    if len(doc.issues) > before:
        return None
    seed = params.get("seed", spec.seed)
    listed = Path(requirements.file) if requirements is not None else None
    return Scenario(doc.file, spec, model_path, program, seed, params, listed)


def _program(
    doc: Document, spec: ScenarioFile, folder: Path, model_path: Path, plc: str | Path | None
) -> Path | None:
    if spec.plc.st is not None:
        program = (folder / spec.plc.st).resolve()
        if not program.is_file():
            doc.issue(("plc", "st"), f"no such ST program: {program}")
        return program
    if plc is not None:
        return Path(plc).resolve()
    try:
        return model_program(model_path)
    except VcommissionError as exc:
        doc.issue(("model",), f"no PLC program given (plc: st: FILE, or --plc) and {exc}")
        return None


def _check_names(doc: Document, spec: ScenarioFile, model: Model) -> None:
    """Every condition and step refers to something the model (or the scenario) has."""
    faults = sorted({step.fault.name for step in spec.steps if step.action == "fault"})
    for path, value in _walk(spec, ()):
        if isinstance(value, ConditionSpec):
            try:
                compile_condition(value, model.table)
            except ConditionError as exc:
                doc.issue(path, str(exc))
            if value.fault_acted is not None and value.fault_acted not in faults:
                injected = ", ".join(faults) or "none is injected"
                doc.issue(
                    (*path, "fault_acted"),
                    f"no fault named {value.fault_acted!r} is injected ({injected})",
                )
    for i, step in enumerate(spec.steps):
        problems = STEPS.load(step.action).problems
        if problems is not None:
            for below, message in problems(step.spec, model, spec):
                doc.issue(("steps", i, step.action, *below), message)


def _walk(value: Any, path: YamlPath) -> Any:
    """(YAML path, value) of every dataclass and list item below ``value``, depth first."""
    if isinstance(value, Step | CheckSpec):  # one key: the action or kind, then its spec
        yield path, value
        yield from _walk(
            value.spec, (*path, value.action if isinstance(value, Step) else value.kind)
        )
    elif dataclasses.is_dataclass(value):
        yield path, value
        for f in dataclasses.fields(value):
            yield from _walk(getattr(value, f.name), (*path, f.metadata.get("yaml", f.name)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*path, i))
