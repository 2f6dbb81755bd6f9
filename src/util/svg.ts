/**
 * A small, dependency-free SVG chart writer: line charts (training curves) and bar charts
 * (histograms). Output is a standalone SVG document (no XML declaration, so it can also be inlined
 * into HTML or Markdown). All text is XML-escaped; all numbers are validated to be finite.
 */

export type Point = readonly [number, number];

export interface LineSeries {
  name: string;
  points: readonly Point[];
  /** Any SVG colour; default from a 10-colour palette by series index. */
  color?: string;
  /** Draw a marker at each point. Default: true when the series has at most 200 points. */
  markers?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: readonly LineSeries[];
  /** Whole-image size in px (default 640 × 400). */
  width?: number;
  height?: number;
  /** Fixed y-axis range. When given, the axis spans exactly this value (data outside is clipped). */
  yMin?: number;
  yMax?: number;
  /** Fixed x-axis range, same rules as yMin / yMax. */
  xMin?: number;
  xMax?: number;
}

export interface Bar {
  label: string;
  value: number;
  color?: string;
}

export interface BarChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  bars: readonly Bar[];
  width?: number;
  height?: number;
  /** Fixed y-axis range; by default the axis is nice-rounded and always includes 0. */
  yMin?: number;
  yMax?: number;
  /** Default bar colour. */
  color?: string;
  /** Print each bar's value above it. Default: true when there are at most 24 bars. */
  showValues?: boolean;
}

/** Matplotlib's "tab10" palette. */
export const PALETTE: readonly string[] = [
  '#1f77b4',
  '#ff7f0e',
  '#2ca02c',
  '#d62728',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#7f7f7f',
  '#bcbd22',
  '#17becf',
];

const FONT = 'font-family="Helvetica, Arial, sans-serif"';
/** Rough average glyph width at 12px, for layout estimates. */
const CHAR_W = 6.8;

/** Escapes text for use in XML element content and double-quoted attributes. */
export function escapeXml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

/** m × 10^e computed so that e.g. 2 × 10^-1 is exactly the double nearest 0.2. */
function scaled(m: number, e: number): number {
  return e < 0 ? m / 10 ** -e : m * 10 ** e;
}

/** Number of decimals needed to print multiples of `step` exactly. */
function decimalsFor(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

export interface Ticks {
  /** Tick values, ascending, each a multiple of `step`. */
  values: number[];
  step: number;
  /** The axis range: [values[0], values.at(-1)] unless the range was fixed by the caller. */
  min: number;
  max: number;
}

/**
 * "Nice" ticks (multiples of 1, 2 or 5 × 10^k) for data in [lo, hi]. Without `fixed` the axis is
 * widened to the enclosing ticks, so the ticks cover the data; with `fixed` the axis is exactly
 * [lo, hi] and only ticks inside it are returned. A degenerate range (lo == hi) is widened.
 */
export function niceTicks(lo: number, hi: number, maxTicks = 7, fixed = false): Ticks {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw new Error(`niceTicks: range must be finite, got [${lo}, ${hi}]`);
  }
  if (lo > hi) throw new Error(`niceTicks: lo (${lo}) must be <= hi (${hi})`);
  if (!Number.isInteger(maxTicks) || maxTicks < 2) {
    throw new Error(`niceTicks: maxTicks must be an integer >= 2, got ${maxTicks}`);
  }
  if (lo === hi) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  // The smallest step of the form {1, 2, 5} x 10^e that needs at most maxTicks ticks.
  const eps = (hi - lo) * 1e-9;
  const span = (step: number): [number, number] =>
    fixed
      ? [Math.ceil((lo - eps) / step), Math.floor((hi + eps) / step)]
      : [Math.floor((lo + eps) / step), Math.ceil((hi - eps) / step)];
  let step = 0;
  let k0 = 0;
  let k1 = 0;
  search: for (let e = Math.floor(Math.log10((hi - lo) / maxTicks)) - 1; ; e++) {
    for (const m of [1, 2, 5]) {
      step = scaled(m, e);
      [k0, k1] = span(step);
      if (k1 - k0 + 1 <= maxTicks) break search;
    }
  }
  const dec = decimalsFor(step);
  const clean = (v: number): number => Number(v.toFixed(Math.min(dec + 2, 20)));
  const values: number[] = [];
  for (let k = k0; k <= k1; k++) values.push(clean(k * step));
  // clean(0 * step) may be -0
  for (let i = 0; i < values.length; i++) if (Object.is(values[i], -0)) values[i] = 0;
  return fixed
    ? { values, step, min: lo, max: hi }
    : { values, step, min: values[0]!, max: values[values.length - 1]! };
}

