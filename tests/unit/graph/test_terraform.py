"""Terraform references read from real-shaped files: the shapes the former regex and
brace-counting reader got wrong, and hostile files that must be skipped in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from leakguard.graph.references import scan_references
from leakguard.graph.references.common import MAX_FILE_BYTES, Reference, Scan
from leakguard.graph.references.hcl import HEREDOC, IDENT, STRING, HclError, top_level_blocks
from leakguard.graph.references.terraform import read_terraform
from leakguard.redact import fingerprint

# a Terraform root module the way people write them; comments and strings hold braces,
# nested blocks and maps hold attributes named like the ones we read
MAIN_TF = """\
# Secrets for the payments service. Braces in comments: { and }}}
/* older layout, kept for reference:
resource "aws_secretsmanager_secret" "old" {
  name = "prod/old/removed"
}
*/
resource "aws_secretsmanager_secret" "stripe" {
  name        = "prod/payments/stripe" # rotated by leakguard
  description = "Stripe key (format: {\\"key\\": \\"sk_...\\"})"
  tags = {
    name = "tag-not-a-secret-name"
    team = "payments"
  }
  replica {
    region = "eu-west-1"
  }
}

resource "aws_secretsmanager_secret_version" "stripe" {
  secret_id     = aws_secretsmanager_secret.stripe.id
  secret_string = <<-EOT
    sk_live_heredoc_value_0123456789
  EOT
}

resource "aws_secretsmanager_secret" "per_env" {
  for_each = toset(["staging", "prod"])
  name     = "${each.key}/payments/webhook"
}

resource "vault_kv_secret_v2" "db" {
  mount = "secret" // the KV v2 mount
  name  = "payments/db"
  data_json = jsonencode({
    password = "p@ss{word}"
    user     = "app"
  })
  custom_metadata {
    data = { name = "meta-not-a-path" }
  }
}

resource "vault_kv_secret_v2" "escaped" { name = "ops/\\"quoted\\"" }

module "worker" {
  source = "./modules/worker"
  name   = "module-input-not-a-store"
  secret_arns = [for s in aws_secretsmanager_secret.per_env : s.arn]
}

data "aws_secretsmanager_secret_version" "partner" {
  secret_id = "prod/partner/token" # read at plan time
}

data "vault_kv_secret_v2" "dynamic" {
  mount = "kv"
  name  = "team/${var.env}/api"
}

