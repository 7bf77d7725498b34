/**
 * bench-results/report.html: the summary as tables, and plots drawn here as inline SVG (latency
 * distribution per run, throughput over time in 100 ms buckets). No script, CDN or font fetch.
 */

export interface RunPlot {
  title: string;
  histogram: { bounds: number[]; counts: number[] };
  p50: number;
  p99: number;
  bucketMs: number;
  series: number[];
  grabSeries: number[];
}

export interface Bar {
  label: string;
  value: number;
}

const esc = (s: unknown) =>
  String(s).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const W = 560;
const H = 220;
const M = { left: 56, right: 12, top: 24, bottom: 36 };

function frame(title: string, body: string, xLabel: string, yLabel: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img">
<title>${esc(title)}</title>
<rect x="0" y="0" width="${W}" height="${H}" fill="#fff"/>
<text x="${M.left}" y="15" font-size="12" font-weight="bold">${esc(title)}</text>
<line x1="${M.left}" y1="${H - M.bottom}" x2="${W - M.right}" y2="${H - M.bottom}" stroke="#333"/>
<line x1="${M.left}" y1="${M.top}" x2="${M.left}" y2="${H - M.bottom}" stroke="#333"/>
<text x="${(W + M.left) / 2}" y="${H - 4}" font-size="11" text-anchor="middle">${esc(xLabel)}</text>
<text x="12" y="${(H - M.bottom + M.top) / 2}" font-size="11" text-anchor="middle" transform="rotate(-90 12 ${(H - M.bottom + M.top) / 2})">${esc(yLabel)}</text>
${body}
</svg>`;
}

const fmt = (v: number) =>
  v >= 1000 ? `${Math.round(v / 100) / 10}k` : v >= 10 ? String(Math.round(v)) : String(Math.round(v * 100) / 100);

/** Latency histogram on a log time axis, with p50 and p99 marked. */
export function latencySvg(p: RunPlot): string {
  const { bounds, counts } = p.histogram;
  if (bounds.length === 0) return frame(`${p.title}: latency`, '', 'latency (ms, log)', 'requests');
  const lo = Math.log10((bounds[0] ?? 1) / 10 ** 0.1);
  const hi = Math.log10(bounds[bounds.length - 1] ?? 1);
  const span = Math.max(hi - lo, 0.1);
  const x = (ms: number) => M.left + ((Math.log10(ms) - lo) / span) * (W - M.left - M.right);
  const maxCount = Math.max(...counts, 1);
  const y = (c: number) => H - M.bottom - (c / maxCount) * (H - M.top - M.bottom);
  let body = '';
  bounds.forEach((b, i) => {
    const x0 = x(b / 10 ** 0.1);
    const x1 = x(b);
    const c = counts[i] ?? 0;
    body += `<rect x="${x0.toFixed(1)}" y="${y(c).toFixed(1)}" width="${Math.max(0.5, x1 - x0 - 0.5).toFixed(1)}" height="${(H - M.bottom - y(c)).toFixed(1)}" fill="#4a7bb7"><title>≤ ${b} ms: ${c}</title></rect>`;
  });
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const v = 10 ** d;
    body += `<line x1="${x(v)}" y1="${H - M.bottom}" x2="${x(v)}" y2="${H - M.bottom + 4}" stroke="#333"/><text x="${x(v)}" y="${H - M.bottom + 15}" font-size="10" text-anchor="middle">${fmt(v)}</text>`;
  }
  for (const [label, v, color] of [
    ['p50', p.p50, '#2a9d4b'],
    ['p99', p.p99, '#c0392b'],
  ] as const) {
    if (v <= 0) continue;
    const xv = Math.min(W - M.right, Math.max(M.left, x(v)));
    // Labels near the right edge grow leftwards; p99 sits one line below p50.
    const right = xv > W - 110;
    const ty = M.top + (label === 'p50' ? 10 : 22);
    body += `<line x1="${xv}" y1="${M.top}" x2="${xv}" y2="${H - M.bottom}" stroke="${color}" stroke-dasharray="4 3"/><text x="${right ? xv - 3 : xv + 3}" y="${ty}" font-size="10" fill="${color}" text-anchor="${right ? 'end' : 'start'}" stroke="#fff" stroke-width="3" paint-order="stroke">${label} ${fmt(v)} ms</text>`;
  }
  body += `<text x="${M.left - 4}" y="${M.top + 4}" font-size="10" text-anchor="end">${maxCount}</text>`;
  return frame(`${p.title}: latency distribution`, body, 'latency (ms, log scale)', 'requests');
}

/** Requests (and grabs) answered per second, in buckets of `bucketMs`, with the 5,000 req/s line. */
export function throughputSvg(p: RunPlot, target: number): string {
  const n = p.series.length;
  const maxV = Math.max(...p.series, target * 0.2, 1);
  const x = (i: number) => M.left + (n <= 1 ? 0 : (i / (n - 1)) * (W - M.left - M.right));
  const y = (v: number) => H - M.bottom - (Math.min(v, maxV * 1.05) / (maxV * 1.05)) * (H - M.top - M.bottom);
  const line = (values: number[], color: string) =>
    `<polyline fill="none" stroke="${color}" stroke-width="1.5" points="${values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`;
  let body = line(p.series, '#4a7bb7');
  if (p.grabSeries.some((v) => v > 0) && p.grabSeries.some((v, i) => v !== p.series[i])) {
    body += line(p.grabSeries, '#e08a1e');
    body += `<text x="${W - M.right}" y="${M.top + 22}" font-size="10" text-anchor="end" fill="#e08a1e">grabs/s</text>`;
  }
  body += `<text x="${W - M.right}" y="${M.top + 10}" font-size="10" text-anchor="end" fill="#4a7bb7">requests/s</text>`;
  if (target <= maxV * 1.05) {
    body += `<line x1="${M.left}" y1="${y(target)}" x2="${W - M.right}" y2="${y(target)}" stroke="#c0392b" stroke-dasharray="4 3"/><text x="${M.left + 4}" y="${y(target) - 3}" font-size="10" fill="#c0392b">${fmt(target)} req/s target</text>`;
  }
  for (const v of [0, maxV / 2, maxV]) {
    body += `<text x="${M.left - 4}" y="${y(v) + 3}" font-size="10" text-anchor="end">${fmt(v)}</text>`;
  }
  const seconds = (n * p.bucketMs) / 1000;
  for (const f of [0, 0.5, 1]) {
    body += `<text x="${x(f * Math.max(n - 1, 0))}" y="${H - M.bottom + 15}" font-size="10" text-anchor="middle">${fmt(f * seconds)}</text>`;
  }
  return frame(`${p.title}: throughput (${p.bucketMs} ms buckets)`, body, 'time (s)', 'per second');
}

