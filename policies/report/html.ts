/**
 * A self-contained HTML dashboard: one file, inline CSS, inline SVG charts and a few lines of
 * inline script for the status filter. A Content-Security-Policy allows exactly that style and
 * that script (by hash) and nothing else, so the page can fetch nothing even if input text
 * were to slip past the escaping. Opens from disk, from a CI artefact, offline.
 */
import { createHash } from 'crypto';
import { Finding, Status } from '../model';
import {
  compareByUrgency,
  controlIndex,
  FRAMEWORK_LABELS,
  frameworksInFocus,
  frameworksLabel,
  locationLabel,
  normalizeFrameworks,
  objectLabel,
  ReportMeta,
  ReportSummary,
  remediationOf,
  reportTitle,
  sortFindings,
  STATUS_LABELS,
  STATUS_ORDER,
  toolName,
} from './common';

/** Segment order in the bars: good news left, then what needs a look. */
const BAR_ORDER: readonly Status[] = ['pass', 'accepted', 'not-evaluated', 'fail', 'error', 'not-applicable'];

const STYLE = `
:root{--pass:#2e7d32;--fail:#c62828;--error:#6a1b9a;--accepted:#b7791f;--not-evaluated:#1565c0;--not-applicable:#9e9e9e;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa}
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg)}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 10px}
.meta{color:var(--muted);margin:0 0 16px}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin:0;padding:0;list-style:none}
.cards li{border:1px solid var(--line);border-left-width:6px;border-radius:6px;padding:8px 14px;min-width:120px;background:var(--soft)}
.cards b{display:block;font-size:22px}
.c-pass{border-left-color:var(--pass)!important}.c-fail{border-left-color:var(--fail)!important}.c-error{border-left-color:var(--error)!important}
.c-accepted{border-left-color:var(--accepted)!important}.c-not-evaluated{border-left-color:var(--not-evaluated)!important}.c-not-applicable{border-left-color:var(--not-applicable)!important}
.frameworks{display:grid;grid-template-columns:repeat(auto-fill,minmax(420px,1fr));gap:12px 28px}
figure{margin:0}figcaption{font-weight:600;margin-bottom:2px}figcaption span{font-weight:400;color:var(--muted)}
svg text{font:12px system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;fill:var(--fg)}
svg .empty{fill:#eceff1}
svg text.t{fill:#fff;font-weight:600}
.s-pass{fill:var(--pass)}.s-fail{fill:var(--fail)}.s-error{fill:var(--error)}.s-accepted{fill:var(--accepted)}.s-not-evaluated{fill:var(--not-evaluated)}.s-not-applicable{fill:var(--not-applicable)}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:8px 0 0;padding:0;list-style:none;color:var(--muted)}
.legend li::before{content:"";display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px;background:var(--c)}
.l-pass{--c:var(--pass)}.l-fail{--c:var(--fail)}.l-error{--c:var(--error)}.l-accepted{--c:var(--accepted)}.l-not-evaluated{--c:var(--not-evaluated)}.l-not-applicable{--c:var(--not-applicable)}
.filters{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 10px}
.filters button{font:inherit;border:1px solid var(--line);background:var(--bg);border-radius:16px;padding:3px 12px;cursor:pointer}
.filters button[aria-pressed="true"]{background:var(--fg);color:#fff;border-color:var(--fg)}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;vertical-align:top;padding:6px 8px;border-bottom:1px solid var(--line)}
th{background:var(--soft);position:sticky;top:0}
td code{font-size:12px;word-break:break-all}
td code.ctl{word-break:normal;white-space:nowrap}
.badge{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px;white-space:nowrap}
.b-pass{background:var(--pass)}.b-fail{background:var(--fail)}.b-error{background:var(--error)}.b-accepted{background:var(--accepted)}.b-not-evaluated{background:var(--not-evaluated)}.b-not-applicable{background:var(--not-applicable)}
.small{color:var(--muted);font-size:12px}
tr[hidden]{display:none}
`;

