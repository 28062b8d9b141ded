/**
 * The GPU benchmark's result format (bench/results/README.md describes it): the record types, a schema check
 * used on every file the benchmark reads or writes, analytic EVA-02 FLOPs, card peaks, and the ours/timm merge.
 */

export const kBenchSchema = 'foldtorch.gpu-bench/1';
export const kResultSchema = 'foldtorch.gpu-bench-result/1';

export type BenchPrecision = 'bfloat16' | 'float16';

export interface DeviceRecord {
  /** "NVIDIA H100 80GB HBM3", or "cpu" in a dry run. */
  name: string;
  computeCapability: string | null;
  totalMemoryBytes: number | null;
}

export interface TrainRecord {
  precision: BenchPrecision;
  batch: number;
  /** "fixed" = the recipe's batch 17; "largest" = the largest batch that fit in memory. */
  batchKind: 'fixed' | 'largest';
  imgPerSec: number;
  stepMs: number;
  peakMemoryBytes: number;
  /** Model FLOPs utilisation against the card's dense bf16 peak (null when the peak is unknown, e.g. CPU). */
  mfu: number | null;
  lastLoss: number;
}

export interface InferenceRecord {
  precision: BenchPrecision;
  batch: number;
  /** 1 = plain forward; 8 = the deduplicated hflip,vflip,rot90 TTA plan. */
  views: number;
  /** Input images per second (each image costs `views` forward passes). */
  imgPerSec: number;
  peakMemoryBytes: number;
}

export interface LargestBatchRecord {
  precision: BenchPrecision;
  batch: number;
  /** "memory": the next probe ran out of memory; "cap": the search stopped at its upper bound; "time". */
  limitedBy: 'memory' | 'cap' | 'time';
  probes: { batch: number; fits: boolean }[];
}

/** What each side (ours: kind "foldtorch", Python: kind "timm") writes. */
export interface BenchReport {
  schema: typeof kBenchSchema;
  kind: 'foldtorch' | 'timm';
  date: string;
  dryRun: boolean;
  device: DeviceRecord;
  versions: Record<string, string | null>;
  model: {
    name: string;
    imgSize: number;
    numClasses: number;
    parameters: number;
    forwardFlopsPerImage: number;
    trainFlopsPerImage: number;
    /** timm.create_model keyword arguments that build the same architecture (img_size; the dry run's overrides). */
    timmKwargs: Record<string, number>;
  };
  /** The card's dense bf16 peak in FLOP/s used for MFU, and where the figure comes from. */
  peak: { bf16Flops: number | null; source: string };
  setup: Record<string, string | number | boolean>;
  train: TrainRecord[];
  largestBatch: LargestBatchRecord[];
  inference: InferenceRecord[];
  notes: string[];
}

export interface ComparisonRow {
  what: 'train' | 'inference';
  precision: BenchPrecision;
  batch: number;
  views: number | null;
  oursImgPerSec: number;
  timmImgPerSec: number | null;
  /** ours / timm (null when timm has no figure, e.g. out of memory at our batch). */
  ratio: number | null;
  oursMfu: number | null;
  timmMfu: number | null;
}

/** The committed file: both reports and the comparison. */
export interface BenchResult {
  schema: typeof kResultSchema;
  date: string;
  device: DeviceRecord;
  ours: BenchReport;
  timm: BenchReport | null;
  comparison: ComparisonRow[];
  /** Mismatches found while pairing the reports (architecture, device). */
  notes: string[];
}

/**
 * Analytic FLOPs of an EVA-02 (timm's Eva with separate q/k/v, SwiGLU MLP, one class token) per image; a
 * multiply-add counts 2, norms and RoPE are left out. Training counts 3× the forward (backward = 2×).
 */
export function eva02Flops(args: {
  imgSize: number;
  patchSize: number;
  embedDim: number;
  depth: number;
  mlpRatio: number;
  numClasses: number;
}): { forward: number; train: number } {
  const { imgSize, patchSize: p, embedDim: d, depth, mlpRatio, numClasses } = args;
  const patches = (imgSize / p) ** 2;
  const n = patches + 1;
  const hidden = Math.floor(d * mlpRatio);
  const patchEmbed = 2 * 3 * p * p * d * patches;
  const block = 8 * n * d * d + 4 * n * n * d + 6 * n * d * hidden;
  const forward = patchEmbed + depth * block + 2 * d * numClasses;
  return { forward, train: 3 * forward };
}

