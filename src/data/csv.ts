/** Streamed CSV reading (fast-csv) with file-and-line errors, plus the writers for folds, out-of-fold and submission files. */
import { createReadStream, createWriteStream } from 'node:fs';
import { isAbsolute } from 'node:path';
import { finished } from 'node:stream/promises';
import { format, parseStream } from 'fast-csv';
import { invalidData } from '../errors';

/** One CSV record and the physical line it starts on (1-based; quoted newlines are counted). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/** A record of a headed CSV as column → trimmed value. */
export interface CsvRow {
  line: number;
  values: Record<string, string>;
}

/** An image name with its class index (position of its label in the allowed classes). */
export interface LabeledImage {
  imageName: string;
  label: number;
  line: number;
}

export interface SubmissionRow {
  imageName: string;
  probability: number;
}

export interface OofRow {
  imageName: string;
  label: number;
  fold: number;
  probability: number;
}

export interface ReadLabelsOptions {
  /** Allowed label values in class-index order; default `['0', '1']` (0 = drink, 1 = food). */
  classes?: readonly string[];
  imageColumn?: string;
  labelColumn?: string;
}

export const kDefaultClasses: readonly string[] = ['0', '1'];

/** Where an error points: "file line N". */
export function csvWhere(file: string, line: number): string {
  return `${file} line ${line}`;
}

/** Streams the records of a CSV file; a UTF-8 BOM, CRLF and quoted fields are handled, blank lines skipped. */
export async function* readCsvRecords(file: string): AsyncGenerator<CsvRecord> {
  const input = createReadStream(file);
  const stream = parseStream(input, { headers: false, trim: false });
  // fast-csv does not forward errors of its input (a missing file would hang): pass them on.
  input.on('error', (error) => stream.destroy(error));
  let line = 1;
  try {
    for await (const row of stream as AsyncIterable<string[]>) {
      const start = line;
      for (const field of row) line += countNewlines(field);
      line += 1;
      if (row.length === 0 || (row.length === 1 && row[0].trim() === '')) continue;
      if (start === 1 && row[0].charCodeAt(0) === 0xfeff) row[0] = row[0].slice(1);
      yield { line: start, fields: row };
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    // Node's EISDIR message names no file.
    if (code === 'EISDIR') throw invalidData(file, 'Expected a CSV file but it is a folder');
    if (code === 'ERR_INVALID_DATA' || (error as { syscall?: string }).syscall !== undefined) throw error;
    throw invalidData(csvWhere(file, line), `cannot parse CSV (${(error as Error).message})`);
  }
}

function countNewlines(text: string): number {
  let count = 0;
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) count++;
  return count;
}

/** Reads a CSV with a header, checking that `required` columns exist; values are trimmed. */
export async function readCsvTable(file: string, required: readonly string[]): Promise<{ columns: string[]; rows: CsvRow[] }> {
  let columns: string[] | undefined;
  const rows: CsvRow[] = [];
  for await (const record of readCsvRecords(file)) {
    const fields = record.fields.map((field) => field.trim());
    if (columns === undefined) {
      columns = fields;
      // With two columns of one name a row would keep only the last value: which one was meant is unknowable.
      const repeated = fields.find((name, i) => name !== '' && fields.indexOf(name) !== i);
      if (repeated !== undefined) {
        throw invalidData(
          csvWhere(file, record.line),
          `Expected each column once in the header but received "${fields.join(',')}" (${repeated} is repeated)`,
        );
      }
      const missing = required.filter((name) => !fields.includes(name));
      if (missing.length > 0) {
        throw invalidData(
          csvWhere(file, record.line),
          `Expected a header with columns ${required.join(', ')} but received "${fields.join(',')}" (missing ${missing.join(', ')})`,
        );
      }
      continue;
    }
    if (fields.length < columns.length) {
      throw invalidData(csvWhere(file, record.line), `Expected ${columns.length} fields but received ${fields.length}`);
    }
    const values: Record<string, string> = {};
    columns.forEach((name, i) => (values[name] = fields[i]));
    rows.push({ line: record.line, values });
  }
  if (columns === undefined) throw invalidData(file, 'Expected a header line but the file is empty');
  return { columns, rows };
}

