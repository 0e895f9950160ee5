"""The page shell: inline CSS and JS (the report opens from disk, offline, with no network).

A Content-Security-Policy forbids every fetch: images are data URIs, styles and the one script
are inline, so a page copied to a laptop shows exactly what it showed on the cluster, and no
text from a rollout can load anything even if escaping were ever wrong.
"""

from __future__ import annotations

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "script-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
)

CSS = r"""
:root{--ink:#1d2733;--ink2:#4a5563;--ink3:#7b8594;--line:#e3e7ed;--bg:#f6f7f9;--card:#fff;
--accent:#3b6fd8;--good:#138a5a;--bad:#c4314b;--warn:#b26a00;--mono:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
*{box-sizing:border-box}[hidden]{display:none!important}
html{scroll-padding-top:64px}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif}
header.top{background:#111a26;color:#fff;padding:18px 0 14px}
header.top .wrap{display:flex;align-items:baseline;gap:16px;flex-wrap:wrap}
header.top h1{font-size:19px;margin:0;font-weight:650;letter-spacing:.2px}
header.top .sub{color:#aab4c3;font-size:12.5px}
header.top .sub code{color:#dfe6ef}
nav{position:sticky;top:0;z-index:5;background:rgba(255,255,255,.94);backdrop-filter:blur(6px);border-bottom:1px solid var(--line)}
nav .wrap{display:flex;gap:2px;overflow-x:auto}
nav a{color:var(--ink2);text-decoration:none;padding:10px 10px;font-size:13px;white-space:nowrap;border-bottom:2px solid transparent}
nav a:hover{color:var(--ink);border-bottom-color:var(--accent)}
.wrap{max-width:1200px;margin:0 auto;padding:0 24px}
main{padding:18px 0 60px}
section{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 22px 20px;margin:16px 0}
section>h2{font-size:16px;margin:0 0 2px;font-weight:650}
section>h3{font-size:13.5px;margin:18px 0 6px;color:var(--ink2);font-weight:600}
.lead{color:var(--ink3);font-size:12.5px;margin:0 0 12px;max-width:900px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(124px,1fr));gap:10px;margin:6px 0 4px}
.kpi{border:1px solid var(--line);border-radius:8px;padding:9px 12px;background:#fbfcfd}
.kpi.wide{grid-column:span 2}
.kpi .k{color:var(--ink3);font-size:11.5px;text-transform:uppercase;letter-spacing:.4px}
.kpi .v{font-size:18px;font-weight:600;font-variant-numeric:tabular-nums;white-space:nowrap}
.kpi .s{color:var(--ink3);font-size:11.5px}
.banner{border-radius:8px;padding:9px 13px;margin:8px 0 4px;font-size:13.5px}
.banner.ok{background:#e8f6ef;color:#0d6b45;border:1px solid #bfe6d2}
.banner.fail{background:#fdecef;color:#9d1f36;border:1px solid #f4c2cc}
.banner.warn{background:#fff6e5;color:#7a4a00;border:1px solid #f2dcb0}
.banner ul{margin:4px 0 0 18px;padding:0}
img.chart{display:block;max-width:100%;height:auto;margin:6px 0}
div.tw{overflow-x:auto}
table.t{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums;margin:6px 0}
table.t th{text-align:right;color:var(--ink3);font-weight:600;font-size:11.5px;text-transform:uppercase;letter-spacing:.3px;border-bottom:1px solid var(--line);padding:6px 7px;vertical-align:bottom;line-height:1.25}
table.t td{text-align:right;padding:6px 7px;border-bottom:1px solid #f0f2f5;white-space:nowrap}
table.t th:first-child,table.t td:first-child{text-align:left}
table.t tr:hover td{background:#fafbfc}
table.t td.up{color:var(--good)}table.t td.down{color:var(--bad)}
td.hot{color:var(--bad);font-weight:600}
.dom{display:inline-flex;align-items:center;gap:6px;font-weight:600}
.dom::before{content:"";width:9px;height:9px;border-radius:2px;background:var(--c)}
a.insp{color:var(--accent);text-decoration:none;font-size:12px}
.na{color:var(--ink3)}
pre.cfg{background:#0f1722;color:#dbe4ee;border-radius:8px;padding:14px 16px;overflow:auto;font:12px/1.55 var(--mono);max-height:520px;margin:6px 0}
details>summary{cursor:pointer;color:var(--ink2);font-size:13px;margin:8px 0}
.filters{display:flex;flex-wrap:wrap;gap:10px 14px;align-items:end;padding:10px 12px;background:#f3f5f8;border:1px solid var(--line);border-radius:8px}
.filters label{display:flex;flex-direction:column;font-size:11px;color:var(--ink3);text-transform:uppercase;letter-spacing:.3px;gap:3px}
.filters label.grow{flex:1;min-width:200px}
.filters select,.filters input{font:13px system-ui,sans-serif;padding:5px 7px;border:1px solid #cdd3db;border-radius:6px;background:#fff;color:var(--ink);min-width:120px}
.filters .count{margin-left:auto;color:var(--ink2);font-size:12.5px;padding-bottom:6px;font-variant-numeric:tabular-nums}
#rollouts-list{max-height:calc(100vh - 120px);overflow-y:auto;padding:0 6px 0 0;border-top:1px solid var(--line);border-bottom:1px solid var(--line)}
p.note{font-size:12.5px;color:var(--ink2);margin:10px 2px}
.empty-note{color:var(--ink3);font-style:italic}
article.ro{display:grid;grid-template-columns:auto 1fr;gap:14px;border:1px solid var(--line);border-radius:8px;padding:12px;margin:10px 0;background:#fff}
article.ro.is-sus{border-color:#f0b4bf;box-shadow:inset 3px 0 0 var(--bad)}
.media{display:grid;grid-template-columns:repeat(2,auto);gap:4px;align-content:start;max-width:300px}
.media.empty{color:var(--ink3);font-size:11.5px;width:72px}
.thumb{display:block;width:112px;height:112px;background-size:contain;background-repeat:no-repeat;background-position:center;image-rendering:pixelated;border:1px solid var(--line);border-radius:4px;background-color:#fafafa}
.thumb.none{display:flex;align-items:center;justify-content:center;font-size:11px;color:var(--ink3);text-align:center}
.media .more{font-size:11px;color:var(--ink3)}
.ro-body{min-width:0}
.ro-head{display:flex;flex-wrap:wrap;align-items:center;gap:6px 12px;font-size:12.5px}
.ro-head .facts{color:var(--ink3)}
.ro-head code{font:11.5px var(--mono);color:var(--ink2)}
.pill{border-radius:999px;padding:1px 9px;font-weight:600;font-size:12px;font-variant-numeric:tabular-nums}
.pill.pos{background:#e3f4ec;color:#0d6b45}.pill.part{background:#fff2d9;color:#7a4a00}
.pill.zero{background:#eef0f3;color:#56606d}.pill.miss{background:#fdecef;color:#9d1f36}
.ok{color:var(--good);font-weight:600}.bad{color:var(--bad);font-weight:600}
.sus{color:var(--bad);font-weight:600;font-size:12.5px;margin-top:5px}
dl.ans{display:flex;flex-wrap:wrap;gap:2px 8px;margin:6px 0 4px;font-size:13px;align-items:baseline}
dl.ans div{display:flex;gap:6px;align-items:baseline;margin-right:14px;min-width:0}
dl.ans dt{color:var(--ink3);font-size:11.5px;text-transform:uppercase;letter-spacing:.3px;padding-top:1px}
dl.ans dd{margin:0;font-family:var(--mono);font-size:12.5px;overflow-wrap:anywhere}
.chips{display:flex;flex-wrap:wrap;gap:4px;margin:0}
.chip{font-size:11px;border-radius:4px;padding:0 6px;background:#eef0f3;color:#4a5563;border:1px solid #e1e5ea}
.chip.hot{background:#fdecef;color:#9d1f36;border-color:#f4c2cc}
pre.resp{margin:0;background:#f7f8fa;border:1px solid #eceff3;border-radius:6px;padding:8px 10px;font:12px/1.5 var(--mono);white-space:pre-wrap;overflow-wrap:anywhere;max-height:15em;overflow:auto;color:var(--ink)}
pre.resp .th{color:#7b8594}pre.resp .mk{color:#3b6fd8;font-weight:600}
pre.resp .bx{background:#fff1b8;color:#1d2733;font-weight:600;border-radius:2px}
pre.resp .cut{color:var(--warn);font-style:italic}
footer{color:var(--ink3);font-size:12px;text-align:center;padding:10px 0 30px}
@media (max-width:720px){article.ro{grid-template-columns:1fr}.wrap{padding:0 12px}}
@media print{nav{position:static}#rollouts-list{max-height:none}section{break-inside:avoid}}
"""

