from __future__ import annotations

from typing import Any

import pytest

from leakguard.rotation import expr
from leakguard.rotation.expr import ExprError, Scope, parse_duration, parse_template


def _scope(**kw: Any) -> Scope:
    base: dict[str, Any] = {
        "inputs": {"path": "payments/stripe", "n": 3, "on": True, "names": ["a", "b"]},
        "steps": {
            "deny-risky": {"status": "succeeded", "outputs": {"containment_id": "c-1"}},
            "consumers": {
                "status": "succeeded",
                "outputs": {
                    "consumers": [{"reload": {"kind": "command", "target": "kill -HUP 1"}}]
                },
            },
        },
        "run": {"id": "r-1", "mode": "run"},
        "environ": {"USER": "ann", "AWS_SECRET_ACCESS_KEY": "nope", "LEAKGUARD_VAR_TEAM": "sec"},
    }
    base.update(kw)
    return Scope(**base)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("${inputs.path}", "payments/stripe"),
        ("${inputs.n}", 3),
        ("${inputs.on}", True),
        ("${inputs.names}", ["a", "b"]),
        ("rotate ${inputs.path} now", "rotate payments/stripe now"),
        ("${inputs.n} and ${inputs.on}", "3 and true"),
        ("${steps.deny-risky.outputs.containment_id}", "c-1"),
        ("${steps.deny-risky.status == 'succeeded'}", True),
        ("${steps.consumers.outputs.consumers[0].reload.kind}", "command"),
        ("${steps.consumers.outputs.consumers[0]['reload']['target']}", "kill -HUP 1"),
        ("${len(inputs.names) >= 2 and not (inputs.n < 2)}", True),
        ("${'a' in inputs.names}", True),
        ("${'z' not in inputs.names}", True),
        ("${contains(inputs.path, 'stripe')}", True),
        ("${upper(inputs.path)}", "PAYMENTS/STRIPE"),
        ("${lower('AbC')}", "abc"),
        ("${duration('15m')}", 900.0),
        ("${null}", None),
        ("${inputs.n == 3 or inputs.missing}", True),  # short-circuit: right side never read
        ("${[1, 'two', true]}", [1, "two", True]),
        ("${run.id}", "r-1"),
        ("${env.USER}", "ann"),
        ("${env.LEAKGUARD_VAR_TEAM}", "sec"),
        ('${"a\\"b"}', 'a"b'),
        ("no expression", "no expression"),
        ("${'}'}", "}"),
    ],
)
def test_render(source: str, expected: Any) -> None:
    assert parse_template(source).render(_scope()) == expected


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("${inputs.}", "expected a name"),
        ("${inputs.path ==}", "expected a value"),
        ("${__import__('os')}", "unknown function"),
        ("${open('x')}", "unknown function"),
        ("${os.system}", "unknown name"),
        ("${inputs.path + 1}", "unexpected character"),
        ("${inputs.path", "unclosed"),
        ("${}", "empty expression"),
        ("${1 2}", "unexpected token"),
    ],
)
def test_parse_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        parse_template(source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("${inputs.nothing}", "does not exist"),
        ("${inputs.names[5]}", "out of range"),
        ("${inputs.n.x}", "has no .x"),
        ("${inputs.n < 'a'}", "cannot compare"),
        ("${len(inputs.n)}", "len"),
        ("${env.AWS_SECRET_ACCESS_KEY}", "does not exist"),  # not on the allow-list
        ("${item}", "not available"),
        ("x ${inputs.names}", "cannot be embedded"),
        ("${duration('soon')}", "not a duration"),
        ("${len(1, 2)}", "takes 1"),
    ],
)
def test_evaluation_errors(source: str, message: str) -> None:
    with pytest.raises(ExprError, match=message):
        parse_template(source).render(_scope())


def test_item_inside_for_each() -> None:
    scope = _scope().with_item({"reload": {"kind": "none"}})
    assert parse_template("${item.reload.kind == 'command'}").render(scope) is False


def test_references_list_the_paths_read() -> None:
    node = parse_template(
        "${steps.a.outputs.x[0] == inputs.y and item.z in steps.b.outputs.l}"
    ).whole
    assert node is not None
    refs = expr.references(node)
    assert ("steps", "a", "outputs", "x", "0") in refs
    assert ("inputs", "y") in refs and ("item", "z") in refs
    assert ("steps", "b", "outputs", "l") in refs


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("30s", 30), ("15m", 900), ("1h", 3600), ("2d", 172800), ("250ms", 0.25), (5, 5), ("7", 7)],
)
def test_durations(value: Any, seconds: float) -> None:
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    ("value", "meant"),
    [(True, True), ("yes", True), ("On", True), ("1", True), (False, False), ("NO", False)],
)
def test_booleans(value: Any, meant: bool) -> None:
    assert expr.parse_bool(value) is meant


def test_a_boolean_that_is_neither_is_an_error() -> None:
    with pytest.raises(ExprError, match="expected true or false, got 'maybe'"):
        expr.parse_bool("maybe")


def test_render_value_walks_nested_parameters() -> None:
    out = expr.render_value({"a": ["${inputs.n}", {"b": "${inputs.on}"}], "c": 1}, _scope())
    assert out == {"a": [3, {"b": True}], "c": 1}
