/**
 * Memory estimates (native/models: each family's estimate_memory) and the refusals built on them
 * (src/native/memory.ts): parameter counts exact against built models, huge configs refused with the figures
 * before anything is allocated, and the worded out-of-memory error of an allocation that still fails.
 */
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { loadAddon } from '../../src/native/addon';
import { formatBytes, memoryNeed } from '../../src/native/memory';
import { createModel } from '../../src/native/model';
import type { ModelArchOverrides } from '../../src/native/types';

interface Case {
  name: string;
  imgSize: [number, number];
  numClasses: number;
  arch?: ModelArchOverrides;
}

const cases: Case[] = [
  { name: 'eva02_tiny_patch14_224', imgSize: [64, 48], numClasses: 2, arch: { patchSize: 8, embedDim: 96, depth: 2, numHeads: 3 } },
  { name: 'eva02_base_patch14_448', imgSize: [56, 56], numClasses: 0, arch: { patchSize: 14, embedDim: 64, depth: 2, numHeads: 2 } },
  { name: 'eva02_base_patch16_clip_224', imgSize: [32, 64], numClasses: 5, arch: { embedDim: 64, depth: 1, numHeads: 4, qkvFused: true } },
  { name: 'eva02_small_patch14_224', imgSize: [28, 28], numClasses: 3, arch: { embedDim: 48, depth: 1, numHeads: 3, mlpRatio: 3.1 } },
  { name: 'convnext_atto', imgSize: [64, 96], numClasses: 2 },
  { name: 'convnext_tiny', imgSize: [32, 32], numClasses: 7, arch: { depths: [1, 1, 2, 1], dims: [8, 16, 24, 32] } },
  { name: 'tf_efficientnet_lite0', imgSize: [40, 40], numClasses: 2 },
  { name: 'tf_efficientnet_lite2', imgSize: [33, 47], numClasses: 0, arch: { channelMultiplier: 0.5, depthMultiplier: 0.6 } },
];

describe('estimates from the config', () => {
  test.each(cases)('$name $imgSize: parameters and buffers exactly those of the built model', async (c) => {
    const model = await createModel(c.name, { imgSize: c.imgSize, numClasses: c.numClasses, arch: c.arch });
    const infos = await model.parameters();
    model.dispose();
    const count = (buffer: boolean) => infos.filter((p) => p.buffer === buffer).reduce((n, p) => n + p.shape.reduce((a, b) => a * b, 1), 0);
    const estimate = await loadAddon().estimateMemory({
      name: c.name,
      imgSize: c.imgSize,
      numClasses: c.numClasses,
      arch: c.arch,
      batchSize: 4,
    });
    expect(estimate.parameters).toBe(count(false));
    expect(estimate.buffers).toBe(count(true));
    expect(estimate.activations).toBeGreaterThan(0);
    expect(estimate.availableBytes).toBeGreaterThan(0);
  });

  test('activations grow with the batch exactly and with the image; gradient checkpointing keeps fewer', async () => {
    const base = {
      name: 'eva02_tiny_patch14_224',
      imgSize: [64, 64] as [number, number],
      numClasses: 2,
      arch: { patchSize: 8, embedDim: 96, depth: 4, numHeads: 3 },
    };
    const addon = loadAddon();
    const one = await addon.estimateMemory({ ...base, batchSize: 1 });
    const eight = await addon.estimateMemory({ ...base, batchSize: 8 });
    const big = await addon.estimateMemory({ ...base, imgSize: [128, 128], batchSize: 1 });
    const checkpointed = await addon.estimateMemory({ ...base, batchSize: 8, gradCheckpointing: true });
    expect(eight.activations).toBe(8 * one.activations);
    expect(eight.parameters).toBe(one.parameters);
    expect(big.activations).toBeGreaterThan(3.9 * one.activations);
    expect(checkpointed.activations).toBeLessThan(eight.activations / 2);
  });

  test('bad names and options get the same errors as createModel', async () => {
    await expect(loadAddon().estimateMemory({ name: 'eva02_tiny', batchSize: 1 })).rejects.toThrow(
      "models: unknown model name 'eva02_tiny'",
    );
    await expect(loadAddon().estimateMemory({ name: 'convnext_atto', arch: { embedDim: 4 }, batchSize: 1 })).rejects.toThrow(
      "models: convnext takes no override 'embed_dim'",
    );
    await expect(loadAddon().estimateMemory({ name: 'convnext_atto', batchSize: 0 })).rejects.toThrow(
      'models: batch must be positive (got 0)',
    );
  });
});

