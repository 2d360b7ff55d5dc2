/**
 * Hand-written SVG charts for the benchmark results (no dependency): horizontal bars of records/s
 * per case, and small line charts of the sweep. Pure functions from numbers to SVG text.
 */

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';
/** Series colours, colour-blind safe (Okabe–Ito). */
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00'];
const WARN = '#D55E00';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const r1 = (n: number): string => (Math.round(n * 10) / 10).toString();

/** 123456 → "123k", 1234567 → "1.23M". */
export function shortNumber(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e4) return `${Math.round(n / 1e3)}k`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return Math.round(n).toString();
}

/** A "nice" axis maximum ≥ max: 1, 2 or 5 × 10^k. */
export function niceMax(max: number): number {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 5, 10]) if (m * p >= max) return m * p;
  return 10 * p;
}

export interface BarRow {
  label: string;
  /** One value per series (NaN: no bar). */
  values: number[];
  /** Text after the first bar, e.g. a ratio. */
  note?: string;
  /** With a single series: index into `BarChart.kinds`, colouring the row's bar by kind. */
  kind?: number;
}

export interface BarChart {
  title: string;
  subtitle?: string;
  /** Series names (one bar per series per row); a legend is drawn when there are several. */
  series: string[];
  rows: BarRow[];
  /** With a single series: names of the row kinds (e.g. peer, producer), shown as the legend. */
  kinds?: string[];
}

