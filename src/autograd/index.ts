export { Function, Context, Node, isTensor } from './function.ts';
export type { FunctionClass, Grads } from './function.ts';
export { gradcheck } from './gradcheck.ts';
export type { GradcheckOptions } from './gradcheck.ts';
export { noGrad, enableGrad, isGradEnabled, setGradEnabled } from './grad-mode.ts';
export { backward } from './engine.ts';
