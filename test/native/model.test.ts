/** The Model API: creation and loading, forward variants against hand-made references, and every bad input. */
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { createModel, listModels, readSafetensors, type Model } from '../../src/native/model';
import { readFixtureSafetensors } from '../../src/parity/fixture';

const golden = process.env.FOLDTORCH_GOLDEN ?? path.resolve(__dirname, '..', '..', '..', 'shared', 'golden');
const baseArch = { patchSize: 14, embedDim: 64, depth: 2, numHeads: 2 };
const baseWeights = path.join(golden, 'eva02_base_family_tiny.weights.safetensors');

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst;
}

let dir: string;
let eva: Model;
beforeAll(async () => {
  if (!existsSync(baseWeights)) throw new Error(`golden fixtures not found at ${golden} (set FOLDTORCH_GOLDEN)`);
  dir = mkdtempSync(path.join(tmpdir(), 'foldtorch-model-'));
  eva = await createModel('eva02_base_patch14_448', { numClasses: 2, imgSize: 56, arch: baseArch, pretrained: baseWeights });
});
afterAll(() => {
  eva?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A deterministic uint8 NHWC batch. */
function pixels(batch: number, side: number): Uint8Array {
  const out = new Uint8Array(batch * side * side * 3);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + ((i / 7) | 0)) % 256;
  return out;
}

/** JS reference of the TTA view on NHWC pixels: hflip, then vflip, then rot90 k (counter-clockwise). */
function viewNhwc(src: Uint8Array, batch: number, side: number, hflip: boolean, vflip: boolean, rot: number): Uint8Array {
  let img = src;
  const at = (b: number, y: number, x: number) => ((b * side + y) * side + x) * 3;
  const remap = (f: (y: number, x: number) => [number, number]) => {
    const out = new Uint8Array(img.length);
    for (let b = 0; b < batch; b++)
      for (let y = 0; y < side; y++)
        for (let x = 0; x < side; x++) {
          const [sy, sx] = f(y, x);
          for (let c = 0; c < 3; c++) out[at(b, y, x) + c] = img[at(b, sy, sx) + c];
        }
    img = out;
  };
  if (hflip) remap((y, x) => [y, side - 1 - x]);
  if (vflip) remap((y, x) => [side - 1 - y, x]);
  for (let k = 0; k < rot; k++) remap((y, x) => [x, side - 1 - y]); // torch.rot90: out[y][x] = in[x][W-1-y]
  return img;
}

describe('createModel', () => {
  test('loads a timm checkpoint with a full report and exposes the config', async () => {
    expect(eva.loadReport.loaded).toHaveLength(46);
    expect(eva.loadReport).toMatchObject({ missing: [], unexpected: [], resampled: [], replaced: [] });
    expect({ family: eva.family, numClasses: eva.numClasses, imgSize: eva.imgSize, numFeatures: eva.numFeatures }).toEqual({
      family: 'eva02',
      numClasses: 2,
      imgSize: [56, 56],
      numFeatures: 64,
    });
    expect(eva.pretrainedConfig).toMatchObject({
      tag: 'eva02_base_patch14_448.mim_in22k_ft_in22k_in1k',
      interpolation: 'bicubic',
      cropMode: 'squash',
      cropPct: 1,
    });
    expect(eva.pretrainedConfig.mean).toEqual([0.48145466, 0.4578275, 0.40821073]);
  });

  test('replaces a head of another class count and reports it', async () => {
    const model = await createModel('eva02_base_patch14_448', { numClasses: 3, imgSize: 56, arch: baseArch, pretrained: baseWeights });
    expect(model.loadReport.replaced).toEqual(['head.weight', 'head.bias']);
    expect(model.loadReport.loaded).toHaveLength(44);
    const head = await model.getTensors(['head.weight']);
    // Exactly the names asked for: head.bias follows head.weight in the state dict and is not returned.
    expect(Object.keys(head)).toEqual(['head.weight']);
    expect(head['head.weight'].shape).toEqual([3, 64]);
    model.dispose();
  });

  test('a tag name selects its preprocessing defaults', async () => {
    const model = await createModel('convnext_atto.d2_in1k', { numClasses: 2, arch: { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32] } });
    expect(model.pretrainedConfig).toMatchObject({
      tag: 'convnext_atto.d2_in1k',
      cropPct: 0.875,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    model.dispose();
  });

  test('an unknown name lists the closest registered names', async () => {
    await expect(createModel('eva02_bse_patch14_448')).rejects.toThrow(
      'Expected a registered model name (closest: eva02_base_patch14_448, eva02_base_patch14_224, eva02_large_patch14_448) for name but received "eva02_bse_patch14_448"',
    );
  });

  test.each([
    [{ numClasses: -1 }, 'Expected an integer from 0 to 9007199254740991 for numClasses but received -1'],
    [{ imgSize: 1.5 }, 'Expected an integer from 1 to 9007199254740991 for imgSize but received 1.5'],
    [
      { pretrained: '/no/such/file.safetensors' },
      'Expected an existing .safetensors file for pretrained but received "/no/such/file.safetensors"',
    ],
    [{ pretrained: 3 }, 'Expected a .safetensors path or false for pretrained but received 3'],
    [{ gradCheckpointing: 'yes' }, 'Expected a boolean for gradCheckpointing but received "yes"'],

    [{ device: 'tpu' }, 'Expected "cpu", "cuda" or "cuda:N" for createModel options.device but received "tpu"'],
    [{ arch: 'x' }, 'Expected an object for arch but received "x"'],
    [{ arch: { mlpRatio: -1 } }, 'Expected a non-negative number for arch.mlpRatio but received -1'],
    [{ imgSize: [56] }, 'Expected an integer or [height, width] for imgSize but received an array of length 1'],
    [
      { arch: { depths: [1, 1, 1, 1] } },
      'Expected only the keys patchSize, embedDim, depth, numHeads, mlpRatio, qkvFused, scaleMlp, scaleAttnInner, refFeatShape (eva02) for arch but received "depths"',
    ],
    [{ arch: { refFeatShape: [16] } }, 'Expected an array of 2 integers for arch.refFeatShape but received an array of length 1'],
    [{ arch: { qkvFused: 1 } }, 'Expected a boolean for arch.qkvFused but received 1'],
    [
      { arch: { embed_dim: 64 } },
      'Expected only the keys patchSize, embedDim, depth, numHeads, mlpRatio, qkvFused, scaleMlp, scaleAttnInner, refFeatShape (eva02) for arch but received "embed_dim"',
    ],
  ])('rejects bad options %p', async (options, message) => {
    await expect(createModel('eva02_tiny_patch14_224', options as never)).rejects.toThrow(message);
  });

  test('arch overrides change the architecture as timm kwargs do', async () => {
    const model = await createModel('eva02_tiny_patch14_224', {
      numClasses: 0,
      imgSize: 28,
      arch: { embedDim: 16, depth: 1, numHeads: 1, qkvFused: false, scaleMlp: true, mlpRatio: 2 },
    });
    const names = (await model.parameters()).map((p) => `${p.name}:${p.shape}`);
    expect(names).toEqual(
      expect.arrayContaining(['blocks.0.attn.k_proj.weight:16,16', 'blocks.0.mlp.fc1_g.weight:32,16', 'blocks.0.mlp.norm.weight:32']),
    );
    expect(names.some((n) => n.startsWith('head.'))).toBe(false);
    model.dispose();
  });

  test('an image size the patch does not divide is refused natively', async () => {
    await expect(createModel('eva02_tiny_patch14_224', { imgSize: 100 })).rejects.toThrow(
      'eva02: img_size must be a multiple of the patch size 14 (got [100, 100])',
    );
  });

  test('a checkpoint of another architecture lists the first mismatching keys with both shapes', async () => {
    const small = path.join(golden, 'eva02_small_family_tiny.weights.safetensors');
    await expect(eva.load(small)).rejects.toThrow(
      /checkpoint .*eva02_small_family_tiny\.weights\.safetensors does not fit this eva02 model \(\d+ mismatching keys; another architecture or size\?\):\n {2}'cls_token': checkpoint \[1, 1, 48\] vs model \[1, 1, 64\]\n {2}'pos_embed': checkpoint \[1, 37, 48\] vs model \[1, 17, 64\]/,
    );
    const convnext = path.join(golden, 'convnext_atto_family_small.weights.safetensors');
    await expect(eva.load(convnext)).rejects.toThrow(/'cls_token': missing from the checkpoint \(model \[1, 1, 64\]\)/);
    // Nothing was copied: the model still gives the fixture's logits.
    const io = readFixtureSafetensors(path.join(golden, 'eva02_base_family_tiny.io.safetensors'));
    const out = await eva.forwardFloat(io.get('input')!.data as Float32Array, { shape: io.get('input')!.shape });
    expect(maxDiff(out.logits.data, io.get('logits')!.data as Float32Array)).toBeLessThan(1e-5);
  });

  test('convnext takes its own overrides, checked by kind and length', async () => {
    await expect(createModel('convnext_atto', { arch: { depths: [1, 1] } })).rejects.toThrow(
      'Expected an array of 4 integers for arch.depths but received an array of length 2',
    );
    await expect(createModel('convnext_atto', { arch: { embedDim: 8 } })).rejects.toThrow(
      'Expected only the keys depths, dims, convMlp (convnext) for arch but received "embedDim"',
    );
  });

  test('every family lists the overrides it takes, under timm names in camelCase', () => {
    const keysOf = (name: string) => listModels().find((m) => m.name === name)!.archKeys;
    expect(keysOf('convnext_tiny')).toEqual([
      { name: 'depths', kind: 'integers', length: 4 },
      { name: 'dims', kind: 'integers', length: 4 },
      { name: 'convMlp', kind: 'boolean', length: 0 },
    ]);
    expect(keysOf('tf_efficientnet_lite0').map((k) => `${k.name}:${k.kind}`)).toEqual([
      'channelMultiplier:number',
      'depthMultiplier:number',
      'dropRate:number',
      'dropPathRate:number',
    ]);
    expect(keysOf('eva02_base_patch14_448').find((k) => k.name === 'refFeatShape')).toEqual({
      name: 'refFeatShape',
      kind: 'integers',
      length: 2,
    });
  });

  test('each model states its input rules and parameter stages', async () => {
    expect(eva.input).toEqual({ size: [56, 56], fixedSize: true, minSize: 14, sizeMultiple: 14, channelsLast: false });
    expect(eva.parameterStages.map((s) => s.name)).toEqual(['embed', 'blocks.0', 'blocks.1', 'head', 'classifier']);
    const convnext = await createModel('convnext_atto', {
      numClasses: 2,
      imgSize: [40, 72],
      arch: { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32] },
    });
    expect(convnext.input).toEqual({ size: [40, 72], fixedSize: false, minSize: 32, sizeMultiple: 1, channelsLast: true });
    expect(convnext.parameterStages.map((s) => `${s.name} ${s.pattern}`)).toEqual([
      'stem ^stem\\.',
      'stages.0 ^stages\\.0\\.',
      'stages.1 ^stages\\.1\\.',
      'stages.2 ^stages\\.2\\.',
      'stages.3 ^stages\\.3\\.',
      'head ^head\\.norm\\.',
      'classifier ^head\\.fc\\.',
    ]);
    // Every parameter is in exactly one stage.
    const names = (await convnext.parameters()).map((p) => p.name);
    for (const name of names) expect(convnext.parameterStages.filter((s) => new RegExp(s.pattern).test(name))).toHaveLength(1);
    await expect(convnext.forward(pixels(1, 24), { shape: [1, 24, 24, 3] })).rejects.toThrow(
      'Expected [batch, height >= 32, width >= 32, 3] for shape but received "[1, 24, 24, 3]"',
    );
    convnext.dispose();
  });

  test('channelsLast "auto" follows the model', async () => {
    const auto = await createModel('convnext_atto', {
      numClasses: 2,
      channelsLast: 'auto',
      arch: { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32] },
    });
    expect(auto.native.info().channelsLast).toBe(true);
    const evaAuto = await createModel('eva02_tiny_patch14_224', {
      numClasses: 2,
      imgSize: 28,
      channelsLast: 'auto',
      arch: { embedDim: 16, depth: 1, numHeads: 1 },
    });
    expect(evaAuto.native.info().channelsLast).toBe(false);
    auto.dispose();
    evaAuto.dispose();
  });

  test('listModels mirrors timm names with model_args and tags', () => {
    const names = listModels().map((m) => m.name);
    expect(names).toEqual(expect.arrayContaining(['eva02_tiny_patch14_224', 'eva02_large_patch14_448', 'convnext_atto', 'convnext_large']));
    const tiny = listModels().find((m) => m.name === 'eva02_tiny_patch14_336')!;
    expect(tiny.args).toMatchObject({ img_size: 336, embed_dim: 192, depth: 12, num_heads: 3, qkv_fused: true });
    expect(tiny.tags[0]).toMatchObject({ tag: 'eva02_tiny_patch14_336.mim_in22k_ft_in1k', numClasses: 1000, imgSize: 336 });
  });
});

