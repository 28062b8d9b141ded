import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatPythonFloat, readSubmission, writeSubmission } from '../../../src/predict/submission';

let dir: string;
let sample: string;
let out: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'submission-'));
  sample = join(dir, 'sample_submit.csv');
  out = join(dir, 'run', 'submission.csv');
  writeFileSync(sample, 'c.jpg,0.5\r\na.jpg,0.5\r\nb,x.jpg,0.5\r\n'.replace('b,x.jpg', '"b,x.jpg"'));
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('writeSubmission', () => {
  test('sample_submit order, no header, every row, Python float format, quoted names', async () => {
    const result = await writeSubmission(out, { ids: ['a.jpg', 'b,x.jpg', 'c.jpg'], probabilities: [0.25, 1, 0.00001] }, sample);
    expect(result).toEqual({ file: out, rows: 3 });
    expect(readFileSync(out, 'utf8')).toBe('c.jpg,1e-05\na.jpg,0.25\n"b,x.jpg",1.0\n');
    expect(readdirSync(join(dir, 'run'))).toEqual(['submission.csv']); // no temporary file left behind
  });

  test("float32 probabilities are written with float32's shortest digits", async () => {
    await writeSubmission(out, { ids: ['a.jpg', 'b,x.jpg', 'c.jpg'], probabilities: new Float32Array([0.3, 0.7, 0.1]) }, sample);
    expect(readFileSync(out, 'utf8')).toBe('c.jpg,0.1\na.jpg,0.3\n"b,x.jpg",0.7\n');
  });

  test('reads back what it wrote', async () => {
    await writeSubmission(out, { ids: ['c.jpg', 'a.jpg', 'b,x.jpg'], probabilities: [0.1, 0.2, 0.123456789] }, sample);
    const back = await readSubmission(out);
    expect(back.ids).toEqual(['c.jpg', 'a.jpg', 'b,x.jpg']);
    expect(Array.from(back.probabilities)).toEqual([0.1, 0.2, 0.123456789]);
  });

  describe('errors keep an existing submission intact', () => {
    beforeEach(() => {
      mkdirSync(join(dir, 'run'));
      writeFileSync(out, 'old content\n');
    });
    afterEach(() => expect(readFileSync(out, 'utf8')).toBe('old content\n'));

    test('a sample row without prediction names the sample file and line', async () => {
      await expect(writeSubmission(out, { ids: ['c.jpg', 'b,x.jpg'], probabilities: [0.1, 0.2] }, sample)).rejects.toThrow(
        `${sample} line 2: no prediction for "a.jpg" (1 of 3 rows have none); nothing written to ${out}`,
      );
    });

    test('a prediction without sample row', async () => {
      await expect(
        writeSubmission(out, { ids: ['c.jpg', 'a.jpg', 'b,x.jpg', 'z.jpg'], probabilities: [0.1, 0.2, 0.3, 0.4] }, sample),
      ).rejects.toThrow(`${sample}: no row for predicted image "z.jpg" (1 predictions not in the file); nothing written to ${out}`);
    });

    test('a header line in sample_submit', async () => {
      writeFileSync(sample, 'image_name,label\na.jpg,0.5\n');
      await expect(writeSubmission(out, { ids: ['a.jpg'], probabilities: [0.1] }, sample)).rejects.toThrow(
        `${sample} line 1: Expected a number for probability but received "label" (sample_submit.csv has no header line)`,
      );
    });

    test('an empty sample_submit', async () => {
      writeFileSync(sample, '');
      await expect(writeSubmission(out, { ids: [], probabilities: [] }, sample)).rejects.toThrow(
        `${sample}: Expected at least one row but the file is empty`,
      );
    });

    test('a missing sample_submit', async () => {
      await expect(writeSubmission(out, { ids: ['a'], probabilities: [0.1] }, join(dir, 'nope.csv'))).rejects.toThrow('nope.csv');
    });

    test.each([
      ['file', () => writeSubmission('', { ids: [], probabilities: [] }, sample), 'Expected a file path for file but received ""'],
      [
        'predictions',
        () => writeSubmission(out, null as never, sample),
        'Expected an object with ids and probabilities for predictions but received null',
      ],
      [
        'ids',
        () => writeSubmission(out, { ids: 'a' as never, probabilities: [] }, sample),
        'Expected an array of image names for predictions.ids but received "a"',
      ],
      [
        'id type',
        () => writeSubmission(out, { ids: [3 as never], probabilities: [0.5] }, sample),
        'Expected a string for predictions.ids[0] but received 3',
      ],
      [
        'duplicate ids',
        () => writeSubmission(out, { ids: ['a.jpg', 'a.jpg'], probabilities: [0.5, 0.5] }, sample),
        'Expected unique image names for predictions.ids but received "\\"a.jpg\\" twice"',
      ],
      [
        'length',
        () => writeSubmission(out, { ids: ['a.jpg'], probabilities: [0.5, 0.5] }, sample),
        'Expected an array of length 1 (the number of predictions.ids) for predictions.probabilities but received an array of length 2',
      ],
      [
        'probability',
        () => writeSubmission(out, { ids: ['a.jpg'], probabilities: [Number.NaN] }, sample),
        'Expected a finite number from 0 to 1 for predictions.probabilities[0] but received NaN',
      ],
    ])('validation: %s', async (_name, call, message) => {
      await expect(call()).rejects.toThrow(message);
    });

    test('an unwritable folder names the submission file', async () => {
      if (process.getuid?.() === 0) {
        // root ignores permissions: make the target a folder instead, so the rename fails.
        rmSync(out);
        mkdirSync(join(out, 'x'), { recursive: true });
        await expect(writeSubmission(out, { ids: ['a.jpg', 'b,x.jpg', 'c.jpg'], probabilities: [0.1, 0.2, 0.3] }, sample)).rejects.toThrow(
          `${out}: cannot write the submission (`,
        );
        rmSync(out, { recursive: true });
        writeFileSync(out, 'old content\n');
        return;
      }
      chmodSync(join(dir, 'run'), 0o500);
      try {
        await expect(writeSubmission(out, { ids: ['a.jpg', 'b,x.jpg', 'c.jpg'], probabilities: [0.1, 0.2, 0.3] }, sample)).rejects.toThrow(
          `${out}: cannot write the submission (`,
        );
      } finally {
        chmodSync(join(dir, 'run'), 0o700);
      }
    });
  });
});

describe('formatPythonFloat (Python repr, as pandas writes floats)', () => {
  test.each([
    [0.5, '0.5'],
    [1, '1.0'],
    [0, '0.0'],
    [0.30000000000000004, '0.30000000000000004'],
    [1e-5, '1e-05'],
    [2.5e-7, '2.5e-07'],
    [0.0001, '0.0001'],
    [0.00012345, '0.00012345'],
    [123.456, '123.456'],
    [1e16, '1e+16'],
    [1e15, '1000000000000000.0'],
    [5e-324, '5e-324'],
    [0.7234567891234567, '0.7234567891234567'],
    [-0.25, '-0.25'],
  ])('%p → %s', (value, text) => {
    expect(formatPythonFloat(value)).toBe(text);
  });

  test('float32 shortest digits (numpy str(np.float32))', () => {
    expect([0.3, 0.1, 1e-5, 0.7234567].map((x) => formatPythonFloat(Math.fround(x), 'float32'))).toEqual([
      '0.3',
      '0.1',
      '1e-05',
      '0.7234567',
    ]);
  });

  test('non-finite values are refused', () => {
    expect(() => formatPythonFloat(Infinity)).toThrow('Expected a finite number for value but received Infinity');
  });
});
