/** `toString()` in PyTorch's style: `tensor([[1., 2.],\n        [3., 4.]], dtype=torch.float64)`. */
import type { Tensor } from './tensor.ts';

const EDGE = 3;
const THRESHOLD = 1000;

function formatter(values: ArrayLike<number>, dtype: string): (v: number) => string {
  if (dtype === 'bool') return (v) => (v ? 'True' : 'False');
  if (dtype === 'int32') return (v) => String(v);
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) if (Number.isFinite(values[i]!)) finite.push(Math.abs(values[i]!));
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  if (finite.length === 0) return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
  const nonzero = finite.filter((v) => v !== 0);
  const maxAbs = Math.max(...finite);
  const minAbs = nonzero.length ? Math.min(...nonzero) : 0;
  const allInts = finite.every((v) => Number.isInteger(v));
  const sci = nonzero.length > 0 && (maxAbs / minAbs > 1000 || maxAbs > 1e8 || (!allInts && minAbs < 1e-4));
  if (sci) {
    return (v) => {
      if (!Number.isFinite(v)) return special(v);
      const [m, e] = v.toExponential(4).split('e') as [string, string];
      const sign = e.startsWith('-') ? '-' : '+';
      return `${m}e${sign}${e.replace(/^[-+]/, '').padStart(2, '0')}`;
    };
  }
  if (allInts) return (v) => (Number.isFinite(v) ? `${v.toFixed(0)}.` : special(v));
  return (v) => (Number.isFinite(v) ? v.toFixed(4) : special(v));
}

export function formatTensor(t: Tensor): string {
  const shape = t.shape;
  const flat = t.toTypedArray();
  const summarize = flat.length > THRESHOLD;
  const fmt = formatter(flat, t.dtype);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((p, s) => p * s, 1));
  // Indices shown along each dim (with -1 marking the ellipsis).
  const shown = (n: number): number[] =>
    summarize && n > 2 * EDGE ? [...Array(EDGE).keys(), -1, ...Array.from({ length: EDGE }, (_, i) => n - EDGE + i)] : [...Array(n).keys()];
  const cells: string[] = [];
  const collect = (d: number, off: number): void => {
    if (d === shape.length) {
      cells.push(fmt(flat[off]!));
      return;
    }
    for (const i of shown(shape[d]!)) if (i >= 0) collect(d + 1, off + i * strides[d]!);
  };
  collect(0, 0);
  const width = Math.max(...cells.map((c) => c.length), 0);
  let k = 0;
  const render = (d: number, indent: number): string => {
    if (d === shape.length) return cells[k++]!.padStart(width);
    const parts = shown(shape[d]!).map((i) => (i < 0 ? '...' : render(d + 1, indent + 1)));
    if (d === shape.length - 1) return `[${parts.join(', ')}]`;
    const sep = ',' + '\n'.repeat(shape.length - d - 1) + ' '.repeat(indent + 1);
    return `[${parts.join(sep)}]`;
  };
  const body = shape.length === 0 ? fmt(flat[0]!) : render(0, 7);
  const extras: string[] = [];
  if (t.dtype !== 'float32' && t.dtype !== 'bool') extras.push(`dtype=torch.${t.dtype}`);
  if (t.gradFn) extras.push(`grad_fn=<${t.gradFn.name}>`);
  else if (t.requiresGrad) extras.push('requires_grad=True');
  return `tensor(${body}${extras.map((e) => `, ${e}`).join('')})`;
}
