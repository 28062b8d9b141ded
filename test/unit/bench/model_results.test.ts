/** The model benchmark's plan (models as data, the bf16 rule), its step statistics and its table. */
import {
  benchRow,
  formatModelBench,
  kNoTimes,
  mergeRounds,
  planModelBench,
  specOf,
  variantLabel,
  variantsOf,
  type BenchConfig,
  type BenchPlanOptions,
  type BenchRow,
  type BenchVariant,
  type Implementation,
  type BenchLayout,
} from '../../../bench/model_results';

const kNative: BenchPlanOptions = { bf16Native: true, bf16Detail: 'avx512_bf16/amx', threads: 2 };

function rowsFor(config: BenchConfig, imgPerSecond: Partial<Record<string, number>>): BenchRow[] {
  return variantsOf(specOf(config.model)).map((v) => {
    const perSecond = imgPerSecond[`${v.implementation} ${v.layout}`];
    return perSecond === undefined
      ? benchRow(config, v, kNoTimes, NaN, 'no Python at /x')
      : benchRow(config, v, { seconds: [config.batch / perSecond], cpuSeconds: [config.batch / perSecond] }, 512 * 2 ** 20);
  });
}

describe('model bench plan', () => {
  test('--quick --model efficientnet: 128 px, float32 and bf16, forward and train, six variants each', () => {
    const { items, notes } = planModelBench({ ...kNative, models: ['efficientnet'], quick: true });
    expect(notes).toEqual([]);
    expect(items.map((i) => `${i.config.imgSize} ${i.config.precision} ${i.config.mode}`)).toEqual([
      '128 float32 forward',
      '128 float32 train',
      '128 bfloat16 forward',
      '128 bfloat16 train',
    ]);
    expect(items[0].config).toMatchObject({
      model: 'tf_efficientnet_lite0',
      batch: 17,
      warmup: 1,
      iterations: 2,
      threads: 2,
      timmKwargs: {},
    });
    expect(items[0].variants.map((v) => variantLabel(v, ['nchw', 'channels-last']))).toEqual([
      'foldtorch NCHW',
      'foldtorch CL',
      'timm NCHW',
      'timm CL',
      'timm+tuned NCHW',
      'timm+tuned CL',
    ]);
  });

  test("the full plan: both models at both sizes; EVA-02 in NCHW only, sized by timm's img_size", () => {
    const { items } = planModelBench(kNative);
    const sizes = (model: string) => [...new Set(items.filter((i) => i.config.model === model).map((i) => i.config.imgSize))];
    expect(sizes('eva02_tiny_patch14_224')).toEqual([112, 224]);
    expect(sizes('tf_efficientnet_lite0')).toEqual([128, 224]);
    const eva = items.find((i) => i.config.model === 'eva02_tiny_patch14_224' && i.config.imgSize === 224 && i.config.mode === 'train');
    expect(eva?.config).toMatchObject({ timmKwargs: { img_size: 224 }, warmup: 2, iterations: 4 });
    expect(eva?.variants).toEqual([
      { implementation: 'foldtorch', layout: 'nchw' },
      { implementation: 'timm', layout: 'nchw' },
      { implementation: 'timm+tuned', layout: 'nchw' },
    ]);
    expect(items).toHaveLength(2 * 2 * 2 * 2);
  });

  test('without native bf16 only float32 runs, and a note says why', () => {
    const { items, notes } = planModelBench({ bf16Native: false, bf16Detail: 'emulated (fp32 compute)', threads: 2, quick: true });
    expect(new Set(items.map((i) => i.config.precision))).toEqual(new Set(['float32']));
    expect(notes).toEqual(['bfloat16 skipped: this CPU has no native bf16 (doctor: emulated (fp32 compute))']);
  });

  test('precisions asked for run as asked', () => {
    const { items, notes } = planModelBench({
      bf16Native: false,
      bf16Detail: 'emulated',
      threads: 1,
      precisions: ['bfloat16'],
      models: ['eva02'],
    });
    expect(new Set(items.map((i) => i.config.precision))).toEqual(new Set(['bfloat16']));
    expect(notes).toEqual([]);
  });

  test('an unknown model is refused by name', () => {
    expect(() => specOf('resnet50')).toThrow(
      new RangeError('Expected one of eva02_tiny_patch14_224, tf_efficientnet_lite0 for model but received resnet50'),
    );
  });
});

