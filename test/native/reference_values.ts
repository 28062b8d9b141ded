/** Deterministic inputs and error measures for the native kernels' float64-reference tests. */

/** Deterministic values on a 1/32 grid within ±`range` (exact in bfloat16 for |v| < 8). */
export function grid(count: number, seed: number, range: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.round(((state / 2147483648) * 2 - 1) * range * 32) / 32;
  });
}

export function maxError(got: ArrayLike<number>, want: number[]): number {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
  return worst;
}

/** The largest |got − want| beyond one bfloat16 rounding of `want` (2^-8 relative) plus `slack`; ≤ 0 when all are within. */
export function worstBeyondRounding(got: ArrayLike<number>, want: number[], slack: number): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]) - Math.abs(want[i]) * 2 ** -8 - slack);
  return worst;
}

export function maxAbs(values: number[]): number {
  return values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}