resource "aws_secretsmanager_secret_version" "quoted" {
  secret_id     = aws_secretsmanager_secret.stripe.arn
  secret_string = "a \\"quoted\\" \\u00e9 value"
}
"""


def _refs(tmp_path: Path, text: str) -> tuple[list[Reference], list[str]]:
    root = tmp_path / "shop"
    (root / "infra").mkdir(parents=True)
    (root / "infra" / "main.tf").write_text(text)
    return scan_references(root)


def _store_lines(refs: list[Reference]) -> set[tuple[str, int, str | None]]:
    return {(r.store.id, r.line, r.consumer) for r in refs if r.store is not None}


def test_real_shaped_terraform_is_read_block_by_block(tmp_path: Path) -> None:
    refs, warnings = _refs(tmp_path, MAIN_TF)
    assert warnings == []
    assert {(r.store.id, r.line, r.consumer) for r in refs if r.value_fp is None} == {
        # the name written in the block, not the tag's; the commented-out block is not read
        ("store:aws-secretsmanager:prod/payments/stripe", 7, None),
        ("store:vault-kv2:secret/payments/db", 31, None),
        ('store:vault-kv2:secret/ops/"quoted"', 43, None),
        ("store:aws-secretsmanager:prod/partner/token", 51, "terraform:infra"),
    }
    held = {(r.value_fp, r.line) for r in refs if r.stored_value}
    assert held == {
        (fingerprint("sk_live_heredoc_value_0123456789"), 19),
        (fingerprint('a "quoted" \u00e9 value'), 60),
    }


def test_a_file_over_the_size_cap_is_skipped_in_one_line(tmp_path: Path) -> None:
    block = 'resource "aws_secretsmanager_secret" "a" { name = "prod/a" }\n'
    text = block * (MAX_FILE_BYTES // len(block) + 1)
    scan = Scan(tmp_path)
    read_terraform(scan, tmp_path / "huge.tf", text)
    assert scan.refs == []
    assert scan.warnings == [
        f"{tmp_path / 'huge.tf'}: larger than {MAX_FILE_BYTES} bytes; file skipped"
    ]


def test_a_byte_order_mark_is_not_content() -> None:
    blocks = top_level_blocks('\ufeffresource "a" "b" {}\n')
    assert [(b.type, b.labels) for b in blocks] == [("resource", ("a", "b"))]


def test_a_file_that_is_not_hcl_is_skipped_in_one_line(tmp_path: Path) -> None:
    bad = 'resource "aws_secretsmanager_secret" "a" {\n  name = "prod/a"\n}\n}\n'
    refs, warnings = _refs(tmp_path, bad)
    assert refs == []
    assert len(warnings) == 1 and "\n" not in warnings[0]
    assert "main.tf:4: invalid Terraform: unexpected '}'; file skipped" in warnings[0]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ('a = "no end\nb = 1\n', 1, "unterminated string"),
        ('a = "${x\n', 1, "unterminated string"),
        ("x {\n  v = <<EOT\n  never closed\n", 2, "heredoc <<EOT is never closed"),
        ("x {\n  /* open\n", 2, "unterminated /* comment"),
        ('resource "a" "b" {\n  name = "x"\n', 2, "a block is not closed"),
        ("a = [1, 2\n", 1, "unbalanced brackets"),
        ("a = f(1))\n", 1, "unbalanced brackets"),
        ("= 1\n", 1, "expected an attribute or a block"),
        ('resource "a" "b" = 1\n', 1, "resource is neither an attribute nor a block"),
    ],
)
def test_invalid_hcl_names_line_and_reason(text: str, line: int, reason: str) -> None:
    with pytest.raises(HclError) as caught:
        top_level_blocks(text)
    assert (caught.value.line, caught.value.reason) == (line, reason)


def test_deep_nesting_is_read_without_recursion() -> None:
    depth = 200_000  # far past Python's recursion limit
    text = (
        "x = " + "[" * depth + "]" * depth + "\n"
        'y = "'
        + "${" * depth
        + '"a"'
        + "}" * depth
        + '"\n'
        + "b {\n" * depth
        + 'resource "r" "n" {}\n'
        + "}\n" * depth
        + 'resource "aws_secretsmanager_secret" "last" { name = "prod/last" }\n'
    )
    blocks = top_level_blocks(text)
    assert [(b.type, b.labels, b.line) for b in blocks] == [
        ("b", (), 3),
        ("resource", ("aws_secretsmanager_secret", "last"), 3 + 2 * depth + 1),
    ]
    name = blocks[1].attributes["name"]
    assert name is not None and (name.kind, name.text) == (STRING, "prod/last")


def test_templates_nest_strings_and_braces() -> None:
    blocks = top_level_blocks(
        "b {\n"
        '  a = "${var.x ? "}" : "{"}"\n'
        '  b = "$${not_a_template} %%{nor_this}"\n'
        '  c = "%{ if var.y }{yes}%{ endif }"\n'
        "  d = aws_secretsmanager_secret.x.arn\n"
        "  e = <<EOT\n  ${var.z}\nEOT\n"
        "  f = <<EOT\n$${literal}\nEOT\n"
        '  g = "one" # two tokens would make it an expression\n'
        '  h = "x" == "y"\n'
        "}\n"
    )
    attrs = {k: (v.kind, v.text) if v else None for k, v in blocks[0].attributes.items()}
    assert attrs == {
        "a": (STRING, None),
        "b": (STRING, "${not_a_template} %{nor_this}"),
        "c": (STRING, None),
        "d": (IDENT, "aws_secretsmanager_secret.x.arn"),
        "e": (HEREDOC, None),
        "f": (HEREDOC, "${literal}\n"),
        "g": (STRING, "one"),
        "h": None,
    }