/** Checks an image name from a CSV: non-empty, relative, no `..`. */
export function checkImageName(file: string, line: number, name: string, column = 'image_name'): string {
  if (name === '' || isAbsolute(name) || name.split(/[\\/]/).includes('..')) {
    throw invalidData(csvWhere(file, line), `Expected a relative image file name for ${column} but received ${JSON.stringify(name)}`);
  }
  return name;
}

/** Rejects a second occurrence of an image name, pointing at both lines. */
export class DuplicateCheck {
  private readonly seen = new Map<string, number>();
  constructor(private readonly file: string) {}

  add(name: string, line: number): void {
    const first = this.seen.get(name);
    if (first !== undefined) {
      throw invalidData(csvWhere(this.file, line), `duplicate image name ${JSON.stringify(name)} (first listed on line ${first})`);
    }
    this.seen.set(name, line);
  }
}

/** Reads a headed label CSV (e.g. train.csv, answer/test_labels.csv): names unique, labels among the classes. */
export async function readLabelCsv(file: string, options: ReadLabelsOptions = {}): Promise<LabeledImage[]> {
  const classes = options.classes ?? kDefaultClasses;
  const imageColumn = options.imageColumn ?? 'image_name';
  const labelColumn = options.labelColumn ?? 'label';
  const { rows } = await readCsvTable(file, [imageColumn, labelColumn]);
  const duplicates = new DuplicateCheck(file);
  return rows.map(({ line, values }) => {
    const imageName = checkImageName(file, line, values[imageColumn], imageColumn);
    duplicates.add(imageName, line);
    const label = classes.indexOf(values[labelColumn]);
    if (label < 0) {
      throw invalidData(
        csvWhere(file, line),
        `Expected one of ${classes.join(', ')} for ${labelColumn} but received ${JSON.stringify(values[labelColumn])}`,
      );
    }
    return { imageName, label, line };
  });
}

/** The competition's train.csv: header `image_name,label`, labels 0 (drink) / 1 (food) unless other classes are given. */
export function readTrainCsv(file: string, classes: readonly string[] = kDefaultClasses): Promise<LabeledImage[]> {
  return readLabelCsv(file, { classes });
}

/** sample_submit.csv: no header, `image_name,probability`; its row order is the submission's order. */
export async function readSampleSubmit(file: string): Promise<Array<SubmissionRow & { line: number }>> {
  const rows: Array<SubmissionRow & { line: number }> = [];
  const duplicates = new DuplicateCheck(file);
  for await (const { line, fields } of readCsvRecords(file)) {
    if (fields.length < 2)
      throw invalidData(csvWhere(file, line), `Expected 2 fields (image_name,probability) but received ${fields.length}`);
    const imageName = checkImageName(file, line, fields[0].trim());
    const text = fields[1].trim();
    const probability = Number(text);
    if (text === '' || !Number.isFinite(probability)) {
      const hint = line === 1 ? ' (sample_submit.csv has no header line)' : '';
      throw invalidData(csvWhere(file, line), `Expected a number for probability but received ${JSON.stringify(text)}${hint}`);
    }
    duplicates.add(imageName, line);
    rows.push({ imageName, probability, line });
  }
  return rows;
}

/** Writes rows through fast-csv's formatter (quoting as needed); `header` null writes no header line. */
export async function writeCsv(
  file: string,
  header: readonly string[] | null,
  rows: Iterable<readonly (string | number)[]>,
): Promise<void> {
  const output = createWriteStream(file);
  const stream = format({
    headers: header === null ? false : [...header],
    alwaysWriteHeaders: header !== null,
    includeEndRowDelimiter: true,
  });
  stream.pipe(output);
  for (const row of rows) stream.write(row.map(String));
  stream.end();
  await finished(output);
}

/** oof.csv: `image_name,label,fold,probability` with a header. */
export function writeOofCsv(file: string, rows: readonly OofRow[]): Promise<void> {
  return writeCsv(
    file,
    ['image_name', 'label', 'fold', 'probability'],
    rows.map((row) => [row.imageName, row.label, row.fold, row.probability]),
  );
}

/** submission.csv in sample_submit's format: no header, `image_name,probability`, order as given. */
export function writeSubmissionCsv(file: string, rows: readonly SubmissionRow[]): Promise<void> {
  return writeCsv(
    file,
    null,
    rows.map((row) => [row.imageName, row.probability]),
  );
}
