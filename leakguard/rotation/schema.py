"""Load and validate a playbook file (``apiVersion: leakguard/v1``, ``kind: Playbook``).

Everything that can be checked without running is checked here, and every error names the file
and line: the four stages (verify is mandatory), step ids, actions and their parameters against
:class:`ActionSpec.params`, expressions and the names they read (declared inputs, earlier steps,
``item`` only inside ``for_each``), backends named by steps, and an approval step before every
irreversible step.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakguard.errors import PlaybookError
from leakguard.redact import fingerprint
from leakguard.rotation import expr
from leakguard.rotation.interface import Action, ActionSpec, Param
from leakguard.schemacheck import (
    Explain,
    Problem,
    SchemaCheck,
    check,
    node_at,
    shown,
    validator_for,
)
from leakguard.yamlfile import LineDict, line_of, load_yaml

API_VERSION = "leakguard/v1"
STAGES = ("contain", "map", "rotate", "verify")
INPUT_TYPES = ("credential", "duration", "string", "int", "bool")
PARAM_TYPES = ("string", "int", "number", "bool", "duration", "list", "mapping", "any")
APPROVAL = "approval"
ON_FAILURE = ("pause", "rollback")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
APPROVAL_SPEC = ActionSpec(
    name=APPROVAL,
    summary="wait for an operator's approval (prompt, `leakguard playbook approve`, or --yes)",
    mutating=False,
    params={
        "message": Param("string", required=False, help="what the operator approves"),
    },
)
"""The engine runs approval steps itself; this spec is used when the registry has none."""


_EXPRESSION = {"type": "string", "pattern": "\\$\\{", "description": "a ${...} expression"}
_PARAM_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "int": {"type": "integer"},
    "number": {"type": "number"},
    "bool": {"type": "boolean"},
    "duration": {"type": ["string", "number"]},
    "list": {"type": "array"},
    "mapping": {"type": "object"},
    "any": {},
}
_DURATION = {"type": ["string", "number"], "description": "30s, 15m, 1h, 2d, 250ms or seconds"}
_STEP_ID = "step id must be lower-case letters, digits and '-'"
_HINT = "see docs/playbooks.md (editors validate with schemas/playbook.schema.json)"


def _param_schema(param: Param) -> dict[str, Any]:
    """A parameter's type, or a ${...} expression (checked when the step runs)."""
    kind = _PARAM_TYPES.get(param.type, {})
    typed = kind if kind.get("type") in (None, "string") else {"anyOf": [kind, _EXPRESSION]}
    return {**typed, "description": param.help} if param.help else dict(typed)


def _action_params(spec: ActionSpec) -> dict[str, Any]:
    """``if uses is this action then its with: takes these parameters``."""
    required = sorted(k for k, p in spec.params.items() if p.required)
    with_ = {
        "type": ["object", "null"],
        "additionalProperties": False,
        "properties": {k: _param_schema(p) for k, p in sorted(spec.params.items())},
        "required": required,
    }
    then: dict[str, Any] = {"properties": {"with": with_}}
    if required:
        then["required"] = ["with"]
    return {
        "if": {"required": ["uses"], "properties": {"uses": {"const": spec.name}}},
        "then": then,
    }


