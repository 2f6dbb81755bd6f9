/** The README's API tour, kept as a script so the type checker and a test keep it true. */
import { tensor, randn, manualSeed, autograd, nn, optim, data, type Tensor } from '../src/index.ts';

manualSeed(0);
const x = randn([4, 3], { requiresGrad: true });
const w = tensor(
  [
    [1, 2],
    [3, 4],
    [5, 6],
  ],
  { requiresGrad: true },
);
const loss = x.matmul(w).sub(1).square().mean();
loss.backward();
console.log(w.grad?.toString()); // printed like PyTorch

// A custom differentiable function, like torch.autograd.Function
class Cube extends autograd.Function {
  static forward(ctx: autograd.Context, t: Tensor): Tensor {
    ctx.saveForBackward(t);
    return t.pow(3);
  }
  static backward(ctx: autograd.Context, g: Tensor) {
    const [t] = ctx.saved;
    return [g.mul(t!.square().mul(3))];
  }
}
autograd.gradcheck((t) => Cube.apply(t), [randn([5], { dtype: 'float64', requiresGrad: true })]);

// Layers, optimizers and data, shaped like torch.nn / torch.optim / torch.utils.data
class Net extends nn.Module {
  conv1 = new nn.Conv2d(1, 8, 3);
  fc = new nn.Linear(8 * 26 * 26, 10);
  forward(input: Tensor): Tensor {
    const h = nn.functional.relu(this.conv1.forward(input)).flatten(1);
    return nn.functional.logSoftmax(this.fc.forward(h), 1);
  }
}
const model = new Net();
const opt = new optim.Adadelta(model.parameters(), { lr: 1.0 });
const transform = new data.Compose([new data.ToTensor(), new data.Normalize(0.1307, 0.3081)]);
const train = (await data.mnist('train', { transform })).subset(640);
for (const [images, labels] of new data.DataLoader(train, { batchSize: 64, shuffle: true })) {
  opt.zeroGrad();
  const batchLoss = nn.functional.nllLoss(model.forward(images), labels);
  batchLoss.backward();
  opt.step();
  console.log(`loss ${batchLoss.item().toFixed(4)}`);
}
nn.save(model.stateDict(), 'runs/tour/model.safetensors'); // readable by safetensors.torch.load_file

// Inference: trace one eval-mode forward and replay it (like torch.jit.trace + freeze); conv2d →
// relu is fused into one pass, and the replay gives the eager forward's values bit for bit
model.eval();
const [batch] = new data.DataLoader(train, { batchSize: 64 });
const { plan, reason } = nn.traceInference((x) => model.forward(x), batch![0], model.parameters());
console.log(plan?.ops ?? reason); // [ 'conv2d+relu', 'reshape', 'linear', 'logSoftmax' ]
