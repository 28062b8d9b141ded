import { foldTable, foldTableCsv, formatFoldTable, type EpochRecord } from '../../../src/metrics/foldTable';

const records: EpochRecord[] = [
  { fold: 1, epoch: 2, trainLoss: 0.41, trainAuc: 0.91, validLoss: 0.52, validAuc: 0.8 },
  { fold: 0, epoch: 1, trainLoss: 0.69, trainAuc: 0.61, validLoss: 0.6, validAuc: 0.7 },
  { fold: 0, epoch: 2, trainLoss: 0.45, trainAuc: 0.9, validLoss: 0.55, validAuc: 0.75 },
  { fold: 1, epoch: 1, trainLoss: 0.7, trainAuc: 0.6, validLoss: 0.58, validAuc: 0.9 },
];

describe('foldTable', () => {
  test('sorts rows, builds the fold × epoch grid and the best epoch per fold', () => {
    const t = foldTable(records);
    expect(t.rows.map((r) => [r.fold, r.epoch])).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
    ]);
    expect(t.folds).toEqual([0, 1]);
    expect(t.epochs).toEqual([1, 2]);
    expect(t.grid.validAuc).toEqual([
      [0.7, 0.75],
      [0.9, 0.8],
    ]);
    expect(t.grid.trainLoss).toEqual([
      [0.69, 0.45],
      [0.7, 0.41],
    ]);
    expect(t.best).toEqual([
      { fold: 0, epoch: 2, validAuc: 0.75 },
      { fold: 1, epoch: 1, validAuc: 0.9 },
    ]);
    expect(t.meanBestValidAuc).toBeCloseTo(0.825, 15);
    expect(t.stdBestValidAuc).toBeCloseTo(0.075, 15);
  });

  test('missing metrics are null in the grid and "-" in text; a fold without valid AUC has no best', () => {
    const t = foldTable([
      { fold: 0, epoch: 1, trainLoss: 0.5 },
      { fold: 2, epoch: 3, validAuc: 0.6 },
    ]);
    expect(t.grid.validAuc).toEqual([
      [null, null],
      [null, 0.6],
    ]);
    expect(t.best).toEqual([{ fold: 2, epoch: 3, validAuc: 0.6 }]);
    expect(formatFoldTable(t, { digits: 2 })).toBe(
      [
        'fold  epoch  train_loss  train_auc  valid_loss  valid_auc  best',
        '0         1        0.50          -           -          -',
        '2         3           -          -           -       0.60     *',
        '',
        'valid_auc  epoch 1  epoch 3  best',
        'fold 0           -        -     -',
        'fold 2           -     0.60  0.60',
        'best valid AUC over 1 folds: 0.60 ± 0.00',
        '',
      ].join('\n'),
    );
  });

  test('plain text form', () => {
    expect(formatFoldTable(foldTable(records))).toBe(
      [
        'fold  epoch  train_loss  train_auc  valid_loss  valid_auc  best',
        '0         1      0.6900     0.6100      0.6000     0.7000',
        '0         2      0.4500     0.9000      0.5500     0.7500     *',
        '1         1      0.7000     0.6000      0.5800     0.9000     *',
        '1         2      0.4100     0.9100      0.5200     0.8000',
        '',
        'valid_auc  epoch 1  epoch 2    best',
        'fold 0      0.7000   0.7500  0.7500',
        'fold 1      0.9000   0.8000  0.9000',
        'best valid AUC over 2 folds: 0.8250 ± 0.0750',
        '',
      ].join('\n'),
    );
  });

  test('NaN losses of a diverged run are shown, never best', () => {
    const t = foldTable([{ fold: 0, epoch: 1, trainLoss: Number.NaN, validAuc: Number.NaN }]);
    expect(t.best).toEqual([]);
    expect(t.meanBestValidAuc).toBeNull();
    expect(formatFoldTable(t)).toContain('0         1         nan          -           -        nan');
    expect(formatFoldTable(t)).toContain('best valid AUC: -');
  });

  test('CSV form', () => {
    expect(foldTableCsv(foldTable(records.slice(1, 3)))).toBe(
      'fold,epoch,train_loss,train_auc,valid_loss,valid_auc\n0,1,0.69,0.61,0.6,0.7\n0,2,0.45,0.9,0.55,0.75\n',
    );
    expect(foldTableCsv(foldTable([{ fold: 0, epoch: 1 }]))).toBe('fold,epoch,train_loss,train_auc,valid_loss,valid_auc\n0,1,,,,\n');
  });
});

describe('validation', () => {
  test.each([
    ['not an array', () => foldTable({} as never), 'Expected an array of epoch records for records but received an object (Object)'],
    ['record not an object', () => foldTable([3 as never]), 'Expected an object for records[0] but received 3'],
    [
      'negative fold',
      () => foldTable([{ fold: -1, epoch: 1 }]),
      'Expected an integer from 0 to 9007199254740991 for records[0].fold but received -1',
    ],
    [
      'epoch 0',
      () => foldTable([{ fold: 0, epoch: 0 }]),
      'Expected an integer from 1 to 9007199254740991 for records[0].epoch but received 0',
    ],
    [
      'string metric',
      () => foldTable([{ fold: 0, epoch: 1, trainLoss: '0.5' as never }]),
      'Expected a number or null for records[0].trainLoss but received "0.5"',
    ],
    [
      'AUC above 1',
      () => foldTable([{ fold: 0, epoch: 1, validAuc: 1.2 }]),
      'Expected a number from 0 to 1 or NaN for records[0].validAuc but received 1.2',
    ],
    [
      'duplicate epoch',
      () =>
        foldTable([
          { fold: 0, epoch: 1 },
          { fold: 0, epoch: 1 },
        ]),
      'Expected one record per fold and epoch for records but received "two records for fold 0 epoch 1"',
    ],
    ['digits', () => formatFoldTable(foldTable([]), { digits: 20 }), 'Expected an integer from 0 to 12 for digits but received 20'],
  ])('%s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
