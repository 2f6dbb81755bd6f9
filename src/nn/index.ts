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
export * as ste from './ste.ts';
export type { Rounding } from './ste.ts';
export { LinearShift, Conv2dShift, psShiftRange } from './shift.ts';
export type { ShiftOptions, PSOptions, Conv2dShiftOptions } from './shift.ts';
export { LinearShiftQ, Conv2dShiftQ, qShiftRange } from './shift-q.ts';
export type { Conv2dShiftQOptions } from './shift-q.ts';
export { convertToShift, roundShiftWeights } from './convert.ts';
export type { ConvertOptions, ConvertResult } from './convert.ts';
export { traceInference } from './trace.ts';
export type { InferencePlan, TraceResult } from './trace.ts';