describe('model bench rows', () => {
  const config = planModelBench({ ...kNative, models: ['efficientnet'], quick: true }).items[0].config;
  const variant: BenchVariant = { implementation: 'timm' as Implementation, layout: 'channels-last' as BenchLayout };

  test('best and median steps, images per CPU-second, MiB', () => {
    const r = benchRow(config, variant, { seconds: [0.5, 0.25, 1], cpuSeconds: [1, 0.5, 2] }, 256 * 2 ** 20);
    expect(r).toMatchObject({
      bestSeconds: 0.25,
      medianSeconds: 0.5,
      imgPerSec: 68,
      imgPerSecMedian: 34,
      imgPerCpuSecond: 17,
      peakRssMiB: 256,
      layout: 'channels-last',
    });
  });

  test('rounds merge their steps and keep the largest RSS; failed rounds drop out, and all failing keeps the error', () => {
    const a = benchRow(config, variant, { seconds: [1], cpuSeconds: [1] }, 100 * 2 ** 20);
    const b = benchRow(config, variant, { seconds: [0.5], cpuSeconds: [0.5] }, 200 * 2 ** 20);
    const failed = benchRow(config, variant, kNoTimes, NaN, 'boom');
    expect(mergeRounds([a, failed, b])).toMatchObject({ steps: [1, 0.5], bestSeconds: 0.5, peakRssMiB: 200, error: undefined });
    expect(mergeRounds([failed, failed]).error).toBe('boom');
  });
});

describe('model bench table', () => {
  const plan = planModelBench({ ...kNative, quick: true, precisions: ['float32'], modes: ['train'] });
  const [eva, efficientnet] = plan.items.map((i) => i.config);

  test('EfficientNet: a column per implementation and layout, ratios within a layout, the fastest named', () => {
    const rows = rowsFor(efficientnet, {
      'foldtorch nchw': 17,
      'foldtorch channels-last': 34,
      'timm nchw': 8.5,
      'timm channels-last': 17,
      'timm+tuned nchw': 17,
      'timm+tuned channels-last': 68,
    });
    const lines = formatModelBench(rows).split('\n');
    expect(lines).toContain('tf_efficientnet_lite0: batch 17, 2 threads');
    expect(lines).toContain(
      'px precision mode | foldtorch NCHW | foldtorch CL | timm NCHW | timm CL | timm+tuned NCHW | timm+tuned CL | ' +
        'NCHW vs timm | NCHW vs timm+tuned | CL vs timm | CL vs timm+tuned | fastest',
    );
    expect(lines).toContain(
      '128 float32 train | 17.0/17.0, 17.0, 512 | 34.0/34.0, 34.0, 512 | 8.5/8.5, 8.5, 512 | 17.0/17.0, 17.0, 512 | ' +
        '17.0/17.0, 17.0, 512 | 68.0/68.0, 68.0, 512 | 2.00x; 2.00x | 1.00x; 1.00x | 2.00x; 2.00x | 0.50x; 0.50x | timm+tuned CL',
    );
  });

  test('EVA-02 keeps the one-layout columns; a variant that did not run shows why', () => {
    const text = formatModelBench([...rowsFor(eva, { 'foldtorch nchw': 34 }), ...rowsFor(efficientnet, {})]);
    const lines = text.split('\n');
    expect(lines).toContain('px precision mode | foldtorch | timm | timm+tuned | vs timm | vs timm+tuned | fastest');
    expect(lines).toContain(
      '112 float32 train | 34.0/34.0, 34.0, 512 | n/a (no Python at /x) | n/a (no Python at /x) | n/a | n/a | foldtorch',
    );
    expect(lines[lines.length - 1]).toMatch(/^128 float32 train \| n\/a \(no Python at \/x\) .* \| n\/a$/);
  });
});
