import {
  blockPositions,
  checkCompleteMapping,
  efficientNetKeyRules,
  mapEfficientNetKeys,
  mapKey,
  timmEfficientNetKeys,
  type KeyRule,
} from '../../../src/weights/keyMapping';
import { weightsEntry } from '../../../src/weights/catalogue';
import { goldenConversion, lukemelasKeys } from './helpers';

const kLite0Depths = [1, 2, 2, 3, 3, 4, 1];

describe('lite0: the golden regex rules, as a cross-check', () => {
  const golden = goldenConversion();
  const keys = lukemelasKeys('tf_efficientnet_lite0');

  test('296 keys, 99 rules', () => {
    expect(keys).toHaveLength(296);
    expect(golden.rules).toHaveLength(99);
  });

  test('every key: exactly one golden rule matches, and it gives the same name as the TypeScript mapping', () => {
    const mapping = mapEfficientNetKeys(keys, kLite0Depths);
    for (const key of keys) {
      const hits = golden.rules.filter(([pattern]) => new RegExp(pattern).test(key));
      expect([key, hits.length]).toEqual([key, 1]);
      const [pattern, replacement] = hits[0];
      expect([key, mapping.get(key)]).toEqual([key, key.replace(new RegExp(pattern), replacement)]);
    }
  });

  test("the converted names are the golden ones, and timm's key list in module order", () => {
    const targets = [...mapEfficientNetKeys(keys, kLite0Depths).values()];
    expect(new Set(targets)).toEqual(new Set(Object.keys(golden.converted_sha256)));
    expect(timmEfficientNetKeys(kLite0Depths)).toEqual(Object.keys(golden.converted_sha256));
    expect(() => checkCompleteMapping(targets, kLite0Depths, 'lite0')).not.toThrow();
  });

  test('block i lands on blocks.s.j through the stage depths', () => {
    const mapping = mapEfficientNetKeys(keys, kLite0Depths);
    expect(mapping.get('_blocks.0._depthwise_conv.weight')).toBe('blocks.0.0.conv_dw.weight');
    expect(mapping.get('_blocks.0._project_conv.weight')).toBe('blocks.0.0.conv_pw.weight');
    expect(mapping.get('_blocks.0._bn2.running_var')).toBe('blocks.0.0.bn2.running_var');
    expect(mapping.get('_blocks.1._expand_conv.weight')).toBe('blocks.1.0.conv_pw.weight');
    expect(mapping.get('_blocks.7._project_conv.weight')).toBe('blocks.3.2.conv_pwl.weight');
    expect(mapping.get('_blocks.14._bn2.num_batches_tracked')).toBe('blocks.5.3.bn3.num_batches_tracked');
    expect(mapping.get('_blocks.15._bn0.weight')).toBe('blocks.6.0.bn1.weight');
    expect(mapping.get('_bn0.bias')).toBe('bn1.bias');
    expect(mapping.get('_bn1.running_mean')).toBe('bn2.running_mean');
    expect(mapping.get('_fc.weight')).toBe('classifier.weight');
    expect(blockPositions(kLite0Depths)[15]).toEqual({ stage: 6, index: 0 });
  });
});

describe('lite1 and lite2: every key of the real checkpoints maps, completely', () => {
  for (const name of ['tf_efficientnet_lite1.in1k', 'tf_efficientnet_lite2.in1k'] as const) {
    test(name, () => {
      const entry = weightsEntry(name);
      const keys = lukemelasKeys(entry.architecture);
      expect(keys).toHaveLength(entry.numTensors);
      const mapping = mapEfficientNetKeys(keys, entry.stageDepths);
      expect(() => checkCompleteMapping(mapping.values(), entry.stageDepths, name)).not.toThrow();
      expect(mapping.get('_blocks.3._bn2.weight')).toBe('blocks.1.2.bn3.weight');
      expect(mapping.get('_blocks.20._project_conv.weight')).toBe('blocks.6.0.conv_pwl.weight');
    });
  }
});

describe('refusals name the key', () => {
  const map = (key: string) => mapEfficientNetKeys([key], kLite0Depths);

  test('a block index past the last block', () => {
    expect(() => map('_blocks.16._bn0.weight')).toThrow(
      /no rule maps '_blocks\.16\._bn0\.weight'; the rules are: _conv_stem\.\* → conv_stem\.\*/,
    );
  });

  test('an expansion conv in the depthwise-separable block, squeeze-excitation, nesting, unknown modules', () => {
    for (const key of [
      '_blocks.0._expand_conv.weight',
      '_blocks.3._se_reduce.weight',
      '_fc.weight.extra',
      '_blocks.01._bn0.weight',
      'conv_stem.weight',
      '_bn2.weight',
    ]) {
      expect(() => map(key)).toThrow(`key mapping (lukemelas EfficientNet-PyTorch → timm): no rule maps '${key}'`);
    }
  });

  test('two keys onto one name', () => {
    expect(() => mapEfficientNetKeys(['_fc.weight', '_fc.weight'], kLite0Depths)).toThrow(
      "'_fc.weight' and '_fc.weight' both map to 'classifier.weight'",
    );
  });

  test('a key two rules match', () => {
    const rules: KeyRule[] = [
      ...efficientNetKeyRules(kLite0Depths),
      { description: 'a greedy extra rule', apply: (key) => `extra.${key}` },
    ];
    expect(() => mapKey('_fc.bias', rules)).toThrow("'_fc.bias' matches 2 rules (_fc.* → classifier.*; a greedy extra rule)");
  });

  test('incomplete or foreign key sets', () => {
    const targets = timmEfficientNetKeys(kLite0Depths).filter((k) => k !== 'blocks.2.1.conv_dw.weight');
    expect(() => checkCompleteMapping([...targets, 'head.fc.weight'], kLite0Depths, 'lite0')).toThrow(
      "lite0: the converted keys are not timm's (missing: blocks.2.1.conv_dw.weight; unexpected: head.fc.weight)",
    );
  });

  test('stage depths', () => {
    expect(() => blockPositions([])).toThrow(
      'Expected a non-empty array of stage depths for stageDepths but received an array of length 0',
    );
    expect(() => blockPositions([1, 0])).toThrow('Expected a positive integer for stageDepths[1] but received 0');
    expect(() => blockPositions([1, 1.5])).toThrow(RangeError);
  });
});
