export * from './pointwise.ts';
export * from './reduce.ts';
export * from './movement.ts';
export * from './matmul.ts';