describe('forward', () => {
  test('uint8 images match normalising by hand and the float path', async () => {
    const images = pixels(2, 56);
    const logits = await eva.forward(images, { shape: [2, 56, 56, 3] });
    const { mean, std } = eva.pretrainedConfig;
    const input = new Float32Array(2 * 3 * 56 * 56);
    for (let b = 0; b < 2; b++)
      for (let c = 0; c < 3; c++)
        for (let p = 0; p < 56 * 56; p++) input[(b * 3 + c) * 56 * 56 + p] = (images[(b * 56 * 56 + p) * 3 + c] / 255 - mean[c]) / std[c];
    const reference = await eva.forwardFloat(input, { shape: [2, 3, 56, 56] });
    expect(logits.shape).toEqual([2, 2]);
    expect(maxDiff(logits.data, reference.logits.data)).toBeLessThan(1e-5);
    const pre = await eva.forward(images, { shape: [2, 56, 56, 3], output: 'preLogits' });
    expect(maxDiff(pre.data, reference.preLogits.data)).toBeLessThan(1e-5);
  });

  test('bf16 autocast stays close to float32', async () => {
    const images = pixels(2, 56);
    const fp32 = await eva.forward(images, { shape: [2, 56, 56, 3] });
    const bf16 = await eva.forward(images, { shape: [2, 56, 56, 3], precision: 'bfloat16' });
    expect(maxDiff(fp32.data, bf16.data)).toBeLessThan(0.1);
  });

  test('forwardViews applies hflip, vflip and counter-clockwise rot90 in ttach order', async () => {
    const images = pixels(2, 56);
    const views = [
      { hflip: false, vflip: false, rot: 0 },
      { hflip: true, vflip: false, rot: 0 },
      { hflip: false, vflip: true, rot: 1 },
      { hflip: true, vflip: true, rot: 3 },
      { hflip: true, vflip: false, rot: 1 },
    ];
    const out = await eva.forwardViews(images, { shape: [2, 56, 56, 3], views });
    expect(out.shape).toEqual([5, 2, 2]);
    for (let v = 0; v < views.length; v++) {
      const { hflip, vflip, rot } = views[v];
      const expected = await eva.forward(viewNhwc(images, 2, 56, hflip, vflip, rot), { shape: [2, 56, 56, 3] });
      expect(maxDiff(out.data.subarray(v * 4, v * 4 + 4), expected.data)).toBeLessThan(1e-5);
    }
  });

  test('SDPA and the explicit softmax path agree, and both match timm', async () => {
    const io = readFixtureSafetensors(path.join(golden, 'eva02_base_family_tiny.io.safetensors'));
    const input = io.get('input')!;
    const sdpa = await eva.forwardFloat(input.data as Float32Array, { shape: input.shape, intermediates: true });
    const explicit = await eva.forwardFloat(input.data as Float32Array, { shape: input.shape, intermediates: true, attention: 'explicit' });
    expect(maxDiff(sdpa.intermediates.block_1.data, explicit.intermediates.block_1.data)).toBeLessThan(1e-5);
    expect(maxDiff(explicit.logits.data, io.get('logits')!.data as Float32Array)).toBeLessThan(1e-5);
  });

  test.each([
    [[2, 32, 32, 3], 'Expected [batch, 56, 56, 3] for shape but received "[2, 32, 32, 3]"'],
    [[2, 56, 56, 4], 'Expected [batch, 56, 56, 3] for shape but received "[2, 56, 56, 4]"'],
    [[2, 56, 56], 'Expected an array of 4 integers for shape but received an array of length 3'],
  ])('a wrong image shape %p names the expected shape', async (shape, message) => {
    await expect(eva.forward(pixels(2, 56), { shape })).rejects.toThrow(message);
  });

  test('a wrong float input shape names the expected shape natively', async () => {
    await expect(eva.forwardFloat(new Float32Array(3 * 48 * 48), { shape: [1, 3, 48, 48] })).rejects.toThrow(
      'eva02: expected input of shape [B, 3, 56, 56] (got [1, 3, 48, 48])',
    );
  });

  test.each([
    [
      () => eva.forward([1, 2, 3] as never, { shape: [1, 1, 1, 3] }),
      'Expected a Buffer or Uint8Array for images but received an array of length 3',
    ],
    [
      () => eva.forward(pixels(1, 56), { shape: [1, 56, 56, 3], precision: 'fp8' as never }),
      'Expected one of float32, bfloat16, float16 for precision but received "fp8"',
    ],
    [
      () => eva.forward(pixels(1, 56), { shape: [1, 56, 56, 3], output: 'probs' as never }),
      'Expected logits or preLogits for output but received "probs"',
    ],
    [
      () => eva.forward(pixels(1, 56), { shape: [1, 56, 56, 3], normalize: { mean: [0.5], std: [0.5] } }),
      'Expected mean and std of length 3 for forward options but received 1 and 1',
    ],
    [
      () => eva.forwardViews(pixels(1, 56), { shape: [1, 56, 56, 3], views: [] }),
      'Expected a non-empty array of views for views but received an array of length 0',
    ],
    [
      () => eva.forwardViews(pixels(1, 56), { shape: [1, 56, 56, 3], views: [{ hflip: false, vflip: false, rot: 4 }] }),
      'Expected an integer from 0 to 3 for views[0].rot but received 4',
    ],
    [
      () => eva.forwardFloat(new Float64Array(4) as never, { shape: [1, 1, 2, 2] }),
      'Expected a Float32Array for input but received a Float64Array of 32 bytes',
    ],
    [
      () => eva.forwardFloat(new Float32Array(4), { shape: [1, 1, 2, 2], attention: 'flash' as never }),
      'Expected sdpa or explicit for attention but received "flash"',
    ],
    [
      () => eva.forwardFloat(new Float32Array(4), { shape: [1, 1, 2, 3] }),
      'Expected a [batch, channels, height, width] shape matching 4 values for input but received 4 dimensions holding 6',
    ],
    [
      () => eva.lossAndGrads(new Float32Array(4), { shape: [1, 1, 2, 2], targets: [2] }),
      'Expected an integer from 0 to 1 for targets[0] but received 2',
    ],
    [
      () => eva.lossAndGrads(new Float32Array(4), { shape: [1, 1, 2, 2], targets: [0, 1] }),
      'Expected 1 targets (one per input) for lossAndGrads options.targets but received 2',
    ],
    [() => eva.getTensors(['nope']), "Model.getTensors: no parameter named 'nope'"],
    [() => eva.getTensors('head.weight' as never), 'Expected an array of parameter names for names but received "head.weight"'],
    [
      () => eva.forward(pixels(1, 56), { shape: [1, 56, 56, 3], normalize: 'imagenet' as never }),
      'Expected an object with mean and std for normalize but received "imagenet"',
    ],
    [
      () => eva.forwardViews(pixels(1, 56), { shape: [1, 56, 56, 3], views: [null as never] }),
      'Expected an object {hflip, vflip, rot} for views[0] but received null',
    ],
    [
      () => eva.lossAndGrads([0] as never, { shape: [1, 1, 1, 1], targets: [0] }),
      'Expected a Float32Array for input but received an array of length 1',
    ],
    [
      () => eva.lossAndGrads(new Float32Array(1), { shape: [1, 1, 1, 1], targets: 0 as never }),
      'Expected an array of class indices for targets but received 0',
    ],
    [() => eva.load(1 as never), 'Expected a string for path but received 1'],
    [() => eva.saveWeights(1 as never), 'Expected a string for path but received 1'],
    [() => createModel(7 as never), 'Expected a model name string for name but received 7'],
    [() => createModel('convnext_atto', null as never), 'Expected an object for options but received null'],
    [() => createModel('convnext_atto', { device: 0 as never }), 'Expected a device string for device but received 0'],
  ])('bad call %#', async (call, message) => {
    await expect(call()).rejects.toThrow(message);
  });
});

