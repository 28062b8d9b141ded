import { groupScores, groupSpec } from '../../../src/report/groups';

describe('groupScores', () => {
  test('AUC, accuracy and count per group, sorted by name; one class has no AUC', () => {
    const rows = groupScores('oof', ['b', 'a', 'a', 'b', 'a', 'c'], [1, 0, 1, 0, 1, 1], [0.7, 0.2, 0.9, 0.6, 0.4, 0.3], 0.5);
    expect(rows).toEqual([
      { set: 'oof', group: 'a', count: 3, auc: 1, accuracy: 2 / 3 },
      { set: 'oof', group: 'b', count: 2, auc: 1, accuracy: 0.5 },
      { set: 'oof', group: 'c', count: 1, auc: null, accuracy: 0 },
    ]);
  });

  test('an AUC below one: a group the model ranks wrongly shows it', () => {
    const [row] = groupScores('test', ['s', 's', 's', 's'], [0, 1, 0, 1], [0.8, 0.3, 0.1, 0.9], 0.5);
    expect(row.auc).toBe(0.75);
    expect(row.accuracy).toBe(0.5);
  });
});

describe('groupSpec', () => {
  test('one bar per metric and group, no AUC bar for a one-class group, one row of panels per set', () => {
    const spec = groupSpec(
      [
        { set: 'oof', group: 'a', count: 3, auc: 0.75, accuracy: 0.5 },
        { set: 'test', group: 'c', count: 1, auc: null, accuracy: 1 },
      ],
      'Scores per style',
    ) as { data: { values: unknown[] }; facet: unknown; resolve: unknown; title: { text: string } };
    expect(spec.title.text).toBe('Scores per style');
    expect(spec.data.values).toEqual([
      { set: 'oof', group: 'a', metric: 'ROC AUC', value: 0.75, count: 3 },
      { set: 'oof', group: 'a', metric: 'accuracy', value: 0.5, count: 3 },
      { set: 'test', group: 'c', metric: 'accuracy', value: 1, count: 1 },
    ]);
    expect(spec.facet).toEqual({ row: { field: 'set', type: 'nominal', title: null, sort: ['oof', 'test'] } });
    expect(spec.resolve).toEqual({ scale: { x: 'independent' } });
  });
});
