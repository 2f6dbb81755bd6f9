export { Module, Parameter } from './module.ts';
export type { StateDict, LoadResult } from './module.ts';
export {
  Conv2d,
  Linear,
  MaxPool2d,
  Dropout,
  Dropout2d,
  ReLU,
  Flatten,
  LogSoftmax,
  Sequential,
} from './layers.ts';
export type { Conv2dLayerOptions } from './layers.ts';
export * as functional from './functional.ts';
export * as init from './init.ts';
export { save, load } from './serialization.ts';
