/**
 * The schema of a training checkpoint's JSON document (the `foldtorch.checkpoint` metadata that
 * native/train/checkpoint.cc writes): the TypeScript type is derived from it, and every document read is checked
 * against it, so the two languages cannot drift apart silently.
 */
import { invalidData } from '../errors';

type Leaf = 'string' | 'number' | 'count' | 'boolean' | 'string[]' | 'size' | 'any';
type Schema = Leaf | { readonly nullable: Schema } | { readonly literal: string } | { readonly [key: string]: Schema };

export const kCheckpointSchema = {
  format: { literal: 'foldtorch.checkpoint' },
  version: 'count',
  model: { family: 'string', numClasses: 'count', imgSize: 'size' },
  counters: { step: 'count', microStep: 'count', skippedSteps: 'count', samples: 'count' },
  optimizer: {
    name: { literal: 'ranger21' },
    mode: 'string',
    iteration: 'count',
    lookaheadStep: 'count',
    lr: 'number',
    numEpochs: 'count',
    numBatchesPerEpoch: 'count',
    params: 'string[]',
  },
  scaler: { nullable: { scale: 'number', growthTracker: 'count', skippedSteps: 'count', growthEvents: 'count', backoffEvents: 'count' } },
  precision: 'string',
  device: 'string',
  rng: { cpu: 'boolean', cuda: 'boolean' },
  user: 'any',
} as const;

type FromSchema<S> = S extends 'string'
  ? string
  : S extends 'number' | 'count'
    ? number
    : S extends 'boolean'
      ? boolean
      : S extends 'string[]'
        ? string[]
        : S extends 'size'
          ? number | [number, number]
          : S extends 'any'
            ? unknown
            : S extends { readonly literal: infer L }
              ? L
              : S extends { readonly nullable: infer T }
                ? FromSchema<T> | null
                : { -readonly [K in keyof S]: FromSchema<S[K]> };

/** A checkpoint's document, as the schema describes it. */
export type CheckpointDocument = FromSchema<typeof kCheckpointSchema>;

const kLeafWords: Record<Leaf, string> = {
  string: 'a string',
  number: 'a number',
  count: 'a non-negative integer',
  boolean: 'a boolean',
  'string[]': 'an array of strings',
  size: 'a side or [height, width]',
  any: 'any value',
};

function leafFits(leaf: Leaf, value: unknown): boolean {
  switch (leaf) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number';
    case 'count':
      return Number.isInteger(value) && (value as number) >= 0;
    case 'boolean':
      return typeof value === 'boolean';
    case 'string[]':
      return Array.isArray(value) && value.every((x) => typeof x === 'string');
    case 'size':
      return Number.isInteger(value) || (Array.isArray(value) && value.length === 2 && value.every(Number.isInteger));
    case 'any':
      return true;
  }
}

function check(schema: Schema, value: unknown, at: string, where: string): void {
  const fail = (expected: string) => {
    const place = at || 'the top level';
    throw invalidData(
      where,
      `Expected ${expected} at ${place} of the foldtorch.checkpoint metadata but received ${JSON.stringify(value) ?? 'none'}`,
    );
  };
  if (typeof schema === 'string') {
    if (!leafFits(schema, value)) fail(kLeafWords[schema]);
    return;
  }
  if ('literal' in schema && typeof schema.literal === 'string') {
    if (value !== schema.literal) fail(JSON.stringify(schema.literal));
    return;
  }
  if ('nullable' in schema && Object.keys(schema).length === 1) {
    if (value !== null) check(schema.nullable as Schema, value, at, where);
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail('an object');
  const object = value as Record<string, unknown>;
  for (const [key, sub] of Object.entries(schema)) check(sub as Schema, object[key], at ? `${at}.${key}` : key, where);
  const unknown = Object.keys(object).filter((key) => !(key in schema));
  if (unknown.length)
    throw invalidData(
      where,
      `unknown key ${at ? `${at}.` : ''}${unknown[0]} in the foldtorch.checkpoint metadata (written by a newer foldtorch?)`,
    );
}

/** `document` checked against the schema: an error naming `where` and the first field that does not fit. */
export function checkCheckpointDocument(document: unknown, where: string): CheckpointDocument {
  check(kCheckpointSchema, document, '', where);
  return document as CheckpointDocument;
}
