/** Reads golden fixture files (safetensors + JSON) in TypeScript, for parity checks of the TS-side components. */
import { readFileSync } from 'fs';

export type FixtureArray = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

export interface FixtureTensor {
  dtype: string;
  shape: number[];
  data: FixtureArray;
}

const kDtypeBytes: Record<string, number> = { F32: 4, F64: 8, I64: 8, I32: 4, U8: 1 };

/** Parses a whole safetensors file; every offset is checked against the file size before use. */
export function readFixtureSafetensors(path: string): Map<string, FixtureTensor> {
  const bytes = readFileSync(path);
  if (bytes.length < 8) throw new Error(`safetensors: file too short (got ${bytes.length} bytes) in ${path}`);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  if (headerLength > bytes.length - 8) {
    throw new Error(`safetensors: header length ${headerLength} runs past the end of ${path}`);
  }
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
  const dataStart = 8 + headerLength;
  const tensors = new Map<string, FixtureTensor>();
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const width = kDtypeBytes[info.dtype];
    if (width === undefined) throw new Error(`safetensors: unsupported dtype for '${name}' (got ${info.dtype}) in ${path}`);
    const [begin, end] = info.data_offsets;
    const numel = info.shape.reduce((a, b) => a * b, 1);
    if (end < begin || dataStart + end > bytes.length || end - begin !== numel * width) {
      throw new Error(`safetensors: bad data_offsets for '${name}' (got [${begin}, ${end}]) in ${path}`);
    }
    const copy = new Uint8Array(end - begin);
    copy.set(bytes.subarray(dataStart + begin, dataStart + end));
    const buffer = copy.buffer;
    const data: FixtureArray =
      info.dtype === 'F32' ? new Float32Array(buffer)
      : info.dtype === 'F64' ? new Float64Array(buffer)
      : info.dtype === 'I64' ? new BigInt64Array(buffer)
      : info.dtype === 'I32' ? new Int32Array(buffer)
      : copy;
    tensors.set(name, { dtype: info.dtype, shape: info.shape, data });
  }
  return tensors;
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
