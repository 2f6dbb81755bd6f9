/** The notebook's baseline CNN (PyTorch's MNIST example net), written like its Python class. */
import type { Tensor } from '../tensor/tensor.ts';
import { Conv2d, Dropout, Dropout2d, Linear, Module } from '../nn/index.ts';
import * as F from '../nn/functional.ts';

export class BaselineNet extends Module {
  conv1 = new Conv2d(1, 32, 3, { stride: 1 });
  conv2 = new Conv2d(32, 64, 3, { stride: 1 });
  dropout1 = new Dropout2d(0.25);
  dropout2 = new Dropout2d(0.5);
  fc1 = new Linear(9216, 128);
  fc2 = new Linear(128, 10);

  forward(x: Tensor): Tensor {
    x = this.conv1.forward(x);
    x = F.relu(x);
    x = this.conv2.forward(x);
    x = F.relu(x);
    x = F.maxPool2d(x, 2);
    x = this.dropout1.forward(x);
    x = F.flatten(x, 1);
    x = this.fc1.forward(x);
    x = F.relu(x);
    x = this.dropout2.forward(x);
    x = this.fc2.forward(x);
    return F.logSoftmax(x, 1);
  }
}

/**
 * PyTorch's examples/mnist `Net` as it is today: the notebook's net with `nn.Dropout` (single
 * elements) where the notebook has `nn.Dropout2d` (whole channels of conv2's pooled output).
 * Same parameters, names and initialisation order as BaselineNet.
 */
export class ExampleNet extends BaselineNet {
  override dropout1 = new Dropout(0.25);
  override dropout2 = new Dropout(0.5);
}