/** Horizontal bars, one row per case, one bar per series, value labels at the bar ends. */
export function barChartSvg(chart: BarChart): string {
  // Wide enough for the longest label (≈ 6.7 px per character at 12 px).
  const labelW = Math.max(160, Math.ceil(Math.max(0, ...chart.rows.map((r) => r.label.length)) * 6.7) + 16);
  const plotW = 440;
  const noteW = 150;
  const barH = 14;
  const gap = 8;
  const rowH = chart.series.length * barH + gap;
  const top = chart.subtitle ? 62 : 44;
  const legend = chart.series.length > 1 ? chart.series : (chart.kinds ?? []);
  const legendH = legend.length > 0 ? 22 : 0;
  const width = labelW + plotW + noteW;
  const height = top + legendH + chart.rows.length * rowH + 34;
  const max = niceMax(Math.max(0, ...chart.rows.flatMap((r) => r.values.filter(Number.isFinite))));
  const x = (v: number): number => labelW + (v / max) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="600">${esc(chart.title)}</text>`);
  if (chart.subtitle) out.push(`<text x="12" y="42" fill="#555">${esc(chart.subtitle)}</text>`);
  let y = top;
  if (legendH) {
    legend.forEach((name, s) => {
      const lx = labelW + s * 150;
      out.push(`<rect x="${lx}" y="${y}" width="12" height="12" fill="${COLOURS[s % COLOURS.length]}"/><text x="${lx + 16}" y="${y + 10}">${esc(name)}</text>`);
    });
    y += legendH;
  }
  const plotTop = y;
  const plotBottom = plotTop + chart.rows.length * rowH;
  for (let i = 0; i <= 5; i++) {
    const v = (max * i) / 5;
    const gx = r1(x(v));
    out.push(`<line x1="${gx}" y1="${plotTop - 4}" x2="${gx}" y2="${plotBottom}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${gx}" y="${plotBottom + 16}" text-anchor="middle" fill="#555">${shortNumber(v)}</text>`);
  }
  out.push(`<text x="${labelW + plotW / 2}" y="${plotBottom + 30}" text-anchor="middle" fill="#555">records/s</text>`);
  for (const row of chart.rows) {
    out.push(`<text x="${labelW - 8}" y="${r1(y + (chart.series.length * barH) / 2 + 4)}" text-anchor="end">${esc(row.label)}</text>`);
    row.values.forEach((v, s) => {
      const by = y + s * barH;
      if (!Number.isFinite(v)) return;
      const colour = chart.series.length === 1 && row.kind !== undefined ? row.kind : s;
      out.push(`<rect x="${labelW}" y="${by}" width="${r1(Math.max(1, x(v) - labelW))}" height="${barH - 2}" fill="${COLOURS[colour % COLOURS.length]}"/>`);
      const text = s === 0 && row.note ? `${shortNumber(v)} · ${row.note}` : shortNumber(v);
      out.push(`<text x="${r1(x(v) + 4)}" y="${by + barH - 4}" fill="#333">${esc(text)}</text>`);
    });
    y += rowH;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export interface LineSeries {
  name: string;
  /** One value per x label (NaN: no point). */
  values: number[];
  /** Points drawn as warnings (e.g. a script call blocked the server > 2 ms). */
  flagged?: boolean[];
}

export interface LinePanel {
  title: string;
  xTitle: string;
  xLabels: string[];
  series: LineSeries[];
}

export interface LineCharts {
  title: string;
  subtitle?: string;
  /** Legend text of a flagged point. */
  flagNote?: string;
  panels: LinePanel[];
}

/** Line charts side by side, one per panel, sharing the y axis (records/s) and the legend. */
export function lineChartsSvg(chart: LineCharts): string {
  const panelW = 330;
  const panelH = 220;
  const left = 56;
  const top = chart.subtitle ? 100 : 80;
  const width = left + chart.panels.length * (panelW + 24) + 10;
  const height = top + panelH + 70;
  const max = niceMax(Math.max(0, ...chart.panels.flatMap((p) => p.series.flatMap((s) => s.values.filter(Number.isFinite)))));
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  out.push(`<text x="12" y="22" font-size="15" font-weight="600">${esc(chart.title)}</text>`);
  if (chart.subtitle) out.push(`<text x="12" y="42" fill="#555">${esc(chart.subtitle)}</text>`);
  // Legend: series names (from the first panel) and the flag.
  const names = chart.panels[0]?.series.map((s) => s.name) ?? [];
  let lx = left;
  const ly = top - 36;
  names.forEach((name, s) => {
    const c = COLOURS[s % COLOURS.length];
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 18}" y2="${ly}" stroke="${c}" stroke-width="2"/><circle cx="${lx + 9}" cy="${ly}" r="3" fill="${c}"/><text x="${lx + 24}" y="${ly + 4}">${esc(name)}</text>`,
    );
    lx += 36 + name.length * 6.5;
  });
  if (chart.flagNote) {
    out.push(`<circle cx="${lx + 6}" cy="${ly}" r="5" fill="none" stroke="${WARN}" stroke-width="2"/><text x="${lx + 16}" y="${ly + 4}" fill="${WARN}">${esc(chart.flagNote)}</text>`);
  }
  chart.panels.forEach((panel, p) => {
    const x0 = left + p * (panelW + 24);
    const y0 = top;
    const n = panel.xLabels.length;
    const px = (i: number): number => x0 + (n === 1 ? panelW / 2 : 12 + (i * (panelW - 24)) / (n - 1));
    const py = (v: number): number => y0 + panelH - (v / max) * panelH;
    out.push(`<rect x="${x0}" y="${y0}" width="${panelW}" height="${panelH}" fill="none" stroke="#ccc"/>`);
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 - 8}" text-anchor="middle" font-weight="600">${esc(panel.title)}</text>`);
    for (let i = 0; i <= 4; i++) {
      const v = (max * i) / 4;
      const gy = r1(py(v));
      out.push(`<line x1="${x0}" y1="${gy}" x2="${x0 + panelW}" y2="${gy}" stroke="#eee"/>`);
      if (p === 0) out.push(`<text x="${x0 - 6}" y="${r1(py(v) + 4)}" text-anchor="end" fill="#555">${shortNumber(v)}</text>`);
    }
    panel.xLabels.forEach((label, i) => {
      out.push(`<text x="${r1(px(i))}" y="${y0 + panelH + 16}" text-anchor="middle" fill="#555">${esc(label)}</text>`);
    });
    out.push(`<text x="${x0 + panelW / 2}" y="${y0 + panelH + 34}" text-anchor="middle" fill="#555">${esc(panel.xTitle)}</text>`);
    panel.series.forEach((s, k) => {
      const c = COLOURS[k % COLOURS.length];
      const pts = s.values.map((v, i) => (Number.isFinite(v) ? `${r1(px(i))},${r1(py(v))}` : '')).filter(Boolean);
      if (pts.length > 1) out.push(`<polyline points="${pts.join(' ')}" fill="none" stroke="${c}" stroke-width="2"/>`);
      s.values.forEach((v, i) => {
        if (!Number.isFinite(v)) return;
        out.push(`<circle cx="${r1(px(i))}" cy="${r1(py(v))}" r="3" fill="${c}"/>`);
        if (s.flagged?.[i]) out.push(`<circle cx="${r1(px(i))}" cy="${r1(py(v))}" r="6" fill="none" stroke="${WARN}" stroke-width="2"/>`);
      });
    });
  });
  out.push(`<text x="14" y="${top + panelH / 2}" transform="rotate(-90 14 ${top + panelH / 2})" text-anchor="middle" fill="#555">records/s</text>`);
  out.push('</svg>');
  return out.join('\n') + '\n';
}
