"""A self-contained HTML sweep report: one file, inline CSS and JS, no network access.

The data is embedded as JSON (redacted, like every report) and the page's script builds the
views from it: new versus known credentials, counts by provider and severity, an exposure
timeline (introduced, still present or removed), each finding's provenance and triage status.
Text is inserted with ``textContent`` only, so nothing in a finding can become markup.
"""

from __future__ import annotations

import json

from leakguard.reports.sweep_json import summary
from leakguard.sweep.outcome import SweepReport


def _introduced(provenance: dict[str, object], fallback: str) -> str:
    for key in ("author_date", "date", "committed_at", "introduced"):
        value = provenance.get(key)
        if isinstance(value, str) and value:
            return value
    return fallback


def data(report: SweepReport) -> dict[str, object]:
    new_fps = report.new_fingerprints
    creds = []
    for c in report.credentials:
        occs = [
            {
                "target": o.target,
                "source_kind": o.source_kind,
                "location": o.location,
                "provenance": o.provenance,
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
                "occurrences": occs,
            }
        )
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
        "targets": [t.to_dict() for t in report.targets],
        "credentials": creds,
    }


def render(report: SweepReport) -> str:
    payload = json.dumps(data(report), sort_keys=True)
    # Inside <script>, "</" could close the element: escape it (and friends) as JSON unicode.
    payload = payload.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return _TEMPLATE.replace("__DATA__", payload)


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>LeakGuard sweep report</title>
<style>
body{font:14px/1.45 system-ui,sans-serif;margin:1.5em;color:#1d2330;background:#fafbfc}
h1{font-size:1.4em;margin:0 0 .2em}h2{font-size:1.1em;margin:1.6em 0 .5em}
.meta{color:#5a6270}
.cards{display:flex;gap:1em;flex-wrap:wrap}
.card{background:#fff;border:1px solid #d8dde6;border-radius:6px;padding:.6em 1em;min-width:9em}
.card b{display:block;font-size:1.6em}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d8dde6;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eef1f6}
.sev-critical{color:#fff;background:#b00020}.sev-high{color:#fff;background:#d9480f}
.sev-medium{background:#f5c542}.sev-low{background:#cfe3ff}.sev-info{background:#e4e7ec}
.pill{border-radius:3px;padding:0 .4em;font-size:.9em}
.new{font-weight:bold;color:#b00020}
.bar{position:relative;height:12px;background:#eef1f6;min-width:220px}
.bar span{position:absolute;top:0;height:12px;border-radius:2px}
.bar .present{background:#d9480f}.bar .removed{background:#7a8599}
.failed{color:#b00020}
code{font-size:.92em}
</style>
</head>
<body>
<h1>LeakGuard sweep report</h1>
<p class="meta" id="meta"></p>
<div class="cards" id="cards"></div>
<h2>Counts by severity</h2><table id="by-severity"></table>
<h2>Counts by provider</h2><table id="by-provider"></table>
<h2>New credentials</h2><table id="new"></table>
<h2>Known credentials</h2><table id="known"></table>
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
function table(id, head, rows) {
  const t = document.getElementById(id);
  const tr = el("tr");
  head.forEach(h => tr.appendChild(el("th", h)));
  t.appendChild(tr);
  if (!rows.length) {
    const r = el("tr"); const td = el("td", "none"); td.colSpan = head.length;
    r.appendChild(td); t.appendChild(r); return;
  }
  rows.forEach(cells => {
    const r = el("tr");
    cells.forEach(c => r.appendChild(c instanceof Node ? wrap(c) : el("td", c)));
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
const order = ["critical", "high", "medium", "low", "info"];
const bySev = count(creds, "severity"), newBySev = count(news, "severity");
table("by-severity", ["severity", "credentials", "new"],
  order.map(s => [s, String(bySev[s] || 0), String(newBySev[s] || 0)]));
const byProv = count(creds, "provider");
table("by-provider", ["provider", "credentials"],
  Object.keys(byProv).sort().map(p => [p, String(byProv[p])]));
function credRow(c) {
  return [sev(c), c.provider, el("code", c.redacted), c.status,
          c.present ? "present" : "removed", c.occurrences.length + " place(s)",
          el("code", c.fingerprint.slice(0, 23))];
}
const credHead = ["severity", "provider", "credential", "triage status", "exposure", "occurrences",
                  "fingerprint"];
table("new", credHead, news.map(credRow));
table("known", credHead, known.map(credRow));
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
  }));
table("provenance", ["credential", "target", "location", "provenance", "seen", "status"],
  creds.flatMap(c => c.occurrences.map(o => {
    const loc = o.location.path + ":" + o.location.line +
      (o.location.commit ? " @ " + String(o.location.commit).slice(0, 12) : "");
    const prov = Object.keys(o.provenance).sort()
      .map(k => k + "=" + o.provenance[k]).join(", ") || o.source_kind;
    return [el("code", c.redacted), o.target, loc, prov,
            o.introduced + " .. " + o.last_seen + (o.present ? "" : " (removed)"), c.status];
  })));
table("targets", ["target", "status", "findings", "new credentials", "error"],
  D.targets.map(t => [t.target, el("span", t.status, t.status === "ok" ? "" : "failed"),
                      String(t.findings), String(t.new_credentials), t.error || ""]));
document.body.setAttribute("data-rendered", "yes");
</script>
</body>
</html>
"""