/** Dense bf16 tensor-core peak by card name (vendor datasheets; sparsity excluded). */
export function bf16PeakFlops(name: string): { bf16Flops: number | null; source: string } {
  if (/H100.*PCIe/i.test(name)) return { bf16Flops: 756e12, source: 'H100 PCIe datasheet, dense bf16' };
  if (/H100|H200|GH200/i.test(name)) return { bf16Flops: 989e12, source: 'H100/H200 SXM datasheet, dense bf16' };
  if (/A100/i.test(name)) return { bf16Flops: 312e12, source: 'A100 datasheet, dense bf16' };
  return { bf16Flops: null, source: `unknown card "${name}": no MFU` };
}

export function mfu(imgPerSec: number, flopsPerImage: number, peak: number | null): number | null {
  return peak ? (imgPerSec * flopsPerImage) / peak : null;
}

type Check = (value: unknown, where: string, problems: string[]) => void;

const isNumber: Check = (v, where, problems) => {
  if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${where}: expected a finite number, got ${JSON.stringify(v)}`);
};
const isNullableNumber: Check = (v, where, problems) => {
  if (v !== null) isNumber(v, where, problems);
};
const isString: Check = (v, where, problems) => {
  if (typeof v !== 'string' || v.length === 0) problems.push(`${where}: expected a non-empty string, got ${JSON.stringify(v)}`);
};
const isBoolean: Check = (v, where, problems) => {
  if (typeof v !== 'boolean') problems.push(`${where}: expected a boolean, got ${JSON.stringify(v)}`);
};
const isPrecision: Check = (v, where, problems) => {
  if (v !== 'bfloat16' && v !== 'float16') problems.push(`${where}: expected bfloat16 or float16, got ${JSON.stringify(v)}`);
};

function fields(value: unknown, where: string, problems: string[], spec: Record<string, Check>): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: expected an object`);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const [key, check] of Object.entries(spec)) check(record[key], `${where}.${key}`, problems);
}

function list(spec: Record<string, Check>): Check {
  return (v, where, problems) => {
    if (!Array.isArray(v)) {
      problems.push(`${where}: expected an array`);
      return;
    }
    v.forEach((item, i) => fields(item, `${where}[${i}]`, problems, spec));
  };
}

const deviceSpec: Record<string, Check> = {
  name: isString,
  computeCapability: (v, w, p) => v === null || isString(v, w, p),
  totalMemoryBytes: isNullableNumber,
};

/** Problems with a report written by either side (empty when it matches the format). */
export function checkBenchReport(value: unknown, where = 'report'): string[] {
  const problems: string[] = [];
  fields(value, where, problems, {
    schema: (v, w, p) => v !== kBenchSchema && p.push(`${w}: expected "${kBenchSchema}", got ${JSON.stringify(v)}`),
    kind: (v, w, p) => v !== 'foldtorch' && v !== 'timm' && p.push(`${w}: expected "foldtorch" or "timm", got ${JSON.stringify(v)}`),
    date: isString,
    dryRun: isBoolean,
    device: (v, w, p) => fields(v, w, p, deviceSpec),
    versions: (v, w, p) => fields(v, w, p, {}),
    model: (v, w, p) =>
      fields(v, w, p, {
        name: isString,
        imgSize: isNumber,
        numClasses: isNumber,
        parameters: isNumber,
        forwardFlopsPerImage: isNumber,
        trainFlopsPerImage: isNumber,
        timmKwargs: (k, kw, kp) => fields(k, kw, kp, {}),
      }),
    peak: (v, w, p) => fields(v, w, p, { bf16Flops: isNullableNumber, source: isString }),
    setup: (v, w, p) => fields(v, w, p, {}),
    train: list({
      precision: isPrecision,
      batch: isNumber,
      imgPerSec: isNumber,
      stepMs: isNumber,
      peakMemoryBytes: isNumber,
      mfu: isNullableNumber,
      lastLoss: isNumber,
      batchKind: (v, w, p) => v !== 'fixed' && v !== 'largest' && p.push(`${w}: expected fixed or largest`),
    }),
    largestBatch: list({
      precision: isPrecision,
      batch: isNumber,
      limitedBy: isString,
      probes: list({ batch: isNumber, fits: isBoolean }),
    }),
    inference: list({ precision: isPrecision, batch: isNumber, views: isNumber, imgPerSec: isNumber, peakMemoryBytes: isNumber }),
    notes: (v, w, p) => (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) && p.push(`${w}: expected an array of strings`),
  });
  return problems;
}