/** Formats a tick value with just enough decimals for its step (exponent form for huge/tiny). */
export function formatTick(v: number, step: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e6 || a < 1e-4) {
    // mantissa digits: as many as the step needs relative to this value's power of ten
    const digits = Math.min(20, decimalsFor(step / 10 ** Math.floor(Math.log10(a))));
    return v.toExponential(digits);
  }
  return v.toFixed(decimalsFor(step));
}

function num(v: number): string {
  // Two decimals are plenty for pixel coordinates; trim trailing zeros to keep files small.
  return String(Math.round(v * 100) / 100);
}

function checkSize(name: string, v: number | undefined, def: number): number {
  const x = v ?? def;
  if (!Number.isFinite(x) || x < 100) {
    throw new Error(`chart ${name} must be a finite number >= 100 px, got ${x}`);
  }
  return x;
}

function checkFinite(what: string, v: number): void {
  if (!Number.isFinite(v)) throw new Error(`${what} is not a finite number: ${v}`);
}

function checkFixedRange(chart: string, axis: string, lo?: number, hi?: number): void {
  if (lo !== undefined) checkFinite(`${chart}: ${axis}Min`, lo);
  if (hi !== undefined) checkFinite(`${chart}: ${axis}Max`, hi);
  if (lo !== undefined && hi !== undefined && !(lo < hi)) {
    throw new Error(`${chart}: ${axis}Min (${lo}) must be less than ${axis}Max (${hi})`);
  }
}

/**
 * Axis range: nice ticks covering the data; a caller-fixed end is used exactly, and the free end
 * (if any) is nice-rounded. Data beyond a fixed end is clipped by the caller.
 */
function axisTicks(
  dataLo: number,
  dataHi: number,
  fixLo: number | undefined,
  fixHi: number | undefined,
  maxTicks: number,
): Ticks {
  if (fixLo === undefined && fixHi === undefined) return niceTicks(dataLo, dataHi, maxTicks);
  // niceTicks(a, b).min <= a and .max >= b, and it widens a == b, so the results are ordered.
  const lo = fixLo ?? niceTicks(Math.min(dataLo, fixHi!), fixHi!, maxTicks).min;
  const hi = fixHi ?? niceTicks(lo, Math.max(dataHi, lo), maxTicks).max;
  return niceTicks(lo, hi, maxTicks, true);
}

/**
 * A deterministic id for the chart's clip path (FNV-1a of its options), so that several charts
 * inlined into one HTML page do not share ids, while the same input still gives the same output.
 */
function chartId(opts: unknown): string {
  const text = JSON.stringify(opts);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `plot-area-${h.toString(16).padStart(8, '0')}`;
}

interface Frame {
  left: number;
  top: number;
  right: number;
  bottom: number;
}

function header(width: number, height: number, title: string): string[] {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${num(width)}" height="${num(height)}" ` +
      `viewBox="0 0 ${num(width)} ${num(height)}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${num(width)}" height="${num(height)}" fill="#ffffff"/>`,
    `<text x="${num(width / 2)}" y="22" text-anchor="middle" font-size="15" font-weight="bold">` +
      `${escapeXml(title)}</text>`,
  ];
}

function axisLabels(f: Frame, height: number, xLabel: string, yLabel: string): string[] {
  const cy = (f.top + f.bottom) / 2;
  return [
    `<text x="${num((f.left + f.right) / 2)}" y="${num(height - 10)}" text-anchor="middle">` +
      `${escapeXml(xLabel)}</text>`,
    `<text x="16" y="${num(cy)}" text-anchor="middle" transform="rotate(-90 16 ${num(cy)})">` +
      `${escapeXml(yLabel)}</text>`,
  ];
}

function yAxis(f: Frame, t: Ticks, y: (v: number) => number): string[] {
  const out = [`<g class="grid" stroke="#e6e6e6">`];
  for (const v of t.values) {
    const py = num(y(v));
    out.push(`<line x1="${num(f.left)}" y1="${py}" x2="${num(f.right)}" y2="${py}"/>`);
  }
  out.push('</g>', `<g class="y-axis" stroke="#000000">`);
  out.push(
    `<line x1="${num(f.left)}" y1="${num(f.top)}" x2="${num(f.left)}" y2="${num(f.bottom)}"/>`,
  );
  for (const v of t.values) {
    const py = num(y(v));
    out.push(`<line x1="${num(f.left - 5)}" y1="${py}" x2="${num(f.left)}" y2="${py}"/>`);
  }
  out.push('</g>');
  out.push(`<g class="y-ticks" text-anchor="end">`);
  for (const v of t.values) {
    out.push(
      `<text x="${num(f.left - 8)}" y="${num(y(v) + 4)}">${escapeXml(formatTick(v, t.step))}</text>`,
    );
  }
  out.push('</g>');
  return out;
}