def schema(registry: Mapping[str, Action] | None = None) -> dict[str, Any]:
    """The JSON Schema of a playbook whose steps use the actions of ``registry`` (published for
    the shipped actions as ``schemas/playbook.schema.json``)."""
    from leakguard.backends.registry import ISSUER_KINDS, STORE_KINDS

    registry = default_registry() if registry is None else registry
    specs = {n: s for n in sorted(set(registry) | {APPROVAL}) if (s := spec_for(n, registry))}
    by_action = [_action_params(spec) for spec in specs.values()]
    action = {"title": "action", "enum": list(specs)}
    step = {
        "additionalProperties": False,
        "allOf": [{"type": "object", "required": ["id", "uses"]}, {"$ref": "#/$defs/params"}],
        "properties": {
            "id": {"type": "string", "pattern": _ID.pattern, "errorMessage": _STEP_ID},
            "uses": {**action, "description": "the action this step runs"},
            "with": {"type": ["object", "null"], "description": "the action's parameters"},
            "when": {"type": ["string", "boolean"], "description": "run only when true"},
            "for_each": {**_EXPRESSION, "description": "one ${...} expression: run per item"},
            "compensate": {
                "description": "what undoes this step (default: the action's own undo)",
                "additionalProperties": False,
                "allOf": [{"type": "object", "required": ["uses"]}, {"$ref": "#/$defs/params"}],
                "properties": {
                    "uses": action,
                    "with": {"type": ["object", "null"]},
                },
            },
            "irreversible": {"type": "boolean", "description": "needs an approval step before"},
            "retry": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "properties": {
                    "attempts": {"type": "integer", "minimum": 1},
                    "backoff": _DURATION,
                    "max_backoff": _DURATION,
                },
            },
            "timeout": _DURATION,
            "description": {"type": "string"},
        },
    }
    steps = {"type": ["array", "null"], "items": {"$ref": "#/$defs/step"}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "LeakGuard playbook (playbooks/*.yaml, apiVersion leakguard/v1)",
        "allOf": [
            {
                "type": "object",
                "errorMessage": "a playbook must be a mapping (apiVersion, kind, id, stages...)",
            },
            {"required": ["apiVersion"], "errorMessage": f"apiVersion must be {API_VERSION}"},
            {"required": ["kind"], "errorMessage": "kind must be Playbook"},
            {"required": ["id"], "errorMessage": "id must be lower-case letters, digits and '-'"},
            {
                "required": ["stages"],
                "errorMessage": "missing stages (contain, map, rotate, verify)",
            },
        ],
        "additionalProperties": False,
        "properties": {
            "apiVersion": {
                "const": API_VERSION,
                "errorMessage": f"apiVersion must be {API_VERSION}",
            },
            "kind": {"const": "Playbook", "errorMessage": "kind must be Playbook"},
            "id": {
                "type": "string",
                "pattern": _ID.pattern,
                "errorMessage": "id must be lower-case letters, digits and '-'",
                "description": "equal to the file name",
            },
            "title": {"type": "string"},
            "description": {"type": "string"},
            "inputs": {
                "type": ["object", "null"],
                "propertyNames": {
                    "pattern": "^[A-Za-z_][A-Za-z0-9_]*$",
                    "errorMessage": "input names use letters, digits and '_'",
                },
                "additionalProperties": {
                    "type": ["object", "null"],
                    "additionalProperties": False,
                    "properties": {
                        "type": {"title": "type", "enum": list(INPUT_TYPES)},
                        "required": {"type": "boolean"},
                        "default": {"description": "a value of the input's type"},
                        "help": {"type": "string"},
                    },
                },
            },
            "backends": {
                "type": ["object", "null"],
                "additionalProperties": {
                    "type": "object",
                    "required": ["kind"],
                    "additionalProperties": False,
                    "properties": {
                        "kind": {
                            "title": "kind",
                            "enum": sorted(set(STORE_KINDS) | set(ISSUER_KINDS)),
                        },
                        "params": {
                            "type": ["object", "null"],
                            "description": "never a credential: give those in the environment",
                        },
                    },
                },
            },
            "stages": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    **{stage: steps for stage in STAGES[:-1]},
                    "verify": {"items": step},
                },
                "allOf": [
                    {
                        "required": ["verify"],
                        "properties": {"verify": {"type": "array", "minItems": 1}},
                        "errorMessage": "missing verify stage",
                    }
                ],
            },
            "outputs": {"type": ["object", "null"], "additionalProperties": {"type": "string"}},
            "on_failure": {
                "enum": list(ON_FAILURE),
                "errorMessage": f"on_failure must be {' or '.join(ON_FAILURE)}",
            },
        },
        "$defs": {
            "step": step,
            "params": {"allOf": by_action, "description": "each action's parameters"},
        },
    }


