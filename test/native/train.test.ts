/** The Learner on CPU: learning a toy task, bf16 autocast, the loss scaler, seeding, accumulation, freezing, bad input. */
import { createLearner } from '../../src/train/learner';
import type { NativeLearner } from '../../src/native/types';
import { injectNonFiniteGradient } from '../../src/testing';
import { accuracy, kNormalize, snapshotDiff, tensors, tinyEva, tinyLearner, toyBatch, useOneThread } from './train_helpers';

useOneThread();

describe('Learner training', () => {
  test('a tiny EVA-02 learns a separable toy task: loss falls, accuracy 100%', async () => {
    const learner = await tinyLearner(1);
    const losses: number[] = [];
    const first = await learner.trainStep(toyBatch(0).images, toyBatch(0).labels, { shape: toyBatch(0).shape });
    // 30 steps → warmup int(0.22·30) = 6 steps: the first lr is lr/6.
    expect(first.lr).toBeCloseTo(3e-3 / 6, 15);
    expect(first).toMatchObject({ skipped: false, stepped: true, step: 1, microStep: 0, scale: 1 });
    losses.push(first.loss);
    for (let step = 1; step < 30; step++) {
      const batch = toyBatch(step);
      losses.push((await learner.trainStep(batch.images, batch.labels, { shape: batch.shape })).loss);
    }
    expect(losses[0]).toBeGreaterThan(0.6);
    expect(losses[29]).toBeLessThan(0.45);
    expect(losses[29]).toBeLessThan(losses[0] - 0.2);
    const test = toyBatch(1000, 16);
    const logits = await learner.evalStep(test.images, { shape: test.shape });
    expect(logits.shape).toEqual([16, 2]);
    expect(accuracy(logits, test.labels)).toBe(1);
    const counters = await learner.counters();
    expect(counters).toMatchObject({ step: 30, microStep: 0, skippedSteps: 0, samples: 240, scale: 1 });
    // Past the end of the schedule the lr stays at warmdown_min_lr.
    expect(counters.nextLr).toBeCloseTo(3e-5, 15);
    learner.model.dispose();
  });

  test('the CPU bfloat16 autocast path trains', async () => {
    const learner = await tinyLearner(2, { precision: 'bfloat16', optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 6 } });
    const losses: number[] = [];
    for (let step = 0; step < 6; step++) {
      const batch = toyBatch(step);
      const result = await learner.trainStep(batch.images, batch.labels, { shape: batch.shape });
      expect(result).toMatchObject({ skipped: false, scale: 1 });
      losses.push(result.loss);
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[5]).toBeLessThan(losses[0]);
    const logits = await learner.evalStep(toyBatch(99).images, { shape: toyBatch(99).shape });
    expect(logits.data.constructor.name).toBe('Float32Array');
    expect(Array.from(logits.data).every(Number.isFinite)).toBe(true);
    learner.model.dispose();
  });

  test('the same seed gives the same run, bit for bit; another seed does not', async () => {
    const run = async (seed: number) => {
      const learner = await tinyLearner(seed);
      const losses: number[] = [];
      for (let step = 0; step < 4; step++) {
        const batch = toyBatch(step);
        losses.push((await learner.trainStep(batch.images, batch.labels, { shape: batch.shape })).loss);
      }
      const snapshot = await tensors(learner.model);
      learner.model.dispose();
      return { losses, snapshot };
    };
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    expect(b.losses).toEqual(a.losses);
    expect(snapshotDiff(a.snapshot, b.snapshot)).toBe(0);
    expect(snapshotDiff(a.snapshot, c.snapshot)).toBeGreaterThan(0);
  });

  test('gradient accumulation: 2 micro-batches of 4 step like one batch of 8', async () => {
    const whole = await tinyLearner(3);
    const accumulated = await tinyLearner(3, { accumulationSteps: 2 });
    const batch = toyBatch(0);
    await whole.trainStep(batch.images, batch.labels, { shape: batch.shape });
    const half = 4 * batch.shape[1] * batch.shape[2] * 3;
    const shape = [4, batch.shape[1], batch.shape[2], 3];
    const one = await accumulated.trainStep(batch.images.subarray(0, half), batch.labels.slice(0, 4), { shape });
    expect(one).toMatchObject({ stepped: false, step: 0, microStep: 1 });
    expect(await tensors(accumulated.model)).toEqual(await tensors(await tinyEva(3)));
    const two = await accumulated.trainStep(batch.images.subarray(half), batch.labels.slice(4), { shape });
    expect(two).toMatchObject({ stepped: true, step: 1, microStep: 0 });
    expect(snapshotDiff(await tensors(whole.model), await tensors(accumulated.model))).toBeLessThan(1e-6);
    expect((await accumulated.counters()).samples).toBe(8);
  });

  test('returns training logits and applies per-image colour matrices, fades and outlines when asked', async () => {
    const batch = toyBatch(0);
    const identity = new Float32Array(8 * 9);
    for (let i = 0; i < 8; i++)
      [0, 4, 8].forEach((d) => {
        identity[i * 9 + d] = 1;
      });
    const grey = new Float32Array(8 * 9).fill(1 / 3);
    const plain = await (await tinyLearner(12)).trainStep(batch.images, batch.labels, { shape: batch.shape, returnLogits: true });
    expect(plain.logits!.length).toBe(16);
    expect(Array.from(plain.logits!).every(Number.isFinite)).toBe(true);
    expect((await (await tinyLearner(12)).trainStep(batch.images, batch.labels, { shape: batch.shape })).logits).toBeUndefined();
    const logitsWith = async (colorMatrices: Float32Array) =>
      (
        await (
          await tinyLearner(12)
        ).trainStep(batch.images, batch.labels, { shape: batch.shape, augment: { colorMatrices }, returnLogits: true })
      ).logits!;
    const diff = (a: Float32Array, b: Float32Array) => Math.max(...Array.from(a, (v, i) => Math.abs(v - b[i])));
    expect(diff(await logitsWith(identity), plain.logits!)).toBeLessThan(1e-6);
    expect(diff(await logitsWith(grey), plain.logits!)).toBeGreaterThan(1e-5);
    // Fading and outlines reach the learner's input too: amount and strength 0 change nothing; a full fade is a
    // blank page whatever the image, so every image's logits are the same.
    const logitsRestyled = async (fadeAmounts: Float32Array, outlineStrengths?: Float32Array) =>
      (
        await (
          await tinyLearner(12)
        ).trainStep(batch.images, batch.labels, { shape: batch.shape, augment: { fadeAmounts, outlineStrengths }, returnLogits: true })
      ).logits!;
    expect(diff(await logitsRestyled(new Float32Array(8), new Float32Array(8)), plain.logits!)).toBeLessThan(1e-6);
    // Outlines need boundaries, which the toy images' faint noise hardly has: whiten each image's left half.
    const edged = Uint8Array.from(batch.images, (v, i) => ((i / 3) % batch.shape[2] < batch.shape[2] / 2 ? 255 : v));
    const logitsEdged = async (outlineStrengths?: Float32Array) =>
      (
        await (
          await tinyLearner(12)
        ).trainStep(edged, batch.labels, { shape: batch.shape, augment: { outlineStrengths }, returnLogits: true })
      ).logits!;
    expect(diff(await logitsEdged(new Float32Array(8).fill(1)), await logitsEdged())).toBeGreaterThan(5e-6);
    const blank = await logitsRestyled(new Float32Array(8).fill(1));
    expect(diff(blank, plain.logits!)).toBeGreaterThan(1e-5);
    for (let i = 1; i < 8; i++) expect(Math.abs(blank[2 * i] - blank[0]) + Math.abs(blank[2 * i + 1] - blank[1])).toBeLessThan(1e-5);
    const learner = await tinyLearner(12);
    await expect(
      learner.trainStep(batch.images, batch.labels, { shape: batch.shape, augment: { fadeAmounts: new Float32Array(3) } }),
    ).rejects.toThrow('Expected 8 values (one per image) for augment.fadeAmounts but received');
    await expect(
      learner.trainStep(batch.images, batch.labels, {
        shape: batch.shape,
        augment: { fadeAmounts: new Float32Array([0, 0, 0.5, 1.5, 0, 0, 0, 0]) },
      }),
    ).rejects.toThrow('Expected a number from 0 to 1 for augment.fadeAmounts[3] but received 1.5');
    await expect(
      learner.trainStep(batch.images, batch.labels, { shape: batch.shape, augment: { outlineStrengths: new Float32Array(8).fill(NaN) } }),
    ).rejects.toThrow('Expected a number from 0 to 1 for augment.outlineStrengths[0] but received NaN');
    await expect(
      learner.trainStep(batch.images, batch.labels, { shape: batch.shape, augment: { colorMatrices: new Float32Array(9) } }),
    ).rejects.toThrow('Expected 72 values (a 3x3 matrix per image) for augment.colorMatrices but received a Float32Array of 36 bytes');
    await expect(
      learner.trainStep(batch.images, batch.labels, { shape: batch.shape, augment: { fade: new Float32Array(8) } as never }),
    ).rejects.toThrow(
      'Expected one of colorMatrices, outlineStrengths, fadeAmounts, affineMatrices (did you mean fadeAmounts?) for augment.fade',
    );
    await expect(learner.trainStep(batch.images, batch.labels, { shape: batch.shape, returnLogits: 1 as never })).rejects.toThrow(
      'Expected a boolean for returnLogits but received 1',
    );
  });

  test('freezing by glob or RegExp keeps those parameters exactly; a zero-lr group does too', async () => {
    const learner = await tinyLearner(4, { paramGroups: [{ pattern: 'head.*', lr: 0 }] });
    const info = await learner.parameterInfo();
    const blocks = info.filter((p) => p.name.startsWith('blocks.')).map((p) => p.name);
    expect(await learner.freeze('blocks.*')).toBe(blocks.length);
    expect((await learner.parameterInfo()).filter((p) => !p.trainable).map((p) => p.name)).toEqual(blocks);
    const before = await tensors(learner.model);
    const batch = toyBatch(0);
    await learner.trainStep(batch.images, batch.labels, { shape: batch.shape });
    const after = await tensors(learner.model);
    for (const name of [...blocks, 'head.weight', 'head.bias']) expect(after[name].data).toEqual(before[name].data);
    expect(after['patch_embed.proj.weight'].data).not.toEqual(before['patch_embed.proj.weight'].data);
    expect(await learner.unfreeze(/^blocks\.0\./)).toBe(blocks.filter((n) => n.startsWith('blocks.0.')).length);
    await learner.trainStep(batch.images, batch.labels, { shape: batch.shape });
    const third = await tensors(learner.model);
    expect(third['blocks.0.norm1.weight'].data).not.toEqual(after['blocks.0.norm1.weight'].data);
    expect(third['blocks.1.norm1.weight'].data).toEqual(after['blocks.1.norm1.weight'].data);
  });
});