describe('weights and lifecycle', () => {
  test('saveWeights writes timm names atomically and reloads to the same outputs', async () => {
    const file = path.join(dir, 'copy.safetensors');
    await eva.saveWeights(file, { epoch: '3' });
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-'))).toEqual([]);
    const saved = await readSafetensors(file);
    expect(saved.metadata).toMatchObject({ epoch: '3', format: 'pt' });
    expect(Object.keys(saved.tensors)).toHaveLength(46);
    const original = readFixtureSafetensors(baseWeights);
    expect(maxDiff(saved.tensors['blocks.1.mlp.fc2.weight'].data, original.get('blocks.1.mlp.fc2.weight')!.data as Float32Array)).toBe(0);
    const copy = await createModel('eva02_base_patch14_448', { numClasses: 2, imgSize: 56, arch: baseArch, pretrained: file });
    const images = pixels(1, 56);
    expect(
      maxDiff((await copy.forward(images, { shape: [1, 56, 56, 3] })).data, (await eva.forward(images, { shape: [1, 56, 56, 3] })).data),
    ).toBe(0);
    copy.dispose();
  });

  test('parameters come in timm state_dict order', async () => {
    const params = await eva.parameters();
    expect(params.slice(0, 4).map((p) => p.name)).toEqual(['cls_token', 'pos_embed', 'patch_embed.proj.weight', 'patch_embed.proj.bias']);
    expect(params[params.length - 1]).toEqual({ name: 'head.bias', shape: [2], dtype: 'F32', requiresGrad: true, buffer: false });
  });

  test('a disposed model refuses calls', async () => {
    const model = await createModel('convnext_atto', { numClasses: 2, arch: { depths: [1, 1, 1, 1], dims: [8, 16, 24, 32] } });
    model.dispose();
    expect(model.disposed).toBe(true);
    await expect(model.forward(pixels(1, 32), { shape: [1, 32, 32, 3] })).rejects.toThrow('Model is disposed');
    expect(() => model.loadReport).toThrow('Model is disposed');
  });

  test('NaN or Inf weights are refused at load, naming the file and the first bad tensor in model order', async () => {
    const bytes = readFileSync(baseWeights);
    const headerLength = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, { data_offsets: [number, number] }>;
    const put = (name: string, index: number, value: number) =>
      bytes.writeFloatLE(value, 8 + headerLength + header[name].data_offsets[0] + 4 * index);
    put('blocks.1.mlp.fc2.weight', 5, Infinity);
    put('blocks.0.norm1.weight', 3, NaN);
    put('blocks.0.norm1.weight', 60, -Infinity);
    const file = path.join(dir, 'nan.safetensors');
    writeFileSync(file, bytes);
    const message = `models: checkpoint ${file} holds NaN or Inf weights in 'blocks.0.norm1.weight' (got 2 of 64 values not finite)`;
    await expect(createModel('eva02_base_patch14_448', { numClasses: 2, imgSize: 56, arch: baseArch, pretrained: file })).rejects.toThrow(
      message,
    );
    // Model.load refuses it before copying anything: the model keeps its weights.
    const images = pixels(1, 56);
    const before = (await eva.forward(images, { shape: [1, 56, 56, 3] })).data;
    await expect(eva.load(file)).rejects.toThrow(message);
    expect(maxDiff((await eva.forward(images, { shape: [1, 56, 56, 3] })).data, before)).toBe(0);
  });

  test('a pickle checkpoint is refused with the conversion command', async () => {
    const file = path.join(dir, 'pytorch_model.bin');
    writeFileSync(file, Buffer.from([0x80, 0x02, 0x7d, 0x71, 0x00]));
    await expect(createModel('eva02_tiny_patch14_224', { pretrained: file })).rejects.toThrow(/is a PyTorch pickle checkpoint.*save_file/);
  });
});

