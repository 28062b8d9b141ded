/** Reads and checks a safetensors file's header without loading its data: names, dtypes, shapes, byte ranges. */
import * as fs from 'fs';
import { invalidData } from '../errors';

export interface SafetensorsTensorInfo {
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsTensorInfo>;
}

const kDtypeBytes: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1,
};

/** The header of `file`; every range is checked to lie in the file and to match its dtype and shape. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const prefix = Buffer.alloc(8);
    if (size < 8 || fs.readSync(fd, prefix, 0, 8, 0) !== 8) throw invalidData(file, `safetensors: file too short (got ${size} bytes)`);
    const headerLength = Number(prefix.readBigUInt64LE(0));
    if (headerLength > size - 8 || headerLength > 100 * 2 ** 20) throw invalidData(file, `safetensors: header length ${headerLength} runs past the end`);
    const text = Buffer.alloc(headerLength);
    fs.readSync(fd, text, 0, headerLength, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(text.toString('utf8')) as Record<string, unknown>;
    } catch (error) {
      throw invalidData(file, `safetensors: header is not JSON (${(error as Error).message})`);
    }
    const dataStart = 8 + headerLength;
    const tensors = new Map<string, SafetensorsTensorInfo>();
    for (const [name, value] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      const info = value as { dtype: string; shape: number[]; data_offsets: [number, number] };
      const width = kDtypeBytes[info?.dtype];
      if (width === undefined) throw invalidData(file, `safetensors: unknown dtype for '${name}' (got ${String(info?.dtype)})`);
      const numel = info.shape.reduce((a, b) => a * b, 1);
      const [begin, end] = info.data_offsets;
      if (!(begin >= 0 && end - begin === numel * width && dataStart + end <= size)) {
        throw invalidData(file, `safetensors: bad data_offsets for '${name}' (got [${begin}, ${end}])`);
      }
      tensors.set(name, { dtype: info.dtype, shape: info.shape, begin: dataStart + begin, end: dataStart + end });
    }
    return { metadata: (header.__metadata__ ?? {}) as Record<string, string>, tensors };
  } finally {
    fs.closeSync(fd);
  }
}