// Filter rows by status; the initial filter may come from the address (#status=fail).
const SCRIPT = `
(function () {
  var buttons = Array.prototype.slice.call(document.querySelectorAll('.filters button'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('#findings tbody tr'));
  var shown = document.getElementById('shown');
  function apply(status) {
    var n = 0;
    rows.forEach(function (r) {
      var on = status === 'all' || r.getAttribute('data-status') === status;
      if (on) { r.removeAttribute('hidden'); n++; } else { r.setAttribute('hidden', ''); }
    });
    buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.getAttribute('data-filter') === status)); });
    shown.textContent = String(n);
    document.body.setAttribute('data-filter', status);
  }
  buttons.forEach(function (b) { b.addEventListener('click', function () { apply(b.getAttribute('data-filter')); }); });
  var m = /status=([a-z-]+)/.exec(location.hash);
  var wanted = m && buttons.some(function (b) { return b.getAttribute('data-filter') === m[1]; }) ? m[1] : 'all';
  apply(wanted);
})();
`;

export function renderHtml(findings: readonly Finding[], summary: ReportSummary, meta: ReportMeta = {}): string {
  const catalogue = controlIndex(meta);
  const focus = frameworksInFocus(meta);
  const title = reportTitle(meta);
  const sorted = sortFindings(findings, compareByUrgency);
  const failing = summary.byStatus.fail + summary.byStatus.error;

  const csp = [
    "default-src 'none'",
    `style-src 'sha256-${sha256(STYLE)}'`,
    `script-src 'sha256-${sha256(SCRIPT)}'`,
    "img-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');

  const h: string[] = [];
  h.push('<!DOCTYPE html>', '<html lang="en">', '<head>', '<meta charset="utf-8">');
  h.push(`<meta http-equiv="Content-Security-Policy" content="${esc(csp)}">`);
  h.push('<meta name="viewport" content="width=device-width, initial-scale=1">');
  h.push(`<title>${esc(title)}</title>`, `<style>${STYLE}</style>`, '</head>', '<body>');
  h.push(`<h1>${esc(title)}</h1>`);
  const metaLine = [
    `${summary.findings} findings on ${summary.controls.total} controls`,
    failing === 0 ? 'no failures' : `${failing} failing`,
    meta.generatedAt ? `generated ${meta.generatedAt}` : '',
    `by ${toolName(meta)}${meta.tool?.version ? ` ${meta.tool.version}` : ''}`,
  ].filter((s) => s);
  h.push(`<p class="meta">${esc(metaLine.join(' · '))}</p>`);

  h.push('<ul class="cards" id="totals">');
  for (const s of STATUS_ORDER) {
    h.push(`<li class="c-${s}" data-status="${s}"><b>${summary.byStatus[s]}</b>${esc(STATUS_LABELS[s])}</li>`);
  }
  h.push('</ul>');

  h.push('<h2>Coverage by framework</h2>');
  h.push('<p class="small">Controls mapped to each framework, each counted once under its most pressing status.</p>');
  h.push('<div class="frameworks">');
  for (const fw of focus) {
    const c = summary.frameworks[fw];
    h.push(`<figure data-framework="${fw}">`);
    h.push(
      `<figcaption>${esc(FRAMEWORK_LABELS[fw])} <span>${c.controls} control${c.controls === 1 ? '' : 's'}</span></figcaption>`,
    );
    h.push(bar(`coverage-${fw}`, c.byStatus, c.controls, `${FRAMEWORK_LABELS[fw]} coverage`));
    h.push('</figure>');
  }
  h.push('</div>');
  h.push('<ul class="legend">');
  for (const s of BAR_ORDER) h.push(`<li class="l-${s}">${esc(STATUS_LABELS[s])}</li>`);
  h.push('</ul>');

  h.push('<h2>Findings</h2>');
  h.push('<div class="filters" role="group" aria-label="Filter by status">');
  h.push(`<button type="button" data-filter="all" aria-pressed="true">All (${sorted.length})</button>`);
  for (const s of STATUS_ORDER) {
    if (summary.byStatus[s] === 0) continue;
    h.push(
      `<button type="button" data-filter="${s}" aria-pressed="false">${esc(STATUS_LABELS[s])} (${summary.byStatus[s]})</button>`,
    );
  }
  h.push('</div>');
  h.push(`<p class="small">Showing <span id="shown">${sorted.length}</span> of ${sorted.length}.</p>`);
  h.push('<table id="findings">');
  h.push(
    '<thead><tr><th>Status</th><th>Severity</th><th>Control</th><th>Object</th><th>Finding</th><th>Frameworks</th></tr></thead>',
  );
  h.push('<tbody>');
  for (const f of sorted) {
    const info = catalogue.get(f.control);
    const where = [
      locationLabel(f.object),
      f.object?.constructPath ? `construct ${f.object.constructPath}` : '',
    ].filter((s) => s);
    const detail: string[] = [esc(f.message)];
    if (f.status === 'accepted' && f.exception) {
      detail.push(
        `<div class="small">Accepted until ${esc(f.exception.expires)} (owner ${esc(f.exception.owner)}): ${esc(f.exception.justification)}</div>`,
      );
    }
    const fix = remediationOf(f, catalogue);
    if ((f.status === 'fail' || f.status === 'error') && fix) detail.push(`<div class="small">Fix: ${esc(fix)}</div>`);
    h.push(
      `<tr data-status="${f.status}" data-severity="${f.severity}" data-control="${esc(f.control)}">` +
        `<td><span class="badge b-${f.status}">${esc(STATUS_LABELS[f.status])}</span></td>` +
        `<td>${esc(f.severity)}</td>` +
        `<td><code class="ctl">${esc(f.control)}</code>${info ? `<div class="small">${esc(info.title)}</div>` : ''}</td>` +
        `<td>${esc(objectLabel(f.object)) || '—'}${where.map((w) => `<div class="small"><code>${esc(w)}</code></div>`).join('')}</td>` +
        `<td>${detail.join('')}</td>` +
        `<td class="small">${esc(frameworksLabel(normalizeFrameworks(f.frameworks), focus)) || '—'}</td>` +
        '</tr>',
    );
  }
  h.push('</tbody>', '</table>');
  h.push(`<script>${SCRIPT}</script>`, '</body>', '</html>');
  return `${h.join('\n')}\n`;
}

/** A horizontal stacked bar with a count label on each segment wide enough to hold one. */
function bar(id: string, counts: Record<Status, number>, total: number, label: string): string {
  const width = 400;
  const height = 26;
  const parts: string[] = [];
  const described = BAR_ORDER.filter((s) => counts[s] > 0).map((s) => `${counts[s]} ${STATUS_LABELS[s].toLowerCase()}`);
  const aria = `${label}: ${total === 0 ? 'no controls' : described.join(', ')}`;
  parts.push(
    `<svg id="${id}" class="coverage" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="${esc(aria)}" xmlns="http://www.w3.org/2000/svg">`,
  );
  parts.push(`<title>${esc(aria)}</title>`);
  if (total === 0) {
    parts.push(`<rect class="empty" x="0" y="0" width="${width}" height="${height}" rx="4"/>`);
    parts.push(`<text x="8" y="17">no controls mapped</text>`);
  } else {
    let x = 0;
    for (const s of BAR_ORDER) {
      if (counts[s] === 0) continue;
      const w = round((counts[s] / total) * width);
      parts.push(
        `<rect class="s-${s}" data-status="${s}" data-count="${counts[s]}" x="${round(x)}" y="0" width="${w}" height="${height}"/>`,
      );
      if (w >= 22)
        parts.push(`<text x="${round(x + w / 2)}" y="17" text-anchor="middle" class="t">${counts[s]}</text>`);
      x += w;
    }
  }
  parts.push('</svg>');
  return parts.join('');
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function esc(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('base64');
}