describe('refused before allocating', () => {
  test('an embedDim of 2^20 names the override and both figures', async () => {
    const arch = { embedDim: 1048576, numHeads: 16 };
    const need = memoryNeed(await loadAddon().estimateMemory({ name: 'eva02_large_patch14_224', numClasses: 2, arch, batchSize: 1 }));
    expect(need.modelBytes).toBeGreaterThan(1e15);
    const rss = process.memoryUsage().rss;
    await expect(createModel('eva02_large_patch14_224', { numClasses: 2, arch })).rejects.toThrow(
      `arch.embedDim=1048576, arch.numHeads=16 (eva02_large_patch14_224) needs about ${formatBytes(need.modelBytes)} for parameters; ${formatBytes(need.availableBytes)} available on cpu`,
    );
    expect(process.memoryUsage().rss - rss).toBeLessThan(256 * 2 ** 20);
  });

  test('an imgSize of a million pixels a side (EVA-02: its position table) is refused with code ERR_OUT_OF_MEMORY', async () => {
    const error = await createModel('eva02_tiny_patch14_224', { numClasses: 2, imgSize: 999992 }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error & { code: string }).code).toBe('ERR_OUT_OF_MEMORY');
    expect((error as Error).message).toMatch(
      /^imgSize=999992 \(eva02_tiny_patch14_224\) needs about [0-9.]+ TB for parameters; [0-9.]+ [kMGT]B available on cpu$/,
    );
  });

  test.each([
    [0, '0 bytes'],
    [999, '999 bytes'],
    [1000, '1.0 kB'],
    [23.4e9, '23 GB'],
    [4.2e12, '4.2 TB'],
    [Infinity, 'unlimited'],
  ])('formatBytes(%d) is %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe('an allocation that still fails', () => {
  // A child whose address space is capped at 4 GB (ulimit -v): the 3 GiB float copy of a 64 × 2048² batch is refused
  // at once by the kernel, nothing is touched. Through the CPU block cache and through libtorch's own allocator.
  const script = `
    const { createModel } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'dist', 'src', 'native', 'model.js'))});
    (async () => {
      const model = await createModel('convnext_atto', { numClasses: 2, imgSize: 32 });
      await model.forward(new Uint8Array(64 * 2048 * 2048 * 3), { shape: [64, 2048, 2048, 3] });
      process.stdout.write('no error');
    })().catch((e) => process.stdout.write(e.code + ' ' + e.message));
  `;
  test.each([
    ['the CPU block cache', undefined, 'CPU: not enough memory: tried to allocate 3221225472 bytes (3072 MiB)'],
    ["libtorch's allocator", '0', "DefaultCPUAllocator: can't allocate memory: you tried to allocate 3221225472 bytes"],
  ])(
    'through %s it is worded: out of memory on cpu while running a forward pass (…); try a smaller batchSize or imgSize',
    (_, cacheMb, cause) => {
      const out = execFileSync('bash', ['-c', 'ulimit -v 4000000; exec "$@"', 'bash', process.execPath, '-e', script], {
        encoding: 'utf8',
        env: { ...process.env, ...(cacheMb === undefined ? {} : { FOLDTORCH_CPU_CACHE_MB: cacheMb }) },
      });
      expect(out).toMatch(/^ERR_NATIVE out of memory on cpu while running a forward pass \(/);
      expect(out).toContain(cause);
      expect(out).toMatch(/\); try a smaller batchSize or imgSize$/);
      expect(out).not.toContain('enforce fail');
    },
  );
});
