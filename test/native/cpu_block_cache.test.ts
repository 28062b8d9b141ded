/**
 * The CPU block cache (native/train/cpu_block_cache.h): a repeated step reuses its blocks (no new memory), the
 * cache can be emptied, FOLDTORCH_CPU_CACHE_MB sets or turns it off, and results are the same bits either way
 * (a kernel that read fresh memory as zeros would differ once blocks are reused).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as path from 'node:path';

const repoRoot = path.resolve(__dirname, '..', '..');
const golden = process.env.FOLDTORCH_GOLDEN ?? path.resolve(repoRoot, '..', 'shared', 'golden');

// Runs in a child so that each case gets the environment the addon reads at load.
const childScript = `
const { createModel } = require(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'native', 'model.js'))});
const { cpuMemoryStats, emptyCpuCache } = require(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'native', 'device.js'))});
const { createHash } = require('crypto');
(async () => {
  const model = await createModel('tf_efficientnet_lite0', {
    numClasses: 2, imgSize: 64, pretrained: ${JSON.stringify(path.join(golden, 'efficientnet_lite0_random.weights.safetensors'))},
  });
  const x = new Float32Array(4 * 3 * 64 * 64).map((_, i) => Math.sin(i * 0.37));
  const hash = createHash('sha256');
  const step = async () => {
    const r = await model.lossAndGrads(x, { shape: [4, 3, 64, 64], targets: [0, 1, 1, 0], train: true });
    hash.update(Buffer.from(r.logits.data.buffer));
    for (const g of Object.values(r.grads)) hash.update(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength));
  };
  // Results handed to JavaScript hold their blocks until collected: collect between steps, as a long run does.
  const collected = async () => { await step(); global.gc(); await new Promise((r) => setImmediate(r)); };
  await collected();
  await collected();
  const first = cpuMemoryStats();
  await collected();
  const second = cpuMemoryStats();
  emptyCpuCache();
  const emptied = cpuMemoryStats();
  process.stdout.write(JSON.stringify({ first, second, emptied, digest: hash.digest('hex') }));
})().catch((e) => { console.error(e); process.exit(1); });
`;

interface Stats {
  installed: boolean;
  capacity: number;
  idle: number;
  inUse: number;
  hits: number;
  misses: number;
}

function runChild(cacheMb?: string): { first: Stats; second: Stats; emptied: Stats; digest: string } {
  const env = { ...process.env };
  delete env.FOLDTORCH_CPU_CACHE_MB;
  if (cacheMb !== undefined) env.FOLDTORCH_CPU_CACHE_MB = cacheMb;
  return JSON.parse(execFileSync('node', ['--expose-gc', '-e', childScript], { env, encoding: 'utf8' }));
}

let reference: ReturnType<typeof runChild>;
beforeAll(() => {
  reference = runChild('0');
});

test('once warm, a train step is served from idle blocks: hits, no new memory', () => {
  const { first, second, emptied, digest } = runChild();
  expect(first.installed).toBe(true);
  expect(first.misses).toBeGreaterThan(20);
  expect(second.misses).toBe(first.misses);
  expect(second.hits - first.hits).toBeGreaterThanOrEqual(first.misses);
  expect(second.idle).toBeGreaterThan(0);
  expect(emptied.idle).toBe(0);
  expect(emptied.inUse).toBe(second.inUse);
  expect(digest).toBe(reference.digest);
});

test('FOLDTORCH_CPU_CACHE_MB sets the idle limit; 0 leaves libtorch its own allocator', () => {
  expect(reference.first).toEqual({ installed: false, capacity: 0, idle: 0, inUse: 0, hits: 0, misses: 0 });
  const small = runChild('1');
  expect(small.first.capacity).toBe(1 << 20);
  expect(small.second.idle).toBeLessThanOrEqual(1 << 20);
  expect(small.digest).toBe(reference.digest);
});

test('a value that is not a whole number of MiB is ignored with a warning naming the variable', () => {
  const env = { ...process.env, FOLDTORCH_CPU_CACHE_MB: '2GB' };
  const script =
    `require(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'native', 'addon.js'))}).loadAddon();` +
    `const s = require(${JSON.stringify(path.join(repoRoot, 'dist', 'src', 'native', 'device.js'))}).cpuMemoryStats();` +
    'process.stdout.write(JSON.stringify(s));';
  const result = spawnSync('node', ['-e', script], { env, encoding: 'utf8' });
  expect(result.stderr).toContain(
    'foldtorch: ignoring FOLDTORCH_CPU_CACHE_MB="2GB" (expected a whole number of MiB, 0 to turn the cache off)',
  );
  const stats = JSON.parse(result.stdout) as Stats;
  expect(stats.installed).toBe(true);
  expect(stats.capacity).toBeGreaterThan(0);
});