@dataclass(frozen=True, slots=True)
class InputSpec:
    name: str
    type: str
    required: bool = False
    default: Any = None
    help: str = ""


@dataclass(frozen=True, slots=True)
class BackendSpec:
    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 30.0


@dataclass(frozen=True, slots=True)
class Compensation:
    uses: str
    with_: Mapping[str, Any]
    explicit: bool  # False: the action's default compensation, fed the step's params + outputs


@dataclass(frozen=True, slots=True)
class Step:
    id: str
    uses: str
    stage: str
    line: int
    with_: Mapping[str, Any] = field(default_factory=dict)
    when: str | None = None
    for_each: str | None = None
    compensate: Compensation | None = None
    irreversible: bool = False
    retry: RetryPolicy = RetryPolicy()
    timeout: float | None = None
    description: str = ""


@dataclass(frozen=True)
class Playbook:
    id: str
    title: str
    description: str
    inputs: Mapping[str, InputSpec]
    backends: Mapping[str, BackendSpec]
    stages: Mapping[str, tuple[Step, ...]]
    outputs: Mapping[str, str]
    on_failure: str
    path: Path
    text: str

    @property
    def steps(self) -> tuple[Step, ...]:
        return tuple(s for stage in STAGES for s in self.stages[stage])

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise PlaybookError(f"playbook {self.id} has no step {step_id!r}")

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()


def default_registry() -> Mapping[str, Action]:
    """The shipped actions (imported lazily: the engine works with any registry)."""
    from leakguard.rotation.actions import REGISTRY

    return REGISTRY


def spec_for(name: str, registry: Mapping[str, Action]) -> ActionSpec | None:
    if name in registry:
        return registry[name].spec
    if name == APPROVAL:
        return APPROVAL_SPEC
    return None


