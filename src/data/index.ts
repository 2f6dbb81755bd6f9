export { DataLoader } from './loader.ts';
export type { DataLoaderOptions } from './loader.ts';
export { TensorDataset, mnist } from './dataset.ts';
export type { Dataset, MnistOptions } from './dataset.ts';
export { ToTensor, Normalize, Compose } from './transforms.ts';
export type { Transform } from './transforms.ts';
export { loadMnistRaw, parseIdx, MNIST_MEAN, MNIST_STD } from './mnist.ts';
export { randomTranslate, normalizedFill } from './augment.ts';
