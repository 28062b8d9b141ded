/**
 * Renames lukemelas EfficientNet-PyTorch state_dict keys to timm's, from the architecture's stage depths.
 * Values are copied unchanged; only names move (shared/golden/README.md, "Real weights: conversion").
 */
import { invalidData, outOfRange } from '../errors';

const kWhere = 'key mapping (lukemelas EfficientNet-PyTorch → timm)';

/** One renaming rule: the new name, or null when the rule does not apply to `key`. */
export interface KeyRule {
  readonly description: string;
  apply(key: string): string | null;
}

// A leaf is one attribute of a conv, BN or linear layer (weight, running_mean, ...): no nested modules.
const kLeaf = '([A-Za-z_][A-Za-z0-9_]*)';

const kTopLevel = [
  ['_conv_stem', 'conv_stem'],
  ['_bn0', 'bn1'],
  ['_conv_head', 'conv_head'],
  ['_bn1', 'bn2'],
  ['_fc', 'classifier'],
] as const;

// lukemelas builds every block as one MBConvBlock; timm splits the first stage off as depthwise-separable blocks
// (no expansion conv), so the same lukemelas names land on different timm names in the two kinds of block.
const kDepthwiseSeparable: Readonly<Record<string, string>> = {
  _depthwise_conv: 'conv_dw',
  _bn1: 'bn1',
  _project_conv: 'conv_pw',
  _bn2: 'bn2',
};
const kInvertedResidual: Readonly<Record<string, string>> = {
  _expand_conv: 'conv_pw',
  _bn0: 'bn1',
  _depthwise_conv: 'conv_dw',
  _bn1: 'bn2',
  _project_conv: 'conv_pwl',
  _bn2: 'bn3',
};

const kBnLeaves = ['weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked'] as const;

/** Where lukemelas block i sits in timm: `blocks.{stage}.{index}`, counting through the stages in order. */
export function blockPositions(stageDepths: readonly number[]): { stage: number; index: number }[] {
  if (!Array.isArray(stageDepths) || stageDepths.length === 0)
    throw outOfRange('stageDepths', 'a non-empty array of stage depths', stageDepths);
  stageDepths.forEach((depth, stage) => {
    if (!Number.isInteger(depth) || depth < 1) throw outOfRange(`stageDepths[${stage}]`, 'a positive integer', depth);
  });
  return stageDepths.flatMap((depth, stage) => Array.from({ length: depth }, (_, index) => ({ stage, index })));
}

function topLevelRule(from: string, to: string): KeyRule {
  const pattern = new RegExp(`^${from}\\.${kLeaf}$`);
  return {
    description: `${from}.* → ${to}.*`,
    apply: (key) => {
      const match = pattern.exec(key);
      return match ? `${to}.${match[1]}` : null;
    },
  };
}

function blockRule(stageDepths: readonly number[], kind: 'ds' | 'ir'): KeyRule {
  const positions = blockPositions(stageDepths);
  const parts = kind === 'ds' ? kDepthwiseSeparable : kInvertedResidual;
  const pattern = new RegExp(`^_blocks\\.(0|[1-9][0-9]*)\\.(_[A-Za-z0-9_]+)\\.${kLeaf}$`);
  const first = kind === 'ds' ? 0 : stageDepths[0];
  const last = kind === 'ds' ? stageDepths[0] - 1 : positions.length - 1;
  return {
    description: `_blocks.i.* with i from ${first} to ${last} (${kind === 'ds' ? 'depthwise-separable' : 'inverted-residual'}: ${Object.keys(parts).join(', ')})`,
    apply: (key) => {
      const match = pattern.exec(key);
      if (!match) return null;
      const position = positions[Number(match[1])];
      if (position === undefined || (position.stage === 0) !== (kind === 'ds')) return null;
      const part = Object.hasOwn(parts, match[2]) ? parts[match[2]] : undefined;
      return part === undefined ? null : `blocks.${position.stage}.${position.index}.${part}.${match[3]}`;
    },
  };
}

/** The rules for an EfficientNet with these stage depths (the first stage depthwise-separable, the rest inverted-residual). */
export function efficientNetKeyRules(stageDepths: readonly number[]): KeyRule[] {
  return [...kTopLevel.map(([from, to]) => topLevelRule(from, to)), blockRule(stageDepths, 'ds'), blockRule(stageDepths, 'ir')];
}

/** The timm name of one key; an Error naming the key unless exactly one rule applies. */
export function mapKey(key: string, rules: readonly KeyRule[]): string {
  const hits = rules.map((rule) => ({ rule, target: rule.apply(key) })).filter((hit) => hit.target !== null);
  if (hits.length === 1) return hits[0].target!;
  if (hits.length === 0) {
    throw invalidData(kWhere, `no rule maps '${key}'; the rules are: ${rules.map((r) => r.description).join('; ')}`);
  }
  throw invalidData(kWhere, `'${key}' matches ${hits.length} rules (${hits.map((h) => h.rule.description).join('; ')})`);
}

/** Source key → timm key for a whole checkpoint; every key must map by exactly one rule, to a name no other key takes. */
export function mapEfficientNetKeys(keys: readonly string[], stageDepths: readonly number[]): Map<string, string> {
  const rules = efficientNetKeyRules(stageDepths);
  const mapping = new Map<string, string>();
  const taken = new Map<string, string>();
  for (const key of keys) {
    const target = mapKey(key, rules);
    const other = taken.get(target);
    if (other !== undefined) throw invalidData(kWhere, `'${other}' and '${key}' both map to '${target}'`);
    taken.set(target, key);
    mapping.set(key, target);
  }
  return mapping;
}

/** Every key of timm's EfficientNet-Lite state_dict with these stage depths, in module order. */
export function timmEfficientNetKeys(stageDepths: readonly number[]): string[] {
  const bn = (prefix: string) => kBnLeaves.map((leaf) => `${prefix}.${leaf}`);
  const keys = ['conv_stem.weight', ...bn('bn1')];
  for (const { stage, index } of blockPositions(stageDepths)) {
    const block = `blocks.${stage}.${index}`;
    keys.push(
      ...(stage === 0
        ? [`${block}.conv_dw.weight`, ...bn(`${block}.bn1`), `${block}.conv_pw.weight`, ...bn(`${block}.bn2`)]
        : [
            `${block}.conv_pw.weight`,
            ...bn(`${block}.bn1`),
            `${block}.conv_dw.weight`,
            ...bn(`${block}.bn2`),
            `${block}.conv_pwl.weight`,
            ...bn(`${block}.bn3`),
          ]),
    );
  }
  keys.push('conv_head.weight', ...bn('bn2'), 'classifier.weight', 'classifier.bias');
  return keys;
}

/** Checks that the converted names are exactly timm's: an Error naming the first missing and unexpected keys. */
export function checkCompleteMapping(targets: Iterable<string>, stageDepths: readonly number[], where: string): void {
  const expected = new Set(timmEfficientNetKeys(stageDepths));
  const got = new Set(targets);
  const missing = [...expected].filter((key) => !got.has(key));
  const unexpected = [...got].filter((key) => !expected.has(key));
  if (missing.length === 0 && unexpected.length === 0) return;
  const list = (keys: string[]) =>
    keys.length ? `${keys.slice(0, 5).join(', ')}${keys.length > 5 ? `, … (${keys.length})` : ''}` : 'none';
  throw invalidData(where, `the converted keys are not timm's (missing: ${list(missing)}; unexpected: ${list(unexpected)})`);
}