class _Loader:
    def __init__(self, path: Path, registry: Mapping[str, Action]) -> None:
        self.path = path
        self.registry = registry

    def fail(self, line: int, message: str, hint: str | None = None) -> PlaybookError:
        where = f"{self.path}:{line}" if line else str(self.path)
        return PlaybookError(f"{where}: {message}", hint=hint)

    def mapping(self, value: Any, line: int, what: str) -> LineDict:
        if value is None:
            empty = LineDict()
            empty.line, empty.key_lines = line, {}
            return empty
        if not isinstance(value, dict):
            raise self.fail(line, f"{what} must be a mapping")
        if not isinstance(value, LineDict):
            wrapped = LineDict(value)
            wrapped.line, wrapped.key_lines = line, {}
            return wrapped
        return value

    def load(self, doc: Any, text: str) -> Playbook:
        """A document the schema accepted: what only running code can check, and the model."""
        top = self.mapping(doc, 1, "playbook")
        pb_id = top["id"]
        on_failure = top.get("on_failure", "pause")
        inputs = self.inputs(top.get("inputs"), top.line_of("inputs"))
        backends = self.backends(top.get("backends"), top.line_of("backends"))
        stages = self.stages(top.get("stages"), top.line_of("stages"), inputs, backends)
        outputs_raw = self.mapping(top.get("outputs"), top.line_of("outputs"), "outputs")
        outputs: dict[str, str] = {}
        known = {s.id: s for st in STAGES for s in stages[st]}
        for key, value in outputs_raw.items():
            line = outputs_raw.line_of(key)
            if not isinstance(value, str):
                raise self.fail(line, f"output {key!r} must be a string expression")
            self.check_templates(value, line, inputs, known, has_item=False)
            outputs[str(key)] = value
        return Playbook(
            id=pb_id,
            title=str(top.get("title", pb_id)),
            description=str(top.get("description", "")),
            inputs=inputs,
            backends=backends,
            stages=stages,
            outputs=outputs,
            on_failure=str(on_failure),
            path=self.path,
            text=text,
        )

    def inputs(self, raw: Any, line: int) -> dict[str, InputSpec]:
        block = self.mapping(raw, line, "inputs")
        out: dict[str, InputSpec] = {}
        for name, spec in block.items():
            at = block.line_of(name)
            spec = self.mapping(spec, at, f"input {name}")
            kind = spec.get("type", "string")
            default = spec.get("default")
            if default is not None:
                try:
                    default = coerce_input(kind, default)
                except PlaybookError as exc:
                    raise self.fail(
                        spec.line_of("default"), f"input {name}: {exc.message}"
                    ) from None
            out[str(name)] = InputSpec(
                str(name),
                kind,
                bool(spec.get("required", False)),
                default,
                str(spec.get("help", "")),
            )
        return out

    def backends(self, raw: Any, line: int) -> dict[str, BackendSpec]:
        block = self.mapping(raw, line, "backends")
        out: dict[str, BackendSpec] = {}
        for name, spec in block.items():
            at = block.line_of(name)
            spec = self.mapping(spec, at, f"backend {name}")
            kind = spec["kind"]
            params = self.mapping(spec.get("params"), spec.line_of("params"), "params")
            for key in params:
                if is_credential_param(str(key)):
                    raise self.fail(
                        params.line_of(key),
                        f"backend {name}: a credential ({key}) does not belong in a playbook",
                        "a playbook is kept in the run journal: give it through the environment "
                        "(VAULT_TOKEN, AWS_PROFILE)",
                    )
            out[str(name)] = BackendSpec(str(name), str(kind), dict(params))
        return out

    def stages(
        self,
        raw: Any,
        line: int,
        inputs: Mapping[str, InputSpec],
        backends: Mapping[str, BackendSpec],
    ) -> dict[str, tuple[Step, ...]]:
        block = self.mapping(raw, line, "stages")
        names = list(block)
        if names != [s for s in STAGES if s in names]:
            raise self.fail(block.line, f"stages must appear in the order {', '.join(STAGES)}")
        known: dict[str, Step] = {}
        approved = False
        out: dict[str, tuple[Step, ...]] = {}
        for stage in STAGES:
            raw_steps = block.get(stage) or []
            steps: list[Step] = []
            for raw_step in raw_steps:
                step = self.step(raw_step, stage, line_of(raw_steps), inputs, backends, known)
                spec = spec_for(step.uses, self.registry)
                if step.uses == APPROVAL:
                    approved = True
                elif (
                    step.irreversible or (spec is not None and spec.irreversible)
                ) and not approved:
                    raise self.fail(
                        step.line,
                        f"step {step.id} ({step.uses}) is irreversible; no approval step before it",
                        "add a step `uses: approval` before it (--yes approves it in automation)",
                    )
                known[step.id] = step
                steps.append(step)
            out[stage] = tuple(steps)
        return out

    def step(
        self,
        raw: Any,
        stage: str,
        line: int,
        inputs: Mapping[str, InputSpec],
        backends: Mapping[str, BackendSpec],
        known: Mapping[str, Step],
    ) -> Step:
        node = self.mapping(raw, line, "a step")
        at = node.line
        step_id = node["id"]
        if step_id in known:
            raise self.fail(
                node.line_of("id"),
                f"duplicate step id {step_id!r} (first at line {known[step_id].line})",
            )
        uses = node.get("uses")
        spec = spec_for(uses, self.registry) if isinstance(uses, str) else None
        if spec is None:
            raise self.fail(
                node.line_of("uses"),
                f"step {step_id}: unknown action {uses!r}",
                f"actions: {', '.join(sorted(set(self.registry) | {APPROVAL}))}",
            )
        for_each = node.get("for_each")
        has_item = for_each is not None
        if for_each is not None:
            if not isinstance(for_each, str) or expr.parse_template(for_each).whole is None:
                raise self.fail(
                    node.line_of("for_each"),
                    f"step {step_id}: for_each must be one ${{...}} expression",
                )
            self.check_templates(for_each, node.line_of("for_each"), inputs, known, has_item=False)
        when = node.get("when")
        if when is not None:
            if isinstance(when, bool):
                when = "${true}" if when else "${false}"
            if not isinstance(when, str):
                raise self.fail(node.line_of("when"), f"step {step_id}: when must be an expression")
            if not expr.has_expression(when):
                when = "${" + when + "}"
            self.check_templates(when, node.line_of("when"), inputs, known, has_item=has_item)
        with_ = self.mapping(node.get("with"), node.line_of("with"), "with")
        self.check_params(spec, with_, step_id, inputs, known, backends, has_item)
        retry = self.retry(node.get("retry"), node.line_of("retry"), step_id)
        timeout = node.get("timeout")
        if timeout is not None:
            try:
                timeout = expr.parse_duration(timeout)
            except PlaybookError as exc:
                raise self.fail(node.line_of("timeout"), f"step {step_id}: {exc.message}") from None
        irreversible = node.get("irreversible", False)
        step_for_self = Step(id=step_id, uses=str(uses), stage=stage, line=at)
        compensate = self.compensation(
            node.get("compensate"), node.line_of("compensate"), spec, step_id, inputs,
            {**known, step_id: step_for_self}, backends, has_item,
        )  # fmt: skip
        return Step(
            id=step_id,
            uses=str(uses),
            stage=stage,
            line=at,
            with_=dict(with_),
            when=when,
            for_each=for_each,
            compensate=compensate,
            irreversible=irreversible,
            retry=retry,
            timeout=timeout,
            description=str(node.get("description", "")),
        )

    def compensation(
        self,
        raw: Any,
        line: int,
        spec: ActionSpec,
        step_id: str,
        inputs: Mapping[str, InputSpec],
        known: Mapping[str, Step],
        backends: Mapping[str, BackendSpec],
        has_item: bool,
    ) -> Compensation | None:
        if raw is None:
            if spec.compensation is None:
                return None
            if spec_for(spec.compensation, self.registry) is None:
                raise self.fail(
                    line,
                    f"step {step_id}: default compensation {spec.compensation!r} is unknown",
                )
            return Compensation(spec.compensation, {}, explicit=False)
        node = self.mapping(raw, line, "compensate")
        uses = node.get("uses")
        comp_spec = spec_for(uses, self.registry) if isinstance(uses, str) else None
        if comp_spec is None:
            raise self.fail(
                node.line_of("uses"), f"step {step_id}: unknown compensation action {uses!r}"
            )
        with_ = self.mapping(node.get("with"), node.line_of("with"), "with")
        self.check_params(
            comp_spec, with_, f"{step_id} (compensate)", inputs, known, backends, has_item
        )
        return Compensation(str(uses), dict(with_), explicit=True)

    def retry(self, raw: Any, line: int, step_id: str) -> RetryPolicy:
        if raw is None:
            return RetryPolicy()
        node = self.mapping(raw, line, "retry")
        try:
            attempts = int(node.get("attempts", 5))
            backoff = expr.parse_duration(node.get("backoff", "1s"))
            max_backoff = expr.parse_duration(node.get("max_backoff", "30s"))
        except (TypeError, ValueError, PlaybookError):
            raise self.fail(
                line,
                f"step {step_id}: retry takes attempts (int), backoff and max_backoff (durations)",
            ) from None
        if attempts < 1:
            raise self.fail(line, f"step {step_id}: retry attempts must be at least 1")
        return RetryPolicy(attempts, backoff, max_backoff)

    def check_params(
        self,
        spec: ActionSpec,
        with_: LineDict,
        step_id: str,
        inputs: Mapping[str, InputSpec],
        known: Mapping[str, Step],
        backends: Mapping[str, BackendSpec],
        has_item: bool,
    ) -> None:
        for key, value in with_.items():
            line = with_.line_of(key)
            param = spec.params.get(key)
            if param is None:
                raise self.fail(
                    line,
                    f"step {step_id}: {spec.name} has no parameter {key!r}",
                    f"parameters: {', '.join(sorted(spec.params)) or 'none'}",
                )
            self.check_templates(value, line, inputs, known, has_item)
            if isinstance(value, str) and expr.has_expression(value):
                continue
            if not _type_ok(param.type, value):
                raise self.fail(
                    line, f"step {step_id}: parameter {key} must be {param.type}, got {value!r}"
                )
            if key == "backend" and isinstance(value, str) and value not in backends:
                raise self.fail(
                    line,
                    f"step {step_id}: unknown backend {value!r}",
                    f"declare it under backends: ({', '.join(sorted(backends)) or 'none yet'})",
                )
        for key, param in spec.params.items():
            if param.required and key not in with_:
                raise self.fail(with_.line, f"step {step_id}: {spec.name} needs parameter {key!r}")

    def check_templates(
        self,
        value: Any,
        line: int,
        inputs: Mapping[str, InputSpec],
        known: Mapping[str, Step],
        has_item: bool,
    ) -> None:
        try:
            templates = list(expr.templates_in(value))
        except expr.ExprError as exc:
            raise self.fail(line, f"bad expression: {exc.message}", exc.hint) from None
        for template in templates:
            for node in template.nodes():
                for ref in expr.references(node):
                    self.check_reference(ref, line, inputs, known, has_item)

    def check_reference(
        self,
        ref: tuple[str, ...],
        line: int,
        inputs: Mapping[str, InputSpec],
        known: Mapping[str, Step],
        has_item: bool,
    ) -> None:
        root = ref[0]
        if root == "inputs":
            if len(ref) < 2:
                raise self.fail(line, "write inputs.NAME")
            if ref[1] not in inputs:
                raise self.fail(
                    line,
                    f"unknown input reference inputs.{ref[1]}",
                    f"declared inputs: {', '.join(sorted(inputs)) or 'none'}",
                )
        elif root == "steps":
            if len(ref) < 3 or ref[2] not in {"outputs", "status"}:
                raise self.fail(line, "write steps.ID.outputs.NAME or steps.ID.status")
            if ref[1] not in known:
                raise self.fail(
                    line,
                    f"unknown step reference steps.{ref[1]}",
                    "a step can only read steps that come before it",
                )
        elif root == "item" and not has_item:
            raise self.fail(line, "item is only available in a for_each step")
        elif root == "run" and len(ref) > 1 and ref[1] not in {"id", "mode"}:
            raise self.fail(line, f"unknown run.{ref[1]}", "run.id or run.mode")


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "string":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "list":
        return isinstance(value, list)
    if kind == "mapping":
        return isinstance(value, dict)
    if kind == "duration":
        try:
            expr.parse_duration(value)
        except PlaybookError:
            return False
        return True
    return False


