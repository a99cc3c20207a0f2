"""`leakguard scan`, `baseline create` and `rules` through typer's CliRunner, end to end."""

from __future__ import annotations

import json
import os
import random
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from leakguard.redact import fingerprint, redact
from tests.support.cli import leakguard_app
from tests.unit.reports.sarif_schema import check as check_sarif


def _key(seed: int) -> str:
    rng = random.Random(seed)
    return "sk_live_" + "".join(rng.choices(string.ascii_letters + string.digits, k=40))


KEY = _key(1)
KEY2 = _key(2)
KEY3 = _key(3)


def _cli(args: list[str], stdin: str | bytes | None = None) -> Result:
    return CliRunner().invoke(leakguard_app(), args, input=stdin)


def _no_secret(*outputs: str, secrets: tuple[str, ...] = (KEY, KEY2, KEY3)) -> None:
    for out in outputs:
        for secret in secrets:
            assert secret not in out
            assert secret[8:] not in out  # not even the random part


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("project")
    (root / "config").mkdir()
    (root / "config" / ".env").write_text(f"# prod\nSTRIPE_SECRET_KEY={KEY}\n")
    (root / "src").mkdir()
    (root / "src" / "pay.py").write_text(f'import stripe\nstripe.api_key = "{KEY}"\n')
    (root / "src" / "ok.py").write_text("print('hello')\n")
    (root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0" + KEY2.encode())
    # VCS internals are never scanned (nested, so the tree itself is not a repository)
    (root / "vendor" / ".git").mkdir(parents=True)
    (root / "vendor" / ".git" / "config").write_text(f"token={KEY3}\n")
    return root


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("clean")
    (root / "a.py").write_text("x = 1\n")
    (root / "b.md").write_text("sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx is a placeholder\n")
    return root


# -- exit codes and formats ----------------------------------------------------------------


def test_findings_exit_1_with_a_redacted_table(project: Path) -> None:
    res = _cli(["scan", str(project)])
    assert res.exit_code == 1, res.output
    assert redact(KEY) in res.stdout
    assert "config/.env:2:19" in res.stdout
    assert "2x" in res.stdout  # one credential, two places
    assert "1 credential(s) in 2 finding(s)" in res.stdout
    assert "skipped 1 file(s) (binary)" in res.stdout
    _no_secret(res.output)


def test_clean_tree_exits_0(clean: Path) -> None:
    res = _cli(["scan", str(clean)])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("no credentials found")


def test_json_contract_paths_relative_to_the_directory(project: Path) -> None:
    res = _cli(["scan", str(project), "-f", "json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["version"] == 1
    assert doc["stats"]["files"] >= 3 and doc["stats"]["bytes"] > 0
    assert doc["stats"]["skipped"] == [{"path": "logo.png", "reason": "binary"}]
    paths = [f["location"]["path"] for f in doc["findings"]]
    assert paths == ["config/.env", "src/pay.py"]  # .git internals are never scanned
    f = doc["findings"][0]
    assert f["fingerprint"] == fingerprint(KEY) and f["redacted"] == redact(KEY)
    assert f["severity"] == "critical" and f["source_kind"] == "file"
    _no_secret(res.output)


def test_a_file_as_given_keeps_its_path(project: Path) -> None:
    given = str(project / "src" / "pay.py")
    doc = json.loads(_cli(["scan", given, "-f", "json"]).stdout)
    assert doc["findings"][0]["location"] == {"path": given, "line": 2, "column": 19}


def test_jsonl_one_finding_per_line(project: Path) -> None:
    res = _cli(["scan", str(project), "-f", "jsonl"])
    lines = res.stdout.splitlines()
    assert res.exit_code == 1 and len(lines) == 2
    assert {json.loads(line)["location"]["path"] for line in lines} == {"config/.env", "src/pay.py"}


def test_sarif_is_valid_and_redacted(project: Path) -> None:
    res = _cli(["scan", str(project), "-f", "sarif"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    check_sarif(doc)
    results = doc["runs"][0]["results"]
    assert len(results) == 2
    assert all(
        r["partialFingerprints"]["leakguard/credential/v1"] == fingerprint(KEY) for r in results
    )
    _no_secret(res.output)


def test_show_secrets_is_the_only_way_to_see_a_secret(project: Path) -> None:
    for fmt in ("text", "json", "jsonl", "sarif"):
        hidden = _cli(["scan", str(project), "-f", fmt, "-v"])
        _no_secret(hidden.output)
        shown = _cli(["scan", str(project), "-f", fmt, "--show-secrets"])
        assert KEY in shown.stdout, fmt


def test_output_file_is_0600_and_stdout_stays_empty(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    res = _cli(["scan", str(project), "-f", "sarif", "-o", str(out)])
    assert res.exit_code == 1
    assert res.stdout == ""
    assert "1 credential(s)" in res.stderr  # the summary goes to stderr
    assert out.stat().st_mode & 0o777 == 0o600
    check_sarif(json.loads(out.read_text()))
    _no_secret(out.read_text(), res.output)


def test_quiet(project: Path, clean: Path) -> None:
    noisy = _cli(["scan", str(project), "-q"])
    assert noisy.exit_code == 1 and noisy.output.strip().startswith("1 credential(s)")
    assert len(noisy.output.strip().splitlines()) == 1
    silent = _cli(["scan", str(clean), "-q"])
    assert silent.exit_code == 0 and silent.output == ""


def test_quiet_still_writes_the_report_file(clean: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.txt"
    res = _cli(["scan", str(clean), "-q", "-o", str(out)])
    assert res.exit_code == 0 and res.output == ""
    assert out.read_text() == "" and out.stat().st_mode & 0o777 == 0o600


def test_stdin(project: Path) -> None:
    res = _cli(["scan", "-", "-f", "json"], stdin=f"log line\nAuthorization: {KEY}\n")
    assert res.exit_code == 1, res.output
    f = json.loads(res.stdout)["findings"][0]
    assert f["source_kind"] == "stdin"
    assert f["location"] == {"path": "-", "line": 2, "column": 16}
    assert _cli(["scan", "-"], stdin="nothing here\n").exit_code == 0


def test_min_severity(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "acme.yaml").write_text(
        "provider: acme\nrules:\n  - id: acme-test-key\n    title: Acme test key\n"
        "    severity: low\n    keywords: [acme_test_]\n"
        "    pattern: '(?P<secret>acme_test_[0-9a-f]{16})'\n"
        "    examples: ['acme_test_0123456789abcdef']\n"
    )
    target = tmp_path / "t.env"
    target.write_text(f"A=acme_test_0123456789abcdef\nB={KEY}\n")
    both = json.loads(_cli(["scan", str(target), "--rules", str(rules), "-f", "json"]).stdout)
    assert {f["severity"] for f in both["findings"]} == {"low", "critical"}
    high = _cli(
        ["scan", str(target), "--rules", str(rules), "-f", "json", "--min-severity", "high"]
    )
    assert [f["severity"] for f in json.loads(high.stdout)["findings"]] == ["critical"]
    target.write_text("A=acme_test_0123456789abcdef\n")
    only_low = _cli(["scan", str(target), "--rules", str(rules), "--min-severity", "medium"])
    assert only_low.exit_code == 0


def test_max_file_size_skips_with_a_notice(project: Path) -> None:
    res = _cli(["scan", str(project), "--max-file-size", "20", "-f", "json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 0
    reasons = {s["path"]: s["reason"] for s in doc["stats"]["skipped"]}
    assert reasons["config/.env"].startswith("over the size limit")
    assert "src/ok.py" not in reasons


# -- suppression ---------------------------------------------------------------------------


def test_inline_allow_suppresses_only_its_line(tmp_path: Path) -> None:
    target = tmp_path / "settings.py"
    target.write_text(f'TEST_KEY = "{KEY}"  # leakguard:allow\nLIVE = "{KEY2}"\n')
    doc = json.loads(_cli(["scan", str(target), "-f", "json"]).stdout)
    assert [f["location"]["line"] for f in doc["findings"]] == [2]
    target.write_text(f'TEST_KEY = "{KEY}"  # leakguard:allow\n')
    assert _cli(["scan", str(target)]).exit_code == 0


def test_baseline_create_then_only_new_credentials(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "a.env").write_text(f"KEY={KEY}\n")
    baseline = tmp_path / "baseline.json"
    res = _cli(["baseline", "create", str(repo), "-o", str(baseline)])
    assert res.exit_code == 0, res.output
    assert "wrote 1 credential fingerprint(s)" in res.output
    assert baseline.stat().st_mode & 0o777 == 0o600
    doc = json.loads(baseline.read_text())
    assert doc["version"] == 2
    assert [c["fingerprint"] for c in doc["credentials"]] == [fingerprint(KEY)]
    _no_secret(baseline.read_text())

    assert _cli(["scan", str(repo), "--baseline", str(baseline)]).exit_code == 0
    # the same key moved to another line of another file is still the baselined credential
    (repo / "a.env").unlink()
    (repo / "moved.py").write_text(f"\n\n\nkey = '{KEY}'\n")
    assert _cli(["scan", str(repo), "--baseline", str(baseline)]).exit_code == 0
    # a new key is reported, the baselined one is not
    (repo / "new.env").write_text(f"NEW={KEY2}\n")
    res = _cli(["scan", str(repo), "--baseline", str(baseline), "-f", "json"])
    assert res.exit_code == 1
    assert [f["fingerprint"] for f in json.loads(res.stdout)["findings"]] == [fingerprint(KEY2)]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "baseline not found"),
        ("{not json", "is not readable JSON"),
        ('{"version": 9, "credentials": []}', "unsupported format version 9"),
        (
            '{"version": 1, "credentials": [{"fingerprint": "abc"}]}',
            "no valid 'sha256:' fingerprint",
        ),
    ],
)
def test_bad_baseline_is_exit_2_before_scanning(
    project: Path, tmp_path: Path, content: str | None, message: str
) -> None:
    baseline = tmp_path / "b.json"
    if content is not None:
        baseline.write_text(content)
    res = _cli(["scan", str(project), "--baseline", str(baseline)])
    assert res.exit_code == 2
    assert message in res.output
    assert "Traceback" not in res.output


# -- errors --------------------------------------------------------------------------------


def test_a_cache_dir_that_is_a_file_is_exit_2(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("x")
    res = _cli(["scan", "file:///nowhere/repo.git", "--cache-dir", str(not_a_dir)])
    assert res.exit_code == 2, res.output
    assert f"cannot use the cache directory {not_a_dir}" in res.output
    assert "Traceback" not in res.output


def test_missing_path_is_one_line_and_exit_2(tmp_path: Path) -> None:
    res = _cli(["scan", str(tmp_path / "nope")])
    assert res.exit_code == 2
    assert res.stderr.startswith(
        f"leakguard: error: {tmp_path / 'nope'}: no such file or directory"
    )
    assert "Traceback" not in res.output


@pytest.mark.parametrize("where", ["after", "before"])
def test_verbose_shows_the_traceback(tmp_path: Path, where: str) -> None:
    args = ["scan", str(tmp_path / "nope")]
    res = _cli([*args, "-v"] if where == "after" else ["-v", *args])
    assert res.exit_code == 2
    assert "Traceback (most recent call last)" in res.stderr
    assert "InputError" in res.stderr
    assert res.stderr.rstrip().splitlines()[-2].startswith("leakguard: error:")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-f", "xml"], "unknown format 'xml'"),
        (["--min-severity", "urgent"], "unknown severity 'urgent'"),
        (["--jobs", "-1"], "--jobs must be 0 or more"),
        (["--max-file-size", "big"], "invalid size 'big'"),
    ],
)
def test_bad_options_are_exit_2(project: Path, args: list[str], message: str) -> None:
    res = _cli(["scan", str(project), *args])
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output


def test_malformed_rule_file_names_file_and_line(project: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    bad = rules / "bad.yaml"
    bad.write_text("provider: acme\nrules:\n  - id: acme-key\n    title: [unclosed\n")
    res = _cli(["scan", str(project), "--rules", str(rules)])
    assert res.exit_code == 2
    assert f"{bad}:" in res.output and "Traceback" not in res.output
    line = res.stderr.split(f"{bad}:", 1)[1].split(":", 1)[0]
    assert line.isdigit() and int(line) >= 4


def test_invalid_pattern_names_file_and_line(project: Path, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "acme.yaml").write_text(
        "provider: acme\nrules:\n  - id: acme-key\n    title: Acme\n    severity: high\n"
        "    keywords: [acme_]\n    pattern: '(?P<secret>acme_[a-z'\n    examples: ['acme_x']\n"
    )
    res = _cli(["scan", str(project), "--rules", str(rules)])
    assert res.exit_code == 2
    assert f"{rules / 'acme.yaml'}:7: rule 'acme-key': invalid pattern" in res.stderr
    assert "Traceback" not in res.output


def test_unreadable_file_is_skipped_not_fatal(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "secret.env").write_text(f"K={KEY}\n")
    (tree / "locked.env").write_text(f"K={KEY2}\n")
    if os.geteuid() == 0:  # root reads anything: make the open fail the way chmod 000 would
        real_open = os.open

        def guarded(path: str | Path, flags: int, *args: int, **kwargs: object) -> int:
            if os.path.basename(path) == "locked.env":
                raise PermissionError(13, "Permission denied", str(path))
            return real_open(path, flags, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "open", guarded)
    else:
        (tree / "locked.env").chmod(0)
    res = _cli(["scan", str(tree), "-f", "json", "--jobs", "1"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    assert doc["stats"]["skipped"] == [{"path": "locked.env", "reason": "permission denied"}]
    assert [f["location"]["path"] for f in doc["findings"]] == ["secret.env"]


# -- parallel scan -------------------------------------------------------------------------


@pytest.mark.slow
def test_jobs_1_and_2_give_identical_findings(tmp_path: Path) -> None:
    rng = random.Random(7)
    planted = set()
    for i in range(600):
        sub = tmp_path / f"d{i % 7}"
        sub.mkdir(exist_ok=True)
        body = "".join(rng.choices(string.ascii_lowercase + " \n", k=rng.randint(10, 3000)))
        if i % 37 == 0:
            body += f"\nKEY_{i}={_key(100 + i)}\n"
            planted.add(fingerprint(_key(100 + i)))
        (sub / f"f{i}.txt").write_text(body)
    one = json.loads(_cli(["scan", str(tmp_path), "-f", "json", "--jobs", "1"]).stdout)
    two = json.loads(_cli(["scan", str(tmp_path), "-f", "json", "--jobs", "2"]).stdout)
    assert {f["fingerprint"] for f in one["findings"]} == planted
    assert len(one["findings"]) == len(planted)
    assert one["findings"] == two["findings"]
    assert one["stats"]["files"] == two["stats"]["files"] == 600


# -- help and rules ------------------------------------------------------------------------


def test_help_teaches_examples_and_exit_codes() -> None:
    res = _cli(["scan", "--help"])
    assert res.exit_code == 0
    for text in ("leakguard scan .", "Exit codes", "--baseline", "--no-history", "--max-file-size"):
        assert text in res.output


def test_rules_list_text_and_json() -> None:
    text = _cli(["rules", "list"])
    assert text.exit_code == 0 and "stripe-live-secret-key" in text.stdout
    doc = json.loads(_cli(["rules", "list", "-f", "json"]).stdout)
    stripe = {r["id"]: r for r in doc["rules"]}["stripe-live-secret-key"]
    assert stripe["provider"] == "stripe" and stripe["severity"] == "critical"
    assert stripe["keywords"] == ["sk_live_"] and stripe["rotation"] == "stripe-key"


def test_rules_list_with_a_user_directory(tmp_path: Path) -> None:
    (tmp_path / "acme.yaml").write_text(
        "provider: acme\nrules:\n  - id: acme-key\n    title: Acme\n    severity: high\n"
        "    keywords: [acme_]\n    pattern: '(?P<secret>acme_[a-z]{8})'\n"
        "    examples: ['acme_abcdefgh']\n"
    )
    doc = json.loads(_cli(["rules", "list", "--rules", str(tmp_path), "-f", "json"]).stdout)
    assert "acme-key" in {r["id"] for r in doc["rules"]}
    assert _cli(["rules", "list", "--rules", str(tmp_path / "none")]).exit_code == 2


_ACME = (
    "provider: acme\nrules:\n  - id: acme-key\n    title: Acme key\n    severity: high\n"
    "    keywords: [acme_]\n    pattern: '(?P<secret>acme_[a-z]{{8}})'\n"
    "    examples: ['{example}']\n    negative_examples: ['{negative}']\n"
)


def test_rules_test_passes_fails_and_rejects(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(_ACME.format(example="key=acme_abcdefgh", negative="acme_ABC"))
    res = _cli(["rules", "test", str(good)])
    assert res.exit_code == 0, res.output
    assert "1 rule(s)" in res.stdout and "all pass" in res.stdout

    bad = tmp_path / "bad.yaml"
    bad.write_text(_ACME.format(example="key=acme_ABCDEFGH", negative="acme_qwkvbnrt"))
    res = _cli(["rules", "test", str(bad)])
    assert res.exit_code == 1
    assert "FAIL acme-key" in res.stdout and "should be found" in res.stdout
    assert "should not be found" in res.stdout

    broken = tmp_path / "broken.yaml"
    broken.write_text("provider: acme\nrules:\n  - id: acme-key\n    severity: [\n")
    res = _cli(["rules", "test", str(broken)])
    assert res.exit_code == 2 and f"{broken}:" in res.stderr and "Traceback" not in res.output


def test_rules_test_runs_the_shipped_detectors() -> None:
    from leakguard.resources import detectors_dir

    res = _cli(["rules", "test", str(detectors_dir() / "stripe.yaml")])
    assert res.exit_code == 0, res.output


@pytest.mark.slow
def test_the_wheel_ships_detectors_and_playbooks(tmp_path: Path) -> None:
    """Rules and playbooks are found through importlib.resources in an installed wheel."""
    import subprocess
    import sys
    import sysconfig
    import zipfile

    repo = Path(__file__).resolve().parents[2]
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(repo)],
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip()[-300:]}")
    wheel = next(tmp_path.glob("leakguard_cli-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "leakguard/_data/detectors/stripe.yaml" in names
    assert any(n.startswith("leakguard/_data/playbooks/") and n.endswith(".yaml") for n in names)
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    code = (
        "from leakguard.resources import detectors_dir, playbooks_dir\n"
        "from leakguard.engine.rules import RuleSet\n"
        "print(detectors_dir()); print(playbooks_dir())\n"
        "print(len(RuleSet.load().rules) > 0)\n"
    )
    # -S: no .pth files, so the editable install of this checkout cannot shadow the wheel
    deps = sysconfig.get_paths()["purelib"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), deps])}
    out = subprocess.run(
        [sys.executable, "-S", "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
    )
    detectors, playbooks, loaded = out.stdout.splitlines()
    assert detectors == str(site / "leakguard" / "_data" / "detectors")
    assert playbooks == str(site / "leakguard" / "_data" / "playbooks")
    assert loaded == "True"


@pytest.mark.parametrize("command", [["scan"], ["baseline", "create"]])
def test_an_unwritable_output_is_refused_before_scanning(
    project: Path, tmp_path: Path, command: list[str]
) -> None:
    res = _cli([*command, str(project), "-o", str(tmp_path / "no" / "such" / "dir.json")])
    assert res.exit_code == 2
    assert "its directory does not exist" in res.stderr
    res = _cli([*command, str(project), "-o", str(tmp_path)])
    assert res.exit_code == 2 and "is a directory" in res.stderr


def test_a_baseline_survives_a_rebase(tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "repo"
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=env, capture_output=True)

    repo.mkdir()
    git("init", "-q", "-b", "main")
    (repo / "settings.py").write_text(f"KEY = '{KEY}'\n")
    git("add", ".")
    git("commit", "-qm", "add settings")
    baseline = tmp_path / "b.json"
    assert _cli(["baseline", "create", str(repo), "-o", str(baseline)]).exit_code == 0
    before = json.loads(_cli(["scan", str(repo), "-f", "json"]).stdout)["findings"]
    assert before and all(f["location"].get("commit") for f in before)

    # rewrite history: every commit id changes, the line moves
    (repo / "README.md").write_text("docs\n")
    (repo / "settings.py").write_text(f"# moved\n\nKEY = '{KEY}'\n")
    git("add", ".")
    git("commit", "-q", "--amend", "-m", "settings, reworded")
    after = json.loads(_cli(["scan", str(repo), "-f", "json"]).stdout)["findings"]
    assert {f["location"]["commit"] for f in after}.isdisjoint(
        {f["location"]["commit"] for f in before}
    )
    assert _cli(["scan", str(repo), "--baseline", str(baseline)]).exit_code == 0


def test_stdin_is_sniffed_like_a_file_and_warnings_show_without_v() -> None:
    """`cat app.log.2.gz | leakguard scan -`: a gzip on stdin is decompressed; a truncated one
    still gives what it held and a warning line in the text report."""
    import gzip

    filler = "".join(random.Random(7).choices(string.ascii_letters, k=200_000)).encode()
    packed = gzip.compress(f"GET /pay?x=1\nAuthorization: {KEY}\n".encode() + filler)
    res = _cli(["scan", "-", "-f", "json"], stdin=packed)
    assert res.exit_code == 1, res.output
    f = json.loads(res.stdout)["findings"][0]
    assert f["fingerprint"] == fingerprint(KEY) and f["location"]["line"] == 2
    truncated = _cli(["scan", "-"], stdin=packed[: len(packed) // 2])
    assert truncated.exit_code == 1, truncated.output
    assert "warning:" in truncated.output and "gzip" in truncated.output.lower()
    _no_secret(res.stdout, truncated.output)