/** An SVG line chart (one polyline with optional point markers per series, plus a legend). */
export function lineChartSvg(opts: LineChartOptions): string {
  const chart = `lineChartSvg(${JSON.stringify(opts.title)})`;
  const width = checkSize('width', opts.width, 640);
  const height = checkSize('height', opts.height, 400);
  if (opts.series.length === 0) throw new Error(`${chart}: no series to plot`);
  checkFixedRange(chart, 'x', opts.xMin, opts.xMax);
  checkFixedRange(chart, 'y', opts.yMin, opts.yMax);
  let xlo = Infinity;
  let xhi = -Infinity;
  let ylo = Infinity;
  let yhi = -Infinity;
  opts.series.forEach((s, si) => {
    if (s.points.length === 0) {
      throw new Error(`${chart}: series ${si} (${JSON.stringify(s.name)}) has no points`);
    }
    s.points.forEach(([px, py], pi) => {
      const where = `${chart}: series ${JSON.stringify(s.name)} point ${pi}`;
      checkFinite(`${where} x`, px);
      checkFinite(`${where} y`, py);
      xlo = Math.min(xlo, px);
      xhi = Math.max(xhi, px);
      ylo = Math.min(ylo, py);
      yhi = Math.max(yhi, py);
    });
  });
  const xt = axisTicks(xlo, xhi, opts.xMin, opts.xMax, 9);
  const yt = axisTicks(ylo, yhi, opts.yMin, opts.yMax, 7);

  const legendW =
    Math.max(...opts.series.map((s) => s.name.length)) * CHAR_W + 40; /* swatch + padding */
  const f: Frame = {
    left: 70,
    top: 40,
    right: width - Math.max(20, legendW + 20),
    bottom: height - 50,
  };
  if (f.right - f.left < 50) {
    throw new Error(
      `${chart}: width ${width} is too small for the legend (series names too long?)`,
    );
  }
  const x = (v: number): number => f.left + ((v - xt.min) / (xt.max - xt.min)) * (f.right - f.left);
  const y = (v: number): number =>
    f.bottom - ((v - yt.min) / (yt.max - yt.min)) * (f.bottom - f.top);

  const clipId = chartId(opts);
  const out = header(width, height, opts.title);
  out.push(
    `<defs><clipPath id="${clipId}"><rect x="${num(f.left)}" y="${num(f.top)}" ` +
      `width="${num(f.right - f.left)}" height="${num(f.bottom - f.top)}"/></clipPath></defs>`,
  );
  out.push(...yAxis(f, yt, y));
  // x axis
  out.push(`<g class="x-axis" stroke="#000000">`);
  out.push(
    `<line x1="${num(f.left)}" y1="${num(f.bottom)}" x2="${num(f.right)}" y2="${num(f.bottom)}"/>`,
  );
  for (const v of xt.values) {
    out.push(
      `<line x1="${num(x(v))}" y1="${num(f.bottom)}" x2="${num(x(v))}" y2="${num(f.bottom + 5)}"/>`,
    );
  }
  out.push('</g>');
  out.push(`<g class="x-ticks" text-anchor="middle">`);
  for (const v of xt.values) {
    out.push(
      `<text x="${num(x(v))}" y="${num(f.bottom + 18)}">${escapeXml(formatTick(v, xt.step))}</text>`,
    );
  }
  out.push('</g>');
  out.push(...axisLabels(f, height, opts.xLabel, opts.yLabel));

  // series
  out.push(`<g class="series" clip-path="url(#${clipId})" fill="none" stroke-width="1.8">`);
  opts.series.forEach((s, si) => {
    const color = escapeXml(s.color ?? PALETTE[si % PALETTE.length]!);
    const pts = s.points.map(([px, py]) => `${num(x(px))},${num(y(py))}`).join(' ');
    out.push(`<g stroke="${color}">`);
    out.push(`<title>${escapeXml(s.name)}</title>`);
    if (s.points.length > 1) out.push(`<polyline points="${pts}" stroke-linejoin="round"/>`);
    if (s.markers ?? s.points.length <= 200) {
      for (const [px, py] of s.points) {
        out.push(`<circle cx="${num(x(px))}" cy="${num(y(py))}" r="2.6" fill="${color}"/>`);
      }
    }
    out.push('</g>');
  });
  out.push('</g>');

  // legend (right of the plot area)
  out.push(`<g class="legend">`);
  opts.series.forEach((s, si) => {
    const color = escapeXml(s.color ?? PALETTE[si % PALETTE.length]!);
    const ly = f.top + 8 + si * 18;
    const lx = f.right + 15;
    out.push(
      `<line x1="${num(lx)}" y1="${num(ly)}" x2="${num(lx + 20)}" y2="${num(ly)}" stroke="${color}" stroke-width="2"/>`,
    );
    if (s.markers ?? s.points.length <= 200) {
      out.push(`<circle cx="${num(lx + 10)}" cy="${num(ly)}" r="2.6" fill="${color}"/>`);
    }
    out.push(`<text x="${num(lx + 26)}" y="${num(ly + 4)}">${escapeXml(s.name)}</text>`);
  });
  out.push('</g>');
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** An SVG bar chart (e.g. a histogram: one bar per bin, labelled below). */
export function barChartSvg(opts: BarChartOptions): string {
  const chart = `barChartSvg(${JSON.stringify(opts.title)})`;
  const width = checkSize('width', opts.width, 640);
  const height = checkSize('height', opts.height, 400);
  if (opts.bars.length === 0) throw new Error(`${chart}: no bars to plot`);
  checkFixedRange(chart, 'y', opts.yMin, opts.yMax);
  let lo = 0;
  let hi = 0;
  opts.bars.forEach((b, i) => {
    checkFinite(`${chart}: bar ${i} (${JSON.stringify(b.label)}) value`, b.value);
    lo = Math.min(lo, b.value);
    hi = Math.max(hi, b.value);
  });
  const yt = axisTicks(lo, hi, opts.yMin, opts.yMax, 7);
  const f: Frame = { left: 70, top: 40, right: width - 20, bottom: height - 50 };
  const y = (v: number): number =>
    f.bottom -
    ((Math.min(Math.max(v, yt.min), yt.max) - yt.min) / (yt.max - yt.min)) * (f.bottom - f.top);
  const n = opts.bars.length;
  const slot = (f.right - f.left) / n;
  const barW = Math.max(1, slot * 0.8);
  const maxLabel = Math.max(...opts.bars.map((b) => b.label.length)) * CHAR_W + 6;
  const labelEvery = Math.max(1, Math.ceil(maxLabel / slot));
  const showValues = opts.showValues ?? n <= 24;
  const base = y(Math.min(Math.max(0, yt.min), yt.max));
  const defColor = escapeXml(opts.color ?? PALETTE[0]!);

  const out = header(width, height, opts.title);
  out.push(...yAxis(f, yt, y));
  out.push(`<g class="bars">`);
  opts.bars.forEach((b, i) => {
    const cx = f.left + (i + 0.5) * slot;
    const top = Math.min(y(b.value), base);
    const h = Math.abs(y(b.value) - base);
    const color = b.color === undefined ? defColor : escapeXml(b.color);
    out.push(
      `<rect x="${num(cx - barW / 2)}" y="${num(top)}" width="${num(barW)}" height="${num(h)}" fill="${color}">` +
        `<title>${escapeXml(`${b.label}: ${b.value}`)}</title></rect>`,
    );
    if (showValues) {
      const vy = b.value >= 0 ? top - 4 : top + h + 12;
      out.push(
        `<text x="${num(cx)}" y="${num(vy)}" text-anchor="middle" font-size="10">` +
          `${escapeXml(formatValue(b.value))}</text>`,
      );
    }
  });
  out.push('</g>');
  // x axis (baseline) and category labels
  out.push(
    `<line x1="${num(f.left)}" y1="${num(f.bottom)}" x2="${num(f.right)}" y2="${num(f.bottom)}" stroke="#000000"/>`,
  );
  if (base !== f.bottom) {
    out.push(
      `<line x1="${num(f.left)}" y1="${num(base)}" x2="${num(f.right)}" y2="${num(base)}" stroke="#000000"/>`,
    );
  }
  out.push(`<g class="x-ticks" text-anchor="middle">`);
  opts.bars.forEach((b, i) => {
    if (i % labelEvery !== 0) return;
    out.push(
      `<text x="${num(f.left + (i + 0.5) * slot)}" y="${num(f.bottom + 18)}">${escapeXml(b.label)}</text>`,
    );
  });
  out.push('</g>');
  out.push(...axisLabels(f, height, opts.xLabel, opts.yLabel));
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Bar value label: integers as they are, otherwise 4 significant digits. */
function formatValue(v: number): string {
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  return String(Number(v.toPrecision(4)));
}
