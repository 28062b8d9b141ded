/** The eva02 and convnext parity kinds on the golden fixtures, and that they catch wrong numbers. */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createModel } from '../../src/native/model';
import { convnextKind } from '../../src/parity/convnext';
import { efficientnetKind } from '../../src/parity/efficientnet';
import { eva02Kind } from '../../src/parity/eva02';
import type { ParityKind, ParityResult } from '../../src/parity/kind';
import { parityKinds } from '../../src/parity/kinds';
import { createOptionsFromKwargs, readmeTolerance } from '../../src/parity/model_common';

const golden = process.env.FOLDTORCH_GOLDEN ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'golden');
const device = { device: 'cpu' };

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(path.join(tmpdir(), 'foldtorch-parity-'));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function describeFailures(results: ParityResult[]): string[] {
  return results.filter((r) => !r.pass).map((r) => `${r.fixture} ${r.check}: ${r.maxError} > ${r.tolerance} ${r.detail ?? ''}`);
}

/** Copies a fixture's files to a fresh folder, replacing the bytes of tensor `target` in `file` with `source`'s. */
function tamperedCopy(
  stem: string,
  file: string,
  target: string,
  source: (header: Record<string, { data_offsets: number[] }>, bytes: Buffer) => Buffer,
): string {
  const dir = mkdtempSync(path.join(scratch, 'case-'));
  for (const name of readdirSync(golden).filter((f) => f.startsWith(`${stem}.`) || f === 'README.md'))
    copyFileSync(path.join(golden, name), path.join(dir, name));
  const bytes = readFileSync(path.join(golden, file));
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8'));
  const [begin, end] = header[target].data_offsets;
  source(header, bytes).copy(bytes, 8 + headerLength + begin, 0, end - begin);
  writeFileSync(path.join(dir, file), bytes);
  return dir;
}

test('the model kinds are registered', () => {
  expect(parityKinds.map((k) => k.name)).toEqual(expect.arrayContaining(['eva02', 'convnext', 'efficientnet']));
});

test.each([
  [
    'eva02',
    eva02Kind,
    [
      'eva02_base_family_resample_down',
      'eva02_base_family_resample_up',
      'eva02_base_family_tiny',
      'eva02_small_family_tiny',
      'eva02_timm_registry',
    ],
  ],
  ['convnext', convnextKind, ['convnext_atto_family_small', 'convnext_timm_registry', 'convnext_tiny_family_small']],
  ['efficientnet', efficientnetKind, ['efficientnet_lite0_imagenet', 'efficientnet_lite0_random', 'efficientnet_timm_registry']],
])('%s recognises its golden fixtures by name', (_name, kind: ParityKind, stems: string[]) => {
  expect(kind.fixtures(readdirSync(golden))).toEqual(stems);
});

describe.each([eva02Kind, convnextKind, efficientnetKind])('$name on the golden fixtures', (kind) => {
  test.each(kind.fixtures(readdirSync(golden)))('%s passes within the README tolerances', async (stem) => {
    const results = await kind.run(golden, stem, device);
    expect(describeFailures(results)).toEqual([]);
    expect(results.length).toBeGreaterThan(3);
  });
});

test('the EVA-02 model fixture covers logits, every block, features, RoPE and every gradient', async () => {
  const checks = (await eva02Kind.run(golden, 'eva02_base_family_tiny', device)).map((r) => r.check);
  expect(checks).toEqual(
    expect.arrayContaining([
      'logits',
      'pre_logits',
      'block_0',
      'block_1',
      'features',
      'rope_embed',
      'tokens_after_pos_embed',
      'grads.loss',
      'grad.blocks.1.mlp.norm.weight',
      'grad_input',
      'state_dict keys, order and shapes',
    ]),
  );
  expect(checks.filter((c) => c.startsWith('grad.'))).toHaveLength(46);
});

test('a plain-bicubic position embedding is caught (antialias matters)', async () => {
  const stem = 'eva02_base_family_resample_down';
  const dir = tamperedCopy(stem, `${stem}.io.safetensors`, 'expected_pos_embed', (header, bytes) => {
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const [b, e] = header.pos_embed_bicubic_noantialias.data_offsets;
    return Buffer.from(bytes.subarray(8 + headerLength + b, 8 + headerLength + e));
  });
  const failed = (await eva02Kind.run(dir, stem, device)).filter((r) => !r.pass);
  expect(failed.map((r) => r.check)).toEqual(['pos_embed (expected_pos_embed)']);
  expect(failed[0].maxError).toBeGreaterThan(0.5);
});

test('a logit off by 1e-3 fails the ConvNeXt check', async () => {
  const stem = 'convnext_atto_family_small';
  const dir = tamperedCopy(stem, `${stem}.io.safetensors`, 'logits', (header, bytes) => {
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const [b, e] = header.logits.data_offsets;
    const values = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 8 + headerLength + b, bytes.byteOffset + 8 + headerLength + e));
    values[1] += 1e-3;
    return Buffer.from(values.buffer);
  });
  const failed = (await convnextKind.run(dir, stem, device)).filter((r) => !r.pass);
  expect(failed.map((r) => r.check)).toEqual(['logits', 'logits (channels-last)']);
  expect(failed[0].maxError).toBeCloseTo(1e-3, 4);
});