describe('non-square inputs ([height, width], as timm img_size)', () => {
  const resampleCheckpoint = path.join(golden, 'eva02_base_family_resample_down.checkpoint.safetensors');

  /** PIL-style antialiased bicubic (a = −0.5) weights resizing `size` samples to `out` (the golden README's formula). */
  function resampleWeights(size: number, out: number): number[][] {
    const cubic = (x: number) => {
      const a = -0.5,
        t = Math.abs(x);
      return t < 1 ? (a + 2) * t ** 3 - (a + 3) * t ** 2 + 1 : t < 2 ? a * t ** 3 - 5 * a * t ** 2 + 8 * a * t - 4 * a : 0;
    };
    const scale = size / out,
      stretch = Math.max(scale, 1),
      support = 2 * stretch;
    return Array.from({ length: out }, (_, i) => {
      const c = (i + 0.5) * scale;
      const row = new Array<number>(size).fill(0);
      for (let j = Math.max(Math.trunc(c - support + 0.5), 0); j < Math.min(Math.trunc(c + support + 0.5), size); j++)
        row[j] = cubic((j - c + 0.5) / stretch);
      const sum = row.reduce((a, b) => a + b, 0);
      return row.map((w) => w / sum);
    });
  }

  test('EVA-02 resamples a square checkpoint grid to a rectangular one (6×6 → 6×4: rows kept, columns resampled)', async () => {
    const model = await createModel('eva02_base_patch14_448', {
      numClasses: 2,
      imgSize: [84, 56],
      arch: baseArch,
      pretrained: resampleCheckpoint,
    });
    expect(model.loadReport.resampled).toEqual(['pos_embed']);
    expect(model.input).toMatchObject({ size: [84, 56], fixedSize: true });
    const source = (await readSafetensors(resampleCheckpoint)).tensors.pos_embed; // [1, 37, 64]
    const ours = (await model.getTensors(['pos_embed'])).pos_embed;
    expect(ours.shape).toEqual([1, 25, 64]);
    const dim = 64,
      columns = resampleWeights(6, 4);
    expect(maxDiff(ours.data.subarray(0, dim), source.data.subarray(0, dim))).toBe(0); // the class token's row
    const expected = new Float32Array(24 * dim);
    for (let h = 0; h < 6; h++)
      for (let w = 0; w < 4; w++)
        for (let d = 0; d < dim; d++) {
          let v = 0;
          for (let j = 0; j < 6; j++) v += columns[w][j] * source.data[(1 + h * 6 + j) * dim + d];
          expected[(h * 4 + w) * dim + d] = v;
        }
    expect(maxDiff(ours.data.subarray(dim), expected)).toBeLessThan(1e-5);
    model.dispose();
  });

  test('EVA-02 builds RoPE for the rectangular grid and runs only that size', async () => {
    const model = await createModel('eva02_base_patch14_448', {
      numClasses: 2,
      imgSize: [56, 84],
      arch: baseArch,
      pretrained: resampleCheckpoint,
    });
    const input = new Float32Array(2 * 3 * 56 * 84).map((_, i) => Math.sin(i * 0.37));
    const out = await model.forwardFloat(input, { shape: [2, 3, 56, 84], intermediates: true });
    expect(out.logits.shape).toEqual([2, 2]);
    // timm's RotaryEmbeddingCat: coordinates arange(H)/H·16 and arange(W)/W·16, bands 10000^(−b/nb), nb = head_dim/4.
    const rope = out.intermediates.rope_embed;
    const [gridH, gridW, headDim] = [4, 6, 32];
    const nb = headDim / 4;
    expect(rope.shape).toEqual([gridH * gridW, 2 * headDim]);
    let worst = 0;
    for (let h = 0; h < gridH; h++)
      for (let w = 0; w < gridW; w++)
        for (let k = 0; k < headDim; k++) {
          const index = Math.floor(k / 2),
            coordinate = Math.floor(index / nb),
            band = index % nb;
          const t = coordinate === 0 ? (h / gridH) * 16 : (w / gridW) * 16;
          const angle = t * 10000 ** (-band / nb);
          const row = (h * gridW + w) * 2 * headDim;
          worst = Math.max(worst, Math.abs(rope.data[row + k] - Math.sin(angle)), Math.abs(rope.data[row + headDim + k] - Math.cos(angle)));
        }
    expect(worst).toBeLessThan(1e-5);
    await expect(model.forwardFloat(new Float32Array(3 * 84 * 56), { shape: [1, 3, 84, 56] })).rejects.toThrow(
      'eva02: expected input of shape [B, 3, 56, 84] (got [1, 3, 84, 56])',
    );
    await expect(model.forward(new Uint8Array(56 * 56 * 3), { shape: [1, 56, 56, 3] })).rejects.toThrow(
      'Expected [batch, 56, 84, 3] for shape but received "[1, 56, 56, 3]"',
    );
    model.dispose();
  });
});
