"""The inventory's YAML loader gives exactly what PyYAML's safe loader gives (the reference,
outside our code), on plain documents and on every construct it hands back to PyYAML."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from leakguard.graph import yamlload

ROOT = Path(__file__).resolve().parents[3]

DOCUMENTS = [
    "",
    "# only a comment\n",
    "services:\n  - name: a\n    reads:\n      - vault: secret/a\n    uses: [sha256:00]\n",
    "a: 1\nb: 2.5\nc: true\nd: null\ne: ~\nf: 2026-01-01\ng: 2026-01-01T10:00:00Z\nh: '1'\n",
    'quoted: "x: y"\nliteral: |\n  two\n  lines\nfolded: >\n  one\n  line\nempty:\n',
    "base: &b {kind: job, environment: prod}\nsvc:\n  <<: *b\n  name: a\n",
    "list: &l [1, two, {three: 3}]\nagain: *l\n",
    "1: int key\ntrue: bool key\n1.5: float key\n",
    "tagged: !!str 123\nbinary: !!binary aGVsbG8=\nset: !!set {a, b}\nomap: !!omap [a: 1]\n",
    "dup: first\ndup: second\n",
    "nested:\n  - - deep\n    - [deeper, {k: [v]}]\n",
    "cycle: &c [*c]\n",
    "scalar document\n",
    "- a\n- b\n",
]


@pytest.mark.parametrize("text", DOCUMENTS)
def test_documents_load_as_the_safe_loader_loads_them(text: str) -> None:
    expected = yaml.load(text, Loader=yaml.SafeLoader)
    got = yamlload.load(text)
    if text.startswith("cycle"):  # a self-containing list: compare its shape
        assert got["cycle"][0] is got["cycle"]
        return
    assert got == expected
    assert repr(got) == repr(expected)  # same types, same key order


@pytest.mark.parametrize(
    "text",
    ["a: [1, 2\n", "a: b\n  c: d\n", "--- 1\n--- 2\n", "a: !custom x\n", "? [a, b]\n: c\n"],
)
def test_bad_documents_raise_a_yaml_error_alike(text: str) -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.load(text, Loader=yaml.SafeLoader)
    with pytest.raises(yaml.YAMLError):
        yamlload.load(text)


def test_the_repository_yaml_files_load_alike() -> None:
    files = sorted(
        p
        for pattern in ("examples/**/*.yaml", "playbooks/**/*.yaml", "tests/**/*.yaml")
        for p in ROOT.glob(pattern)
    )
    loaded = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            expected = yaml.load(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            continue  # multi-document files and deliberately broken ones
        assert repr(yamlload.load(text)) == repr(expected), path
        loaded += 1
    assert loaded >= 5
