/** Learner checkpoints: bit-identical resume in a new process, crash safety, and every mismatch refused cleanly. */
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { addonLocation, loadAddon } from '../../src/native/addon';
import { readFixtureSafetensors } from '../../src/parity/fixture';
import { createLearner, readCheckpointInfo } from '../../src/train/learner';
import { kNormalize, snapshotDiff, tensors, tinyEva, tinyLearner, toyBatch, useOneThread } from './train_helpers';

useOneThread();

const child = path.join(__dirname, 'helpers', 'train_child.js');
let dir: string;
let env: NodeJS.ProcessEnv;

beforeAll(() => {
  loadAddon();
  dir = mkdtempSync(path.join(tmpdir(), 'foldtorch-ckpt-'));
  env = { ...process.env, FOLDTORCH_ADDON: addonLocation()!.path, FOLDTORCH_NUM_THREADS: '1' };
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runChild(args: Record<string, unknown>): string {
  return execFileSync('node', [child, JSON.stringify(args)], { env, encoding: 'utf8' });
}

describe('resume', () => {
  test('8 steps straight = 4 steps, save, then 4 more in a new process: identical parameters', () => {
    const straight = path.join(dir, 'straight.bin');
    const resumed = path.join(dir, 'resumed.bin');
    const ckpt = path.join(dir, 'half');
    runChild({ modelSeed: 1, seed: 1, total: 8, from: 0, to: 8, out: straight });
    runChild({ modelSeed: 1, seed: 1, total: 8, from: 0, to: 4, save: ckpt });
    // Another init seed: everything must come from the checkpoint.
    runChild({ modelSeed: 99, seed: 99, total: 8, from: 4, to: 8, load: ckpt, out: resumed });
    const [a, b] = [readFileSync(straight), readFileSync(resumed)];
    expect(a.length).toBeGreaterThan(10000);
    expect(b.equals(a)).toBe(true);
  });

  test('the same holds with the loss scaler on (its scale and growth tracker are saved)', () => {
    const straight = path.join(dir, 'straight_s.bin');
    const resumed = path.join(dir, 'resumed_s.bin');
    const ckpt = path.join(dir, 'half_s');
    runChild({ modelSeed: 2, seed: 2, total: 6, from: 0, to: 6, scaler: true, out: straight });
    runChild({ modelSeed: 2, seed: 2, total: 6, from: 0, to: 3, scaler: true, save: ckpt });
    runChild({ modelSeed: 3, seed: 3, total: 6, from: 3, to: 6, scaler: true, load: ckpt, out: resumed });
    expect(readFileSync(resumed).equals(readFileSync(straight))).toBe(true);
    expect(readCheckpointInfo(ckpt).document.scaler).toEqual({
      scale: 65536,
      growthTracker: 3,
      skippedSteps: 0,
      growthEvents: 0,
      backoffEvents: 0,
    });
  });

  test('a process killed while saving every step leaves a loadable checkpoint', async () => {
    for (const delayMs of [0, 15, 40]) {
      const prefix = path.join(dir, `killed_${delayMs}`);
      const proc = spawn(
        'node',
        [child, JSON.stringify({ modelSeed: 1, seed: 1, total: 500, from: 0, to: 500, save: prefix, saveEvery: true })],
        { env },
      );
      await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()));
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      proc.kill('SIGKILL');
      await new Promise((resolve) => proc.once('exit', resolve));
      const learner = await tinyLearner(5, { optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 500 } });
      const info = await learner.load(prefix);
      expect(info.step).toBeGreaterThanOrEqual(1);
      expect(info.document.user).toEqual({ step: info.step });
      expect((await learner.counters()).step).toBe(info.step);
      learner.model.dispose();
    }
  });
});

