"""The HTML sweep report renders in headless Chromium, offline, and shows what the sweep found."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from leakguard.redact import redact
from leakguard.reports import html
from leakguard.store.findings import FindingsStore
from leakguard.sweep.config import load_config
from leakguard.sweep.runner import SweepSettings, run_sweep
from tests.integration.sweep_repos import commit_secret, git, make_repo
from tests.support.browser import CHROMIUM, dump_dom
from tests.support.keys import stripe_key

pytestmark = pytest.mark.integration


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)
def test_html_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    old = {n: stripe_key("html-" + n) for n in ("alpha", "beta")}
    for n, k in old.items():
        make_repo(tmp_path / n, [k])
    config = tmp_path / "sweep.yaml"
    config.write_text("targets:\n  - path: alpha\n  - path: beta\n  - path: gone\n")
    cfg = load_config(config)
    db = tmp_path / "lg.db"
    run_sweep(cfg, SweepSettings(db=db, jobs=1))

    # between sweeps: one new key, one key removed from the tree, one credential triaged
    fresh = stripe_key("html-fresh")
    commit_secret(tmp_path / "alpha", "new.py", fresh)
    # committed: a git history scan still holds a key that is only deleted on disk
    git(tmp_path / "beta", "rm", "-q", "settings.py")
    git(tmp_path / "beta", "commit", "-q", "-m", "remove the key")
    with FindingsStore.open(db) as store:
        alpha = next(c for c in store.credentials() if "alpha" in c.targets[0])
        store.set_status(alpha.fingerprint, "acknowledged", by="dana", reason="ticket")
    report = run_sweep(cfg, SweepSettings(db=db, jobs=1))

    page = tmp_path / "report.html"
    text = html.render(report)
    page.write_text(text)
    # self-contained: no external resource of any kind, and no secret value
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "<link" not in text
    assert not any(k in text for k in [*old.values(), fresh])

    dom = dump_dom(page.as_uri(), tmp_path / "profile")
    assert 'data-rendered="yes"' in dom  # the script ran to the end
    cards = dict(re.findall(r'id="card-([a-z]+)"><b>(\d+)</b>', dom))
    assert cards == {
        "new": "1",
        "known": "2",
        "present": "2",
        "removed": "1",
        "targets": "3",
        "failed": "1",
    }
    text_dom = _text(dom)
    assert "critical 3 1" in text_dom  # by severity: 3 critical credentials, 1 new
    assert "stripe 3" in text_dom  # by provider
    new_table = dom[dom.index('id="new"') : dom.index('id="known"')]
    assert redact(fresh) in new_table
    assert "acknowledged" in dom and "still present" in dom and "removed" in dom
    assert "no such file or directory" in dom