_CREDENTIAL_WORDS = ("token", "secret", "password", "key")


def is_credential_param(name: str) -> bool:
    """A backend parameter that holds a credential (a Vault token): never journaled."""
    return any(word in name.lower() for word in _CREDENTIAL_WORDS)


def _is_a_secret(value: str) -> bool:
    """Does a detector rule recognise ``value`` (a credential input that is the key itself)?"""
    if value.startswith("sha256:"):
        return False
    from leakguard.engine.matcher import Engine
    from leakguard.engine.rules import RuleSet

    return bool(Engine(RuleSet.load(), "re").scan_text(value, path="<input>"))


def coerce_input(kind: str, value: Any) -> Any:
    """A value given on the command line (a string) or as a default, as its input type."""
    if kind in {"string", "credential"}:
        if not isinstance(value, str) or (kind == "credential" and not value):
            raise PlaybookError(f"expected a {kind}, got a {type(value).__name__}")
        if kind == "credential" and _is_a_secret(value):
            # inputs are journaled and echoed: the key itself must never be one
            raise PlaybookError(
                "this is the leaked key itself, not its fingerprint",
                hint=f"pass its fingerprint instead: {fingerprint(value)}",
            )
        return value
    if kind == "int":
        try:
            return int(value)
        except (TypeError, ValueError):
            raise PlaybookError(f"expected an integer, got {value!r}") from None
    if kind == "bool":
        return expr.parse_bool(value)
    expr.parse_duration(value)
    return value


