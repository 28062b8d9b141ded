// readCheckpointInfo reads a checkpoint's document from the safetensors header alone: a damaged header names the file.
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
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
  test('reads the step and document of a well-formed header', () => {
    const prefix = checkpoint('good', withDocument('{"counters":{"step":7},"user":{"epoch":1}}'));
    expect(readCheckpointInfo(prefix)).toEqual({ path: `${prefix}.safetensors`, step: 7, document: { counters: { step: 7 }, user: { epoch: 1 } } });
  });

  test.each([
    ['header', '{"__metadata__": {"foldtorch.checkpoint": "{}"', 'Expected JSON in the safetensors header but it does not parse ('],
    ['document', withDocument('{"counters": {"step": 7}'), 'Expected JSON in the foldtorch.checkpoint metadata but it does not parse ('],
    ['nostep', withDocument('{"user": null}'), 'Expected a step count at counters.step of the foldtorch.checkpoint metadata but received none'],
    ['badstep', withDocument('{"counters": {"step": "7"}}'), 'Expected a step count at counters.step of the foldtorch.checkpoint metadata but received "7"'],
    ['nulldoc', withDocument('null'), 'Expected a step count at counters.step of the foldtorch.checkpoint metadata but received none'],
    ['array', '[1, 2]', 'not a foldtorch training checkpoint (no foldtorch.checkpoint metadata)'],
    ['nullheader', 'null', 'not a foldtorch training checkpoint (no foldtorch.checkpoint metadata)'],
  ])('a mutated %s is an error naming the file', (name, header, message) => {
    const prefix = checkpoint(name, header);
    expect(() => readCheckpointInfo(prefix)).toThrow(`${prefix}.safetensors: ${message}`);
  });
});