/** Horizontal bars (one per run) against reference lines (the ceiling, the target). */
export function barsSvg(title: string, bars: Bar[], refs: Bar[]): string {
  const rowH = 18;
  const h = M.top + bars.length * rowH + 40;
  const left = 190;
  const maxV = Math.max(...bars.map((b) => b.value), ...refs.map((r) => r.value), 1) * 1.05;
  const x = (v: number) => left + (v / maxV) * (W - left - M.right);
  let body = '';
  bars.forEach((b, i) => {
    const yy = M.top + i * rowH;
    body += `<text x="${left - 4}" y="${yy + 12}" font-size="10" text-anchor="end">${esc(b.label)}</text><rect x="${left}" y="${yy + 2}" width="${Math.max(1, x(b.value) - left).toFixed(1)}" height="${rowH - 5}" fill="#4a7bb7"/><text x="${x(b.value) + 3}" y="${yy + 12}" font-size="10">${fmt(b.value)}</text>`;
  });
  const colors = ['#c0392b', '#2a9d4b', '#8e44ad'];
  refs.forEach((r, i) => {
    const color = colors[i % colors.length];
    const xr = x(r.value);
    const anchor = xr > W - 90 ? 'end' : xr < left + 60 ? 'start' : 'middle';
    body += `<line x1="${xr}" y1="${M.top}" x2="${xr}" y2="${h - 30}" stroke="${color}" stroke-dasharray="4 3"/><text x="${xr}" y="${h - 18 + (i % 2) * 10}" font-size="10" text-anchor="${anchor}" fill="${color}">${esc(r.label)} ${fmt(r.value)}</text>`;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img"><title>${esc(title)}</title><rect width="${W}" height="${h}" fill="#fff"/><text x="8" y="15" font-size="12" font-weight="bold">${esc(title)}</text>${body}</svg>`;
}

function table(rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return '<p>(none)</p>';
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cell = (v: unknown) => (typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v ?? ''));
  return `<table><thead><tr>${cols.map((c) => `<th>${esc(c)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((r) => `<tr>${cols.map((c) => `<td>${esc(cell(r[c]))}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export function renderReport(
  summary: Record<string, unknown>,
  sections: { title: string; rows: Record<string, unknown>[] }[],
  overview: string[],
  plots: RunPlot[],
  target: number,
): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Seckill bench</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1240px}
table{border-collapse:collapse;margin:8px 0 20px;font-size:12px}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#2a7a3b}.fail{color:#b03020;font-weight:bold}
.plots{display:flex;flex-wrap:wrap;gap:12px}.plots svg{border:1px solid #ddd}
pre{background:#f7f7f7;padding:8px;overflow:auto;font-size:11px;max-height:480px}
</style></head><body>
<h1>Seckill bench</h1>
<p class="${summary.ok ? 'ok' : 'fail'}">${summary.ok ? 'All invariants held.' : `Invariant failures: ${esc(JSON.stringify(summary.failures))}`}</p>
${sections.map((s) => `<h2>${esc(s.title)}</h2>${table(s.rows)}`).join('\n')}
<h2>Throughput</h2><div class="plots">${overview.join('\n')}</div>
<h2>Runs</h2>
${plots.map((p) => `<h3>${esc(p.title)}</h3><div class="plots">${latencySvg(p)}${throughputSvg(p, target)}</div>`).join('\n')}
<h2>summary.json</h2><pre>${esc(JSON.stringify(summary, null, 2))}</pre>
</body></html>
`;
}
