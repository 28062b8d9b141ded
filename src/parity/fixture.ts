/** Reads golden fixture files (safetensors + JSON) in TypeScript, for parity checks of the TS-side components. */
import { readFileSync } from 'node:fs';
import { readSafetensorsHeader } from '../native/model';

export type FixtureArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  data: FixtureArray;
}

/** A whole safetensors file; the header is read and checked by the native reader, the one parser of the format. */
export function readFixtureSafetensors(path: string): Map<string, FixtureTensor> {
  const bytes = readFileSync(path);
  const tensors = new Map<string, FixtureTensor>();
  for (const [name, info] of readSafetensorsHeader(path).tensors) {
    const copy = new Uint8Array(info.end - info.begin);
    copy.set(bytes.subarray(info.begin, info.end));
    const buffer = copy.buffer;
    const data: FixtureArray =
      info.dtype === 'F32'
        ? new Float32Array(buffer)
        : info.dtype === 'F64'
          ? new Float64Array(buffer)
          : info.dtype === 'I64'
            ? new BigInt64Array(buffer)
            : info.dtype === 'I32'
              ? new Int32Array(buffer)
              : info.dtype === 'U8'
                ? copy
                : unsupported(name, info.dtype, path);
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return tensors;
}

function unsupported(name: string, dtype: string, path: string): never {
  throw new Error(`safetensors: unsupported fixture dtype for '${name}' (got ${dtype}) in ${path}`);
}

export function readFixtureJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}

/** Largest absolute difference between two equally long numeric arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Expected arrays of equal length but received ${a.length} and ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}