def _explainer(registry: Mapping[str, Action]) -> Explain:
    """The playbook's own wording of a schema mistake: which step, input or backend, and for
    a step's parameters, which action."""

    def explain(problem: Problem) -> tuple[str, str | None] | None:
        steps = problem.steps
        if problem.message == "missing verify stage":
            return problem.message, (
                "every playbook proves its rotation worked: add a verify stage with a step"
            )
        if steps[:1] == ("stages",) and len(steps) >= 3:
            step = problem.at(3)
            if isinstance(step, dict):
                message, hint = _step_problem(problem, step, registry)
                return f"step {step.get('id', '?')}: {message}", hint
        if problem.keyword == "additionalProperties" and steps[:1] == ("stages",):
            return f"unknown stage {steps[-1]!r}", f"stages: {', '.join(STAGES)}"
        if problem.keyword == "additionalProperties" and len(steps) == 1:
            keys = problem.error.schema.get("properties", {})
            return f"unknown key {steps[0]!r}", f"keys: {', '.join(sorted(keys))}"
        if steps[:1] in (("backends",), ("inputs",)) and len(steps) >= 3:
            what = "backend" if steps[0] == "backends" else "input"
            if problem.keyword == "enum":
                known = ", ".join(map(str, problem.error.validator_value))
                return (
                    f"{what} {steps[1]}: unknown {steps[-1]} {shown(problem.value)}",
                    f"{steps[-1]}s: {known}",
                )
            return f"{what} {steps[1]}: {problem.message}", None
        return None

    return explain


