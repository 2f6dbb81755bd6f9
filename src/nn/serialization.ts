/** `save(stateDict, path)` / `load(path)` in the safetensors format, readable by `safetensors.torch.load_file`. */
import { Tensor } from '../tensor/tensor.ts';
import type { DType } from '../tensor/dtype.ts';
import { loadSafetensors, saveSafetensors, type StoredTensor } from './safetensors.ts';
import type { StateDict } from './module.ts';

const TO_ST: Record<DType, StoredTensor['dtype']> = {
  float32: 'F32',
  float64: 'F64',
  int32: 'I32',
  bool: 'BOOL',
};

/** Writes tensors (e.g. a state dict) atomically; metadata is a string-to-string map. */
export function save(
  tensors: StateDict,
  path: string,
  metadata: Record<string, string> = {},
): void {
  const out: Record<string, StoredTensor> = {};
  for (const [k, t] of Object.entries(tensors)) {
    out[k] = { dtype: TO_ST[t.dtype], shape: t.shape, data: t.toTypedArray() };
  }
  saveSafetensors(path, out, metadata);
}

/** Reads a safetensors file into tensors (F32, F64, I32, BOOL/U8; I64 converted to int32 when exact). */
export function load(path: string): { tensors: StateDict; metadata: Record<string, string> } {
  const { tensors, metadata } = loadSafetensors(path);
  const out: StateDict = {};
  for (const [k, st] of Object.entries(tensors)) {
    let data: Float32Array | Float64Array | Int32Array | Uint8Array;
    switch (st.dtype) {
      case 'F32':
      case 'F64':
      case 'I32':
      case 'BOOL':
      case 'U8':
        data = st.data as typeof data;
        break;
      case 'I64': {
        const src = st.data as BigInt64Array;
        data = new Int32Array(src.length);
        for (let i = 0; i < src.length; i++) {
          const v = Number(src[i]);
          if (v !== (v | 0))
            throw new Error(
              `load ${path}: tensor ${k} holds int64 value ${src[i]} outside the int32 range`,
            );
          data[i] = v;
        }
        break;
      }
      default:
        throw new Error(
          `load ${path}: tensor ${k} has dtype ${st.dtype}, which shiftgrad does not support`,
        );
    }
    out[k] = Tensor.fromData(data, st.shape);
  }
  return { tensors: out, metadata };
}
