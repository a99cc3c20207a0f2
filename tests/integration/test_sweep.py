"""Sweeps over generated git repositories: incremental reports, failures, triage, Dask, webhook."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from leakguard.errors import UsageError
from leakguard.redact import fingerprint
from leakguard.sweep.config import load_config
from leakguard.sweep.runner import SweepSettings, run_sweep
from tests.integration.sweep_repos import commit_secret, corrupt_repo, git, make_repo
from tests.support.cli import run_cli
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration


class _Hook:
    """A local webhook receiver that answers 503 once, then 200."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                hook.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                self.send_response(503 if len(hook.bodies) == 1 else 204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def hook() -> Iterator[_Hook]:
    h = _Hook()
    yield h
    h.server.shutdown()
    h.server.server_close()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """20 repositories with one key each, a corrupt one and a missing one, and a config."""
    root = tmp_path_factory.mktemp("fleet")
    keys: dict[str, str] = {}
    for i in range(20):
        name = f"svc{i:02d}"
        keys[name] = stripe_key(name)
        make_repo(root / "repos" / name, [keys[name]])
    corrupt_repo(root / "broken")
    (root / "sweep.yaml").write_text(
        "targets:\n"
        "  - glob: repos/svc*\n"
        "  - path: broken\n"
        "  - path: missing\n"
        "    include_unreachable: true\n"
    )
    return root, keys


def test_second_sweep_reports_only_what_was_committed_in_between(
    fleet: tuple[Path, dict[str, str]], tmp_path: Path, hook: _Hook
) -> None:
    root, keys = fleet
    db, out = tmp_path / "lg.db", tmp_path / "first.json"
    config = str(root / "sweep.yaml")
    code, output = run_cli(
        [
            "sweep",
            config,
            "--db",
            str(db),
            "--jobs",
            "2",
            "--format",
            "json",
            "-o",
            str(out),
            "--webhook",
            hook.url,
        ]
    )
    assert code == 1, output  # new critical credentials
    first = json.loads(out.read_text())
    assert {f["fingerprint"] for f in first["new"]} == {fingerprint(k) for k in keys.values()}
    assert {f["fingerprint"] for f in first["findings"]} == {fingerprint(k) for k in keys.values()}
    assert all(f["rule_id"] == "stripe-live-secret-key" and "secret" not in f for f in first["new"])
    by_target = {Path(t["target"]).name: t for t in first["targets"]}
    assert len(by_target) == 22
    assert by_target["missing"]["status"] == "failed"
    assert "no such file" in by_target["missing"]["error"]
    # The corrupt repository never stops the sweep: every good repository is reported. (Until
    # the git history source lands it is read as a plain directory, so it may well scan "ok".)
    assert by_target["broken"]["status"] in ("ok", "failed")
    assert all(by_target[n]["status"] == "ok" and by_target[n]["findings"] == 1 for n in keys)
    assert first["summary"]["new_credentials"] == 20 and first["summary"]["failed_targets"] >= 1

    # the webhook got a redacted summary on its second attempt
    assert len(hook.bodies) == 2
    payload = json.loads(hook.bodies[-1])
    assert len(payload["new"]) == 20 and "findings" not in payload
    assert not any(k.encode() in hook.bodies[-1] for k in keys.values())

    # commit new secrets into three repositories, then sweep again
    added = {}
    for name in ("svc03", "svc11", "svc19"):
        added[name] = stripe_key("late-" + name)
        commit_secret(root / "repos" / name, "late.py", added[name])
    try:
        out2 = tmp_path / "second.json"
        code, output = run_cli(
            ["sweep", config, "--db", str(db), "--jobs", "2", "--format", "json", "-o", str(out2)]
        )
        assert code == 1, output
        second = json.loads(out2.read_text())
        assert {f["fingerprint"] for f in second["new"]} == {fingerprint(k) for k in added.values()}
        assert {Path(f["location"]["path"]).name for f in second["new"]} == {"late.py"}
        assert len(second["findings"]) == 23

        # a third sweep with nothing new: nothing to report, exit 0
        code, output = run_cli(["sweep", config, "--db", str(db), "--jobs", "1"])
        assert code == 0, output
        assert "no new credentials since the last sweep" in output
        assert "FAILED" in output and "missing" in output
    finally:
        for name in added:
            (root / "repos" / name / "late.py").unlink()
            # drop the commit too: the history scan would still find it in later tests
            git(root / "repos" / name, "reset", "-q", "--hard", "HEAD~1")

    # triage through the CLI persists in the store
    fp = fingerprint(added["svc11"])
    code, output = run_cli(
        [
            "findings",
            "set-status",
            fp[:24],
            "rotating",
            "--reason",
            "INC-7",
            "--by",
            "carol",
            "--db",
            str(db),
        ]
    )
    assert code == 0, output
    code, output = run_cli(["findings", "show", fp[:24], "--format", "json", "--db", str(db)])
    shown = json.loads(output)
    assert shown["status"] == "rotating"
    assert shown["history"][0] | {"at": None} == {
        "status": "rotating",
        "previous": "open",
        "by": "carol",
        "at": None,
        "reason": "INC-7",
    }
    code, output = run_cli(
        ["findings", "list", "--status", "rotating", "--format", "json", "--db", str(db)]
    )
    assert [c["fingerprint"] for c in json.loads(output)["credentials"]] == [fp]
    code, output = run_cli(["findings", "list", "--repo", "svc03", "--db", str(db)])
    assert code == 0 and "2 credential(s)" in output
    code, output = run_cli(["findings", "list", "--severity", "bogus", "--db", str(db)])
    assert code == 2 and "unknown severity" in output
    export = tmp_path / "export.json"
    code, _ = run_cli(
        ["findings", "export", "-o", str(export), "--provider", "stripe", "--db", str(db)]
    )
    exported = export.read_text()
    assert code == 0 and len(json.loads(exported)["credentials"]) == 23
    assert not any(k in exported for k in [*keys.values(), *added.values()])


