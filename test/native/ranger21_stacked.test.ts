// Ranger21's stacked step (corrected mode, foreach: true, the default) against the tensor-by-tensor step: the
// same arithmetic on stacks of same-shape parameters, so the same trajectory to float rounding.
import { traceRanger21 } from '../../src/train/optimizer';
import type { Ranger21TraceResult } from '../../src/native/types';

/** A deterministic pseudo-random sequence in [-scale, scale). */
function values(count: number, seed: number, scale: number): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return ((state / 2 ** 32) * 2 - 1) * scale;
  });
}

// Every rank the reductions treat differently (0-d, vectors, matrices, [1, N, C] position embeddings, 4-d
// convolutions), most shapes held by several parameters so that they share a stack, one shape held once.
const kShapes: number[][] = [[], [], [5], [5], [5], [4, 6], [4, 6], [6, 4], [1, 7, 3], [1, 7, 3], [3, 2, 3, 3], [3, 2, 3, 3], [2, 2, 2, 2]];
const kSteps = 12; // lookahead merges at steps 5 and 10

function trace(
  foreach: boolean,
  groups?: { params: number[]; lr?: number; weightDecay?: number; eps?: number }[],
): Promise<Ranger21TraceResult> {
  return traceRanger21({
    optimizer: { lr: 3e-2, numEpochs: 3, numBatchesPerEpoch: 4, numWarmupIterations: 2, weightDecay: 0.05, mode: 'corrected', foreach },
    steps: kSteps,
    params: kShapes.map((shape, i) => ({
      shape,
      data: values(
        shape.reduce((a, b) => a * b, 1),
        11 + i,
        1,
      ),
    })),
    // Some gradients far larger than their weights, so adaptive clipping engages on some rows and not others.
    grads: kShapes.map((shape, i) => values(kSteps * shape.reduce((a, b) => a * b, 1), 101 + i, i % 3 === 0 ? 5 : 0.01)),
    groups,
  });
}

/** The largest |a - b| / max(1, |b|) over every parameter and step. */
function worstRelative(a: Ranger21TraceResult['params'], b: Ranger21TraceResult['params']): number {
  let worst = 0;
  a.forEach((tensor, i) => {
    expect(tensor.shape).toEqual(b[i].shape);
    tensor.data.forEach((v, j) => {
      worst = Math.max(worst, Math.abs(v - b[i].data[j]) / Math.max(1, Math.abs(b[i].data[j])));
    });
  });
  return worst;
}

describe('Ranger21 stacked step', () => {
  test('follows the tensor-by-tensor trajectory: weights, rewritten gradients, lr and the decay normaliser', async () => {
    const [stacked, single] = [await trace(true), await trace(false)];
    expect(worstRelative(stacked.params, single.params)).toBeLessThan(2e-6);
    expect(worstRelative(stacked.grads, single.grads)).toBeLessThan(2e-6);
    expect(Array.from(stacked.lrs)).toEqual(Array.from(single.lrs));
    Array.from(stacked.varianceNormalized).forEach((v, i) => expect(v).toBeCloseTo(single.varianceNormalized[i], 6));
    // The weights really moved (a no-op step would also "match").
    const moved = Math.abs(stacked.params[5].data[kSteps * 24 - 1] - values(24, 16, 1)[23]);
    expect(moved).toBeGreaterThan(1e-3);
  });

  test('keeps each parameter group with its own lr, decay and eps', async () => {
    const groups = [{ params: [0, 2, 5, 8, 10, 12] }, { params: [1, 3, 4, 6, 7, 9, 11], lr: 1e-2, weightDecay: 0, eps: 1e-6 }];
    const [stacked, single] = [await trace(true, groups), await trace(false, groups)];
    expect(worstRelative(stacked.params, single.params)).toBeLessThan(2e-6);
    expect(Array.from(stacked.lrs)).toEqual(Array.from(single.lrs));
    // Group 2's lr is a third of group 1's at every step.
    for (let step = 0; step < kSteps; step++) expect(stacked.lrs[step * 2 + 1] * 3).toBeCloseTo(stacked.lrs[step * 2], 12);
  });
});
