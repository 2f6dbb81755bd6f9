/** `torch.optim`: optimizers and learning-rate schedulers. */
export { Optimizer, stateDictToJSON } from './optimizer.ts';
export type {
  BaseHyperparams,
  ParamGroup,
  ParamGroupInput,
  ParamsInput,
  ParamState,
  StateBuffer,
  OptimizerStateDict,
  OptimizerStateDictJSON,
} from './optimizer.ts';
export { SGD } from './sgd.ts';
export type { SGDOptions, SGDHyperparams } from './sgd.ts';
export { Adadelta } from './adadelta.ts';
export type { AdadeltaOptions, AdadeltaHyperparams } from './adadelta.ts';
export { Adam, AdamW, AdamBase } from './adam.ts';
export type { AdamOptions, AdamHyperparams } from './adam.ts';
export * as lrScheduler from './lr-scheduler.ts';
