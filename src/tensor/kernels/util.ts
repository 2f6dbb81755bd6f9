// Small integer helpers shared by the kernels.

/** v rounded up to a multiple of m (panel and block padding). */
export const ceilTo = (v: number, m: number): number => Math.ceil(v / m) * m;