def _step_problem(
    problem: Problem, step: dict[str, Any], registry: Mapping[str, Action]
) -> tuple[str, str | None]:
    steps, keyword = problem.steps[3:], problem.keyword
    if len(steps) == 1 and keyword == "additionalProperties":
        keys = problem.error.schema.get("properties", {})
        return f"unknown step key {steps[0]!r}", f"keys: {', '.join(sorted(keys))}"
    if steps[-1:] == ("uses",) and keyword == "enum":
        what = "compensation action" if steps[:1] == ("compensate",) else "action"
        return (
            f"unknown {what} {shown(problem.value)}",
            f"actions: {', '.join(sorted(set(registry) | {APPROVAL}))}",
        )
    owner = step.get("compensate") if steps[:1] == ("compensate",) else step
    uses = owner.get("uses") if isinstance(owner, dict) else None
    spec = spec_for(uses, registry) if isinstance(uses, str) else None
    if spec is None:
        return problem.message, None
    inner = steps[1:] if steps[:1] == ("compensate",) else steps
    params = ", ".join(sorted(spec.params)) or "none"
    if keyword == "additionalProperties" and inner[:1] == ("with",):
        return f"{spec.name} has no parameter {inner[-1]!r}", f"parameters: {params}"
    if keyword == "required" and inner[:1] in ((), ("with",)):
        given = node_at(owner, ("with",)) or {}
        missing = [k for k, p in sorted(spec.params.items()) if p.required and k not in given]
        return f"{spec.name} needs parameter {(missing or ['?'])[0]!r}", f"parameters: {params}"
    if inner[:1] == ("with",) and len(inner) == 2 and inner[1] in spec.params:
        value = node_at(owner, inner)
        kind = spec.params[str(inner[1])].type
        return f"parameter {inner[1]} must be {kind}, got {shown(value)}", None
    return problem.message, None


