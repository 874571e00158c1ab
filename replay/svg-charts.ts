// The pieces the self-contained HTML reports share (the divergence report, the estimator
// validation report): escaping, money, inline SVG bar and scatter charts, tables and one style
// sheet. No script and nothing fetched, so a report reads the same offline years later.
export const esc = (value: unknown) => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Micro-dollars as dollars with up to 6 decimals, e.g. 1234 → "$0.001234". */
export function dollars(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(micros);
  return `${sign}$${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, '0')}`;
}

export const W = 720;
export const H = 260;
export const PAD = { left: 64, right: 48, top: 24, bottom: 56 };

export interface Bar {
  label: string;
  value: number;
  color?: string;
  title?: string;
}

export function barChart(bars: readonly Bar[], yLabel: string): string {
  if (bars.length === 0) return '<p class="empty">nothing to chart</p>';
  const max = Math.max(1, ...bars.map((b) => b.value));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const step = plotW / bars.length;
  const width = Math.min(60, Math.max(1, step * 0.8));
  const rects = bars
    .map((bar, i) => {
      const h = (bar.value / max) * plotH;
      const x = PAD.left + i * step + (step - width) / 2;
      const y = PAD.top + plotH - h;
      const labelX = x + width / 2;
      const label =
        bars.length <= 24
          ? `<text class="tick" transform="translate(${labelX.toFixed(1)},${PAD.top + plotH + 12}) rotate(30)">${esc(bar.label)}</text>`
          : '';
      return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${width.toFixed(1)}" height="${h.toFixed(1)}" fill="${bar.color ?? '#4e79a7'}"><title>${esc(bar.title ?? `${bar.label}: ${bar.value}`)}</title></rect>${label}`;
    })
    .join('');
  return svg(`${axes(max, plotH, yLabel)}${rects}`);
}

export function axes(max: number, plotH: number, yLabel: string): string {
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((f) => {
      const y = PAD.top + plotH - f * plotH;
      const v = max * f;
      const text = Number.isInteger(v) ? String(v) : v.toFixed(2);
      return `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}" class="grid"/><text x="${PAD.left - 6}" y="${(y + 4).toFixed(1)}" class="ytick">${esc(text)}</text>`;
    })
    .join('');
  return `${ticks}<text class="ylabel" transform="translate(12,${PAD.top + plotH / 2}) rotate(-90)">${esc(yLabel)}</text>`;
}

/** A colour swatch and name per series, along the top of a chart. */
export function legend(series: readonly { name: string; color: string }[]): string {
  return series
    .map(
      (s, i) =>
        `<rect x="${PAD.left + 10 + i * 150}" y="4" width="12" height="12" fill="${s.color}"/><text x="${PAD.left + 28 + i * 150}" y="15" class="legend">${esc(s.name)}</text>`,
    )
    .join('');
}

export function svg(body: string): string {
  return `<svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" xmlns="http://www.w3.org/2000/svg">${body}</svg>`;
}

export function table(head: string[], rows: unknown[][]): string {
  if (rows.length === 0) return '<p class="empty">none</p>';
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows
    .map((row) => `<tr>${row.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`)
    .join('')}</tbody></table>`;
}

export const PAGE_STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:780px;color:#222}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;margin-top:28px;border-bottom:1px solid #ddd}h3{font-size:14px}
table{border-collapse:collapse;margin:8px 0;font-size:13px}th,td{border:1px solid #ddd;padding:3px 8px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.muted{color:#777}.empty{color:#999;font-style:italic}
.unverified{border:2px solid #c0392b;background:#fdecea;padding:8px 12px;margin:12px 0}
svg{display:block;margin:8px 0}.grid{stroke:#eee}.tick,.ytick,.legend{font-size:10px;fill:#555}.ytick{text-anchor:end}.ylabel{font-size:11px;fill:#555;text-anchor:middle}
`;

export interface ScatterSeries {
  name: string;
  color: string;
  points: readonly { x: number; y: number; title: string }[];
}

/**
 * Points on log10 axes (costs span orders of magnitude; values below 1 are drawn at 1) with
 * the diagonal y = x: a point above it is an overestimate, below an underestimate.
 */
export function scatterChart(series: readonly ScatterSeries[], xLabel: string, yLabel: string): string {
  const all = series.flatMap((s) => s.points);
  if (all.length === 0) return '<p class="empty">nothing to chart</p>';
  const log = (v: number) => Math.log10(Math.max(1, v));
  const values = all.flatMap((p) => [log(p.x), log(p.y)]);
  const lo = Math.floor(Math.min(...values));
  const hi = Math.max(lo + 1, Math.ceil(Math.max(...values)));
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const x = (v: number) => PAD.left + ((log(v) - lo) / (hi - lo)) * plotW;
  const y = (v: number) => PAD.top + plotH - ((log(v) - lo) / (hi - lo)) * plotH;
  const decades = Array.from({ length: hi - lo + 1 }, (_, i) => 10 ** (lo + i));
  const grid = decades
    .map(
      (d) =>
        `<line x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(d).toFixed(1)}" y2="${y(d).toFixed(1)}" class="grid"/><text x="${PAD.left - 6}" y="${(y(d) + 4).toFixed(1)}" class="ytick">${esc(d)}</text><text class="tick" x="${x(d).toFixed(1)}" y="${PAD.top + plotH + 14}">${esc(d)}</text>`,
    )
    .join('');
  const diagonal = `<line x1="${x(10 ** lo).toFixed(1)}" y1="${y(10 ** lo).toFixed(1)}" x2="${x(10 ** hi).toFixed(1)}" y2="${y(10 ** hi).toFixed(1)}" stroke="#999" stroke-dasharray="4 3"/>`;
  const dots = series
    .map((s) =>
      s.points
        .map(
          (p) =>
            `<circle cx="${x(p.x).toFixed(1)}" cy="${y(p.y).toFixed(1)}" r="3.5" fill="${s.color}" fill-opacity="0.7"><title>${esc(`${s.name}: ${p.title}`)}</title></circle>`,
        )
        .join(''),
    )
    .join('');
  const labels = `<text class="ylabel" transform="translate(12,${PAD.top + plotH / 2}) rotate(-90)">${esc(yLabel)}</text><text class="ylabel" x="${PAD.left + plotW / 2}" y="${H - 8}">${esc(xLabel)}</text>`;
  return svg(`${grid}${diagonal}${dots}${legend(series)}${labels}`);
}