JS = r"""
(function () {
  "use strict";
  var byId = function (id) { return document.getElementById(id); };
  var f = {domain: byId("f-domain"), step: byId("f-step"), flag: byId("f-flag"),
           outcome: byId("f-outcome"), text: byId("f-text")};
  if (!f.domain) { return; }
  var cards = Array.prototype.slice.call(document.querySelectorAll("article.ro"));
  function matches(c, d, s, fl, o, q) {
    if (d && c.dataset.domain !== d) { return false; }
    if (s && c.dataset.step !== s) { return false; }
    if (o && c.dataset.outcome !== o) { return false; }
    if (fl) {
      var flags = c.dataset.flags ? c.dataset.flags.split(" ") : [];
      if (fl === "__sus") { if (c.dataset.sus !== "1") { return false; } }
      else if (fl === "__flagged") { if (!flags.length) { return false; } }
      else if (fl === "__none") { if (flags.length) { return false; } }
      else if (flags.indexOf(fl) < 0) { return false; }
    }
    return !q || c.textContent.toLowerCase().indexOf(q) >= 0;
  }
  function apply() {
    var d = f.domain.value, s = f.step.value, fl = f.flag.value, o = f.outcome.value;
    var q = f.text.value.trim().toLowerCase(), shown = 0;
    cards.forEach(function (c) {
      var ok = matches(c, d, s, fl, o, q);
      c.hidden = !ok;
      if (ok) { shown += 1; }
    });
    byId("f-count").textContent = shown + " of " + cards.length + " shown";
    byId("f-empty").hidden = shown > 0;
  }
  ["domain", "step", "flag", "outcome"].forEach(function (k) { f[k].addEventListener("change", apply); });
  f.text.addEventListener("input", apply);
  Array.prototype.forEach.call(document.querySelectorAll("[data-inspect]"), function (a) {
    a.addEventListener("click", function () {
      f.domain.value = a.getAttribute("data-inspect");
      f.flag.value = a.hasAttribute("data-sus") ? "__sus" : "";
      apply();
    });
  });
  apply();
})();
"""

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="thinkvl report">
<title>{title}</title>
<style>{css}
{thumb_css}</style></head>
<body>
<header class="top"><div class="wrap"><h1>{heading}</h1><span class="sub">{subtitle}</span></div></header>
<nav><div class="wrap">{nav}</div></nav>
<main class="wrap">
{body}
</main>
<footer>{footer}</footer>
<script>{js}</script>
</body></html>
"""
