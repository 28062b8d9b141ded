// Parity kinds ranger21 and cce against the golden fixtures (README sections 3 and 4).
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cceParity } from '../../src/parity/cce';
import { readFixtureSafetensors } from '../../src/parity/fixture';
import { parityKinds } from '../../src/parity/kinds';
import { configFromKwargs, ranger21Parity } from '../../src/parity/ranger21';
import { classificationLoss, traceRanger21 } from '../../src/train/optimizer';
import { goldenDir, goldenFile } from '../unit/metrics/golden';

const kRangerStems = ['ranger21_defaults', 'ranger21_recipe', 'ranger21_schedule_long', 'ranger21_strong_decay', 'ranger21_two_groups'];

describe('parity kind ranger21', () => {
  test('is registered and finds the four runs and the long schedules', () => {
    expect(parityKinds).toContain(ranger21Parity);
    const files = kRangerStems.flatMap((s) => [`${s}.json`, `${s}.safetensors`]).concat(['cce.json', 'ranger21_orphan.json']);
    expect(ranger21Parity.fixtures(files)).toEqual(kRangerStems);
  });

  test.each(['ranger21_recipe', 'ranger21_defaults', 'ranger21_two_groups', 'ranger21_strong_decay'])(
    "%s: every step's params, rewritten grads, lr and variance match in legacy mode",
    async (stem) => {
      goldenFile(`${stem}.safetensors`);
      const results = await ranger21Parity.run(goldenDir, stem, { device: 'cpu' });
      expect(results.map((r) => r.check)).toEqual([
        'params_after_step',
        'grad_after_step',
        'lr_per_step',
        'variance_normalized_per_step',
        'derived_schedule',
      ]);
      expect(results.filter((r) => !r.pass)).toEqual([]);
      // Same torch as the reference would be bit-exact; 2.x vs the fixtures' 1.13 differ by an ulp in std/norm kernels.
      expect(results[0].maxError).toBeLessThan(2e-7);
      expect(results[2].maxError).toBe(0);
    },
  );

  test('the recipe schedule: 6 warmup steps, warmdown from step 21 to exactly 3e-5', async () => {
    const results = await ranger21Parity.run(goldenDir, 'ranger21_recipe', { device: 'cpu' });
    expect(results[4].detail).toBe('warmup 6, warmdown from 21 of 30');
  });

  test('schedule_long: the lr at every step of 6540- and 3000-step runs is exact', async () => {
    const results = await ranger21Parity.run(goldenDir, 'ranger21_schedule_long', { device: 'cpu' });
    expect(results.filter((r) => !r.pass)).toEqual([]);
    expect(results.map((r) => [r.check, r.maxError])).toEqual([
      ['epochs30_bpe218.lr_per_step', 0],
      ['epochs30_bpe218.lr_at', 0],
      ['epochs30_bpe218.derived_schedule', 0],
      ['epochs10_bpe300.lr_per_step', 0],
      ['epochs10_bpe300.lr_at', 0],
      ['epochs10_bpe300.derived_schedule', 0],
    ]);
    expect(results[2].detail).toBe('warmup 2000, warmdown from 4708');
    expect(results[5].detail).toBe('warmup 660, warmdown from 2160');
  });

  test('corrected mode decays every parameter, which strong_decay makes visible', async () => {
    const stem = 'ranger21_strong_decay';
    const json = JSON.parse(readFileSync(goldenFile(`${stem}.json`), 'utf8'));
    const tensors = readFixtureSafetensors(goldenFile(`${stem}.safetensors`));
    const order: string[] = json.param_list_order;
    const run = (mode: 'legacy' | 'corrected') =>
      traceRanger21({
        optimizer: { ...configFromKwargs(json.constructor_kwargs), mode },
        steps: json.n_steps,
        params: order.map((n) => ({ shape: tensors.get(`${n}.init`)!.shape, data: tensors.get(`${n}.init`)!.data as Float32Array })),
        grads: order.map((n) => tensors.get(`${n}.grads`)!.data as Float32Array),
      });
    const [legacy, corrected] = [await run('legacy'), await run('corrected')];
    const first = (r: typeof legacy, i: number) => r.params[i].data[0];
    const expectedFirst = (tensors.get(`${order[0]}.params_after_step`)!.data as Float32Array)[0];
    expect(Math.abs(first(legacy, 0) - expectedFirst)).toBeLessThan(1e-6);
    // conv_w is never decayed by the reference (bug 1); corrected mode decays it, by ~1e-2 over 20 steps.
    expect(Math.abs(first(corrected, 0) - expectedFirst)).toBeGreaterThan(1e-4);
    // The last parameter is decayed in both modes.
    expect(Array.from(corrected.lrs)).toEqual(Array.from(legacy.lrs));
  });

  test('a reference feature it does not implement fails the fixture with the reason', async () => {
    expect(() => configFromKwargs({ lr: 1e-3, use_madgrad: true })).toThrow('ranger21: use_madgrad=true is not implemented');
    expect(() => configFromKwargs({ lr: 1e-3, foo: 1 })).toThrow('ranger21: unknown constructor argument foo');
    expect(() => configFromKwargs({ lr: 1e-3, warmup_type: 'exponential' })).toThrow(
      'ranger21: warmup_type="exponential" is not implemented',
    );
    expect(
      configFromKwargs({ lr: 1e-3, num_epochs: 2, num_batches_per_epoch: 3, momentum: 0.9, use_madgrad: false, decay_type: 'other' }),
    ).toEqual({ mode: 'legacy', lr: 1e-3, numEpochs: 2, numBatchesPerEpoch: 3 });
    expect(configFromKwargs({ lr: 1e-3, warmup_type: null, num_warmup_iterations: null })).toEqual({
      mode: 'legacy',
      lr: 1e-3,
      useWarmup: false,
      numWarmupIterations: undefined,
    });
  });

  test('fails when the fixture disagrees', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ranger21-'));
    try {
      const json = JSON.parse(readFileSync(goldenFile('ranger21_recipe.json'), 'utf8'));
      json.constructor_kwargs.weight_decay = 0.5;
      json.derived.start_warm_down = 22;
      writeFileSync(join(dir, 'ranger21_recipe.json'), JSON.stringify(json));
      copyFileSync(goldenFile('ranger21_recipe.safetensors'), join(dir, 'ranger21_recipe.safetensors'));
      const failed = (await ranger21Parity.run(dir, 'ranger21_recipe', { device: 'cpu' })).filter((r) => !r.pass).map((r) => r.check);
      expect(failed).toEqual(['params_after_step', 'grad_after_step', 'derived_schedule']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('parity kind cce', () => {
  test('is registered and finds its fixture', () => {
    expect(parityKinds).toContain(cceParity);
    expect(cceParity.fixtures(['cce.json', 'cce.safetensors', 'ttach.json'])).toEqual(['cce']);
  });

  test('both variants and plain CE match float64, finite where the float32 reference NaNs', async () => {
    goldenFile('cce.json');
    const results = await cceParity.run(goldenDir, 'cce', { device: 'cpu' });
    expect(results.filter((r) => !r.pass)).toEqual([]);
    expect(results).toHaveLength(4 * (2 * 4 + 2));
    const nanCase = results.find((r) => r.check === 'k5_extreme.head.loss')!;
    expect(nanCase.detail).toBe('vs float64; the float32 reference is NaN here');
    expect(nanCase.maxError).toBeLessThan(1e-6);
    expect(results.find((r) => r.check === 'k2_extreme.head.finite')!.maxError).toBe(0);
  });

  test("reads a case's balancing_factor / gamma, so a fixture made with other factors is checked with them", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cce-'));
    try {
      const json = JSON.parse(readFileSync(goldenFile('cce.json'), 'utf8'));
      json.cases[1].balancing_factor = 2;
      json.cases[1].gamma = -0.5;
      writeFileSync(join(dir, 'cce.json'), JSON.stringify(json));
      const failed = (await cceParity.run(dir, 'cce', { device: 'cpu' })).filter((r) => !r.pass).map((r) => r.check);
      expect(failed).toEqual(['k5_b8.head.loss', 'k5_b8.head.grad', 'k5_b8.v2021.loss', 'k5_b8.v2021.grad']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('for 2 classes head-CCE is cross-entropy up to 1e-7', async () => {
    const logits = Float32Array.from([2.5, -1, 0.3, 0.4, -3, 4, 30, -30]);
    const cce = await classificationLoss(logits, [4, 2], [0, 1, 1, 0], { kind: 'cce' });
    const ce = await classificationLoss(logits, [4, 2], [0, 1, 1, 0], { kind: 'ce' });
    expect(Math.abs(cce.loss - ce.loss)).toBeLessThan(1e-7);
    expect(Math.abs(cce.complementTerm)).toBeLessThan(1e-7);
  });

  test('a margin of 200 stays finite in both variants and keeps its analytic value', async () => {
    // Row 0 [200, 0, 0] → class 0 (p_g = 1 in any float); row 1 [0, -200, 0] → class 0 (CE log 2).
    const logits = Float32Array.from([200, 0, 0, 0, -200, 0]);
    const meanCe = Math.log(2) / 2;
    // head: row 0's non-target pair is uniform, S = 2·0.5·log 0.5 → loss = CE − S/(2·3); v2021 scales row 0 by s/(s+1e-7) ≈ 0.
    const expected = { head: meanCe + Math.log(2) / 6, v2021: meanCe };
    for (const variant of ['head', 'v2021'] as const) {
      const out = await classificationLoss(logits, [2, 3], [0, 0], { variant });
      expect(Number.isFinite(out.loss)).toBe(true);
      expect(Array.from(out.grad.data).every(Number.isFinite)).toBe(true);
      expect(out.loss).toBeCloseTo(expected[variant], 5);
    }
  });

  test('label smoothing changes CE the documented way', async () => {
    const logits = Float32Array.from([1, 2, 3]);
    const plain = await classificationLoss(logits, [1, 3], [2], { kind: 'ce' });
    const smooth = await classificationLoss(logits, [1, 3], [2], { kind: 'ce', labelSmoothing: 0.3 });
    const logp = [1, 2, 3].map((x) => x - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)));
    expect(plain.loss).toBeCloseTo(-logp[2], 6);
    expect(smooth.loss).toBeCloseTo(-(0.7 * logp[2] + 0.1 * (logp[0] + logp[1] + logp[2])), 6);
  });
});