describe('loss scaler (forced on for CPU)', () => {
  test('skips the step and halves the scale on an injected inf, grows after clean steps, then recovers', async () => {
    const learner = await tinyLearner(5, { forceGradScaler: true, gradScaler: { initScale: 1024, growthInterval: 2 } });
    const step = (i: number) => learner.trainStep(toyBatch(i).images, toyBatch(i).labels, { shape: toyBatch(i).shape });
    expect(await step(0)).toMatchObject({ skipped: false, scale: 1024, step: 1 });
    expect(await step(1)).toMatchObject({ skipped: false, scale: 2048, step: 2 });
    const before = await tensors(learner.model);
    injectNonFiniteGradient(learner);
    const skipped = await step(2);
    expect(skipped).toMatchObject({ skipped: true, stepped: true, scale: 1024, step: 2 });
    expect(Number.isFinite(skipped.loss)).toBe(true);
    expect(snapshotDiff(before, await tensors(learner.model))).toBe(0);
    expect(await step(3)).toMatchObject({ skipped: false, scale: 1024, step: 3 });
    expect(await step(4)).toMatchObject({ skipped: false, scale: 2048, step: 4 });
    expect(await learner.counters()).toMatchObject({ step: 4, skippedSteps: 1, scale: 2048 });
  });

  test('scaling by powers of two is exact: the same parameters as without the scaler', async () => {
    const plain = await tinyLearner(6);
    const scaled = await tinyLearner(6, { forceGradScaler: true });
    for (let i = 0; i < 2; i++) {
      const batch = toyBatch(i);
      await plain.trainStep(batch.images, batch.labels, { shape: batch.shape });
      await scaled.trainStep(batch.images, batch.labels, { shape: batch.shape });
    }
    expect(snapshotDiff(await tensors(plain.model), await tensors(scaled.model))).toBe(0);
  });

  test('a NaN loss under the scaler is a skipped step, not a crash', async () => {
    const learner = await tinyLearner(7, { forceGradScaler: true, normalize: { mean: kNormalize.mean, std: [1e-40, 1e-40, 1e-40] } });
    const batch = toyBatch(0);
    const result = await learner.trainStep(batch.images, batch.labels, { shape: batch.shape });
    expect(result).toMatchObject({ skipped: true, stepped: true, step: 0, scale: 32768 });
    expect(Number.isNaN(result.loss)).toBe(true);
  });
});

