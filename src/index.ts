/**
 * shiftgrad: tensors, reverse-mode autograd, neural-network layers and DeepShift, in TypeScript.
 * The one public entry point.
 */
export { Tensor } from './tensor/tensor.ts';
export type { TensorLike, NestedNumbers } from './tensor/tensor.ts';
export type { DType, TypedArray } from './tensor/dtype.ts';
export {
  tensor,
  zeros,
  ones,
  full,
  zerosLike,
  onesLike,
  fullLike,
  arange,
  rand,
  randn,
  randint,
  randperm,
} from './tensor/creation.ts';
export type { TensorOptions, RandomOptions, NestedArray } from './tensor/creation.ts';
export { Generator, manualSeed, defaultGenerator } from './tensor/random.ts';
export {
  add,
  sub,
  mul,
  div,
  pow,
  neg,
  exp,
  log,
  sqrt,
  abs,
  sign,
  relu,
  clamp,
  maximum,
  minimum,
  where,
  eq,
  ne,
  gt,
  ge,
  lt,
  le,
  sum,
  mean,
  max,
  min,
  argmax,
  argmin,
  reshape,
  flatten,
  permute,
  transpose,
  squeeze,
  unsqueeze,
  expand,
  narrow,
  indexSelect,
  cat,
  stack,
  matmul,
} from './autograd/ops/index.ts';
export { noGrad, enableGrad, isGradEnabled } from './autograd/grad-mode.ts';
export * as autograd from './autograd/index.ts';
export * as nn from './nn/index.ts';
export { BaselineNet, ExampleNet } from './models/baseline.ts';
export { CrudeNet, PSNet, QNet } from './models/deepshift.ts';
export * as optim from './optim/index.ts';
export * as data from './data/index.ts';
