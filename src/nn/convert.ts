/**
 * `deepshift/convert.py`: swap a trained network's Conv2d / Linear layers for shift layers, and
 * snap shift layers to their exported integer form.
 *
 * Which layers, as DeepShift's `convert_to_shift` picks them: layers are visited from the END of
 * the network (DeepShift walks `reversed(model._modules)`, recursively), every Linear is converted
 * and not counted when `convertAllLinear` (DeepShift's default), and the first `shiftDepth`
 * remaining layers met are converted. `countFrom: 'start'` with `convertAllLinear: false` instead
 * converts the first `shiftDepth` Conv2d/Linear layers in `namedModules()` order.
 */
import type { Tensor } from '../tensor/tensor.ts';
import { noGrad } from '../autograd/grad-mode.ts';
import type { Module } from './module.ts';
import { Conv2d, Linear } from './layers.ts';
import { Conv2dShift, LinearShift } from './shift.ts';
import { Conv2dShiftQ, LinearShiftQ } from './shift-q.ts';
import * as ste from './ste.ts';

export interface ConvertOptions {
  /** 'PS' (trainable shift and sign) or 'Q' (float weight quantised in the forward pass). */
  shiftType: 'Q' | 'PS';
  /** How many layers to convert (see the counting rules above). Default Infinity (all). */
  shiftDepth?: number;
  /** Convert every Linear without counting it, as DeepShift's default. Default true. */
  convertAllLinear?: boolean;
  /** 'end' (DeepShift: the last layers are converted first) or 'start'. Default 'end'. */
  countFrom?: 'end' | 'start';
  weightBits?: number;
  rounding?: ste.Rounding;
  freezeSign?: boolean;
  activationIntegerBits?: number;
  activationFractionBits?: number;
}

export interface ConvertResult<M extends Module> {
  model: M;
  /** Dotted names of the converted layers, in `namedModules()` order. */
  converted: string[];
}

type ShiftLayer = LinearShift | Conv2dShift | LinearShiftQ | Conv2dShiftQ;

/** Copy of `src` values into the parameter `dst` (same shape and dtype), outside autograd. */
function copyInto(dst: Tensor, src: Tensor): void {
  noGrad(() => dst.copy_(src));
}

/** PS parameters from a float weight: shift = clamp(round(log2|W|), range), sign = sign(W). */
function initPS(layer: LinearShift | Conv2dShift, weight: Tensor, bias: Tensor | null): void {
  const [lo, hi] = layer.shiftRange;
  const w = weight.detach();
  const f32 = w.dtype === 'float32';
  const shift = mapValues(w, (v) => {
    const s = ste.roundHalfEven(f32 ? Math.fround(Math.log2(Math.abs(v))) : Math.log2(Math.abs(v)));
    return s > hi ? hi : s < lo || Number.isNaN(s) ? lo : s; // W = 0: log2 = −∞ → lo (sign 0 zeroes it)
  });
  copyInto(layer.shift, shift);
  copyInto(layer.sign, mapValues(w, ste.signOf));
  if (bias && layer.bias) copyInto(layer.bias, bias);
}

function mapValues(t: Tensor, f: (v: number) => number): Tensor {
  return t.clone()._mapInPlace('convert', f);
}

function convertLayer(m: Conv2d | Linear, opts: ConvertOptions): ShiftLayer {
  const common = {
    weightBits: opts.weightBits ?? 5,
    rounding: opts.rounding ?? 'deterministic',
    activationIntegerBits: opts.activationIntegerBits,
    activationFractionBits: opts.activationFractionBits,
    dtype: m.weight.dtype,
    bias: m.bias !== null,
  };
  let layer: ShiftLayer;
  if (m instanceof Linear) {
    layer =
      opts.shiftType === 'PS'
        ? new LinearShift(m.inFeatures, m.outFeatures, {
            ...common,
            freezeSign: opts.freezeSign ?? false,
          })
        : new LinearShiftQ(m.inFeatures, m.outFeatures, common);
  } else {
    const conv = {
      ...common,
      stride: m.stride,
      padding: m.padding,
      dilation: m.dilation,
      groups: m.groups,
      paddingMode: m.paddingMode,
    };
    layer =
      opts.shiftType === 'PS'
        ? new Conv2dShift(m.inChannels, m.outChannels, m.kernelSize, {
            ...conv,
            freezeSign: opts.freezeSign ?? false,
          })
        : new Conv2dShiftQ(m.inChannels, m.outChannels, m.kernelSize, conv);
  }
  if (layer instanceof LinearShift || layer instanceof Conv2dShift) {
    initPS(layer, m.weight, m.bias);
  } else {
    copyInto(layer.weight, m.weight);
    if (m.bias && layer.bias) copyInto(layer.bias, m.bias);
  }
  return layer;
}