describe('readmeTolerance', () => {
  test('reads atol and rtol from the table row', () => {
    expect(readmeTolerance(golden, 'EVA-02 logits / pre_logits', { atol: 1, rtol: 1 })).toEqual({ atol: 1e-5, rtol: 1e-5 });
    expect(readmeTolerance(golden, 'EVA-02 features / block outputs', { atol: 1, rtol: 1 })).toEqual({ atol: 1e-4, rtol: 0 });
  });

  test('falls back without a README or a row', () => {
    expect(readmeTolerance(scratch, 'EVA-02 logits / pre_logits', { atol: 2e-5, rtol: 0 })).toEqual({ atol: 2e-5, rtol: 0 });
    expect(readmeTolerance(golden, 'no such row', { atol: 3e-5, rtol: 0 })).toEqual({ atol: 3e-5, rtol: 0 });
  });
});

describe('createOptionsFromKwargs', () => {
  test('maps timm kwargs to createModel options', () => {
    expect(
      createOptionsFromKwargs({ img_size: 56, patch_size: 14, embed_dim: 64, depth: 2, num_heads: 2, num_classes: 2, qkv_fused: false }),
    ).toEqual({
      numClasses: 2,
      imgSize: 56,
      arch: { patchSize: 14, embedDim: 64, depth: 2, numHeads: 2, qkvFused: false },
    });
  });

  test('a kwarg the family cannot express is refused when the model is built', async () => {
    const options = createOptionsFromKwargs({ num_classes: 2, use_post_norm: true });
    expect(options.arch).toEqual({ usePostNorm: true });
    await expect(createModel('eva02_tiny_patch14_224', options)).rejects.toThrow(
      /^Expected only the keys patchSize, embedDim, .* \(eva02\) for arch but received "usePostNorm"$/,
    );
  });
});

describe('efficientnet fixtures', () => {
  const stem = 'efficientnet_lite0_random';

  test('cover every intermediate of both inputs in both layouts, and the train step in both', async () => {
    const checks = (await efficientnetKind.run(golden, stem, device)).map((r) => r.check);
    for (const input of ['in0', 'in1']) {
      for (const name of ['stem_conv', 'stem', 'block_0_0', 'block_5_3', 'stage_6', 'head_conv', 'features', 'pre_logits', 'logits']) {
        expect(checks).toEqual(expect.arrayContaining([`${input}.${name}`, `${input}.${name} (channels-last)`]));
      }
    }
    expect(checks).toEqual(
      expect.arrayContaining([
        'state_dict keys, order and shapes',
        'train.loss',
        'train.train_logits',
        'train.grad_input',
        'train: 147 BatchNorm running statistics after the step',
        'train.loss (channels-last)',
        'train.train_logits (channels-last)',
        'train.grad_input (channels-last)',
        'train: 147 BatchNorm running statistics after the step (channels-last)',
      ]),
    );
    expect(checks.filter((c) => c.startsWith('train: 149 parameter gradients'))).toHaveLength(2);
    expect(checks.filter((c) => c.startsWith('in1.block_'))).toHaveLength(32);
  });

  test('fails on logits of symmetric padding (the bug the fixture diagnoses)', async () => {
    const dir = tamperedCopy(stem, `${stem}.io.safetensors`, 'in1.logits', (header, bytes) => {
      const headerLength = Number(bytes.readBigUInt64LE(0));
      const [begin, end] = header['in1.logits_diag_symmetric_pad'].data_offsets;
      return Buffer.from(bytes.subarray(8 + headerLength + begin, 8 + headerLength + end));
    });
    const failures = describeFailures(await efficientnetKind.run(dir, stem, device));
    expect(failures.map((f) => f.split(':')[0])).toEqual([
      `${stem} in1.logits`,
      `${stem} in1.logits (forward)`,
      `${stem} in1.logits (channels-last)`,
      `${stem} in1.logits (forward, channels-last)`,
    ]);
  });

  test('fails when a running statistic after the train step is off', async () => {
    const dir = tamperedCopy(stem, `${stem}.grads.safetensors`, 'bn_after_train.bn2.running_var', (header) => {
      const [begin, end] = header['bn_after_train.bn2.running_var'].data_offsets;
      return Buffer.from(new Float32Array((end - begin) / 4).fill(1).buffer);
    });
    const failures = describeFailures(await efficientnetKind.run(dir, stem, device));
    // Once per layout: NCHW runs ATen's batch_norm, channels-last the fused CPU kernel.
    expect(failures).toHaveLength(2);
    expect(failures[0]).toMatch(
      /^efficientnet_lite0_random train: 147 BatchNorm running statistics after the step: 1 > 0 bn2.running_var: max error/,
    );
    expect(failures[1]).toMatch(
      /^efficientnet_lite0_random train: 147 BatchNorm running statistics after the step \(channels-last\): 1 > 0 bn2.running_var: max error/,
    );
  });
});
