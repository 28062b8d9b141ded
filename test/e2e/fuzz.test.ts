// A short seeded pass of the fuzz harness (npm run fuzz) over every reader: no crash, no hang, no fast-path/sharp
// disagreement, and every clean error names its file. Runs the built harness (dist/), as the CLI tests do; seed 3
// holds, at case 101, a JPEG missing a Huffman table, which a reused decoder filled from the image before (issue #16 D1).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mutate, Prng } from '../../fuzz/mutate';
import { repoRoot } from './fixtures';

const harness = path.join(repoRoot, 'dist', 'fuzz', 'fuzz.js');

describe('mutations', () => {
  test('are a function of (seed, case)', () => {
    const seed = Buffer.from('image_name,label\na.jpg,1\nb.jpg,0\n');
    const a = Array.from({ length: 20 }, (_, i) => mutate(seed, 'csv', new Prng(7, i)));
    const b = Array.from({ length: 20 }, (_, i) => mutate(seed, 'csv', new Prng(7, i)));
    expect(a).toEqual(b);
    expect(new Set(a.map((x) => x.toString('hex'))).size).toBeGreaterThan(10);
  });
});

describe('npm run fuzz (short seeded pass)', () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-fuzz-kept-'));
  afterAll(() => fs.rmSync(out, { recursive: true, force: true }));

  test.each(['safetensors', 'checkpoint', 'jpeg', 'png', 'csv'])('%s', (target) => {
    const summary = JSON.parse(
      execFileSync('node', [harness, target, '--count', '150', '--seed', '3', '--out', out], { encoding: 'utf8' }),
    );
    expect(summary).toMatchObject({ target, files: 150, crashes: 0, hangs: 0, disagreements: 0, errorsWithoutFileName: 0, kept: [] });
    expect(summary.loads + summary.cleanErrors).toBe(150);
    // Both outcomes occur: the mutations neither always break the file nor never do.
    expect(Math.min(summary.loads, summary.cleanErrors)).toBeGreaterThan(10);
  });

  test('a crash or a hang is counted against its case, the file kept, and the run goes on with the next case', () => {
    let summary: Record<string, unknown> = {};
    try {
      execFileSync('node', [harness, 'csv', '--count', '12', '--seed', '3', '--out', out], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, FOLDTORCH_FUZZ_INJECT: 'crash:3,hang:7', FOLDTORCH_FUZZ_HANG_MS: '1500' },
      });
    } catch (error) {
      const e = error as { status: number; stdout: string };
      expect(e.status).toBe(1);
      summary = JSON.parse(e.stdout);
    }
    expect(summary).toMatchObject({
      files: 12,
      crashes: 1,
      hangs: 1,
      kept: [path.join(out, 'csv-3-3-crash.csv'), path.join(out, 'csv-3-7-hang.csv')],
    });
    expect((summary.loads as number) + (summary.cleanErrors as number)).toBe(10);
    expect(fs.readFileSync(path.join(out, 'csv-3-3-crash.csv.txt'), 'utf8')).toContain('exit SIGSEGV');
    expect(fs.readFileSync(path.join(out, 'csv-3-7-hang.csv.txt'), 'utf8')).toBe('no answer in 1.5 s\n');
  });

  test('refuses an unknown target', () => {
    expect(() => execFileSync('node', [harness, 'gif'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toThrow(
      'fuzz: Expected one of safetensors, checkpoint, jpeg, png, csv for target but received "gif"',
    );
  });
});
