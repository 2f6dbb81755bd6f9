/**
 * The notebook's DeepShift variants of the baseline CNN (same layer names and forward):
 * `CrudeNet` (float layers whose parameters are snapped to ±2^k before each forward), `PSNet`
 * (DeepShift-PS layers) and `QNet` (DeepShift-Q layers).
 */
import type { Tensor } from '../tensor/tensor.ts';
import { Dropout2d, Module } from '../nn/index.ts';
import * as F from '../nn/functional.ts';
import { Conv2dShift, LinearShift, type PSOptions } from '../nn/shift.ts';
import { Conv2dShiftQ, LinearShiftQ } from '../nn/shift-q.ts';
import type { ShiftOptions } from '../nn/shift.ts';
import { roundPowerOf2_ } from '../nn/ste.ts';
import { BaselineNet } from './baseline.ts';

interface MnistLayers {
  conv1: Module;
  conv2: Module;
  dropout1: Module;
  dropout2: Module;
  fc1: Module;
  fc2: Module;
}

/** BaselineNet's forward over any layers with its names. */
function mnistForward(m: MnistLayers, x: Tensor): Tensor {
  x = F.relu(m.conv1.forward(x));
  x = F.relu(m.conv2.forward(x));
  x = F.maxPool2d(x, 2);
  x = F.flatten(m.dropout1.forward(x), 1);
  x = F.relu(m.fc1.forward(x));
  x = m.fc2.forward(m.dropout2.forward(x));
  return F.logSoftmax(x, 1);
}

/**
 * The crude net: BaselineNet whose parameters are snapped to powers of two before every forward
 * (training and evaluation alike), so the optimizer's float updates only count once they cross a
 * rounding boundary.
 */
export class CrudeNet extends BaselineNet {
  /** Every weight and bias of conv1, conv2, fc1, fc2 becomes sign·2^round(log2|x|) in place (outside autograd). */
  roundWeights(): void {
    for (const layer of [this.conv1, this.conv2, this.fc1, this.fc2]) {
      for (const p of layer.parameters()) roundPowerOf2_(p);
    }
  }

  override forward(x: Tensor): Tensor {
    this.roundWeights();
    return super.forward(x);
  }
}

/** DeepShift-PS net: Conv2dShift / LinearShift layers (weightBits 5, DeepShift's init). */
export class PSNet extends Module {
  conv1: Conv2dShift;
  conv2: Conv2dShift;
  dropout1 = new Dropout2d(0.25);
  dropout2 = new Dropout2d(0.5);
  fc1: LinearShift;
  fc2: LinearShift;

  constructor(opts: PSOptions = {}) {
    super();
    this.conv1 = new Conv2dShift(1, 32, 3, { stride: 1, ...opts });
    this.conv2 = new Conv2dShift(32, 64, 3, { stride: 1, ...opts });
    this.fc1 = new LinearShift(9216, 128, opts);
    this.fc2 = new LinearShift(128, 10, opts);
  }

  forward(x: Tensor): Tensor {
    return mnistForward(this, x);
  }
}

/** DeepShift-Q net: Conv2dShiftQ / LinearShiftQ layers (PyTorch's default init). */
export class QNet extends Module {
  conv1: Conv2dShiftQ;
  conv2: Conv2dShiftQ;
  dropout1 = new Dropout2d(0.25);
  dropout2 = new Dropout2d(0.5);
  fc1: LinearShiftQ;
  fc2: LinearShiftQ;

  constructor(opts: ShiftOptions = {}) {
    super();
    this.conv1 = new Conv2dShiftQ(1, 32, 3, { stride: 1, ...opts });
    this.conv2 = new Conv2dShiftQ(32, 64, 3, { stride: 1, ...opts });
    this.fc1 = new LinearShiftQ(9216, 128, opts);
    this.fc2 = new LinearShiftQ(128, 10, opts);
  }

  forward(x: Tensor): Tensor {
    return mnistForward(this, x);
  }
}