def checker(registry: Mapping[str, Action]) -> SchemaCheck:
    """The schema of playbooks using ``registry``, ready to check (the shipped actions' is
    built once: listing every provider playbook loads more than a hundred)."""
    return _shipped_checker() if registry is default_registry() else validator_for(schema(registry))


@functools.cache
def _shipped_checker() -> SchemaCheck:
    return validator_for(schema(default_registry()))


def load_playbook(
    path: Path, registry: Mapping[str, Action] | None = None, *, text: str | None = None
) -> Playbook:
    """Read and validate ``path`` (or ``text`` attributed to it)."""
    registry = default_registry() if registry is None else registry
    try:
        source = path.read_text(encoding="utf-8") if text is None else text
    except FileNotFoundError:
        raise PlaybookError(f"playbook not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:  # as load_yaml words it
        raise PlaybookError(f"cannot read playbook {path}: {exc}") from None
    doc = load_yaml(path, PlaybookError, text=source, what="playbook")
    check(
        doc,
        checker(registry),
        path=path,
        error=PlaybookError,
        hint=_HINT,
        explain=_explainer(registry),
    )
    playbook = _Loader(path, registry).load(doc, source)
    if text is None and path.suffix in {".yaml", ".yml"} and playbook.id != path.stem:
        raise PlaybookError(f"{path}:1: id {playbook.id!r} must equal the file name {path.stem!r}")
    return playbook


def shipped_playbooks() -> list[Path]:
    from leakguard.resources import playbooks_dir

    directory = playbooks_dir()
    return sorted(directory.glob("*.yaml")) if directory.is_dir() else []


def find_playbook(ref: str) -> Path:
    """A path to a playbook file, or the id of a shipped playbook."""
    path = Path(ref)
    if path.suffix in {".yaml", ".yml"} or path.exists():
        if not path.exists():
            raise PlaybookError(f"playbook not found: {path}")
        return path
    for candidate in shipped_playbooks():
        if candidate.stem == ref:
            return candidate
    ids = ", ".join(p.stem for p in shipped_playbooks()) or "none"
    raise PlaybookError(
        f"no playbook {ref!r}", hint=f"shipped playbooks: {ids}; or pass a file path"
    )


def resolve_inputs(playbook: Playbook, given: Mapping[str, Any]) -> dict[str, Any]:
    """Check and coerce the inputs of a run: unknown, missing and mistyped ones are errors."""
    out: dict[str, Any] = {}
    for name in given:
        if name not in playbook.inputs:
            raise PlaybookError(
                f"playbook {playbook.id} has no input {name!r}",
                hint=f"inputs: {', '.join(sorted(playbook.inputs)) or 'none'}",
            )
    for name, spec in playbook.inputs.items():
        if name in given and given[name] is not None:  # None: an optional input left unset
            try:
                out[name] = coerce_input(spec.type, given[name])
            except PlaybookError as exc:
                raise PlaybookError(
                    f"input {name}: {exc.message}", hint=exc.hint or spec.help or None
                ) from None
        elif spec.default is not None:
            out[name] = spec.default
        elif spec.required:
            raise PlaybookError(
                f"playbook {playbook.id} needs input {name!r}",
                hint=f"pass --input {name}=VALUE" + (f" ({spec.help})" if spec.help else ""),
            )
        else:
            out[name] = None
    return out


def iter_step_paths(step: Step) -> Iterator[tuple[str, ...]]:
    """The name paths this step's when/for_each/with read, e.g. ``("steps", "a", "outputs")``."""
    for value in (step.when, step.for_each, step.with_):
        for template in expr.templates_in(value):
            for node in template.nodes():
                yield from expr.references(node)
