/** The GPU benchmark's result format: analytic FLOPs, card peaks, the schema checks and the ours/timm pairing. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bf16PeakFlops,
  checkBenchReport,
  checkBenchResult,
  compareReports,
  eva02Flops,
  formatComparison,
  kBenchSchema,
  mfu,
  requireBenchReport,
  type BenchReport,
} from '../../../bench/gpu_results';

function report(kind: 'foldtorch' | 'timm', imgPerSec: number): BenchReport {
  return {
    schema: kBenchSchema,
    kind,
    date: '2026-11-27T00:00:00Z',
    dryRun: false,
    device: { name: 'NVIDIA H100 80GB HBM3', computeCapability: '9.0', totalMemoryBytes: 85e9 },
    versions: { torch: '2.11.0' },
    model: {
      name: 'eva02_base_patch14_448',
      imgSize: 448,
      numClasses: 2,
      parameters: 86e6,
      forwardFlopsPerImage: 2e11,
      trainFlopsPerImage: 6e11,
      timmKwargs: { img_size: 448 },
    },
    peak: { bf16Flops: 989e12, source: 'datasheet' },
    setup: { optimizer: 'Ranger21' },
    train: [
      { precision: 'bfloat16', batch: 17, batchKind: 'fixed', imgPerSec, stepMs: 50, peakMemoryBytes: 1e10, mfu: 0.3, lastLoss: 0.7 },
    ],
    largestBatch: [],
    inference: [{ precision: 'bfloat16', batch: 64, views: 8, imgPerSec: imgPerSec * 2, peakMemoryBytes: 1e9 }],
    notes: [],
  };
}

describe('gpu benchmark results', () => {
  test('EVA-02 base at 448: 213.8 GFLOP forward (timm: 107.1 GMACs), 3x for a train step', () => {
    const flops = eva02Flops({ imgSize: 448, patchSize: 14, embedDim: 768, depth: 12, mlpRatio: (4 * 2) / 3, numClasses: 2 });
    expect(flops.forward).toBe(213771131904);
    expect(flops.train).toBe(3 * 213771131904);
  });

  test('card peaks by name, and MFU against them', () => {
    expect(bf16PeakFlops('NVIDIA H100 80GB HBM3').bf16Flops).toBe(989e12);
    expect(bf16PeakFlops('NVIDIA H200').bf16Flops).toBe(989e12);
    expect(bf16PeakFlops('NVIDIA H100 PCIe').bf16Flops).toBe(756e12);
    expect(bf16PeakFlops('Tesla T4')).toEqual({ bf16Flops: null, source: 'unknown card "Tesla T4": no MFU' });
    expect(mfu(500, 6e11, 1e15)).toBeCloseTo(0.3, 12);
    expect(mfu(500, 6e11, null)).toBeNull();
  });

  test('a well-formed report passes; each broken field is named', () => {
    expect(checkBenchReport(report('foldtorch', 100))).toEqual([]);
    const broken = { ...report('foldtorch', 100), schema: 'other', dryRun: 'no', train: [{ precision: 'float64', batch: 17 }] };
    const problems = checkBenchReport(broken);
    expect(problems).toContain('report.schema: expected "foldtorch.gpu-bench/1", got "other"');
    expect(problems).toContain('report.dryRun: expected a boolean, got "no"');
    expect(problems).toContain('report.train[0].precision: expected bfloat16 or float16, got "float64"');
    expect(problems).toContain('report.train[0].imgPerSec: expected a finite number, got undefined');
    expect(() => requireBenchReport(null, 'x.json')).toThrow('x.json does not match foldtorch.gpu-bench/1:\n  x.json: expected an object');
  });

  test('pairing: ratios at the same precision, batch and views; a missing timm figure stays null', () => {
    const result = compareReports(report('foldtorch', 120), report('timm', 100));
    expect(result.comparison.map((r) => [r.what, r.batch, r.views, r.ratio])).toEqual([
      ['train', 17, null, 1.2],
      ['inference', 64, 8, 1.2],
    ]);
    expect(checkBenchResult(result)).toEqual([]);
    expect(formatComparison(result).split('\n')[2]).toBe('train      bfloat16      17      -     120.0     100.0   1.20  30.0%/30.0%');
    const alone = compareReports(report('foldtorch', 120), null);
    expect(alone.comparison[0].timmImgPerSec).toBeNull();
    expect(alone.notes).toEqual(['no timm report: ratios left out']);
    const other = { ...report('timm', 100), model: { ...report('timm', 100).model, parameters: 1 } };
    expect(compareReports(report('foldtorch', 120), other).notes[0]).toBe(
      'parameter counts differ: ours 86000000, timm 1 (not the same architecture?)',
    );
    expect(checkBenchResult({ ...result, schema: 'x' })).toEqual(['result.schema: expected "foldtorch.gpu-bench-result/1", got "x"']);
  });

  test('every committed GPU run in bench/results/ matches the format and is a real run on a GPU', () => {
    const dir = join(__dirname, '../../../bench/results');
    const files = readdirSync(dir).filter((name) => name.endsWith('.json'));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const result = JSON.parse(readFileSync(join(dir, name), 'utf8'));
      expect([name, checkBenchResult(result, name)]).toEqual([name, []]);
      expect([name, result.ours.dryRun, result.device.name.startsWith('NVIDIA')]).toEqual([name, false, true]);
    }
    // The run the README quotes: Ranger21 stepping same-shape parameters together.
    const h200 = JSON.parse(readFileSync(join(dir, '2026-11-27-h200.json'), 'utf8'));
    const row = h200.comparison.find(
      (r: { what: string; precision: string; batch: number }) => r.what === 'train' && r.precision === 'bfloat16' && r.batch === 17,
    );
    expect(row.oursImgPerSec).toBeCloseTo(202.9, 1);
    expect(row.timmImgPerSec).toBeCloseTo(233.1, 1);
  });
});
