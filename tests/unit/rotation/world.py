"""A test-only action registry over an in-memory world, to drive the engine without backends.

Every mutating action is idempotent per ``ctx.token`` (like the real backends) and counts its
effects, so tests can prove nothing ran twice.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leakguard.errors import BackendError, PlaybookError
from leakguard.rotation.interface import Action, ActionContext, ActionSpec, Outputs, Param


@dataclass
class World:
    values: dict[str, str] = field(default_factory=lambda: {"app": "old"})
    current: dict[str, str] = field(default_factory=lambda: {"app": "v1"})
    versions: dict[str, dict[str, str]] = field(default_factory=dict)  # name -> version -> value
    tokens: dict[str, Any] = field(default_factory=dict)
    effects: list[str] = field(default_factory=list)
    flaky_left: int = 0
    broken: bool = False
    revoked: list[str] = field(default_factory=list)
    issued: int = 0
    log: list[str] = field(default_factory=list)


def build_registry(world: World) -> dict[str, Action]:
    def issue(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        if ctx.token in world.tokens:
            value = world.tokens[ctx.token]
        else:
            world.issued += 1
            value = f"new-{world.issued}"
            world.tokens[ctx.token] = value
            world.effects.append(f"issue:{ctx.token}")
        return {"secret": ctx.secrets.put({"value": value})}

    def stage(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        value = ctx.secrets.get(str(params["value"]))["value"]
        name = str(params["name"])
        if ctx.token not in world.tokens:
            versions = world.versions.setdefault(name, {"v1": "old"})
            version = f"v{len(versions) + 1}"
            versions[version] = value
            world.tokens[ctx.token] = version
            world.effects.append(f"stage:{version}")
        return {"version_id": world.tokens[ctx.token], "previous": world.current[name]}

    def promote(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        name, version = str(params["name"]), str(params["version"])
        if ctx.token not in world.tokens:
            world.tokens[ctx.token] = world.current[name]
        if world.current[name] != version:
            world.current[name] = version
            world.effects.append(f"promote:{version}")
        return {"version_id": version, "to": world.tokens[ctx.token]}

    def rollback(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        name, to = str(params["name"]), str(params["to"])
        if world.current[name] != to:
            world.current[name] = to
            world.effects.append(f"rollback:{to}")
        return {"current": to}

    def read(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        name = str(params["name"])
        return {"current": world.current.get(name), "items": [{"n": 1}, {"n": 2}, {"n": 3}]}

    def flaky(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        if world.flaky_left > 0:
            world.flaky_left -= 1
            raise BackendError("service unavailable (HTTP 503)", transient=True)
        world.effects.append(f"flaky:{ctx.step_id}")
        return {"attempt": ctx.attempt}

    def check(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        if world.broken:
            raise BackendError("permission denied (HTTP 403)", hint="grant read access")
        return {"ok": True}

    def touch(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        if ctx.token not in world.tokens:
            world.tokens[ctx.token] = True
            world.effects.append(f"touch:{ctx.step_id}:{params.get('tag', '')}")
        return {"tag": params.get("tag")}

    def untouch(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        if ctx.token not in world.tokens:
            world.tokens[ctx.token] = True
            world.effects.append(f"untouch:{params.get('tag', '')}")
        return {}

    def revoke(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        key = str(params["key"])
        if key not in world.revoked:
            world.revoked.append(key)
            world.effects.append(f"revoke:{key}")
        return {"revoked": key}

    def say(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        ctx.log(str(params.get("message", "")))
        world.log.append(str(params.get("message", "")))
        return {"said": params.get("message")}

    def contain(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        world.effects.append(f"contain:{params['user']}")
        return {"containment_id": f"deny-{params['user']}"}

    def release(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        world.effects.append(f"release:{params['user']}:{params['containment']}")
        return {}

    def crash(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        raise RuntimeError("secret-value-that-must-not-leak")

    def asks(ctx: ActionContext, params: Mapping[str, Any]) -> Outputs:
        raise PlaybookError("never")

    def spec(name: str, mutating: bool, params: dict[str, Param], **kw: Any) -> ActionSpec:
        return ActionSpec(name=name, summary=name, mutating=mutating, params=params, **kw)

    s, a = Param("string"), Param("any", required=False)
    return {
        "t.issue": Action(spec("t.issue", True, {"subject": s}, produces_secret=True), issue),
        "t.stage": Action(spec("t.stage", True, {"name": s, "value": s}), stage),
        "t.promote": Action(
            spec("t.promote", True, {"name": s, "version": s}, compensation="t.rollback"),
            promote,
            describe=lambda p: f"promote {p['name']} to {p['version']}",
        ),
        "t.rollback": Action(spec("t.rollback", True, {"name": s, "to": s}), rollback),
        "t.read": Action(spec("t.read", False, {"name": s}), read),
        "t.flaky": Action(spec("t.flaky", True, {"tag": a}), flaky),
        "t.check": Action(spec("t.check", False, {"tag": a}), check),
        "t.touch": Action(
            spec("t.touch", True, {"tag": a, "n": Param("int", required=False)}), touch
        ),
        "t.untouch": Action(spec("t.untouch", True, {"tag": a}), untouch),
        "t.revoke": Action(spec("t.revoke", True, {"key": s}, irreversible=True), revoke),
        "t.say": Action(spec("t.say", False, {"message": a}), say),
        "t.crash": Action(spec("t.crash", True, {}), crash),
        "t.contain": Action(
            spec("t.contain", True, {"user": s}, compensation="t.release"), contain
        ),
        "t.release": Action(spec("t.release", True, {"user": s, "containment": s}), release),
        "t.asks": Action(spec("t.asks", False, {}), asks),
    }


ROTATE = """
apiVersion: leakguard/v1
kind: Playbook
id: test-rotate
title: test
inputs:
  credential: {type: credential, required: true}
  name: {type: string, default: app}
  contain: {type: bool, default: true}
stages:
  contain:
    - id: deny
      uses: t.touch
      when: "${inputs.contain}"
      with: {tag: deny}
      compensate: {uses: t.untouch, with: {tag: "${steps.deny.outputs.tag}"}}
  map:
    - id: current
      uses: t.read
      with: {name: "${inputs.name}"}
  rotate:
    - id: new-value
      uses: t.issue
      with: {subject: "${inputs.name}"}
    - id: stage
      uses: t.stage
      with: {name: "${inputs.name}", value: "${steps.new-value.outputs.secret}"}
    - id: promote
      uses: t.promote
      with: {name: "${inputs.name}", version: "${steps.stage.outputs.version_id}"}
    - id: reload
      uses: t.touch
      for_each: "${steps.current.outputs.items}"
      when: "${item.n != 2}"
      with: {tag: "reload-${item.n}"}
      compensate: {uses: t.untouch, with: {tag: "reload-${item.n}"}}
  verify:
    - id: works
      uses: t.check
    - id: approve-revoke
      uses: approval
      with: {message: "revoke the old key?"}
    - id: revoke
      uses: t.revoke
      with: {key: "${steps.current.outputs.current}"}
outputs:
  new_version: "${steps.stage.outputs.version_id}"
"""


def write(tmp_path: Path, text: str, name: str = "test-rotate") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path
