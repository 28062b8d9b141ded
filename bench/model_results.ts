/** The model benchmark's pure half: the benchmarked models as data, the configurations they expand to, step statistics and the table. */

export const kBenchModels = ['eva02', 'efficientnet'] as const;
export type BenchModel = (typeof kBenchModels)[number];
export const kBenchModelChoices = [...kBenchModels, 'all'] as const;
export type BenchModelChoice = (typeof kBenchModelChoices)[number];

export const kBenchLayouts = ['nchw', 'channels-last'] as const;
export type BenchLayout = (typeof kBenchLayouts)[number];

export type BenchMode = 'forward' | 'train';
export type BenchPrecision = 'float32' | 'bfloat16';
/** timm as installed, and timm given the process settings the addon applies at load (bench/model.ts). */
export const kImplementations = ['foldtorch', 'timm', 'timm+tuned'] as const;
export type Implementation = (typeof kImplementations)[number];

export interface ModelSpec {
  /** The registry's name, which is timm's too. */
  model: string;
  imgSizes: number[];
  /** The sizes of a --quick run. */
  quickImgSizes: number[];
  batch: number;
  /** The create_model keyword timm sizes the model by (a ViT's position embedding), or null where any input size runs. */
  timmSizeKwarg: string | null;
  /** The memory layouts measured in every implementation; one where the layout cannot matter (EVA-02's one conv). */
  layouts: BenchLayout[];
}

export const kModelSpecs: Record<BenchModel, ModelSpec> = {
  eva02: {
    model: 'eva02_tiny_patch14_224',
    imgSizes: [112, 224],
    quickImgSizes: [112],
    batch: 17,
    timmSizeKwarg: 'img_size',
    layouts: ['nchw'],
  },
  // Depthwise convolutions are slow on CPU in NCHW; whether oneDNN's channels-last path wins is what the layouts show.
  efficientnet: {
    model: 'tf_efficientnet_lite0',
    imgSizes: [128, 224],
    quickImgSizes: [128],
    batch: 17,
    timmSizeKwarg: null,
    layouts: ['nchw', 'channels-last'],
  },
};

export interface BenchConfig {
  model: string;
  imgSize: number;
  batch: number;
  mode: BenchMode;
  precision: BenchPrecision;
  warmup: number;
  iterations: number;
  threads: number;
  /** Keyword arguments of timm.create_model beyond num_classes. */
  timmKwargs: Record<string, number>;
}

/** One column of a configuration's row: an implementation in one memory layout. */
export interface BenchVariant {
  implementation: Implementation;
  layout: BenchLayout;
}

export interface BenchRow extends BenchConfig, BenchVariant {
  /** Every timed step, in wall seconds, and the process CPU seconds (all threads) it used. */
  steps: number[];
  cpuSteps: number[];
  /** Images per second of the fastest step over all rounds (other processes on a shared VM only slow steps down). */
  imgPerSec: number;
  /** Images per second of the median step. */
  imgPerSecMedian: number;
  bestSeconds: number;
  medianSeconds: number;
  /**
   * Images per CPU-second (median step): on a VM shared with other busy processes this moves far less than wall
   * time, so it is the steadier comparison between implementations with the same thread count.
   */
  imgPerCpuSecond: number;
  /** The largest peak RSS of the rounds' processes. */
  peakRssMiB: number;
  error?: string;
}

/** What a run may narrow or override; every model's own sizes and batch otherwise. */
export interface BenchSelection {
  models?: BenchModel[];
  /** One size per model, one round, 1 warm-up step and 2 timed ones. */
  quick?: boolean;
  imgSizes?: number[];
  /** Default: float32, and bfloat16 where the CPU computes it natively. */
  precisions?: BenchPrecision[];
  modes?: BenchMode[];
  batch?: number;
  warmup?: number;
  iterations?: number;
}

export interface BenchPlanOptions extends BenchSelection {
  /** Whether the CPU computes bf16 natively (doctor().bf16.cpu), and doctor's word for it. */
  bf16Native: boolean;
  bf16Detail: string;
  threads: number;
}

