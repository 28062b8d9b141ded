/** The native safetensors reader: exact values, and every malformed-file branch gives a worded error. */
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '../../src/native/model';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'foldtorch-st-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file from a header object (serialised as given) and raw data bytes. */
function craft(name: string, header: unknown, data: Uint8Array = new Uint8Array(0), headerText?: string): string {
  const json = Buffer.from(headerText ?? JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const file = path.join(dir, name);
  writeFileSync(file, Buffer.concat([length, json, data]));
  return file;
}

const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);

describe('readSafetensors', () => {
  test('reads F32, F64, I64, F16 and BF16 values exactly, with metadata', async () => {
    const half = new Uint8Array([0x00, 0x3c, 0x00, 0xc0]); // F16 1.0, -2.0
    const bf16 = new Uint8Array([0x80, 0x3f, 0x40, 0xc0]); // BF16 1.0, -3.0
    const f64 = new Uint8Array(new Float64Array([0.5]).buffer);
    const i64 = new Uint8Array(new BigInt64Array([7n, -3n]).buffer);
    const data = Buffer.concat([f32([1.5, -2, 3.25]), f64, i64, half, bf16]);
    const file = craft(
      'ok.safetensors',
      {
        __metadata__: { format: 'pt' },
        a: { dtype: 'F32', shape: [3], data_offsets: [0, 12] },
        b: { dtype: 'F64', shape: [1, 1], data_offsets: [12, 20] },
        c: { dtype: 'I64', shape: [2], data_offsets: [20, 36] },
        d: { dtype: 'F16', shape: [2], data_offsets: [36, 40] },
        e: { dtype: 'BF16', shape: [2], data_offsets: [40, 44] },
      },
      data,
    );
    const { tensors, metadata } = await readSafetensors(file);
    expect(metadata).toEqual({ format: 'pt' });
    expect(Array.from(tensors.a.data)).toEqual([1.5, -2, 3.25]);
    expect(tensors.b).toMatchObject({ dtype: 'F64', shape: [1, 1] });
    expect(Array.from(tensors.b.data)).toEqual([0.5]);
    expect(Array.from(tensors.c.data)).toEqual([7, -3]);
    expect(Array.from(tensors.d.data)).toEqual([1, -2]);
    expect(Array.from(tensors.e.data)).toEqual([1, -3]);
  });

  test('empty tensors where others start or end, and at the end of the data, are no overlap', async () => {
    const file = craft(
      'empties.safetensors',
      {
        e0: { dtype: 'F32', shape: [0], data_offsets: [0, 0] },
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        e1: { dtype: 'F32', shape: [2, 0], data_offsets: [8, 8] },
        e2: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
        e3: { dtype: 'F32', shape: [0], data_offsets: [12, 12] },
      },
      f32([1, 2, 3]),
    );
    const { tensors } = await readSafetensors(file);
    expect(Array.from(tensors.a.data)).toEqual([1, 2]);
    expect(Array.from(tensors.b.data)).toEqual([3]);
    expect(tensors.e1).toMatchObject({ shape: [2, 0] });
    expect(tensors.e3.data.length).toBe(0);
  });

  test('accepts a real safetensors file even when named .bin', async () => {
    const file = craft('model.bin', { w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, f32([2]));
    expect(Array.from((await readSafetensors(file)).tensors.w.data)).toEqual([2]);
  });

  test.each([
    [
      'a file shorter than the length prefix',
      () => {
        const f = path.join(dir, 'short.safetensors');
        writeFileSync(f, Buffer.from([1, 2, 3]));
        return f;
      },
      /file too short for a header \(got 3 bytes\) in .*short\.safetensors/,
    ],
    [
      'a header length past the end of the file',
      () => {
        const f = path.join(dir, 'long.safetensors');
        const b = Buffer.alloc(16);
        b.writeBigUInt64LE(1n << 40n);
        writeFileSync(f, b);
        return f;
      },
      /header length 1099511627776 runs past the end of the file \(got 16 bytes\)/,
    ],
    [
      'invalid JSON',
      () => craft('json.safetensors', null, undefined, '{"a": [1, 2'),
      /header is not valid JSON \(invalid JSON: .* at byte \d+\) in .*json\.safetensors/,
    ],
    [
      'a duplicate key',
      () =>
        craft(
          'dup.safetensors',
          null,
          f32([1]),
          '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}',
        ),
      /duplicate key "a"/,
    ],
    ['a header that is not an object', () => craft('array.safetensors', [1, 2]), /header is not a JSON object/],
    [
      'an entry without data_offsets',
      () => craft('fields.safetensors', { a: { dtype: 'F32', shape: [1] } }, f32([1])),
      /entry for 'a' needs dtype \(string\), shape \(array\) and data_offsets \(array\)/,
    ],
    [
      'an unknown dtype',
      () => craft('dtype.safetensors', { a: { dtype: 'F8_E4M3', shape: [1], data_offsets: [0, 1] } }, new Uint8Array(1)),
      /unknown dtype for 'a' \(got F8_E4M3\)/,
    ],
    [
      'a negative dimension',
      () => craft('neg.safetensors', { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, f32([1])),
      /expected a non-negative integer for a dimension of 'a'/,
    ],
    [
      'offsets past the data',
      () => craft('range.safetensors', { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f32([1])),
      /data_offsets of 'a' out of range \(got \[0, 8\], data holds 4 bytes\)/,
    ],
    [
      'reversed offsets',
      () => craft('reversed.safetensors', { a: { dtype: 'F32', shape: [0], data_offsets: [4, 0] } }, f32([1])),
      /data_offsets of 'a' out of range \(got \[4, 0\]/,
    ],
    [
      'a giant offset (no giant allocation)',
      () =>
        craft(
          'giant.safetensors',
          null,
          f32([1]),
          '{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,18446744073709551615]}}',
        ),
      /data_offsets of 'a' out of range/,
    ],
    [
      'a byte size that disagrees with the shape',
      () => craft('size.safetensors', { a: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, f32([1, 2])),
      /'a' of dtype F32 and shape \[3\] needs 12 bytes \(got 8\)/,
    ],
    [
      'overlapping tensors',
      () =>
        craft(
          'overlap.safetensors',
          {
            a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
          },
          f32([1, 2, 3]),
        ),
      /tensors 'a' and 'b' overlap \(got \[0, 8\] and \[4, 12\]\)/,
    ],
    [
      'overlapping tensors with an empty one sorted between them',
      () =>
        craft(
          'overlap_empty.safetensors',
          {
            a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
            e: { dtype: 'F32', shape: [0], data_offsets: [8, 8] },
            b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
          },
          f32([1, 2, 3, 4]),
        ),
      /tensors 'a' and 'e' overlap \(got \[0, 16\] and \[8, 8\]\)/,
    ],
    ['a header too short for JSON', () => craft('tiny.safetensors', null, undefined, '{'), /header too short to hold JSON \(got 1 bytes\)/],
    ['an entry that is not an object', () => craft('entry.safetensors', { a: [1] }), /entry for 'a' is not an object/],
    [
      'a shape too large to address',
      () => craft('huge.safetensors', null, undefined, '{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,0]}}'),
      /shape of 'a' is too large/,
    ],
    [
      'data_offsets without two entries',
      () => craft('offsets.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0] } }, f32([1])),
      /data_offsets of 'a' must have two entries/,
    ],
    ['metadata that is not an object', () => craft('metaobj.safetensors', { __metadata__: 'x' }), /__metadata__ is not an object/],
    [
      'a header over 100 MB (sparse file)',
      () => {
        const f = path.join(dir, 'big.safetensors');
        const b = Buffer.alloc(8);
        b.writeBigUInt64LE(200n * 1024n * 1024n);
        writeFileSync(f, b);
        truncateSync(f, 300 * 1024 * 1024);
        return f;
      },
      /header length 209715200 exceeds 100 MB/,
    ],
    [
      'non-string metadata',
      () => craft('meta.safetensors', { __metadata__: { epoch: 3 } }),
      /__metadata__ value for 'epoch' is not a string/,
    ],
  ])('refuses %s', async (_what, make, message) => {
    await expect(readSafetensors(make())).rejects.toThrow(message);
  });

  test.each([
    ['a .pth file', 'weights.pth', Buffer.from('anything at all')],
    ['a zip archive (torch.save)', 'model.safetensors', Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0, 0, 0, 0])],
    ['a raw pickle stream', 'model.ckpt.safetensors', Buffer.from([0x80, 0x02, 0x7d, 0x71, 0, 0, 0, 0, 0])],
  ])('refuses %s as a pickle checkpoint with the conversion command', async (_what, name, bytes) => {
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    await expect(readSafetensors(file)).rejects.toThrow(
      /is a PyTorch pickle checkpoint; foldtorch only reads \.safetensors \(unpickling can run arbitrary code\)\. Convert it once .*save_file/,
    );
  });

  test('names a missing file', async () => {
    await expect(readSafetensors(path.join(dir, 'nope.safetensors'))).rejects.toThrow(
      /safetensors: cannot open .*nope\.safetensors: No such file/,
    );
  });

  test('rejects a non-string path', async () => {
    await expect(readSafetensors(3 as unknown as string)).rejects.toThrow('Expected a string for path but received 3');
  });
});