/** Throws with every problem listed; returns the value typed. */
export function requireBenchReport(value: unknown, where: string): BenchReport {
  const problems = checkBenchReport(value, where);
  if (problems.length > 0) throw new Error(`${where} does not match ${kBenchSchema}:\n  ${problems.join('\n  ')}`);
  return value as BenchReport;
}

/** Problems with a committed result file (both reports are checked too). */
export function checkBenchResult(value: unknown, where = 'result'): string[] {
  const problems: string[] = [];
  fields(value, where, problems, {
    schema: (v, w, p) => v !== kResultSchema && p.push(`${w}: expected "${kResultSchema}", got ${JSON.stringify(v)}`),
    date: isString,
    device: (v, w, p) => fields(v, w, p, deviceSpec),
    ours: (v, w, p) => p.push(...checkBenchReport(v, w)),
    timm: (v, w, p) => v !== null && p.push(...checkBenchReport(v, w)),
    comparison: list({
      what: isString,
      precision: isPrecision,
      batch: isNumber,
      oursImgPerSec: isNumber,
      timmImgPerSec: isNullableNumber,
      ratio: isNullableNumber,
      oursMfu: isNullableNumber,
      timmMfu: isNullableNumber,
    }),
    notes: (v, w, p) => (!Array.isArray(v) || v.some((n) => typeof n !== 'string')) && p.push(`${w}: expected an array of strings`),
  });
  return problems;
}

/** Pairs each of our figures with timm's at the same precision, batch and views. */
export function compareReports(ours: BenchReport, timm: BenchReport | null): BenchResult {
  const rows: ComparisonRow[] = [];
  for (const t of ours.train) {
    const other = timm?.train.find((x) => x.precision === t.precision && x.batch === t.batch);
    rows.push({
      what: 'train',
      precision: t.precision,
      batch: t.batch,
      views: null,
      oursImgPerSec: t.imgPerSec,
      timmImgPerSec: other?.imgPerSec ?? null,
      ratio: other ? t.imgPerSec / other.imgPerSec : null,
      oursMfu: t.mfu,
      timmMfu: other?.mfu ?? null,
    });
  }
  for (const r of ours.inference) {
    const other = timm?.inference.find((x) => x.precision === r.precision && x.batch === r.batch && x.views === r.views);
    rows.push({
      what: 'inference',
      precision: r.precision,
      batch: r.batch,
      views: r.views,
      oursImgPerSec: r.imgPerSec,
      timmImgPerSec: other?.imgPerSec ?? null,
      ratio: other ? r.imgPerSec / other.imgPerSec : null,
      oursMfu: null,
      timmMfu: null,
    });
  }
  const notes: string[] = [];
  if (timm && timm.model.parameters !== ours.model.parameters) {
    notes.push(`parameter counts differ: ours ${ours.model.parameters}, timm ${timm.model.parameters} (not the same architecture?)`);
  }
  if (timm && timm.device.name !== ours.device.name) notes.push(`devices differ: ours ${ours.device.name}, timm ${timm.device.name}`);
  if (!timm) notes.push('no timm report: ratios left out');
  return { schema: kResultSchema, date: ours.date, device: ours.device, ours, timm, comparison: rows, notes };
}

/** A short fixed-width table of the comparison, for the log's last lines. */
export function formatComparison(result: BenchResult): string {
  const f = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
  const lines = [
    `${result.device.name}: ours vs timm (img/s)`,
    'what       precision  batch  views      ours      timm  ratio  MFU ours/timm',
  ];
  for (const r of result.comparison) {
    lines.push(
      `${r.what.padEnd(10)} ${r.precision.padEnd(9)} ${String(r.batch).padStart(6)} ${String(r.views ?? '-').padStart(6)} ` +
        `${f(r.oursImgPerSec).padStart(9)} ${f(r.timmImgPerSec).padStart(9)} ${f(r.ratio, 2).padStart(6)}  ` +
        `${r.oursMfu === null ? '-' : `${(r.oursMfu * 100).toFixed(1)}%`}/${r.timmMfu === null ? '-' : `${(r.timmMfu * 100).toFixed(1)}%`}`,
    );
  }
  return [...lines, ...result.notes.map((note) => `note: ${note}`)].join('\n');
}
