#!/usr/bin/env python3
"""Coverage benchmark: recall and false positives per credential family, LeakGuard vs gitleaks
vs Kingfisher, in one run (issue #10).

The corpus is generated from provider formats, one credential per file:

* **positives**: every shipped rule's ``examples`` (real-shaped values, valid checksums and
  structures), plus ``--variants`` fresh values per example made by redrawing the random part
  of its secret character by character (a digit stays a digit, a lowercase letter lowercase...;
  the rule's literal keywords and the last two characters, where formats put fixed markers and
  checksums, are kept). Rules whose validator checks a checksum or a decoded structure only
  contribute their examples (a redrawn value would be invalid, not a miss).
* **negatives**: every rule's ``negative_examples`` (placeholders, near misses, templates), the
  public documentation values LeakGuard ships as an allowlist, and generated noise: hashes
  (MD5/SHA-1/SHA-256, git ids, lockfile integrity), UUIDs, base64 blobs, and test fixtures
  (``password = "test"``, ``api_key: dummy``...).

A positive file is *found* when a tool reports anything in it; every finding in a negative file
is a false positive. The family of a file is its rule's provider's family (``FAMILIES``), noise
files are the ``noise`` family. LeakGuard's positives come from its own rule files, so its recall
on the examples is what its test suite already guarantees; the variants and the peers' figures
are what this benchmark adds.

    python benchmarks/coverage.py                  # all three tools
    python benchmarks/coverage.py --tools leakguard --variants 1
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _peers import GITLEAKS, PEER_PYTHON, ensure_peers, leakguard_bin

from leakguard.engine.filters import documentation
from leakguard.engine.matcher import Engine
from leakguard.engine.rules import Rule, RuleSet

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work" / "coverage"

# provider -> family (the families of issue #10; providers not listed fall in "other")
_FAMILY_PROVIDERS = {
    "cloud": (
        "aws azure gcp google alibaba digitalocean heroku cloudflare databricks terraform "
        "terraform-cloud pulumi fly flyio fly-io netlify vercel supabase"
    ),
    "developer platforms": (
        "github gitlab slack atlassian bitbucket docker dockerhub docker-hub npm pypi rubygems "
        "nuget jfrog sentry grafana newrelic new-relic datadog pagerduty snyk postman linear "
        "notion figma okta doppler infisical"
    ),
    "ai": (
        "openai anthropic huggingface groq replicate cohere mistral perplexity aws-bedrock xai "
        "deepseek openrouter langsmith tavily firecrawl wandb"
    ),
    "messaging": (
        "telegram discord microsoft-teams power-automate mailgun mailchimp postmark sendgrid "
        "twilio brevo zapier google-chat dingtalk feishu"
    ),
    "payments/commerce": (
        "stripe shopify square braintree paypal adyen plaid coinbase paddle razorpay "
        "flutterwave shippo easypost klaviyo"
    ),
    "saas": (
        "intercom zendesk hubspot segment algolia mapbox dropbox asana airtable contentful "
        "typeform yandex facebook"
    ),
    "secrets infrastructure": "private-key vault openbao hashicorp age pgp putty pkcs12",
    "connection strings": "database connection-urls jdbc odbc",
    "framework secrets": "jwt rails django laravel flask kubernetes generic",
}
FAMILIES = {p: fam for fam, names in _FAMILY_PROVIDERS.items() for p in names.split()}
# validators whose verdict depends on more than the characters' classes
_STRUCTURED = {"github_checksum", "npm_checksum", "base64_structure", "jwt", "private_key"}
_STRUCTURED |= {"gcp_service_account", "aws_pairing", "bech32", "pgp_private_key", "base64_bytes"}
_STRUCTURED |= {"base64_json", "basic_auth_base64", "pkcs12_base64", "kubernetes_secret"}


def family(provider: str) -> str:
    return FAMILIES.get(provider, "other")


# -- corpus ------------------------------------------------------------------------------------


def _suffix(text: str) -> str:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        return ".json"
    if "\n" in text and ":" in text.split("\n", 1)[0]:
        return ".yaml"
    if any(tok in text for tok in ("(", "const ", "def ", "import ", "func ", ";")):
        return ".py"
    return ".env"


_RUN = re.compile(r"[A-Za-z0-9]{12,}")
_PATTERN_NOISE = re.compile(r"\[[^\]]*\]|\{[^}]*\}|\(\?P?<[A-Za-z_]*>|\(\?<?[!=]|\(\?[a-z]+:|\\.")


def _redraw(rng: random.Random, run: str) -> str:
    """A fresh value of the same shape: hex stays hex, digits digits, letters keep their case."""
    if all(c in "0123456789abcdef" for c in run):
        return "".join(rng.choice("0123456789abcdef") for _ in run)
    if all(c in "0123456789ABCDEF" for c in run):
        return "".join(rng.choice("0123456789ABCDEF") for _ in run)
    out = []
    for ch in run:
        if ch in string.digits:
            out.append(rng.choice(string.digits))
        elif ch in string.ascii_lowercase:
            out.append(rng.choice(string.ascii_lowercase))
        else:
            out.append(rng.choice(string.ascii_uppercase))
    return "".join(out)


def _literals(rule: Rule) -> list[str]:
    """Fixed words of the rule: its keywords and the literal text of its pattern."""
    words = [kw.decode("utf-8", "replace") for kw in rule.keywords]
    text = _PATTERN_NOISE.sub(" ", rule.pattern.pattern.decode("utf-8", "replace"))
    return words + re.findall(r"[A-Za-z0-9]{2,}", text)


def _variants(rule: Rule, engine: Engine, text: str, count: int, rng: random.Random) -> list[str]:
    """Redraw the longest random run of the example's secret (12+ letters and digits), keeping
    the rule's literal words and the run's ends."""
    if count == 0 or rule.validator in _STRUCTURED:
        return []
    found = [f for f in engine.scan_text(text) if f.rule_id == rule.id and f.secret]
    if not found:
        return []
    secret = found[0].secret or ""
    runs = list(_RUN.finditer(secret))
    if not runs:
        return []
    run = max(runs, key=lambda m: len(m.group()))
    # the run's head (prefix-like: ``SK``, ``EAA`` + its app letter, ``ATATT3xFfGF0``: a third of
    # it, at most 12 characters) and last two characters (fixed markers, checksum-like
    # suffixes) stay as they are
    head = min(12, max(4, len(run.group()) // 3))
    keep = set(range(run.start(), run.start() + head)) | set(range(run.end() - 2, run.end()))
    for word in _literals(rule):
        at = secret.find(word, run.start())
        while at != -1 and at < run.end():
            keep.update(range(at, at + len(word)))
            at = secret.find(word, at + 1)
    out = []
    for _ in range(count):
        fresh = list(secret)
        drawn = _redraw(
            rng, "".join(c for i, c in enumerate(run.group()) if i + run.start() not in keep)
        )
        drawn_iter = iter(drawn)
        for i in range(run.start(), run.end()):
            if i not in keep:
                fresh[i] = next(drawn_iter)
        value = "".join(fresh)
        if value != secret:
            out.append(text.replace(secret, value))
    return out


def _noise(rng: random.Random, count: int) -> list[tuple[str, str]]:
    """(name, text) of files that hold no credential."""
    hexd = "0123456789abcdef"
    b64 = string.ascii_letters + string.digits + "+/"

    def h(n: int) -> str:
        return "".join(rng.choice(hexd) for _ in range(n))

    def u() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    def blob(n: int) -> str:
        return "".join(rng.choice(b64) for _ in range(n))

    makers: list[tuple[str, Callable[[], str]]] = [
        ("hash.txt", lambda: f"{h(64)}  dist/app-{rng.randint(1, 99)}.tar.gz\n{h(40)}  README.md"),
        ("lock.json", lambda: f'{{"integrity": "sha512-{blob(86)}==", "resolved": "x.tgz"}}'),
        ("commit.log", lambda: f"commit {h(40)}\nMerge: {h(7)} {h(7)}\n    fix ({h(12)})"),
        ("ids.yaml", lambda: f"request_id: {u()}\ntrace_id: {h(32)}\ntenant: {u()}"),
        ("blob.py", lambda: f"ICON = '{blob(rng.randint(60, 400))}'\nCHECKSUM = '{h(32)}'"),
        ("data.css", lambda: f".logo{{background:url(data:image/png;base64,{blob(300)}==)}}"),
        ("test_config.py", lambda: rng.choice(_FIXTURES)),
        ("fixtures.env", lambda: rng.choice(_FIXTURES)),
        ("etag.log", lambda: f'ETag: "{h(32)}"\nX-Request-Id: {u()}\nsession={h(24)}'),
    ]
    out = []
    for i in range(count):
        name, make = makers[i % len(makers)]
        out.append((f"{i:04d}-{name}", make()))
    return out


_FIXTURES = (
    'password = "test"\napi_key = "dummy"\nsecret = "changeme"',
    "API_KEY=your-api-key-here\nSECRET_KEY=secret\nTOKEN=<token>",
    'token: "fake-token-for-tests"\npassword: "hunter2"\nclient_secret: "${CLIENT_SECRET}"',
    "DATABASE_URL=postgres://user:password@localhost:5432/app_test",
    'AUTH_HEADER = "Bearer " + token\nexpected = "sk_test_" + "x" * 24',
    "aws_access_key_id = AKIAXXXXXXXXXXXXXXXX\naws_secret_access_key = <secret>",
    'jwt_secret: "secret"\nsigning_key: "test-signing-key"',
)


# what marks a rule's negative example as a placeholder or template (judged on the text alone)
_PLACEHOLDERS = (
    *("xxx", "XXX", "<", ">", "${", "{{", "%(", "...", "\u2026", "***", "your", "YOUR", "Your"),
    *("example", "EXAMPLE", "0000000", "changeme", "dummy", "CHANGEME", "_HERE", "here"),
)


def generate(root: Path, variants: int, noise: int, seed: int) -> dict[str, dict[str, str]]:
    """Write the corpus; return {relative path: {"kind": pos|neg, "family": ..., "rule": ...}}."""
    rng = random.Random(seed)
    ruleset = RuleSet.load()
    engine = Engine(ruleset, "re", show_secrets=True)
    manifest: dict[str, dict[str, str]] = {}
    crosstype: list[str] = []
    by_id = ruleset.by_id()

    def write(kind: str, fam: str, rule_id: str, n: int, text: str, name: str = "") -> None:
        rel = (
            f"{kind}/{fam.replace(' ', '-').replace('/', '-')}/{rule_id}-{n}{name or _suffix(text)}"
        )
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
        manifest[rel] = {"kind": kind, "family": fam, "rule": rule_id}

    for rule in ruleset.rules:
        fam = family(rule.provider)
        texts = list(rule.examples)
        for example in rule.examples:
            texts += _variants(rule, engine, example, variants, rng)
        for n, text in enumerate(texts):
            write("pos", fam, rule.id, n, text)
        for n, text in enumerate(rule.negative_examples):
            other = {f.rule_id for f in engine.scan_text(text)} - {rule.id}
            other = {o for o in other if by_id[o].priority >= 0}  # a fallback's finding counts
            if other:  # a valid credential of another type, used as this rule's near miss
                crosstype.append(f"{rule.id} -> {', '.join(sorted(other))}")
                continue
            # placeholders are negatives; other near misses (a wrong checksum or length, a value
            # out of context) are random-looking values reported in a table of their own
            kind = "neg" if any(m in text for m in _PLACEHOLDERS) else "near"
            write(kind, fam, rule.id, n, text)
    for n, value in enumerate(sorted(documentation()[0])):
        write("neg", "public examples", "documented", n, f'value = "{value.decode()}"', ".py")
    for name, text in _noise(rng, noise):
        write("neg", "noise", "noise", 0, text, "-" + name)
    if crosstype:
        print(
            f"{len(crosstype)} negative examples are credentials of another rule's type "
            f"(left out for every tool): {'; '.join(crosstype)}",
            file=sys.stderr,
        )
    return manifest


# -- tools -------------------------------------------------------------------------------------

_KINGFISHER = r"""
import json, sys
import kingfisher_sdk as kf
root, out = sys.argv[1], sys.argv[2]
scanner = kf.Scanner(kf.Rules(), base64=True)
paths = [str(p.file or p.path) for p in kf.filesystem([root], gitignore=False, hidden=True)]
found = [(path, f.secret) for path in paths for f in scanner.scan_file(path) if f.visible]
json.dump([{"file": p, "secret": s} for p, s in found], open(out, "w"))
"""


def _relative(root: Path, path: str) -> str:
    p = Path(path)
    return str(p.relative_to(root) if p.is_absolute() else p)


def run_leakguard(root: Path, out: Path) -> list[tuple[str, str]]:
    cmd = [leakguard_bin(), "scan", str(root), "-f", "jsonl", "--show-secrets", "-q"]
    cmd += ["-o", str(out), "--no-history"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode not in (0, 1):
        sys.exit(f"leakguard failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return [(r["location"]["path"], r.get("secret") or r["fingerprint"]) for r in rows]


def run_gitleaks(root: Path, out: Path) -> list[tuple[str, str]]:
    cmd = [str(GITLEAKS), "dir", str(root), "--no-banner", "-l", "error"]
    cmd += ["--report-format", "json", "--report-path", str(out), "--exit-code", "0"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    if proc.returncode != 0:
        sys.exit(f"gitleaks failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    rows = json.loads(out.read_text() or "[]")
    return [(_relative(root, r["File"]), r.get("Secret", "")) for r in rows]


def run_kingfisher(root: Path, out: Path) -> list[tuple[str, str]]:
    proc = subprocess.run(
        [str(PEER_PYTHON), "-c", _KINGFISHER, str(root), str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    if proc.returncode != 0:
        sys.exit(f"kingfisher failed ({proc.returncode}): {proc.stderr.strip()[-500:]}")
    return [(_relative(root, r["file"]), r["secret"]) for r in json.loads(out.read_text())]


TOOLS: dict[str, Callable[[Path, Path], list[tuple[str, str]]]] = {
    "leakguard": run_leakguard,
    "gitleaks": run_gitleaks,
    "kingfisher": run_kingfisher,
}


# -- report ------------------------------------------------------------------------------------


def score(
    manifest: dict[str, dict[str, str]], findings: list[tuple[str, str]], kind: str = "neg"
) -> tuple[dict[str, tuple[int, int]], dict[str, int]]:
    """Per family: (positive files found, positive files); distinct findings in files of
    ``kind`` (``neg``: false positives; ``near``: reported near misses)."""
    hit_files = {path for path, _ in findings}
    recall: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for rel, meta in manifest.items():
        if meta["kind"] == "pos":
            recall[meta["family"]][1] += 1
            recall[meta["family"]][0] += rel in hit_files
    false_positives: Counter[str] = Counter()
    for path, _secret in set(findings):
        meta = manifest.get(path)
        if meta is not None and meta["kind"] == kind:
            false_positives[meta["family"]] += 1
    return {f: (v[0], v[1]) for f, v in recall.items()}, dict(false_positives)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tools", default="leakguard,gitleaks,kingfisher")
    parser.add_argument("--variants", type=int, default=3, help="redrawn values per example")
    parser.add_argument("--noise", type=int, default=360, help="generated noise files")
    parser.add_argument("--seed", type=int, default=20261203)
    args = parser.parse_args()
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if set(tools) - set(TOOLS):
        parser.error(f"unknown tool(s): {', '.join(sorted(set(tools) - set(TOOLS)))}")
    if any(t != "leakguard" for t in tools):
        ensure_peers()

    root = WORK / "corpus"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    manifest = generate(root, args.variants, args.noise, args.seed)
    kinds = Counter(m["kind"] for m in manifest.values())
    print(
        f"corpus: {root} ({kinds['pos']} positive files, {kinds['neg']} negative, "
        f"{kinds['near']} near misses)"
    )

    results = {}
    near: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tool in tools:
            started = time.perf_counter()
            findings = TOOLS[tool](root, Path(tmp) / f"{tool}.out")
            results[tool] = score(manifest, findings)
            near[tool] = score(manifest, findings, "near")[1]
            print(f"  {tool}: {time.perf_counter() - started:.1f}s", file=sys.stderr)

    families = sorted({m["family"] for m in manifest.values() if m["kind"] == "pos"})
    negatives = sorted({m["family"] for m in manifest.values() if m["kind"] == "neg"})
    print("\nrecall per family (positive files found / planted)")
    print(f"| family | {' | '.join(tools)} |")
    print("| --- |" + " ---: |" * len(tools))
    for fam in [*families, "all"]:
        cells = []
        for tool in tools:
            recall, _ = results[tool]
            found, total = (
                (sum(v[0] for v in recall.values()), sum(v[1] for v in recall.values()))
                if fam == "all"
                else recall.get(fam, (0, 0))
            )
            cells.append(f"{found}/{total} {found / max(1, total):.1%}")
        print(f"| {fam} | {' | '.join(cells)} |")
    print("\nfalse positives per family (findings in negative files)")
    print(f"| family | negative files | {' | '.join(tools)} |")
    print("| --- | ---: |" + " ---: |" * len(tools))
    for fam in [*negatives, "all"]:
        files = sum(
            1
            for m in manifest.values()
            if m["kind"] == "neg" and (fam == "all" or m["family"] == fam)
        )
        cells = [
            str(sum(results[t][1].values()) if fam == "all" else results[t][1].get(fam, 0))
            for t in tools
        ]
        print(f"| {fam} | {files} | {' | '.join(cells)} |")
    print("\nnear misses reported (rule negative examples that are no placeholder: a wrong")
    print("checksum, length or structure, a value without its provider's context)")
    near_files = sum(1 for m in manifest.values() if m["kind"] == "near")
    print(f"| files | {' | '.join(tools)} |\n| ---: |" + " ---: |" * len(tools))
    print(f"| {near_files} | {' | '.join(str(sum(near[t].values())) for t in tools)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