describe('Learner bad input', () => {
  let learner: Awaited<ReturnType<typeof tinyLearner>>;
  beforeAll(async () => {
    learner = await tinyLearner(9);
  });
  const batch = toyBatch(0);

  test('labels out of range, wrong count or type', async () => {
    await expect(learner.trainStep(batch.images, [0, 2, 0, 1, 0, 1, 0, 1], { shape: batch.shape })).rejects.toThrow(
      'Expected a class label from 0 to 1 for labels[1] but received 2',
    );
    await expect(learner.trainStep(batch.images, [0, 1, 0], { shape: batch.shape })).rejects.toThrow(
      'Expected 8 (one label per image) for labels length but received 3',
    );
    await expect(learner.trainStep(batch.images, [0, 1, 0, 1, 0, 1, 0, 0.5], { shape: batch.shape })).rejects.toThrow(
      'Expected an integer class label for labels[7] but received 0.5',
    );
    await expect(learner.trainStep(batch.images, 'cats' as never, { shape: batch.shape })).rejects.toThrow(
      'Expected an Int32Array or number[] for labels but received "cats"',
    );
  });

  test('the native side re-checks labels (an out-of-range class would assert on CUDA)', async () => {
    const native = (learner as unknown as { handle: NativeLearner }).handle;
    await expect(native.trainStep(batch.images, Int32Array.from([0, 1, 0, 1, 0, 1, 0, 5]), { shape: batch.shape })).rejects.toThrow(
      'learner: expected labels from 0 to 1 (got 5)',
    );
    expect(() => native.trainStep(batch.images, Int32Array.from([0, 1]), { shape: batch.shape })).toThrow(
      'Expected 8 labels (one per image) but received 2',
    );
  });

  test('an empty batch, a wrong image size, a short buffer', async () => {
    await expect(learner.trainStep(new Uint8Array(0), [], { shape: [0, 32, 32, 3] })).rejects.toThrow(
      'for images shape batch but received 0',
    );
    await expect(learner.evalStep(new Uint8Array(48 * 48 * 3), { shape: [1, 48, 48, 3] })).rejects.toThrow(
      'Expected [batch, 32, 32, 3] for images shape but received "[1, 48, 48, 3]"',
    );
    await expect(learner.trainStep(batch.images.subarray(1), batch.labels, { shape: batch.shape })).rejects.toThrow(
      'Expected 24576 bytes for shape [8, 32, 32, 3] for images',
    );
  });

  test('a NaN loss is an error naming the step, and nothing is updated', async () => {
    const broken = await tinyLearner(10, { normalize: { mean: kNormalize.mean, std: [1e-40, 1e-40, 1e-40] } });
    const before = await tensors(broken.model);
    await expect(broken.trainStep(batch.images, batch.labels, { shape: batch.shape })).rejects.toThrow(
      'learner: the loss is NaN at step 1 (micro-batch 1 of 1); no update was made',
    );
    expect(snapshotDiff(before, await tensors(broken.model))).toBe(0);
    expect(await broken.counters()).toMatchObject({ step: 0, microStep: 0 });
  });

  test('options are validated before anything native runs', async () => {
    const model = learner.model;
    const optimizer = { lr: 1e-3, numEpochs: 1, numBatchesPerEpoch: 10 };
    await expect(createLearner(model, { optimizer, precision: 'float16' })).rejects.toThrow(
      'Expected float32 or bfloat16 on CPU (float16 autocast needs CUDA) for precision but received "float16"',
    );
    await expect(createLearner(model, { optimizer, precision: 'fp8' as never })).rejects.toThrow(
      'Expected one of float32, bfloat16, float16 for precision but received "fp8"',
    );
    await expect(createLearner(model, { optimizer, accumulationSteps: 0 })).rejects.toThrow(
      'Expected an integer from 1 to 4096 for accumulationSteps but received 0',
    );
    await expect(createLearner(model, { optimizer: { numEpochs: 1, numBatchesPerEpoch: 1 } as never })).rejects.toThrow(
      'Expected a number for optimizer.lr but received undefined',
    );
    await expect(createLearner(model, { optimizer: { ...optimizer, warmup: 3 } as never })).rejects.toThrow(
      /^Expected one of lr, numEpochs, .* for optimizer key but received "warmup"$/,
    );
    await expect(createLearner(model, { optimizer: { ...optimizer, mode: 'fixed' as never } })).rejects.toThrow(
      'Expected one of legacy, corrected for optimizer.mode but received "fixed"',
    );
    await expect(createLearner(model, { optimizer, loss: { kind: 'focal' as never } })).rejects.toThrow(
      'Expected one of cce, ce for loss.kind but received "focal"',
    );
    await expect(createLearner(model, { optimizer, paramGroups: [{ pattern: 3 as never }] })).rejects.toThrow(
      'Expected a glob string or RegExp for paramGroups[0].pattern but received 3',
    );
    await expect(createLearner(model, { optimizer, paramGroups: [{ pattern: /(?<=a)b/ }] })).rejects.toThrow(
      'learner: bad parameter name pattern /(?<=a)b/',
    );
    await expect(createLearner({} as never, { optimizer })).rejects.toThrow('Expected a Model from createModel for model');
  });

  test('a disposed learner or model says so', async () => {
    const other = await tinyLearner(11);
    other.dispose();
    expect(other.disposed).toBe(true);
    await expect(other.trainStep(batch.images, batch.labels, { shape: batch.shape })).rejects.toThrow('Learner is disposed');
    expect(() => injectNonFiniteGradient(other)).toThrow('Learner is disposed');
  });
});
