/** The submission file: sample_submit's rows and order, no header, `image_name,probability`, written atomically. */
import { writeToString } from 'fast-csv';
import { invalidData, invalidType, outOfRange } from '../errors';
import { readSampleSubmit } from '../data/csv';
import { toFloat64Array, type NumericArray } from '../metrics/arrays';
import { writeFileAtomic } from '../files';

export interface Predictions {
  ids: readonly string[];
  /**
   * Probability per image. A Float32Array is written with the shortest digits that identify the float32 value
   * (0.3, not 0.30000001192092896); other arrays as float64.
   */
  probabilities: NumericArray;
}

export interface SubmissionResult {
  file: string;
  rows: number;
}

function exponentParts(value: number): { digits: string; exponent: number } {
  const [mantissa, exponent] = value.toExponential().split('e');
  return { digits: mantissa.replace('.', '').replace('-', ''), exponent: Number(exponent) };
}

/** Shortest decimal that reads back as the same float32 (toPrecision 1..9 always finds one). */
function shortestFloat32(value: number): number {
  for (let precision = 1; precision < 9; precision++) {
    const candidate = Number(value.toPrecision(precision));
    if (Math.fround(candidate) === value) return candidate;
  }
  return Number(value.toPrecision(9));
}

/**
 * Python's `repr(float)` (what pandas writes): shortest round-trip digits, positional for 1e-4 <= |x| < 1e16 with
 * at least one decimal ("1.0"), otherwise scientific with a two-digit exponent ("1e-05", "2.5e-07").
 */
export function formatPythonFloat(value: number, precision: 'float64' | 'float32' = 'float64'): string {
  if (!Number.isFinite(value)) throw outOfRange('value', 'a finite number', value);
  const x = precision === 'float32' ? shortestFloat32(Math.fround(value)) : value;
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const { digits, exponent } = exponentParts(x);
  if (exponent < -4 || exponent >= 16) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const e = String(Math.abs(exponent)).padStart(2, '0');
    return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${e}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction === '' ? '0' : fraction}`;
}

function checkPredictions(predictions: Predictions): { ids: readonly string[]; values: Float64Array; float32: boolean } {
  if (typeof predictions !== 'object' || predictions === null)
    throw invalidType('predictions', 'an object with ids and probabilities', predictions);
  const { ids } = predictions;
  if (!Array.isArray(ids)) throw invalidType('predictions.ids', 'an array of image names', ids);
  const values = toFloat64Array('predictions.probabilities', predictions.probabilities, {
    min: 0,
    max: 1,
    length: ids.length,
    lengthOf: 'the number of predictions.ids',
    allowEmpty: true,
  });
  return { ids, values, float32: predictions.probabilities instanceof Float32Array };
}

/**
 * Writes `file` with one line per sample_submit row, in its order, each with its prediction. Every sample row must
 * have a prediction and every prediction a sample row; on any error nothing is written and an existing file is
 * kept (the new content goes to a temporary file that is renamed over it).
 */
export async function writeSubmission(file: string, predictions: Predictions, sampleSubmitFile: string): Promise<SubmissionResult> {
  if (typeof file !== 'string' || file === '') throw invalidType('file', 'a file path', file);
  const { ids, values, float32 } = checkPredictions(predictions);
  const byId = new Map<string, number>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string') throw invalidType(`predictions.ids[${i}]`, 'a string', id);
    if (byId.has(id)) throw outOfRange('predictions.ids', 'unique image names', `${JSON.stringify(id)} twice`);
    byId.set(id, i);
  });
  const sample = await readSampleSubmit(sampleSubmitFile);
  if (sample.length === 0) throw invalidData(sampleSubmitFile, 'Expected at least one row but the file is empty');
  const missing = sample.filter((row) => !byId.has(row.imageName));
  if (missing.length > 0) {
    throw invalidData(
      `${sampleSubmitFile} line ${missing[0].line}`,
      `no prediction for ${JSON.stringify(missing[0].imageName)} (${missing.length} of ${sample.length} rows have none); nothing written to ${file}`,
    );
  }
  if (ids.length > sample.length) {
    const known = new Set(sample.map((row) => row.imageName));
    const extra = ids.find((id) => !known.has(id));
    throw invalidData(
      sampleSubmitFile,
      `no row for predicted image ${JSON.stringify(extra)} (${ids.length - sample.length} predictions not in the file); nothing written to ${file}`,
    );
  }
  const rows = sample.map((row) => [row.imageName, formatPythonFloat(values[byId.get(row.imageName)!], float32 ? 'float32' : 'float64')]);
  const content = await writeToString(rows, { headers: false, includeEndRowDelimiter: true });
  try {
    writeFileAtomic(file, content);
  } catch (error) {
    throw Object.assign(invalidData(file, `cannot write the submission (${(error as Error).message})`), { cause: error });
  }
  return { file, rows: rows.length };
}

/** Reads a submission (or sample_submit) back: no header, `image_name,probability`; names the file and line on errors. */
export async function readSubmission(file: string): Promise<{ ids: string[]; probabilities: Float64Array }> {
  const rows = await readSampleSubmit(file);
  return { ids: rows.map((r) => r.imageName), probabilities: Float64Array.from(rows, (r) => r.probability) };
}
