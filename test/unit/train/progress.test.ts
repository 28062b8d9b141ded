import { describeEvent } from '../../../src/train/progress';

describe('describeEvent', () => {
  const epoch = { type: 'epoch-end', fold: 1, epoch: 3, trainLoss: 0.5, trainAuc: 0.9, validLoss: 0.25, seconds: 2.5, best: true } as const;

  test('a two-class epoch and fold report the AUC', () => {
    expect(describeEvent({ ...epoch, validAuc: 0.875, validAccuracy: 0.75 })).toBe(
      'fold 1 epoch 3: train loss 0.5000 auc 0.9000 | valid loss 0.2500 auc 0.8750 | 2.5 s *best',
    );
    expect(describeEvent({ type: 'fold-end', fold: 1, bestEpoch: 3, bestAuc: 0.875, seconds: 75 })).toBe(
      'fold 1: best epoch 3, valid auc 0.8750 (1:15)',
    );
  });

  test('a many-class (pretraining) epoch and fold report the accuracy', () => {
    expect(describeEvent({ ...epoch, trainAuc: null, validAuc: null, validAccuracy: 0.25, best: false })).toBe(
      'fold 1 epoch 3: train loss 0.5000 auc n/a | valid loss 0.2500 accuracy 0.2500 | 2.5 s',
    );
    expect(describeEvent({ type: 'fold-end', fold: 0, bestEpoch: 15, bestAuc: null, bestAccuracy: 0.2507, seconds: 384 })).toBe(
      'fold 0: best epoch 15, valid accuracy 0.2507 (6:24)',
    );
  });
});
