// The run folder's per-fold state: a damaged state.json names the file.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RunDir } from '../../../src/train/runDir';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'foldtorch-rundir-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('RunDir.readState', () => {
  test('no state.json: a fold not started', () => {
    expect(new RunDir(join(dir, 'fresh')).readState(1)).toEqual({ fold: 1, done: false, bestEpoch: -1, bestAuc: null, epochsDone: 0 });
  });

  test('a written state reads back', () => {
    const run = new RunDir(join(dir, 'written'));
    run.writeState({ fold: 0, done: true, bestEpoch: 2, bestAuc: 0.75, bestScore: 0.75, epochsDone: 3 });
    expect(run.readState(0)).toEqual({ fold: 0, done: true, bestEpoch: 2, bestAuc: 0.75, bestScore: 0.75, epochsDone: 3 });
  });

  test.each([
    ['{"fold": 0, "done": tr', 'unreadable fold state ('],
    ['', 'unreadable fold state ('],
    ['null', 'Expected a fold state ({fold, done, bestEpoch, bestAuc, epochsDone}) but received null'],
    ['{"fold": 0}', 'Expected a fold state ({fold, done, bestEpoch, bestAuc, epochsDone}) but received {"fold":0}'],
  ])('%j is an error naming the file', (text, message) => {
    const run = new RunDir(join(dir, `bad-${text.length}`));
    mkdirSync(run.foldDir(0), { recursive: true });
    writeFileSync(run.stateFile(0), text);
    expect(() => run.readState(0)).toThrow(`${run.stateFile(0)}: ${message}`);
  });
});
