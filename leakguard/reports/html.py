"""A self-contained HTML sweep report: one file, inline CSS and JS, no network access.

It answers "what do I do" first: failed targets, then each new credential (most severe first)
with its locations, fingerprint and the command that plans its rotation; then known
credentials, counts, an exposure timeline and a provenance table (commit, author, date, refs).
A filter box narrows every list client-side (``#filter=WORDS`` in the URL pre-fills it).
The data is embedded as JSON (redacted, like every report) and the page's script builds the
views from it.
Text is inserted with ``textContent`` only, so nothing in a finding can become markup.
"""

from __future__ import annotations

import json

from leakguard.reports.sweep_json import summary
from leakguard.sweep.outcome import SweepReport, next_command


def _introduced(provenance: dict[str, object], fallback: str) -> str:
    for key in ("author_date", "date", "committed_at", "introduced"):
        value = provenance.get(key)
        if isinstance(value, str) and value:
            return value
    return fallback


_PROVENANCE_SHOWN = {"commit", "author_name", "author_email", "author_date", "present_at"}


def provenance_row(location: dict[str, object], provenance: dict[str, object]) -> dict[str, str]:
    """Provenance as table cells: commit, author, date, refs (branch tips that still hold it),
    and whatever else the source said, as ``key: value``."""
    merged = {**provenance, **{k: v for k, v in location.items() if k == "commit"}}
    name, email = merged.get("author_name"), merged.get("author_email")
    author = " ".join(str(x) for x in (name, f"<{email}>" if email else None) if x)
    other = {
        k: v
        for k, v in sorted(merged.items())
        if k not in _PROVENANCE_SHOWN and v not in (None, "", False)
    }
    return {
        "commit": str(merged.get("commit") or ""),
        "author": author,
        "date": str(merged.get("author_date") or ""),
        "refs": str(merged.get("present_at") or ""),
        "other": ", ".join(f"{k}: {v}" for k, v in other.items()),
    }


def data(report: SweepReport) -> dict[str, object]:
    new_fps = report.new_fingerprints
    creds = []
    for c in report.for_responder():
        occs = [
            {
                "target": o.target,
                "source_kind": o.source_kind,
                "location": o.location,
                "provenance": provenance_row(o.location, o.provenance),
                "introduced": _introduced(o.provenance, o.first_seen),
                "last_seen": o.last_seen,
                "present": o.present,
                "removed_at": o.removed_at,
            }
            for o in c.occurrences
        ]
        creds.append(
            {
                "fingerprint": c.fingerprint,
                "rule_id": c.rule_id,
                "provider": c.provider,
                "title": c.title,
                "severity": c.severity.label,
                "rank": int(c.severity),
                "redacted": c.redacted,
                "status": c.status,
                "new": c.fingerprint in new_fps,
                "present": c.present,
                "first_seen": c.first_seen,
                "last_seen": c.last_seen,
                "introduced": min((str(o["introduced"]) for o in occs), default=c.first_seen),
                "next_command": next_command(c),
                "occurrences": occs,
            }
        )
    failed = [t for t in report.targets if t.status != "ok"]
    ok = [t for t in report.targets if t.status == "ok"]
    return {
        "sweep": {
            "id": report.sweep_id,
            "config": report.config,
            "started_at": report.started_at,
            "finished_at": report.finished_at,
            "seconds": report.seconds,
            "ruleset_version": report.ruleset_version,
        },
        "summary": summary(report),
        "targets": [t.to_dict() for t in (*failed, *ok)],
        "credentials": creds,
    }


def render(report: SweepReport) -> str:
    payload = json.dumps(data(report), sort_keys=True)
    # Inside <script>, "</" could close the element: escape it (and friends) as JSON unicode.
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _TEMPLATE.replace("__DATA__", payload)


