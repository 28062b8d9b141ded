import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  readCsvTable,
  readLabelCsv,
  readSampleSubmit,
  readTrainCsv,
  writeCsv,
  writeOofCsv,
  writeSubmissionCsv,
} from '../../../src/data/csv';

let dir: string;
beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'foldtorch-csv-'))));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe('readTrainCsv', () => {
  test('UTF-8 BOM, CRLF, quoted fields, blank lines, extra columns; lines counted physically', async () => {
    const path = file(
      'train.csv',
      Buffer.concat([
        Buffer.from([0xef, 0xbb, 0xbf]),
        Buffer.from('image_name,label,source\r\na.jpg,1,x\r\n\r\n"b, ""c"".jpg",0,y\r\n"multi\r\nline.jpg", 1 ,z\r\nd.jpg,0,w\r\n'),
      ]),
    );
    expect(await readTrainCsv(path)).toEqual([
      { imageName: 'a.jpg', label: 1, line: 2 },
      { imageName: 'b, "c".jpg', label: 0, line: 4 },
      { imageName: 'multi\r\nline.jpg', label: 1, line: 5 },
      { imageName: 'd.jpg', label: 0, line: 7 },
    ]);
  });

  test('allowed classes map labels to class indices', async () => {
    const path = file('named.csv', 'image_name,label\na.jpg,food\nb.jpg,drink\n');
    expect((await readTrainCsv(path, ['drink', 'food'])).map((r) => r.label)).toEqual([1, 0]);
  });

  test('custom column names for generic label files', async () => {
    const path = file('generic.csv', 'id,class\nx.png,1\n');
    expect(await readLabelCsv(path, { imageColumn: 'id', labelColumn: 'class' })).toEqual([{ imageName: 'x.png', label: 1, line: 2 }]);
  });

  test.each([
    ['image,label\na.jpg,1\n', 'line 1: Expected a header with columns image_name, label but received "image,label" (missing image_name)'],
    ['image_name,label\na.jpg,2\n', 'line 2: Expected one of 0, 1 for label but received "2"'],
    ['image_name,label\na.jpg,1.0\n', 'line 2: Expected one of 0, 1 for label but received "1.0"'],
    ['image_name,label\na.jpg,\n', 'line 2: Expected one of 0, 1 for label but received ""'],
    ['image_name,label\na.jpg,1\n\nb.jpg,0\na.jpg,0\n', 'line 5: duplicate image name "a.jpg" (first listed on line 2)'],
    ['image_name,label\na.jpg\n', 'line 2: Expected 2 fields but received 1'],
    ['image_name,label\n,1\n', 'line 2: Expected a relative image file name for image_name but received ""'],
    ['image_name,label\n../secret.jpg,1\n', 'line 2: Expected a relative image file name for image_name but received "../secret.jpg"'],
    ['image_name,label\n/etc/x.jpg,1\n', 'line 2: Expected a relative image file name for image_name but received "/etc/x.jpg"'],
    ['image_name,label\na.jpg,1\nb.jpg,"0\n', 'line 3: cannot parse CSV'],
    [
      'image_name,label,label\na.jpg,1,0\n',
      'line 1: Expected each column once in the header but received "image_name,label,label" (label is repeated)',
    ],
    [
      '\n image_name , label,source,image_name\na.jpg,1,x,b.jpg\n',
      'line 2: Expected each column once in the header but received "image_name,label,source,image_name" (image_name is repeated)',
    ],
  ])('bad train.csv %#', async (text, message) => {
    const path = file('bad.csv', text);
    await expect(readTrainCsv(path)).rejects.toThrow(`${path} ${message}`);
  });

  test('an empty file names the file', async () => {
    const path = file('empty.csv', '');
    await expect(readTrainCsv(path)).rejects.toThrow(`${path}: Expected a header line but the file is empty`);
  });

  test('a missing file is an ENOENT error naming the file', async () => {
    await expect(readTrainCsv(join(dir, 'nope.csv'))).rejects.toThrow(/ENOENT.*nope\.csv/);
  });
});

describe('readSampleSubmit', () => {
  test('no header, order kept, BOM stripped', async () => {
    const path = file('sub.csv', '\ufeffz.jpg,0.5\r\na.jpg,0.25\r\nm.jpg,1\r\n');
    expect(await readSampleSubmit(path)).toEqual([
      { imageName: 'z.jpg', probability: 0.5, line: 1 },
      { imageName: 'a.jpg', probability: 0.25, line: 2 },
      { imageName: 'm.jpg', probability: 1, line: 3 },
    ]);
  });

  test.each([
    [
      'image_name,probability\na.jpg,0.5\n',
      'line 1: Expected a number for probability but received "probability" (sample_submit.csv has no header line)',
    ],
    ['a.jpg,0.5\nb.jpg\n', 'line 2: Expected 2 fields (image_name,probability) but received 1'],
    ['a.jpg,0.5\nb.jpg,x\n', 'line 2: Expected a number for probability but received "x"'],
    ['a.jpg,0.5\na.jpg,0.5\n', 'line 2: duplicate image name "a.jpg" (first listed on line 1)'],
  ])('bad sample_submit %#', async (text, message) => {
    const path = file('badsub.csv', text);
    await expect(readSampleSubmit(path)).rejects.toThrow(`${path} ${message}`);
  });
});

describe('readCsvTable', () => {
  test('a repeated column is refused whatever its name; unnamed columns may repeat', async () => {
    const path = file('meta.csv', 'image_name,style,style\na.jpg,x,y\n');
    await expect(readCsvTable(path, ['image_name'])).rejects.toThrow(
      `${path} line 1: Expected each column once in the header but received "image_name,style,style" (style is repeated)`,
    );
    const trailing = file('trailing.csv', 'image_name,label,,\na.jpg,1,,\n');
    expect((await readCsvTable(trailing, ['image_name'])).rows).toEqual([{ line: 2, values: { image_name: 'a.jpg', label: '1', '': '' } }]);
  });

  test('values by column, trimmed', async () => {
    const path = file('meta.csv', 'image_name,style\n a.jpg , noto \n');
    expect(await readCsvTable(path, ['image_name'])).toEqual({
      columns: ['image_name', 'style'],
      rows: [{ line: 2, values: { image_name: 'a.jpg', style: 'noto' } }],
    });
  });
});

describe('writers', () => {
  test('submission.csv has no header and keeps the given order', async () => {
    const path = join(dir, 'submission.csv');
    await writeSubmissionCsv(path, [
      { imageName: 'z.jpg', probability: 0.125 },
      { imageName: 'a.jpg', probability: 0.9000000000000001 },
    ]);
    expect(readFileSync(path, 'utf8')).toBe('z.jpg,0.125\na.jpg,0.9000000000000001\n');
    expect((await readSampleSubmit(path)).map((r) => r.probability)).toEqual([0.125, 0.9000000000000001]);
  });

  test('oof.csv has a header; fields needing quotes are quoted', async () => {
    const path = join(dir, 'oof.csv');
    await writeOofCsv(path, [{ imageName: 'a,b.jpg', label: 1, fold: 3, probability: 0.75 }]);
    expect(readFileSync(path, 'utf8')).toBe('image_name,label,fold,probability\n"a,b.jpg",1,3,0.75\n');
  });

  test('writeCsv with a header and an empty row list writes the header only', async () => {
    const path = join(dir, 'h.csv');
    await writeCsv(path, ['a', 'b'], []);
    expect(readFileSync(path, 'utf8')).toBe('a,b\n');
  });
});
