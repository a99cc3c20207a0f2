"""`.leakguard.yaml`: the model, its errors (file and line), allowlists and discovery."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from leakguard.config import CONFIG_NAME, SCHEMA, discover, load
from leakguard.errors import UsageError
from leakguard.model import Severity
from leakguard.redact import fingerprint

ROOT = Path(__file__).parents[2]
KEY = "sk_live_4eC39HqLyjWDarjtT1zdp7dc9f2c"

FULL = f"""\
version: 1
exclude: [tests/fixtures/, "*.snap"]
rules: [more-rules]
disable_rules: [slack-webhook-url]
generic: {{enabled: false}}
min_severity: low
baseline: .leakguard-baseline.json
allow:
  values: ["{KEY}"]
  stopwords: [EXAMPLE]
  paths: [docs/**]
  rules:
    aws-access-key:
      regexes: ["^AKIA[A-Z0-9]{{12}}TEST"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / CONFIG_NAME
    path.write_text(text)
    return path


def test_a_full_configuration_loads(tmp_path: Path) -> None:
    config = load(write(tmp_path, FULL))
    assert config.excludes.excluded("tests/fixtures/keys.txt")
    assert config.excludes.excluded("web/node_modules/x.js")  # the defaults stay on
    assert not config.excludes.excluded("dist/app.js")
    assert config.rules_dirs == (tmp_path / "more-rules",)
    assert config.disable_rules == {"slack-webhook-url"}
    assert config.generic_enabled is False
    assert config.min_severity == Severity.LOW
    assert config.baseline == tmp_path / ".leakguard-baseline.json"


def test_allowed_values_are_kept_as_fingerprints_only(tmp_path: Path) -> None:
    config = load(write(tmp_path, FULL))
    assert fingerprint(KEY) in config.allow.everywhere.fingerprints
    assert KEY not in repr(config)
    assert config.allow.allows("stripe-live-secret-key", KEY)
    assert config.allow.allows("any", "sk_live_thisisanexamplevalue1234", None)  # stopword
    assert config.allow.allows("any", "sk_live_realvalue000000000001", "docs/guide.md")
    assert not config.allow.allows("any", "sk_live_realvalue000000000001", "src/app.py")
    assert config.allow.allows("aws-access-key", "AKIA123456789012TEST")
    assert not config.allow.allows("github-token", "AKIA123456789012TEST")


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("version: 1\nexclude: [a]\ncolour: red\n", 3, "unknown key(s): colour"),
        ("version: 1\nmin_severity: urgent\n", 2, "urgent"),
        ("version: 1\nallow:\n  rules:\n    x:\n      stopwordz: [a]\n", 5, "stopwordz"),
        ("version: 2\n", 1, "version"),
        ("version: 1\nallow:\n  fingerprints: [abc]\n", 3, "abc"),
    ],
)
def test_errors_name_the_file_and_line(tmp_path: Path, text: str, line: int, words: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as caught:
        load(path)
    message = caught.value.message
    assert message.startswith(f"{path}:{line}:"), message
    assert words in message


def test_a_regex_that_does_not_compile_is_named(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"allow.regexes: '\(' does not compile"):
        load(write(tmp_path, "allow: {regexes: ['(']}\n"))


def test_discovery_is_at_the_scan_root_only(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    write(tmp_path, "version: 1\n")
    assert discover(tmp_path) == tmp_path / CONFIG_NAME
    assert discover(tmp_path / "src") is None  # a parent's file is another project's
    assert discover(tmp_path / CONFIG_NAME) is None  # a file target has no root of its own


def test_the_published_schema_is_the_model() -> None:
    published = json.loads((ROOT / "schemas" / "leakguard-config.schema.json").read_text())
    assert published == SCHEMA
    jsonschema.Draft202012Validator.check_schema(published)