_TEMPLATE = r"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>LeakGuard sweep report</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:1em 1.5em;color:#1d2330;background:#fafbfc}
h1{font-size:1.3em;margin:0}h2{font-size:1.1em;margin:1.2em 0 .4em}
header{display:flex;gap:1.2em;align-items:baseline;flex-wrap:wrap}
.meta{color:#5a6270;margin:.2em 0 .5em}
.cards{display:flex;gap:.5em;flex-wrap:wrap;margin:.3em 0}
.card{background:#fff;border:1px solid #d8dde6;border-radius:5px;padding:.15em .6em}
.card b{font-size:1.15em;margin-right:.3em}
#filter{font:inherit;padding:.3em .5em;width:28em;max-width:100%;border:1px solid #9aa3b2;
 border-radius:4px}
#filter-count{color:#5a6270}
.failed-box{border:2px solid #b00020;background:#fff1f2;border-radius:6px;padding:.4em .8em;
 margin:.6em 0}
.failed-box h2{margin:.1em 0 .3em;color:#b00020}
.failed-box ul{margin:0;padding-left:1.2em}
.ok-box{color:#2b6a30;margin:.4em 0}
.cred{background:#fff;border:1px solid #d8dde6;border-left:5px solid #7a8599;border-radius:5px;
 padding:.4em .8em;margin:.4em 0}
.cred.r5{border-left-color:#b00020}.cred.r4{border-left-color:#d9480f}
.cred .what{font-weight:600}
.cred .fp,.cred .loc{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}
.cmd{display:block;background:#1d2330;color:#f5f7fa;padding:.25em .5em;border-radius:4px;
 font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all;margin-top:.2em}
.label{color:#5a6270;display:inline-block;min-width:6.5em}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d8dde6;padding:.25em .5em;text-align:left;vertical-align:top}
th{background:#eef1f6}
td.wrap{word-break:break-all}
.sev-critical{color:#fff;background:#b00020}.sev-high{color:#fff;background:#d9480f}
.sev-medium{background:#f5c542}.sev-low{background:#cfe3ff}.sev-info{background:#e4e7ec}
.pill{border-radius:3px;padding:0 .4em;font-size:.9em}
.bar{position:relative;height:12px;background:#eef1f6;min-width:220px}
.bar span{position:absolute;top:0;height:12px;border-radius:2px}
.bar .present{background:#d9480f}.bar .removed{background:#7a8599}
.failed{color:#b00020;font-weight:600}
[hidden]{display:none!important}
code{font-size:.92em}
</style>
</head>
<body>
<header><h1>LeakGuard sweep report</h1>
<input id="filter" type="search" placeholder="Filter: provider, path, fingerprint, severity, target"
 aria-label="Filter the report"><span id="filter-count"></span></header>
<p class="meta" id="meta"></p>
<div class="cards" id="cards"></div>
<section id="failed-targets"></section>
<section id="act-now"><h2>New since the last sweep: act on these first</h2><div id="new"></div>
</section>
<h2>Known credentials</h2><div id="known"></div>
<h2>Counts by severity</h2><table id="by-severity"></table>
<h2>Counts by provider</h2><table id="by-provider"></table>
<h2>Exposure timeline</h2><table id="timeline"></table>
<h2>Findings and provenance</h2><table id="provenance"></table>
<h2>Targets</h2><table id="targets"></table>
<script id="sweep-data" type="application/json">__DATA__</script>
<script>
"use strict";
const D = JSON.parse(document.getElementById("sweep-data").textContent);
const creds = D.credentials;
function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}
function searchable(node, words) {
  node.setAttribute("data-search", words.filter(w => w !== null && w !== undefined)
    .map(String).join(" ").toLowerCase());
  return node;
}
function table(id, head, rows, keys) {
  const t = document.getElementById(id);
  const tr = el("tr");
  head.forEach(h => tr.appendChild(el("th", h)));
  t.appendChild(tr);
  if (!rows.length) {
    const r = el("tr"); const td = el("td", "none"); td.colSpan = head.length;
    r.appendChild(td); t.appendChild(r); return;
  }
  rows.forEach((cells, i) => {
    const r = el("tr");
    cells.forEach(c => r.appendChild(c instanceof Node ? wrap(c) : el("td", c)));
    if (keys) searchable(r, keys[i]);
    t.appendChild(r);
  });
}
function wrap(node) { const td = el("td"); td.appendChild(node); return td; }
function sev(c) { return el("span", c.severity, "pill sev-" + c.severity); }
function count(list, key) {
  const m = {};
  list.forEach(x => { m[x[key]] = (m[x[key]] || 0) + 1; });
  return m;
}
function place(o) {
  const l = o.location;
  return o.target + ": " + l.path + (l.line ? ":" + l.line : "") +
    (l.commit ? " @" + String(l.commit).slice(0, 10) : "");
}
function keysOf(c) {
  return [c.severity, c.provider, c.rule_id, c.redacted, c.fingerprint, c.status,
          c.new ? "new" : "known", ...c.occurrences.map(place)];
}
const news = creds.filter(c => c.new), known = creds.filter(c => !c.new);
const present = creds.filter(c => c.present).length;
const failed = D.targets.filter(t => t.status !== "ok");
document.getElementById("meta").textContent =
  "Sweep #" + D.sweep.id + " of " + D.sweep.config + ", finished " + D.sweep.finished_at +
  " in " + D.sweep.seconds + " s; rule set " + D.sweep.ruleset_version + ".";
const cards = document.getElementById("cards");
[["New credentials", news.length, "card-new"], ["Known credentials", known.length, "card-known"],
 ["Still present", present, "card-present"], ["Removed", creds.length - present, "card-removed"],
 ["Targets", D.targets.length, "card-targets"], ["Failed targets", failed.length, "card-failed"]]
  .forEach(([label, n, id]) => {
    const c = el("div", null, "card"); c.id = id;
    c.appendChild(el("b", n)); c.appendChild(el("span", label)); cards.appendChild(c);
  });
const failedBox = document.getElementById("failed-targets");
if (failed.length) {
  failedBox.className = "failed-box";
  failedBox.appendChild(el("h2", failed.length + " target(s) failed: not scanned this sweep"));
  const ul = el("ul");
  failed.forEach(t => {
    const li = el("li"); li.className = "failed-target";
    li.appendChild(el("code", t.target)); li.appendChild(el("span", ": " + (t.error || "failed")));
    ul.appendChild(searchable(li, [t.target, t.error, "failed"]));
  });
  failedBox.appendChild(ul);
} else {
  failedBox.className = "ok-box";
  failedBox.textContent = "All " + D.targets.length + " target(s) were scanned.";
}
function line(label, node) {
  const d = el("div"); d.appendChild(el("span", label, "label")); d.appendChild(node); return d;
}
function credCard(c) {
  const card = el("div", null, "cred r" + c.rank);
  const what = el("div", null, "what");
  what.appendChild(sev(c));
  what.appendChild(el("span", " " + c.provider + " " + c.title + " "));
  what.appendChild(el("code", c.redacted));
  what.appendChild(el("span", " (" + c.status + (c.present ? "" : ", removed") + ")"));
  card.appendChild(what);
  const here = c.occurrences.filter(o => o.present);
  const shown = here.length ? here : c.occurrences;
  shown.slice(0, 5).forEach((o, i) =>
    card.appendChild(line(i ? "" : "location", el("span", place(o), "loc"))));
  if (shown.length > 5) {
    card.appendChild(line("", el("span", "and " + (shown.length - 5) + " more place(s)")));
  }
  card.appendChild(line("fingerprint", el("span", c.fingerprint, "fp")));
  if (c.next_command) {
    const next = line("next", el("span", "plan the rotation (a dry run):"));
    next.appendChild(el("code", c.next_command, "cmd"));
    card.appendChild(next);
  } else {
    card.appendChild(line("next", el("span", "no rotation playbook for rule " + c.rule_id)));
  }
  return searchable(card, keysOf(c));
}
function cardList(id, list) {
  const box = document.getElementById(id);
  if (!list.length) box.appendChild(el("p", "none"));
  list.forEach(c => box.appendChild(credCard(c)));
}
cardList("new", news);
cardList("known", known);
const order = ["critical", "high", "medium", "low", "info"];
const bySev = count(creds, "severity"), newBySev = count(news, "severity");
table("by-severity", ["severity", "credentials", "new"],
  order.map(s => [s, String(bySev[s] || 0), String(newBySev[s] || 0)]));
const byProv = count(creds, "provider");
table("by-provider", ["provider", "credentials"],
  Object.keys(byProv).sort().map(p => [p, String(byProv[p])]));
const times = creds.flatMap(c => [Date.parse(c.introduced), Date.parse(c.last_seen)])
  .filter(x => !isNaN(x));
const t0 = Math.min(...times), t1 = Math.max(...times), span = Math.max(t1 - t0, 1);
table("timeline", ["credential", "introduced", "last seen", "state", "exposure"],
  creds.map(c => {
    const bar = el("div", null, "bar");
    const a = Date.parse(c.introduced), b = Date.parse(c.last_seen);
    const seg = el("span", null, c.present ? "present" : "removed");
    const left = isNaN(a) ? 0 : (a - t0) / span * 100;
    const right = isNaN(b) ? 100 : (b - t0) / span * 100;
    seg.style.left = left + "%";
    seg.style.width = Math.max(right - left, 1.5) + "%";
    bar.appendChild(seg);
    return [el("code", c.redacted), c.introduced, c.last_seen,
            c.present ? "still present" : "removed", bar];
  }), creds.map(keysOf));
const provRows = [], provKeys = [];
creds.forEach(c => c.occurrences.forEach(o => {
  const p = o.provenance, l = o.location;
  provRows.push([el("code", c.redacted), o.target,
    el("span", l.path + (l.line ? ":" + l.line : ""), "loc"),
    el("code", p.commit ? p.commit.slice(0, 12) : ""), p.author, p.date, p.refs,
    p.other || o.source_kind,
    o.introduced + " .. " + o.last_seen + (o.present ? "" : " (removed)"), c.status]);
  provKeys.push([...keysOf(c), p.commit, p.author, p.refs]);
}));
table("provenance", ["credential", "target", "location", "commit", "author", "date", "refs",
                     "other", "seen", "status"], provRows, provKeys);
table("targets", ["target", "status", "findings", "new credentials", "error"],
  D.targets.map(t => [t.target, el("span", t.status, t.status === "ok" ? "" : "failed"),
                      String(t.findings), String(t.new_credentials), t.error || ""]),
  D.targets.map(t => [t.target, t.status, t.error]));
const filterBox = document.getElementById("filter");
function applyFilter() {
  const words = filterBox.value.toLowerCase().split(/\s+/).filter(w => w);
  let shown = 0, total = 0;
  document.querySelectorAll("[data-search]").forEach(node => {
    const hay = node.getAttribute("data-search");
    const match = words.every(w => hay.includes(w));
    node.hidden = !match;
    if (node.classList.contains("cred")) { total += 1; if (match) shown += 1; }
  });
  document.getElementById("filter-count").textContent =
    words.length ? shown + " of " + total + " credential(s) match" : "";
}
filterBox.addEventListener("input", applyFilter);
if (location.hash.startsWith("#filter=")) {
  filterBox.value = decodeURIComponent(location.hash.slice(8));
}
applyFilter();
document.body.setAttribute("data-rendered", "yes");
</script>
</body>
</html>
"""
