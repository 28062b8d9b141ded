/** The per-fold, per-epoch table the seed printed (train/valid AUC and loss), as data, plain text and CSV. */
import { invalidType, outOfRange, requireInteger } from '../errors';

/** One epoch of one fold; a metric left out (or null) was not measured, NaN means it diverged. */
export interface EpochRecord {
  fold: number;
  /** 1-based epoch number. */
  epoch: number;
  trainLoss?: number | null;
  trainAuc?: number | null;
  validLoss?: number | null;
  validAuc?: number | null;
}

export const epochMetricKeys = ['trainLoss', 'trainAuc', 'validLoss', 'validAuc'] as const;
export type EpochMetricKey = (typeof epochMetricKeys)[number];

/** Column headers of the text and CSV forms, in the seed's snake_case. */
const kHeaders: Record<EpochMetricKey, string> = {
  trainLoss: 'train_loss',
  trainAuc: 'train_auc',
  validLoss: 'valid_loss',
  validAuc: 'valid_auc',
};

export interface FoldBest {
  fold: number;
  /** Epoch with the highest valid AUC (the first one on ties): the checkpoint a run keeps. */
  epoch: number;
  validAuc: number;
}

export interface FoldTable {
  /** Records sorted by fold, then epoch, metrics normalised to number | null. */
  rows: Required<EpochRecord>[];
  folds: number[];
  epochs: number[];
  /** grid[metric][f][e]: the metric of folds[f] at epochs[e], null when absent. */
  grid: Record<EpochMetricKey, (number | null)[][]>;
  best: FoldBest[];
  /** Mean and population std (numpy's default ddof=0) of the best valid AUC over folds; null without any. */
  meanBestValidAuc: number | null;
  stdBestValidAuc: number | null;
}

function checkRecord(record: unknown, i: number): Required<EpochRecord> {
  if (typeof record !== 'object' || record === null) throw invalidType(`records[${i}]`, 'an object', record);
  const r = record as EpochRecord;
  const out: Required<EpochRecord> = {
    fold: requireInteger(`records[${i}].fold`, r.fold, 0),
    epoch: requireInteger(`records[${i}].epoch`, r.epoch, 1),
    trainLoss: null,
    trainAuc: null,
    validLoss: null,
    validAuc: null,
  };
  for (const key of epochMetricKeys) {
    const v = r[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'number') throw invalidType(`records[${i}].${key}`, 'a number or null', v);
    // A diverged run has NaN losses (and may have a NaN AUC): shown as such, never hidden.
    if (key.endsWith('Auc') && !(v >= 0 && v <= 1) && !Number.isNaN(v)) {
      throw outOfRange(`records[${i}].${key}`, 'a number from 0 to 1 or NaN', v);
    }
    out[key] = v;
  }
  return out;
}

/** Builds the table; one record per (fold, epoch), any order. */
export function foldTable(records: readonly EpochRecord[]): FoldTable {
  if (!Array.isArray(records)) throw invalidType('records', 'an array of epoch records', records);
  const rows = records.map(checkRecord).sort((a, b) => a.fold - b.fold || a.epoch - b.epoch);
  for (let i = 1; i < rows.length; i++) {
    if (rows[i].fold === rows[i - 1].fold && rows[i].epoch === rows[i - 1].epoch) {
      throw outOfRange('records', 'one record per fold and epoch', `two records for fold ${rows[i].fold} epoch ${rows[i].epoch}`);
    }
  }
  const folds = [...new Set(rows.map((r) => r.fold))];
  const epochs = [...new Set(rows.map((r) => r.epoch))].sort((a, b) => a - b);
  const grid = Object.fromEntries(
    epochMetricKeys.map((key) => [
      key,
      folds.map((fold) =>
        epochs.map((epoch) => {
          const row = rows.find((r) => r.fold === fold && r.epoch === epoch);
          return row ? row[key] : null;
        }),
      ),
    ]),
  ) as FoldTable['grid'];
  const best: FoldBest[] = [];
  for (const fold of folds) {
    let top: FoldBest | null = null;
    for (const r of rows) {
      if (r.fold === fold && r.validAuc !== null && !Number.isNaN(r.validAuc) && (top === null || r.validAuc > top.validAuc)) {
        top = { fold, epoch: r.epoch, validAuc: r.validAuc };
      }
    }
    if (top) best.push(top);
  }
  const values = best.map((b) => b.validAuc);
  const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
  const std = mean === null ? null : Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { rows, folds, epochs, grid, best, meanBestValidAuc: mean, stdBestValidAuc: std };
}

function cell(value: number | null, digits: number): string {
  if (value === null) return '-';
  return Number.isNaN(value) ? 'nan' : value.toFixed(digits);
}

function alignColumns(lines: string[][]): string {
  const widths = lines[0].map((_, c) => Math.max(...lines.map((line) => line[c].length)));
  return lines
    .map((line) =>
      line
        .map((text, c) => (c === 0 ? text.padEnd(widths[c]) : text.padStart(widths[c])))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export interface FoldTableFormat {
  /** Digits after the decimal point (default 4). */
  digits?: number;
}

/**
 * Plain-text form: the long table (one line per fold and epoch, `*` on each fold's best epoch), then the
 * fold × epoch grid of valid AUC with the best-epoch mean ± std.
 */
export function formatFoldTable(table: FoldTable, format: FoldTableFormat = {}): string {
  const digits = requireInteger('digits', format.digits ?? 4, 0, 12);
  const long = [['fold', 'epoch', ...epochMetricKeys.map((k) => kHeaders[k]), 'best']];
  for (const r of table.rows) {
    const isBest = table.best.some((b) => b.fold === r.fold && b.epoch === r.epoch);
    long.push([String(r.fold), String(r.epoch), ...epochMetricKeys.map((k) => cell(r[k], digits)), isBest ? '*' : '']);
  }
  const grid = [['valid_auc', ...table.epochs.map((e) => `epoch ${e}`), 'best']];
  table.folds.forEach((fold, f) => {
    const best = table.best.find((b) => b.fold === fold);
    grid.push([`fold ${fold}`, ...table.grid.validAuc[f].map((v) => cell(v, digits)), best ? cell(best.validAuc, digits) : '-']);
  });
  const summary =
    table.meanBestValidAuc === null
      ? 'best valid AUC: -'
      : `best valid AUC over ${table.best.length} folds: ${cell(table.meanBestValidAuc, digits)} ± ${cell(table.stdBestValidAuc, digits)}`;
  return `${alignColumns(long)}\n\n${alignColumns(grid)}\n${summary}\n`;
}

/** CSV form (header `fold,epoch,train_loss,train_auc,valid_loss,valid_auc`, empty cell = not measured). */
export function foldTableCsv(table: FoldTable): string {
  const header = ['fold', 'epoch', ...epochMetricKeys.map((k) => kHeaders[k])].join(',');
  const lines = table.rows.map((r) => [r.fold, r.epoch, ...epochMetricKeys.map((k) => (r[k] === null ? '' : String(r[k])))].join(','));
  return `${[header, ...lines].join('\n')}\n`;
}
