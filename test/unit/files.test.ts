// Durable writes: a failed write leaves no temporary behind, and the temporaries of killed writers are found.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { removeStaleTemporaries, writeFileAtomic, writeFileAtomicAsync } from '../../src/files';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'foldtorch-files-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The id of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid;

describe('writeFileAtomic', () => {
  test('replaces a file whole', () => {
    const file = join(dir, 'a.txt');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(dir).filter((name) => name.startsWith('a.txt'))).toEqual(['a.txt']);
  });

  test('a write onto a folder fails and leaves no temporary beside it', () => {
    const folder = join(dir, 'out');
    mkdirSync(folder);
    expect(() => writeFileAtomic(folder, 'x'.repeat(1000))).toThrow(
      `EISDIR: illegal operation on a directory, rename '${folder}.tmp-${process.pid}' -> '${folder}'`,
    );
    expect(readdirSync(dir).filter((name) => name.startsWith('out'))).toEqual(['out']);
  });
});

describe('writeFileAtomicAsync', () => {
  test('replaces a file whole, making its folder', async () => {
    const file = join(dir, 'async', 'deep', 'b.txt');
    await writeFileAtomicAsync(file, 'one');
    await writeFileAtomicAsync(file, Buffer.from('two'));
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(join(dir, 'async', 'deep'))).toEqual(['b.txt']);
  });

  test('a write onto a folder fails and leaves no temporary beside it', async () => {
    const folder = join(dir, 'async-out');
    mkdirSync(folder);
    await expect(writeFileAtomicAsync(folder, 'x'.repeat(1000))).rejects.toThrow(
      `EISDIR: illegal operation on a directory, rename '${folder}.tmp-${process.pid}' -> '${folder}'`,
    );
    expect(readdirSync(dir).filter((name) => name.startsWith('async-out'))).toEqual(['async-out']);
  });
});

describe('removeStaleTemporaries', () => {
  test('removes the temporaries of exited processes only', () => {
    const sub = join(dir, 'run');
    mkdirSync(sub);
    const dead = deadPid();
    const stale = [`last.safetensors.tmp-${dead}-3`, `oof.csv.tmp-${dead}`];
    const kept = [`report.html.tmp-${process.pid}`, 'notes.tmp-abc', 'last.safetensors', `oof.csv.tmp-${dead}.bak`];
    for (const name of [...stale, ...kept]) writeFileSync(join(sub, name), 'x');
    mkdirSync(join(sub, `fold-0.tmp-${dead}`));
    expect(removeStaleTemporaries(sub).sort()).toEqual(stale.map((name) => join(sub, name)).sort());
    expect(readdirSync(sub).sort()).toEqual([...kept, `fold-0.tmp-${dead}`].sort());
    expect(removeStaleTemporaries(join(dir, 'missing'))).toEqual([]);
    expect(existsSync(join(sub, 'last.safetensors'))).toBe(true);
  });
});
