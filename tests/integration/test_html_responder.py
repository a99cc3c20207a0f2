"""The sweep report answers "what do I do" in its first screen: measured in headless Chromium at
1400x900 (element boxes from the laid-out page, and a screenshot of that screen)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from leakguard.redact import fingerprint, redact
from leakguard.reports import html
from leakguard.sweep.config import load_config
from leakguard.sweep.outcome import SweepReport
from leakguard.sweep.runner import SweepSettings, run_sweep
from tests.integration.sweep_repos import commit_secret, make_repo
from tests.support.browser import CHROMIUM, dump_dom, png_size, screenshot
from tests.support.keys import stripe_key

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
    ),
]

WINDOW = (1400, 900)
#: appended to a copy of the page: writes the laid-out boxes of what a responder needs into the
#: DOM, for --dump-dom to carry out (the page's own CSP allows inline scripts, nothing else)
_MEASURE = """<script>
"use strict";
function box(node) {
  if (!node) return null;
  const r = node.getBoundingClientRect();
  return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, text: node.textContent};
}
const first = document.querySelector("#new .cred");
const out = {
  viewport: [window.innerWidth, window.innerHeight],
  failed: box(document.getElementById("failed-targets")),
  failedItems: [...document.querySelectorAll("#failed-targets li")].map(box),
  credential: box(first),
  location: box(first && first.querySelector(".loc")),
  command: box(first && first.querySelector(".cmd")),
  fingerprint: box(first && first.querySelector(".fp")),
  visibleCards: [...document.querySelectorAll(".cred")].filter(c => !c.hidden).length,
  provenanceHead: [...document.querySelectorAll("#provenance th")].map(th => th.textContent),
  provenanceRow: [...document.querySelectorAll("#provenance tr")]
    .filter(tr => (tr.getAttribute("data-search") || "").includes("billing.py"))
    .map(tr => [...tr.cells].map(td => td.textContent)),
};
const pre = document.createElement("pre");
pre.id = "measured";
pre.textContent = JSON.stringify(out);
document.body.appendChild(pre);
</script>
</body>"""


def _sweep_with_history(tmp_path: Path) -> tuple[SweepReport, str]:
    """Thirty known credentials from a first sweep, then one new critical key and two failing
    targets: the new key and the failures must not be 16,000 px down."""
    make_repo(tmp_path / "legacy", [stripe_key(f"legacy-{i}") for i in range(30)])
    make_repo(tmp_path / "payments", [])
    config = tmp_path / "sweep.yaml"
    config.write_text(
        "targets:\n  - path: legacy\n  - path: payments\n  - path: gone\n  - glob: nothing-*\n"
    )
    cfg = load_config(config)
    db = tmp_path / "lg.db"
    run_sweep(cfg, SweepSettings(db=db, jobs=1))
    fresh = stripe_key("responder-fresh")
    commit_secret(tmp_path / "payments", "billing.py", fresh)
    return run_sweep(cfg, SweepSettings(db=db, jobs=1)), fresh


def _measure(page: Path, tmp_path: Path, fragment: str = "") -> dict[str, object]:
    measured = page.with_name("measured-" + page.name)
    measured.write_text(page.read_text().replace("</body>", _MEASURE, 1))
    dom = dump_dom(measured.as_uri() + fragment, tmp_path / "profile-m", window=WINDOW)
    found = re.search(r'<pre id="measured">(.*?)</pre>', dom, re.S)
    assert found, "the measuring script did not run"
    raw = found.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
    result: dict[str, object] = json.loads(raw.replace("&amp;", "&"))
    return result


def _on_first_screen(box: object, viewport: object) -> bool:
    assert isinstance(box, dict) and isinstance(viewport, list), box
    return 0 <= box["top"] < box["bottom"] <= viewport[1] and box["right"] <= viewport[0]


def test_failed_targets_and_first_critical_credential_are_on_the_first_screen(
    tmp_path: Path,
) -> None:
    report, fresh = _sweep_with_history(tmp_path)
    page = tmp_path / "sweep.html"
    page.write_text(html.render(report))
    assert fresh not in page.read_text()

    shot = screenshot(
        page.as_uri(), tmp_path / "sweep-1400x900.png", tmp_path / "profile-s", window=WINDOW
    )
    assert png_size(shot) == WINDOW
    keep = os.environ.get("LEAKGUARD_SCREENSHOT_DIR")
    if keep:  # for people: the screenshot this test checked
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)

    m = _measure(page, tmp_path)
    # --dump-dom lays the page out in the window minus its frame (1400x757 on Chromium 156):
    # a box inside that viewport is inside the 1400x900 screenshot's first screen too
    view = m["viewport"]
    assert isinstance(view, list) and view[0] == WINDOW[0] and 700 <= view[1] <= WINDOW[1]
    assert _on_first_screen(m["failed"], view)
    items = m["failedItems"]
    assert isinstance(items, list) and len(items) == 2
    assert all(_on_first_screen(i, view) for i in items)
    assert any("gone" in i["text"] for i in items)

    expected = f"leakguard playbook plan stripe-key -i credential={fingerprint(fresh)}"
    for part in ("credential", "location", "fingerprint", "command"):
        assert _on_first_screen(m[part], view), (part, m[part])
    assert isinstance(m["credential"], dict) and isinstance(m["location"], dict)
    assert redact(fresh) in m["credential"]["text"] and "critical" in m["credential"]["text"]
    assert re.search(r"payments: billing\.py:1 @[0-9a-f]{10}", m["location"]["text"])
    assert isinstance(m["command"], dict) and m["command"]["text"] == expected

    # provenance is a table, not a key=value dump
    assert m["provenanceHead"] == [
        "credential", "target", "location", "commit", "author", "date", "refs", "other", "seen",
        "status",
    ]  # fmt: skip
    (row,) = m["provenanceRow"]
    assert row[2] == "billing.py:1" and re.fullmatch(r"[0-9a-f]{12}", row[3])
    assert row[4] == "Sweep Test <sweep@example.com>" and row[6] == "main"
    assert re.match(r"\d{4}-\d\d-\d\dT", row[5]) and "=" not in row[7]


def test_the_filter_box_narrows_the_credentials(tmp_path: Path) -> None:
    report, fresh = _sweep_with_history(tmp_path)
    page = tmp_path / "sweep.html"
    page.write_text(html.render(report))
    assert _measure(page, tmp_path)["visibleCards"] == 31
    narrowed = _measure(page, tmp_path, "#filter=" + fingerprint(fresh)[7:20] + "%20stripe")
    assert narrowed["visibleCards"] == 1
    assert _measure(page, tmp_path, "#filter=billing.py")["visibleCards"] == 1
    assert _measure(page, tmp_path, "#filter=no-such-thing")["visibleCards"] == 0
