// readCheckpointInfo reads a checkpoint's document from the safetensors header alone: a damaged header names the file.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCheckpointInfo } from '../../../src/train/learner';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'foldtorch-ckptinfo-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A tensor-free safetensors file whose header is `header` verbatim. */
function checkpoint(name: string, header: string): string {
  const json = Buffer.from(header, 'utf8');
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(join(dir, `${name}.safetensors`), Buffer.concat([length, json]));
  return join(dir, name);
}

const withDocument = (document: string) => JSON.stringify({ __metadata__: { 'foldtorch.checkpoint': document } });

describe('readCheckpointInfo', () => {
  // A document as native/train/checkpoint.cc writes it.
  const kDocument = {
    format: 'foldtorch.checkpoint',
    version: 1,
    model: { family: 'eva02', numClasses: 2, imgSize: [32, 48] },
    counters: { step: 7, microStep: 7, skippedSteps: 0, samples: 56 },
    optimizer: {
      name: 'ranger21',
      mode: 'corrected',
      iteration: 7,
      lookaheadStep: 2,
      lr: 0.001,
      numEpochs: 1,
      numBatchesPerEpoch: 30,
      params: ['a', 'b'],
    },
    scaler: null,
    precision: 'float32',
    device: 'cpu',
    rng: { cpu: true, cuda: false },
    user: { epoch: 1 },
  };
  // biome-ignore lint/suspicious/noExplicitAny: each case edits one field of the JSON document, of any type
  type Json = Record<string, any>;
  const mutated = (change: (doc: Json) => void) => {
    const doc = JSON.parse(JSON.stringify(kDocument)) as Json;
    change(doc);
    return withDocument(JSON.stringify(doc));
  };

  test('reads the step and document of a well-formed header', () => {
    const prefix = checkpoint('good', withDocument(JSON.stringify(kDocument)));
    expect(readCheckpointInfo(prefix)).toEqual({ path: `${prefix}.safetensors`, step: 7, document: kDocument });
    const scaled = checkpoint(
      'scaled',
      mutated((d) => {
        d.scaler = { scale: 1024, growthTracker: 1, skippedSteps: 0, growthEvents: 0, backoffEvents: 1 };
      }),
    );
    expect(readCheckpointInfo(scaled).document.scaler).toEqual({
      scale: 1024,
      growthTracker: 1,
      skippedSteps: 0,
      growthEvents: 0,
      backoffEvents: 1,
    });
  });

  test.each([
    ['document', withDocument('{"counters": {"step": 7}'), 'Expected JSON in the foldtorch.checkpoint metadata but it does not parse ('],
    [
      'nostep',
      mutated((d) => {
        delete d.counters.step;
      }),
      'Expected a non-negative integer at counters.step of the foldtorch.checkpoint metadata but received none',
    ],
    [
      'badstep',
      mutated((d) => {
        d.counters.step = '7';
      }),
      'Expected a non-negative integer at counters.step of the foldtorch.checkpoint metadata but received "7"',
    ],
    [
      'negstep',
      mutated((d) => {
        d.counters.step = -1;
      }),
      'Expected a non-negative integer at counters.step of the foldtorch.checkpoint metadata but received -1',
    ],
    ['nulldoc', withDocument('null'), 'Expected an object at the top level of the foldtorch.checkpoint metadata but received null'],
    [
      'format',
      mutated((d) => {
        d.format = 'other';
      }),
      'Expected "foldtorch.checkpoint" at format of the foldtorch.checkpoint metadata but received "other"',
    ],
    [
      'size',
      mutated((d) => {
        d.model.imgSize = [32];
      }),
      'Expected a side or [height, width] at model.imgSize of the foldtorch.checkpoint metadata but received [32]',
    ],
    [
      'params',
      mutated((d) => {
        d.optimizer.params = [1];
      }),
      'Expected an array of strings at optimizer.params of the foldtorch.checkpoint metadata but received [1]',
    ],
    [
      'scaler',
      mutated((d) => {
        d.scaler = { scale: 2 };
      }),
      'Expected a non-negative integer at scaler.growthTracker of the foldtorch.checkpoint metadata but received none',
    ],
    [
      'rng',
      mutated((d) => {
        d.rng.cuda = 1;
      }),
      'Expected a boolean at rng.cuda of the foldtorch.checkpoint metadata but received 1',
    ],
    [
      'extra',
      mutated((d) => {
        d.counters.epochs = 3;
      }),
      'unknown key counters.epochs in the foldtorch.checkpoint metadata (written by a newer foldtorch?)',
    ],
    ['nometa', '{}', 'not a foldtorch training checkpoint (no foldtorch.checkpoint metadata)'],
  ])('a mutated %s is an error naming the file', (name, header, message) => {
    const prefix = checkpoint(name, header);
    expect(() => readCheckpointInfo(prefix)).toThrow(`${prefix}.safetensors: ${message}`);
  });

  // The header itself is read by the native safetensors reader, the one parser of the format.
  test.each([
    ['header', '{"__metadata__": {"foldtorch.checkpoint": "{}"', 'safetensors: header is not valid JSON ('],
    ['array', '[1, 2]', 'safetensors: header is not a JSON object in '],
    ['nullheader', 'null', 'safetensors: header is not a JSON object in '],
  ])("a mutated %s header is the native reader's error naming the file", (name, header, message) => {
    const prefix = checkpoint(name, header);
    expect(() => readCheckpointInfo(prefix)).toThrow(message);
    expect(() => readCheckpointInfo(prefix)).toThrow(`${prefix}.safetensors`);
  });
});