def test_dask_local_cluster_streams_results_into_the_store(
    fleet: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    distributed = pytest.importorskip("dask.distributed")
    root, keys = fleet
    cfg = load_config(root / "sweep.yaml")
    with distributed.LocalCluster(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as cluster:
        settings = SweepSettings(db=tmp_path / "lg.db", dask=cluster.scheduler_address)
        report = run_sweep(cfg, settings)
    assert {c.fingerprint for c in report.new} == {fingerprint(k) for k in keys.values()}
    statuses = {Path(t.target).name: t.status for t in report.targets}
    assert len(statuses) == 22 and statuses["missing"] == "failed"


def test_unreachable_dask_scheduler_is_a_clear_usage_error(
    fleet: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = fleet
    settings = SweepSettings(
        db=tmp_path / "lg.db", dask="tcp://127.0.0.1:9", dask_connect_timeout=0.5
    )
    with pytest.raises(UsageError, match="cannot reach the Dask scheduler"):
        run_sweep(load_config(root / "sweep.yaml"), settings)


def test_bad_config_is_exit_2_with_file_and_line(tmp_path: Path) -> None:
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("targets:\n  - pth: /srv\n")
    code, output = run_cli(["sweep", str(cfg), "--db", str(tmp_path / "lg.db")])
    assert code == 2
    assert "bad.yaml:2" in output


def test_sarif_per_repository(fleet: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, keys = fleet
    sarif_dir = tmp_path / "sarif"
    code, output = run_cli(
        [
            "sweep",
            str(root / "sweep.yaml"),
            "--db",
            str(tmp_path / "lg.db"),
            "--sarif-dir",
            str(sarif_dir),
        ]
    )
    assert code == 1, output
    files = sorted(p.name for p in sarif_dir.glob("*.sarif"))
    assert len(files) >= len(keys)
    assert all(json.loads(p.read_text())["version"] == "2.1.0" for p in sarif_dir.glob("*.sarif"))
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in sarif_dir.glob("*.sarif"))
    # a report path that cannot be written is one line, exit 2, not a traceback
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    for args in (["--sarif-dir", str(blocker / "sub")], ["-f", "json", "-o", str(blocker / "x")]):
        code, output = run_cli(
            ["sweep", str(root / "sweep.yaml"), "--db", str(tmp_path / "lg2.db"), *args]
        )
        assert code == 2 and "Traceback" not in output and "cannot" in output, output