/**
 * Replaces Conv2d / Linear submodules of `model` (recursively, in place, by reassigning the
 * parent's property) with DeepShift layers. PS layers start from the float weights
 * (shift = round(log2|W|) clamped to the shift range, sign = sign(W), bias copied); Q layers copy
 * weight and bias. The new parameters are copies: the old layers are left untouched.
 */
export function convertToShift<M extends Module>(model: M, opts: ConvertOptions): ConvertResult<M> {
  if (opts.shiftType !== 'PS' && opts.shiftType !== 'Q') {
    throw new Error(
      `convertToShift: unsupported shiftType ${String(opts.shiftType)} (expected 'Q' or 'PS')`,
    );
  }
  const depth = opts.shiftDepth ?? Infinity;
  const allLinear = opts.convertAllLinear ?? true;
  // Convertible layers with their parent and property name, in namedModules() order.
  const found: { name: string; parent: Module; key: string; layer: Conv2d | Linear }[] = [];
  const byName = new Map<string, Module>();
  for (const [name, m] of model.namedModules()) {
    byName.set(name, m);
    if (name !== '' && (m instanceof Conv2d || m instanceof Linear)) {
      const dot = name.lastIndexOf('.');
      found.push({
        name,
        parent: byName.get(name.slice(0, Math.max(dot, 0)))!,
        key: name.slice(dot + 1),
        layer: m,
      });
    }
  }
  const visit = (opts.countFrom ?? 'end') === 'end' ? [...found].reverse() : found;
  const done = new Map<Module, ShiftLayer>(); // a layer shared by two parents is converted once
  const converted = new Set<string>();
  let count = 0;
  for (const f of visit) {
    const isFree = f.layer instanceof Linear && allLinear;
    const prior = done.get(f.layer);
    if (!prior && !isFree && count >= depth) continue;
    const layer = prior ?? convertLayer(f.layer, opts);
    if (!prior) {
      done.set(f.layer, layer);
      if (!isFree) count++;
    }
    (f.parent as unknown as Record<string, Module>)[f.key] = layer;
    converted.add(f.name);
  }
  return { model, converted: found.map((f) => f.name).filter((n) => converted.has(n)) };
}

/**
 * Snaps every shift layer to its exported form, in place and outside autograd: PS `shift` to the
 * integer round(clamp(shift)) and `sign` to sign(round(sign)) ∈ {−1, 0, 1}; Q `weight` to ±2^k
 * within its range; biases are fixed-point rounded when the layer rounds activations. The
 * (deterministic) forward output is unchanged.
 */
export function roundShiftWeights<M extends Module>(model: M): M {
  noGrad(() => {
    for (const m of model.modules()) {
      if (m instanceof LinearShift || m instanceof Conv2dShift) {
        const [lo, hi] = m.shiftRange;
        m.shift._mapInPlace('roundShiftWeights', (v) =>
          ste.roundHalfEven(v > hi ? hi : v < lo ? lo : v),
        );
        m.sign._mapInPlace('roundShiftWeights', (v) => ste.signOf(ste.roundHalfEven(v)));
      } else if (m instanceof LinearShiftQ || m instanceof Conv2dShiftQ) {
        m.weight.copy_(m.quantizedWeight());
      } else {
        continue;
      }
      const { activationIntegerBits: i, activationFractionBits: fb } = m;
      if (m.bias && i !== undefined && fb !== undefined)
        m.bias.copy_(ste.roundFixedPoint(m.bias, i, fb));
    }
  });
  return model;
}