export interface BenchPlanItem {
  config: BenchConfig;
  variants: BenchVariant[];
}

export interface BenchPlan {
  items: BenchPlanItem[];
  /** Lines for the reader: what was left out and why. */
  notes: string[];
}

/** The implementations in column order, each in every layout the model is measured in. */
export function variantsOf(spec: ModelSpec): BenchVariant[] {
  return kImplementations.flatMap((implementation) => spec.layouts.map((layout) => ({ implementation, layout })));
}

export function specOf(model: string): ModelSpec {
  const spec = Object.values(kModelSpecs).find((s) => s.model === model);
  if (!spec)
    throw new RangeError(
      `Expected one of ${Object.values(kModelSpecs)
        .map((s) => s.model)
        .join(', ')} for model but received ${model}`,
    );
  return spec;
}

/** Every configuration to run, model by model; bfloat16 only where the CPU has it natively unless asked for. */
export function planModelBench(options: BenchPlanOptions): BenchPlan {
  const notes: string[] = [];
  let precisions = options.precisions;
  if (!precisions) {
    precisions = options.bf16Native ? ['float32', 'bfloat16'] : ['float32'];
    // Emulated bf16 runs fp32 compute plus conversions: slow, and a measure of the emulation rather than the models.
    if (!options.bf16Native) notes.push(`bfloat16 skipped: this CPU has no native bf16 (doctor: ${options.bf16Detail})`);
  }
  const items: BenchPlanItem[] = [];
  for (const name of options.models ?? kBenchModels) {
    const spec = kModelSpecs[name];
    for (const imgSize of options.imgSizes ?? (options.quick ? spec.quickImgSizes : spec.imgSizes)) {
      for (const precision of precisions) {
        for (const mode of options.modes ?? (['forward', 'train'] as BenchMode[])) {
          const config: BenchConfig = {
            model: spec.model,
            imgSize,
            batch: options.batch ?? spec.batch,
            mode,
            precision,
            warmup: options.warmup ?? (options.quick ? 1 : 2),
            iterations: options.iterations ?? (options.quick ? 2 : mode === 'train' ? 4 : 6),
            threads: options.threads,
            timmKwargs: spec.timmSizeKwarg ? { [spec.timmSizeKwarg]: imgSize } : {},
          };
          items.push({ config, variants: variantsOf(spec) });
        }
      }
    }
  }
  return { items, notes };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface StepTimes {
  seconds: number[];
  cpuSeconds: number[];
}

export const kNoTimes: StepTimes = { seconds: [], cpuSeconds: [] };

export function benchRow(config: BenchConfig, variant: BenchVariant, times: StepTimes, peakRssBytes: number, error?: string): BenchRow {
  const { seconds, cpuSeconds } = times;
  const medianSeconds = seconds.length ? median(seconds) : NaN;
  const bestSeconds = seconds.length ? Math.min(...seconds) : NaN;
  return {
    ...config,
    implementation: variant.implementation,
    layout: variant.layout,
    steps: seconds,
    cpuSteps: cpuSeconds,
    bestSeconds,
    medianSeconds,
    imgPerSec: config.batch / bestSeconds,
    imgPerSecMedian: config.batch / medianSeconds,
    imgPerCpuSecond: config.batch / (cpuSeconds.length ? median(cpuSeconds) : NaN),
    peakRssMiB: peakRssBytes / 2 ** 20,
    error,
  };
}

/** Rounds of one variant merged: all step times, the largest peak RSS, the first error if none ran. */
export function mergeRounds(rounds: BenchRow[]): BenchRow {
  const ok = rounds.filter((r) => !r.error);
  if (ok.length === 0) return rounds[0];
  const times = { seconds: ok.flatMap((r) => r.steps), cpuSeconds: ok.flatMap((r) => r.cpuSteps) };
  return benchRow(ok[0], ok[0], times, Math.max(...ok.map((r) => r.peakRssMiB)) * 2 ** 20);
}

const kLayoutTags: Record<BenchLayout, string> = { nchw: 'NCHW', 'channels-last': 'CL' };

/** A column's name; the layout is named only where the model is measured in more than one. */
export function variantLabel(variant: BenchVariant, layouts: readonly BenchLayout[]): string {
  return layouts.length > 1 ? `${variant.implementation} ${kLayoutTags[variant.layout]}` : variant.implementation;
}

/** foldtorch ÷ timm pairs: each foldtorch layout against each timm implementation in the same layout. */
function ratioPairs(variants: BenchVariant[]): [BenchVariant, BenchVariant][] {
  const ours = variants.filter((v) => v.implementation === 'foldtorch');
  return ours.flatMap((o) =>
    variants.filter((v) => v.implementation !== 'foldtorch' && v.layout === o.layout).map((t): [BenchVariant, BenchVariant] => [o, t]),
  );
}

function cell(r: BenchRow): string {
  return r.error
    ? `n/a (${r.error})`
    : `${r.imgPerSec.toFixed(1)}/${r.imgPerSecMedian.toFixed(1)}, ${r.imgPerCpuSecond.toFixed(1)}, ${r.peakRssMiB.toFixed(0)}`;
}

function ratio(ours: BenchRow, other: BenchRow): string {
  if (ours.error || other.error) return 'n/a';
  return `${(ours.imgPerSec / other.imgPerSec).toFixed(2)}x; ${(ours.imgPerCpuSecond / other.imgPerCpuSecond).toFixed(2)}x`;
}

/** The column with the most best-step img/s, or n/a where none ran. */
function fastest(rows: BenchRow[], layouts: readonly BenchLayout[]): string {
  const ran = rows.filter((r) => !r.error && Number.isFinite(r.imgPerSec));
  if (ran.length === 0) return 'n/a';
  return variantLabel(
    ran.reduce((best, r) => (r.imgPerSec > best.imgPerSec ? r : best)),
    layouts,
  );
}

const sameConfig = (a: BenchConfig, b: BenchConfig) =>
  a.model === b.model && a.imgSize === b.imgSize && a.precision === b.precision && a.mode === b.mode;

/** Consecutive rows of one configuration (its variants, in column order). */
function groupRows(rows: BenchRow[]): BenchRow[][] {
  const groups: BenchRow[][] = [];
  for (const r of rows) {
    const last = groups[groups.length - 1];
    if (last && sameConfig(last[0], r)) last.push(r);
    else groups.push([r]);
  }
  return groups;
}

/** A plain-text table per model with the foldtorch ÷ timm ratios and the fastest column. */
export function formatModelBench(rows: BenchRow[]): string {
  const lines = [
    'cells: img/s best step / median step, img per CPU-second, peak RSS MiB; ratios: foldtorch ÷ timm (best-step img/s; img per CPU-s)',
  ];
  let model = '';
  for (const group of groupRows(rows)) {
    const first = group[0];
    const { layouts } = specOf(first.model);
    const pairs = ratioPairs(group);
    const find = (v: BenchVariant) => group.find((r) => r.implementation === v.implementation && r.layout === v.layout) as BenchRow;
    if (first.model !== model) {
      model = first.model;
      const pairLabel = ([o, t]: [BenchVariant, BenchVariant]) =>
        layouts.length > 1 ? `${kLayoutTags[o.layout]} vs ${t.implementation}` : `vs ${t.implementation}`;
      lines.push(
        '',
        `${model}: batch ${first.batch}, ${first.threads} threads`,
        ['px precision mode', ...group.map((r) => variantLabel(r, layouts)), ...pairs.map(pairLabel), 'fastest'].join(' | '),
      );
    }
    lines.push(
      [
        `${first.imgSize} ${first.precision} ${first.mode}`,
        ...group.map(cell),
        ...pairs.map(([o, t]) => ratio(find(o), find(t))),
        fastest(group, layouts),
      ].join(' | '),
    );
  }
  return lines.join('\n');
}
