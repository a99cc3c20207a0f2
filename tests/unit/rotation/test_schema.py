from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.errors import PlaybookError
from leakguard.redact import fingerprint
from leakguard.rotation.schema import load_playbook, resolve_inputs, shipped_playbooks
from tests.support.playbooks import SHIPPED_PLAYBOOK_IDS
from tests.unit.rotation.world import ROTATE, World, build_registry, write


def _load(tmp_path: Path, text: str) -> None:
    load_playbook(write(tmp_path, text), build_registry(World()))


def _line_of(text: str, needle: str) -> int:
    lines = text.lstrip().splitlines()
    found = [i for i, line in enumerate(lines, start=1) if needle.removeprefix("LAST:") in line]
    return found[-1] if needle.startswith("LAST:") else found[0]


def test_the_test_playbook_loads(tmp_path: Path) -> None:
    pb = load_playbook(write(tmp_path, ROTATE), build_registry(World()))
    assert [s.id for s in pb.stages["verify"]] == ["works", "approve-revoke", "revoke"]
    assert pb.step("promote").compensate is not None  # the action's default compensation
    assert pb.step("promote").compensate.uses == "t.rollback"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("old", "new", "message", "line_needle"),
    [
        (
            "      uses: t.check\n",
            "      uses: t.nope\n",
            "unknown action 't.nope'",
            "uses: t.nope",
        ),
        (
            'with: {name: "${inputs.name}"}',
            'with: {name: "${inputs.nmae}"}',
            "unknown input reference inputs.nmae",
            "inputs.nmae",
        ),
        (
            'with: {name: "${inputs.name}"}',
            'with: {name: "${inputs.name ==}"}',
            "bad expression",
            "inputs.name ==",
        ),
        (
            'with: {name: "${inputs.name}"}',
            'with: {name: "${steps.promote.outputs.x}"}',
            "unknown step reference steps.promote",
            "steps.promote.outputs.x",
        ),
        ("    - id: works\n", "    - id: stage\n", "duplicate step id 'stage'", "LAST:- id: stage"),
        (
            "with: {tag: deny}",
            "with: {tga: deny}",
            "t.touch has no parameter 'tga'",
            "tga: deny",
        ),
        ("with: {tag: deny}", "with: {n: many}", "parameter n must be int", "n: many"),
        (
            'with: {name: "${inputs.name}"}',
            "with: {}",
            "needs parameter 'name'",
            "with: {}",
        ),
        (
            "    - id: approve-revoke\n      uses: approval\n",
            "    - id: approve-revoke\n      uses: t.say\n",
            "irreversible; no approval step before it",
            "- id: revoke",
        ),
        (
            "      with: {tag: deny}\n",
            "      with: {tag: '${item.n}'}\n",
            "item is only available",
            "item.n",
        ),
    ],
)
def test_errors_name_file_and_line(
    tmp_path: Path, old: str, new: str, message: str, line_needle: str
) -> None:
    assert old in ROTATE
    text = ROTATE.replace(old, new, 1)
    with pytest.raises(PlaybookError) as info:
        _load(tmp_path, text)
    diag = info.value.message
    assert message in diag
    assert diag.startswith(f"{tmp_path / 'test-rotate.yaml'}:{_line_of(text, line_needle)}:"), diag


def test_a_playbook_without_verify_is_rejected(tmp_path: Path) -> None:
    head, _, _ = ROTATE.partition("  verify:")
    text = head + "outputs: {}\n"
    with pytest.raises(PlaybookError, match="missing verify stage"):
        _load(tmp_path, text)


def test_stages_out_of_order_and_unknown_stage(tmp_path: Path) -> None:
    with pytest.raises(PlaybookError, match="unknown stage 'cleanup'"):
        _load(tmp_path, ROTATE.replace("  map:", "  cleanup: []\n  map:"))


def test_unknown_backend_named_by_a_step(tmp_path: Path) -> None:
    text = """
    apiVersion: leakguard/v1
    kind: Playbook
    id: test-rotate
    backends:
      vault: {kind: vault-kv2}
    stages:
      verify:
        - {id: v, uses: t.read, with: {name: x}}
    """
    _load(tmp_path, text)
    bad = text.replace("kind: vault-kv2", "kind: vault")
    with pytest.raises(PlaybookError, match="unknown kind 'vault'"):
        _load(tmp_path, bad)
    with pytest.raises(PlaybookError, match=r":5: backend vault: a credential \(token\)"):
        _load(tmp_path, text.replace("{kind: vault-kv2}", "{kind: vault-kv2, params: {token: x}}"))


def test_the_id_must_match_the_file_name(tmp_path: Path) -> None:
    path = write(tmp_path, ROTATE, name="other")
    with pytest.raises(PlaybookError, match="must equal the file name"):
        load_playbook(path, build_registry(World()))


def test_inputs_are_checked_and_coerced(tmp_path: Path) -> None:
    pb = load_playbook(write(tmp_path, ROTATE), build_registry(World()))
    assert resolve_inputs(pb, {"credential": "sha256:1", "contain": "no"}) == {
        "credential": "sha256:1",
        "name": "app",
        "contain": False,
    }
    with pytest.raises(PlaybookError, match="needs input 'credential'"):
        resolve_inputs(pb, {})
    with pytest.raises(PlaybookError, match="no input 'nmae'"):
        resolve_inputs(pb, {"credential": "x", "nmae": "y"})
    with pytest.raises(PlaybookError, match="true or false"):
        resolve_inputs(pb, {"credential": "x", "contain": "maybe"})


def test_a_credential_input_is_never_the_key_itself(tmp_path: Path) -> None:
    """Inputs are journaled and echoed: the key pasted where its fingerprint belongs is
    refused, and the error offers the fingerprint without repeating the key."""
    pb = load_playbook(write(tmp_path, ROTATE), build_registry(World()))
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc" + "Q7xY2bZ1"  # a detector recognises it
    with pytest.raises(PlaybookError, match="not its fingerprint") as caught:
        resolve_inputs(pb, {"credential": key})
    assert fingerprint(key) in caught.value.diagnostics()
    assert key[8:] not in caught.value.diagnostics()


def test_every_shipped_playbook_validates_against_the_real_registry() -> None:
    paths = shipped_playbooks()
    assert {p.stem for p in paths} >= SHIPPED_PLAYBOOK_IDS
    for path in paths:
        pb = load_playbook(path)
        assert pb.stages["verify"], path
