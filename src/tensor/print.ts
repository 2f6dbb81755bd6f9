/** `toString()` in PyTorch's style: `tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)`. */
import type { Tensor } from './tensor.ts';

const EDGE = 3;
const THRESHOLD = 1000;
const LINE_WIDTH = 80;

/**
 * Formats values like PyTorch's `_Formatter`, deciding the mode from the values shown. Returns the
 * formatter and the column width (for floats, the widest nonzero finite value, as in PyTorch).
 */
function formatter(
  values: ArrayLike<number>,
  dtype: string,
): { fmt: (v: number) => string; width: number } {
  const widest = (fmt: (v: number) => string, pick: (v: number) => boolean) => {
    let w = 1;
    for (let i = 0; i < values.length; i++)
      if (pick(values[i]!)) w = Math.max(w, fmt(values[i]!).length);
    return { fmt, width: w };
  };
  if (dtype === 'bool')
    return widest(
      (v) => (v ? 'True' : 'False'),
      () => true,
    );
  if (dtype === 'int32')
    return widest(
      (v) => String(v),
      () => true,
    );
  let maxAbs = 0;
  let minAbs = Infinity;
  let allInts = true;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (!Number.isFinite(v) || v === 0) continue;
    const a = Math.abs(v);
    if (a > maxAbs) maxAbs = a;
    if (a < minAbs) minAbs = a;
    if (!Number.isInteger(v)) allInts = false;
  }
  const nonzeroFinite = (v: number) => Number.isFinite(v) && v !== 0;
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const sci = maxAbs > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || (!allInts && minAbs < 1e-4));
  if (sci) {
    return widest((v) => {
      if (!Number.isFinite(v)) return special(v);
      const [m, e] = v.toExponential(4).split('e') as [string, string];
      const sign = e.startsWith('-') ? '-' : '+';
      return `${m}e${sign}${e.replace(/^[-+]/, '').padStart(2, '0')}`;
    }, nonzeroFinite);
  }
  if (allInts)
    return widest((v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v)), nonzeroFinite);
  return widest((v) => (Number.isFinite(v) ? v.toFixed(4) : special(v)), nonzeroFinite);
}

export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const flat = t.toTypedArray();
  const summarize = flat.length > THRESHOLD;
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, s) => p * s, 1));
  // Indices shown along each dim (with -1 marking the ellipsis).
  const shown = (n: number): number[] =>
    summarize && n > 2 * EDGE
      ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)]
      : [...Array(n).keys()];
  // The formatter sees only the values shown, as PyTorch's summarized printing does.
  const values: number[] = [];
  const collect = (d: number, off: number): void => {
    if (d === shape.length) {
      values.push(flat[off]!);
      return;
    }
    for (const i of shown(shape[d]!)) if (i >= 0) collect(d + 1, off + i * strides[d]!);
  };
  collect(0, 0);
  const { fmt, width } = formatter(values, t.dtype);
  let k = 0;
  const render = (d: number, indent: number): string => {
    if (d === shape.length) return fmt(values[k++]!).padStart(width);
    if (d === shape.length - 1) {
      // A row wraps at 80 columns like PyTorch's `_vector_str`.
      const items = shown(shape[d]!).map((i) => (i < 0 ? ' ...' : render(d + 1, indent + 1)));
      const perLine = Math.max(1, Math.floor((LINE_WIDTH - indent) / (width + 2)));
      const lines: string[] = [];
      for (let i = 0; i < items.length; i += perLine)
        lines.push(items.slice(i, i + perLine).join(', '));
      return `[${lines.join(',\n' + ' '.repeat(indent + 1))}]`;
    }
    const parts = shown(shape[d]!).map((i) => (i < 0 ? '...' : render(d + 1, indent + 1)));
    const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = shape.length === 0 ? fmt(values[0]!) : render(0, 7);
  const extras: string[] = [];
  if (t.dtype !== 'float32' && t.dtype !== 'bool') extras.push(`dtype=torch.${t.dtype}`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${body}${extras.map((e) => `, ${e}`).join('')})`;
}