describe('save and load in one process', () => {
  test('the document and its .json copy; load restores counters and weights', async () => {
    const learner = await tinyLearner(4);
    for (let i = 0; i < 3; i++) await learner.trainStep(toyBatch(i).images, toyBatch(i).labels, { shape: toyBatch(i).shape });
    const prefix = path.join(dir, 'doc');
    const saved = await learner.save(`${prefix}.safetensors`, { fold: 2, note: 'épreuve' });
    expect(saved.path).toBe(`${prefix}.safetensors`);
    expect(saved.document).toMatchObject({
      format: 'foldtorch.checkpoint',
      version: 1,
      model: { family: 'eva02', numClasses: 2, imgSize: 32 },
      counters: { step: 3, microStep: 0, skippedSteps: 0, samples: 24 },
      scaler: null,
      precision: 'float32',
      device: 'cpu',
      optimizer: { name: 'ranger21', mode: 'corrected', iteration: 3, lookaheadStep: 3, lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 30 },
      rng: { cpu: true, cuda: false },
      user: { fold: 2, note: 'épreuve' },
    });
    expect(saved.document.optimizer.params).toEqual((await learner.parameterInfo()).map((p) => p.name));
    expect(JSON.parse(readFileSync(`${prefix}.json`, 'utf8'))).toEqual(saved.document);
    expect(readCheckpointInfo(prefix)).toEqual({ path: `${prefix}.safetensors`, step: 3, document: saved.document });
    const stored = readFixtureSafetensors(`${prefix}.safetensors`);
    expect(stored.get('rng.cpu')!.dtype).toBe('U8');
    expect(stored.get('optimizer.0.step')!.data).toEqual(BigInt64Array.from([3n]));

    const other = await tinyLearner(5);
    expect(snapshotDiff(await tensors(other.model), await tensors(learner.model))).toBeGreaterThan(0);
    const loaded = await other.load(prefix);
    expect(loaded.step).toBe(3);
    expect(snapshotDiff(await tensors(other.model), await tensors(learner.model))).toBe(0);
    expect(await other.counters()).toEqual(await learner.counters());
  });

  test('refuses to save mid-accumulation or with NaN weights, keeping the last good checkpoint', async () => {
    const learner = await tinyLearner(6, { accumulationSteps: 2 });
    const prefix = path.join(dir, 'guarded');
    await learner.save(prefix);
    const good = readFileSync(`${prefix}.safetensors`);
    const half = toyBatch(0, 4);
    await learner.trainStep(half.images, half.labels, { shape: half.shape });
    await expect(learner.save(prefix)).rejects.toThrow(
      'checkpoint: cannot save in the middle of gradient accumulation (1 of 2 micro-batches done)',
    );
    // NaN weights: the model's own loader refuses them naming the file; a training checkpoint still brings them in.
    const putNaN = (file: string, name: string) => {
      const bytes = readFileSync(file);
      const headerEnd = 8 + Number(bytes.readBigUInt64LE(0));
      const header = JSON.parse(bytes.subarray(8, headerEnd).toString('utf8'));
      bytes.writeFloatLE(NaN, headerEnd + header[name].data_offsets[0]);
      writeFileSync(file, bytes);
    };
    const weights = path.join(dir, 'nan_weights.safetensors');
    await learner.model.saveWeights(weights);
    putNaN(weights, 'head.bias');
    const broken = await tinyLearner(6);
    await expect(broken.model.load(weights)).rejects.toThrow(
      `models: checkpoint ${weights} holds NaN or Inf weights in 'head.bias' (got 1 of 2 values not finite)`,
    );
    const nanCheckpoint = path.join(dir, 'nan_checkpoint');
    await broken.save(nanCheckpoint);
    putNaN(`${nanCheckpoint}.safetensors`, 'model.head.bias');
    await broken.load(nanCheckpoint);
    await expect(broken.save(prefix)).rejects.toThrow(
      "checkpoint: refusing to save: 'head.bias' holds NaN or inf values (any existing checkpoint is left as it was)",
    );
    expect(readFileSync(`${prefix}.safetensors`).equals(good)).toBe(true);
    await expect(learner.save(prefix, { f: () => 1 } as never)).rejects.toThrow();
  });

  test('a save that fails part way leaves the last checkpoint as it was (its readable copy is written first)', async () => {
    const learner = await tinyLearner(12);
    const prefix = path.join(dir, 'partway');
    await learner.save(prefix);
    const good = readFileSync(`${prefix}.safetensors`);
    await learner.trainStep(toyBatch(0).images, toyBatch(0).labels, { shape: toyBatch(0).shape });
    rmSync(`${prefix}.json`);
    mkdirSync(`${prefix}.json`);
    await expect(learner.save(prefix)).rejects.toThrow(`${prefix}.json`);
    expect(readFileSync(`${prefix}.safetensors`).equals(good)).toBe(true);
    expect(readdirSync(dir).filter((name) => name.startsWith('partway') && name.includes('.tmp-'))).toEqual([]);
  });

  test('a torn, foreign or missing file is a clear error and changes nothing', async () => {
    const learner = await tinyLearner(7);
    await learner.trainStep(toyBatch(0).images, toyBatch(0).labels, { shape: toyBatch(0).shape });
    const prefix = path.join(dir, 'whole');
    await learner.save(prefix);
    const torn = path.join(dir, 'torn');
    copyFileSync(`${prefix}.safetensors`, `${torn}.safetensors`);
    truncateSync(`${torn}.safetensors`, 5000);
    const target = await tinyLearner(8);
    const before = await tensors(target.model);
    await expect(target.load(torn)).rejects.toThrow(`${torn}.safetensors`);
    await expect(target.load(path.join(dir, 'nowhere'))).rejects.toThrow(path.join(dir, 'nowhere.safetensors'));
    const weights = path.join(dir, 'plain_weights.safetensors');
    await target.model.saveWeights(weights);
    await expect(target.load(weights)).rejects.toThrow(
      `checkpoint: ${weights} is not a foldtorch training checkpoint (no 'foldtorch.checkpoint' metadata)`,
    );
    expect(() => readCheckpointInfo(weights)).toThrow('not a foldtorch training checkpoint');
    expect(snapshotDiff(before, await tensors(target.model))).toBe(0);
    expect(await target.counters()).toMatchObject({ step: 0, samples: 0 });
    expect(existsSync(`${prefix}.json`)).toBe(true);
  });

  test('damaged metadata, optimizer counters or RNG state are refused naming the file, before anything is loaded', async () => {
    const source = await tinyLearner(10);
    await source.trainStep(toyBatch(0).images, toyBatch(0).labels, { shape: toyBatch(0).shape });
    const prefix = path.join(dir, 'damaged');
    await source.save(prefix);
    const good = readFileSync(`${prefix}.safetensors`);
    const headerEnd = 8 + Number(good.readBigUInt64LE(0));
    const header = JSON.parse(good.subarray(8, headerEnd).toString('utf8'));
    // Same-length edits keep every offset right: the document's first brace, then mt19937's `left` counter (0: invalid).
    const metadata = Buffer.from(good);
    const brace = good.indexOf('{\\"', good.indexOf('foldtorch.checkpoint'));
    metadata[brace] = 'x'.charCodeAt(0);
    writeFileSync(`${prefix}_meta.safetensors`, metadata);
    const rng = Buffer.from(good);
    rng.writeInt32LE(0, headerEnd + header['rng.cpu'].data_offsets[0] + 8);
    writeFileSync(`${prefix}_rng.safetensors`, rng);
    // A document the optimizer refuses (its lookahead step past the merge time), written through a new header.
    const document = JSON.parse(header.__metadata__['foldtorch.checkpoint']);
    document.optimizer.lookaheadStep = 1000000000;
    const edited = Buffer.from(
      JSON.stringify({ ...header, __metadata__: { ...header.__metadata__, 'foldtorch.checkpoint': JSON.stringify(document) } }),
    );
    const length = Buffer.alloc(8);
    length.writeBigUInt64LE(BigInt(edited.length));
    writeFileSync(`${prefix}_optimizer.safetensors`, Buffer.concat([length, edited, good.subarray(headerEnd)]));
    const target = await tinyLearner(11);
    const before = await tensors(target.model);
    await expect(target.load(`${prefix}_optimizer`)).rejects.toThrow(
      `checkpoint: ${prefix}_optimizer.safetensors holds optimizer state that does not load (got: ranger21: bad counters (iteration 1, lookahead step 1000000000))`,
    );
    await expect(target.load(`${prefix}_meta`)).rejects.toThrow(
      `checkpoint: ${prefix}_meta.safetensors has unreadable 'foldtorch.checkpoint' metadata (invalid JSON: `,
    );
    await expect(target.load(`${prefix}_rng`)).rejects.toThrow(
      `checkpoint: ${prefix}_rng.safetensors has a damaged 'rng.cpu' RNG state (got: `,
    );
    expect(snapshotDiff(before, await tensors(target.model))).toBe(0);
    expect(await target.counters()).toMatchObject({ step: 0, samples: 0 });
  });

  test('another model, another architecture or another optimizer layout is refused by name', async () => {
    const learner = await tinyLearner(9);
    const prefix = path.join(dir, 'mismatch');
    await learner.save(prefix);
    const optimizer = { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 30 };
    const threeClasses = await createLearner(await tinyEva(9, 3), { optimizer, normalize: kNormalize });
    await expect(threeClasses.load(prefix)).rejects.toThrow(
      `checkpoint: ${prefix}.safetensors holds a eva02 model with 2 classes, but this learner trains a eva02 model with 3 classes`,
    );
    const wider = await createLearner(await tinyEva(9, 2, { patchSize: 8, embedDim: 48, depth: 2, numHeads: 2 }), {
      optimizer,
      normalize: kNormalize,
    });
    await expect(wider.load(prefix)).rejects.toThrow(
      `checkpoint: ${prefix}.safetensors does not match the model: 'cls_token' is F32 [1, 1, 32], the model's is Float [1, 1, 48]`,
    );
    const regrouped = await createLearner(await tinyEva(9), {
      optimizer,
      normalize: kNormalize,
      paramGroups: [{ pattern: 'head.*', lr: 1e-4 }],
    });
    await expect(regrouped.load(prefix)).rejects.toThrow(
      `checkpoint: ${prefix}.safetensors holds optimizer state for other parameters (position 0: 'cls_token' in the checkpoint, 'head.weight' here)`,
    );
    expect(await regrouped.counters()).toMatchObject({ step: 0 });
  });
});
