"""The published JSON Schemas: they are the loaders' own, every file the repository ships passes
them, and a mistake is refused alike by an independent validator of the published file and by
the loader (which names the file and line)."""

from __future__ import annotations

import copy
import json
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from leakguard import schemas
from leakguard.errors import LeakguardError

ROOT = Path(__file__).parents[2]
PUBLISHED = ROOT / "schemas"


def published(name: str) -> jsonschema.Draft202012Validator:
    """A validator of the committed file, knowing nothing of LeakGuard's code."""
    schema = json.loads((PUBLISHED / f"{name}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(schema)


def plain(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_committed_schemas_are_the_loaders() -> None:
    assert schemas.stale(PUBLISHED) == [], "run: python -m leakguard.schemas"
    assert sorted(p.name for p in PUBLISHED.glob("*.schema.json")) == sorted(schemas.generate())
    for name in schemas.SCHEMAS:
        jsonschema.Draft202012Validator.check_schema(published(name).schema)


def test_the_generator_writes_and_checks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert schemas.main([str(tmp_path), "--check"]) == 1  # nothing there yet
    assert schemas.main([str(tmp_path)]) == 0
    assert schemas.main([str(tmp_path), "--check"]) == 0
    (tmp_path / "sweep-config.schema.json").write_text("{}\n")
    assert schemas.main([str(tmp_path), "--check"]) == 1
    assert "sweep-config.schema.json differs" in capsys.readouterr().err


def _errors(name: str, document: Any) -> list[str]:
    return [e.message for e in published(name).iter_errors(document)]


def test_every_shipped_rule_file_validates() -> None:
    files = sorted((ROOT / "detectors").glob("*.yaml"))
    assert len(files) > 100
    for path in files:
        assert _errors("detector-rules", plain(path)) == [], path


def test_every_shipped_playbook_validates() -> None:
    from leakguard.backends.manual import StepsCatalog
    from leakguard.rotation.providers import provider_playbook_text, template_path

    files = sorted((ROOT / "playbooks").glob("*.yaml"))
    assert len(files) >= 10
    for path in files:
        assert _errors("playbook", plain(path)) == [], path
    template = template_path().read_text(encoding="utf-8")
    entries = list(StepsCatalog.load().entries.values())
    assert entries
    for entry in entries:  # the playbook of every provider-steps entry, as it is run
        text = provider_playbook_text(entry, template)
        assert _errors("playbook", yaml.safe_load(text)) == [], entry.playbook


def _yaml_blocks(doc: Path, marker: str) -> Any:
    """The first ```yaml block of ``doc`` after the line holding ``marker``."""
    text = doc.read_text(encoding="utf-8")
    after = text[text.index(marker) :]
    block = re.search(r"```yaml\n(.*?)```", after, re.S)
    assert block is not None
    return yaml.safe_load(block.group(1))


def test_examples_and_documented_files_validate() -> None:
    cases = [
        ("leakguard-config", plain(ROOT / ".leakguard.yaml")),
        ("inventory", plain(ROOT / "examples" / "estate" / "leakguard.yaml")),
        ("inventory", _yaml_blocks(ROOT / "docs" / "graph.md", "### Inventory")),
        ("sweep-config", plain(ROOT / "examples" / "estate" / "sweep.yaml")),
        ("sweep-config", _yaml_blocks(ROOT / "docs" / "sweep.md", "## Configuration")),
        ("detector-rules", _yaml_blocks(ROOT / "docs" / "rules.md", "## The rule format")),
    ]
    for name, document in cases:
        assert _errors(name, document) == [], (name, document)


def _load_config(path: Path) -> object:
    from leakguard.config import load

    return load(path)


def _load_rules(path: Path) -> object:
    from leakguard.engine.rules import RuleSet

    return RuleSet.from_files([path])


def _load_playbook(path: Path) -> object:
    from leakguard.rotation.schema import load_playbook

    return load_playbook(path)


def _load_inventory(path: Path) -> object:
    from leakguard.graph.inventory import read_inventory

    return read_inventory(path)


def _load_sweep(path: Path) -> object:
    from leakguard.sweep.config import load_config

    return load_config(path)


LOADERS: dict[str, tuple[str, Callable[[Path], object]]] = {
    "leakguard-config": (".leakguard.yaml", _load_config),
    "detector-rules": ("demo.yaml", _load_rules),
    "playbook": ("demo-rotate.yaml", _load_playbook),
    "inventory": ("leakguard.yaml", _load_inventory),
    "sweep-config": ("sweep.yaml", _load_sweep),
}

RULE = """\
provider: demo
rules:
  - id: demo-token
    title: Demo token
    severity: high
    keywords: [dmo_]
    pattern: 'dmo_[0-9A-Za-z]{20}'
    examples: ['t = dmo_Ab3dE5gH7jK9mN1pQ3sT']
"""
PLAYBOOK = """\
apiVersion: leakguard/v1
kind: Playbook
id: demo-rotate
inputs:
  credential: {type: credential, required: true}
backends:
  vault: {kind: vault-kv2}
stages:
  rotate:
    - id: say
      uses: notify
      with: {message: "rotating ${inputs.credential}"}
  verify:
    - id: check
      uses: verify.rescan
      with: {credential: "${inputs.credential}", fail_if_present: true}
"""
INVENTORY = """\
services:
  - name: api
    reads:
      - vault: secret/api/key
"""
SWEEP = "targets:\n  - path: /srv/git/api\n"

# (format, valid document, (old, new) making it invalid, line of the mistake, words)
INVALID = [
    (
        "leakguard-config",
        "version: 1\n",
        ("version: 1\n", "version: 1\nexclud: [a]\n"),
        2,
        "exclud",
    ),
    ("leakguard-config", "version: 1\n", ("version: 1", "min_severity: urgent"), 1, "urgent"),
    (
        "detector-rules",
        RULE,
        ("severity: high", "severity: urgent"),
        5,
        "unknown severity 'urgent'",
    ),
    ("detector-rules", RULE, ("keywords: [dmo_]", "keywords: [d]"), 6, "keywords must be"),
    ("detector-rules", RULE, ("    examples:", "    colour: red\n    examples:"), 8, "'colour'"),
    ("detector-rules", RULE, ("    title: Demo token\n", ""), 3, "missing required key 'title'"),
    ("detector-rules", RULE, ("    examples:", "    validator: crc64\n    examples:"), 8, "crc64"),
    (
        "detector-rules",
        RULE,
        ("    examples:", "    validator: {name: entropy, params: {mni: 3}}\n    examples:"),
        8,
        "unknown parameter 'mni'",
    ),
    (
        "detector-rules",
        RULE,
        ("    examples:", "    max_length: 0\n    examples:"),
        8,
        "at least 1",
    ),
    ("detector-rules", RULE, ("provider: demo\n", ""), 1, "needs 'provider'"),
    ("playbook", PLAYBOOK, ("kind: Playbook", "kind: Runbook"), 2, "kind must be Playbook"),
    (
        "playbook",
        PLAYBOOK,
        ("      uses: notify", "      uses: notfy"),
        11,
        "unknown action 'notfy'",
    ),
    ("playbook", PLAYBOOK, ("{message:", "{mesage:"), 12, "has no parameter 'mesage'"),
    ("playbook", PLAYBOOK, ('credential: "${inputs.credential}", ', ""), 16, "needs parameter"),
    ("playbook", PLAYBOOK, ("present: true}", "present: often}"), 16, "must be bool, got 'often'"),
    ("playbook", PLAYBOOK, ("  verify:", "  later:"), 13, "unknown stage 'later'"),
    ("playbook", PLAYBOOK, ("{kind: vault-kv2}", "{kind: vault}"), 7, "unknown kind 'vault'"),
    ("playbook", PLAYBOOK, ("type: credential", "type: secret"), 5, "unknown type 'secret'"),
    ("playbook", PLAYBOOK, ("    - id: say\n", "    - id: Say\n"), 10, "step id must be"),
    (
        "playbook",
        PLAYBOOK,
        ("required: true}\n", "required: true}\n  bad name!: {type: string}\n"),
        6,
        "input names use",
    ),
    (
        "inventory",
        INVENTORY,
        ("  - name: api\n", "  - name: api\n    kind: robot\n"),
        3,
        "kind must",
    ),
    ("inventory", INVENTORY, ("secret/api/key", "nomount"), 4, "a vault entry is"),
    ("inventory", INVENTORY, ("- vault: secret/api/key", "- gcp: x"), 4, "each reads entry"),
    (
        "inventory",
        INVENTORY,
        ("    reads:", "    colour: red\n    reads:"),
        3,
        "unknown key 'colour'",
    ),
    ("inventory", INVENTORY, ("services:", "teams:"), 1, "an inventory file holds"),
    ("sweep-config", SWEEP, ("targets:", "colour: red\ntargets:"), 1, "unknown key 'colour'"),
    ("sweep-config", SWEEP, ("targets:\n", "verify: maybe\ntargets:\n"), 1, "`verify:` must be"),
    ("sweep-config", SWEEP, ("/api\n", "/api\n    url: x\n"), 2, "exactly one of"),
    ("sweep-config", SWEEP, ("/api\n", "/api\n    colour: red\n"), 3, "unknown target option"),
    ("sweep-config", SWEEP, ("targets:", "jobs: -1\ntargets:"), 1, "`jobs:` must be at least 0"),
    ("sweep-config", SWEEP, ("targets:", "webhook_format: irc\ntargets:"), 1, "'irc'"),
    ("sweep-config", SWEEP, ("targets:", "dask: localhost\ntargets:"), 1, "`dask:` must be"),
]


@pytest.mark.parametrize(("name", "good", "change", "line", "words"), INVALID)
def test_a_mistake_is_refused_by_the_published_schema_and_by_the_loader(
    tmp_path: Path, name: str, good: str, change: tuple[str, str], line: int, words: str
) -> None:
    file_name, load = LOADERS[name]
    path = tmp_path / file_name
    path.write_text(good)
    load(path)  # the valid document loads
    assert _errors(name, yaml.safe_load(good)) == []
    assert change[0] in good
    bad = good.replace(*change, 1)
    assert _errors(name, yaml.safe_load(bad)) != []
    path.write_text(bad)
    with pytest.raises(LeakguardError) as caught:
        load(path)
    message = caught.value.message
    assert message.startswith(f"{path}:{line}: "), message
    assert words in message
    assert caught.value.hint  # what to do: the known keys or values, or the docs and schema


def test_the_sweep_verify_key(tmp_path: Path) -> None:
    from leakguard.sweep.config import load_config

    path = tmp_path / "sweep.yaml"
    path.write_text(SWEEP)
    assert load_config(path).verify is False
    path.write_text("verify: true\n" + SWEEP)
    assert load_config(path).verify is True
    assert _errors("sweep-config", {"verify": True, "targets": ["/x"]}) == []


def _mutations(document: Any, rng: random.Random, count: int) -> list[Any]:
    """Documents one to three random edits away from ``document`` (most of them invalid)."""
    values: list[Any] = [None, True, 0, 1, -1, 1.5, 2.0, "", "x", "none", "sha256:0123456789"]
    values += ["secret/a", "${x}", "tcp://h", "critical", [], {}, ["x"], {"a": 1}]
    keys = ["colour", "mount", "aws", "vault", "with", "uses", "verify", "restart", "params"]
    out = []
    for _ in range(count):
        doc = copy.deepcopy(document)
        for _ in range(rng.randint(1, 3)):
            places = list(_places(doc))
            parent, key = rng.choice(places)
            if parent is None:
                continue
            roll = rng.random()
            if roll < 0.6:
                parent[key] = copy.deepcopy(rng.choice(values))
            elif roll < 0.8:
                del parent[key]
            elif isinstance(parent, dict):
                parent[rng.choice(keys)] = copy.deepcopy(rng.choice(values))
        out.append(doc)
    return out


def _places(node: Any) -> Any:
    yield None, None
    items = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else ()
    )
    for key, child in list(items):
        yield node, key
        for parent, inner in _places(child):
            if parent is not None:
                yield parent, inner


def test_the_compiled_check_agrees_with_jsonschema() -> None:
    """The loaders answer "valid?" with a compiled check and ask jsonschema only what is wrong:
    the two must agree, on the shipped files and on thousands of edits of them."""
    from leakguard.schemacheck import compile_check

    rng = random.Random(13)
    shipped = {
        "leakguard-config": [plain(ROOT / ".leakguard.yaml")],
        "detector-rules": [plain(p) for p in sorted((ROOT / "detectors").glob("*.yaml"))[::10]],
        "playbook": [plain(p) for p in sorted((ROOT / "playbooks").glob("*.yaml"))[::3]],
        "inventory": [plain(ROOT / "examples" / "estate" / "leakguard.yaml")],
        "sweep-config": [yaml.safe_load(SWEEP + "    refs: main\n  - {url: u, history: false}\n")],
    }
    disagree = []
    invalid = 0
    for name, build in schemas.SCHEMAS.items():
        fast = compile_check(build())
        assert fast is not None, f"{name}: the compiled check does not cover this schema"
        reference = published(name)
        for document in shipped[name]:
            assert fast(document) and reference.is_valid(document)
            for mutated in _mutations(document, rng, 300 // len(shipped[name])):
                expected = reference.is_valid(mutated)
                invalid += not expected
                if fast(mutated) != expected:
                    disagree.append((name, mutated))
    assert disagree == []
    assert invalid > 500  # the edits do make mistakes


def test_a_key_pasted_where_a_name_belongs_is_never_echoed(tmp_path: Path) -> None:
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc" + "9f2cQ7xY"  # a detector recognises it
    cases = [
        ("leakguard-config", f"allow:\n  fingerprints: [{key}]\n"),
        ("inventory", f"services:\n  - name: a\n    identities: [{key}]\n"),
        ("playbook", PLAYBOOK.replace("present: true}", f"present: {key}}}")),
        ("playbook", PLAYBOOK.replace("{kind: vault-kv2}", f"{{kind: {key}}}")),
        ("sweep-config", f"webhook_format: {key}\n" + SWEEP),
    ]
    for name, text in cases:
        file_name, load = LOADERS[name]
        path = tmp_path / file_name
        path.write_text(text)
        with pytest.raises(LeakguardError) as caught:
            load(path)
        shown = caught.value.diagnostics()
        assert f"{path}:" in shown and key[8:] not in shown and key[-12:] not in shown, shown
