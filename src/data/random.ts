/** numpy's legacy `RandomState` (MT19937) in TypeScript, so folds, sampling and augmentation plans are reproducible in Python. */

const kStateLength = 624;
const kPeriod = 397;
const kMatrixA = 0x9908b0df;
const kUpperMask = 0x80000000;
// A module-level binding: looking up `Math` on each iteration is slow inside jest's vm context.
const imul = Math.imul;
const kLowerMask = 0x7fffffff;

/**
 * A port of the parts of `numpy.random.RandomState` the data pipeline uses, bit for bit:
 * `new RandomState(42)` is `RandomState(42)` (init_genrand) and `new RandomState([a, b])` is
 * `RandomState([a, b])` (init_by_array); `shuffle`, `randomSample`, `randomInterval` and `choice`
 * consume the stream exactly as numpy 1.17+ does.
 */
export class RandomState {
  private readonly mt = new Uint32Array(kStateLength);
  private position = kStateLength;

  constructor(seed: number | readonly number[]) {
    if (typeof seed === 'number') {
      checkSeedWord('seed', seed);
      this.initGenrand(seed);
    } else {
      if (seed.length === 0) throw new RangeError('Expected a non-empty seed array for seed but received an array of length 0');
      seed.forEach((word, i) => checkSeedWord(`seed[${i}]`, word));
      this.initByArray(seed);
    }
  }

  private initGenrand(seed: number): void {
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < kStateLength; i++) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (imul(1812433253, previous) + i) >>> 0;
    }
    this.position = kStateLength;
  }

  private initByArray(key: readonly number[]): void {
    this.initGenrand(19650218);
    const mt = this.mt;
    let i = 1;
    let j = 0;
    for (let k = Math.max(kStateLength, key.length); k > 0; k--) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ imul(previous, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= kStateLength) {
        mt[0] = mt[kStateLength - 1];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = kStateLength - 1; k > 0; k--) {
      const previous = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ imul(previous, 1566083941)) - i) >>> 0;
      i++;
      if (i >= kStateLength) {
        mt[0] = mt[kStateLength - 1];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
    this.position = kStateLength;
  }

  private regenerate(): void {
    const mt = this.mt;
    // The reference's three loops (no modulo in the hot path): k+397 wraps after N-M, k+1 at the end.
    let k = 0;
    for (; k < kStateLength - kPeriod; k++) {
      const y = (mt[k] & kUpperMask) | (mt[k + 1] & kLowerMask);
      mt[k] = mt[k + kPeriod] ^ (y >>> 1) ^ (y & 1 ? kMatrixA : 0);
    }
    for (; k < kStateLength - 1; k++) {
      const y = (mt[k] & kUpperMask) | (mt[k + 1] & kLowerMask);
      mt[k] = mt[k + kPeriod - kStateLength] ^ (y >>> 1) ^ (y & 1 ? kMatrixA : 0);
    }
    const y = (mt[kStateLength - 1] & kUpperMask) | (mt[0] & kLowerMask);
    mt[kStateLength - 1] = mt[kPeriod - 1] ^ (y >>> 1) ^ (y & 1 ? kMatrixA : 0);
    this.position = 0;
  }

  /** One raw 32-bit output (genrand_int32). */
  nextUint32(): number {
    if (this.position >= kStateLength) this.regenerate();
    let y = this.mt[this.position++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** A double in [0, 1) with 53 random bits, as `random_sample()`. */
  randomSample(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** An integer in [0, max], by masked rejection, as numpy's `random_interval` (max < 2^32). */
  randomInterval(max: number): number {
    if (max === 0) return 0;
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do value = (this.nextUint32() & mask) >>> 0;
    while (value > max);
    return value;
  }

  /** In-place Fisher–Yates from the end, as the legacy `RandomState.shuffle` of a 1-D array. */
  shuffle<T>(array: { length: number; [index: number]: T }): void {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.randomInterval(i);
      const swap = array[i];
      array[i] = array[j];
      array[j] = swap;
    }
  }

  /** `permutation(n)`: a shuffled `arange(n)`. */
  permutation(n: number): number[] {
    const values = Array.from({ length: n }, (_, i) => i);
    this.shuffle(values);
    return values;
  }

  /**
   * `choice(p.length, size, replace=True, p=p)`: a cumulative sum, renormalised by its last entry, searched
   * with `side='right'` for each uniform draw. `p` must already sum to one (numpy checks that; callers divide).
   */
  choice(p: ArrayLike<number>, size: number): number[] {
    const cdf = new Float64Array(p.length);
    let running = 0;
    for (let i = 0; i < p.length; i++) cdf[i] = running += p[i];
    const total = cdf[cdf.length - 1];
    for (let i = 0; i < cdf.length; i++) cdf[i] /= total;
    const out = new Array<number>(size);
    for (let k = 0; k < size; k++) out[k] = searchSortedRight(cdf, this.randomSample());
    return out;
  }
}

function checkSeedWord(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`Expected an integer from 0 to 4294967295 for ${name} but received ${value}`);
  }
}

/** First index whose value is greater than `x` (numpy `searchsorted(side='right')`). */
function searchSortedRight(sorted: Float64Array, x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid] <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * numpy's pairwise float64 sum (`np.sum` / `ndarray.sum` on a contiguous 1-D array): blocks of 128 are
 * summed with eight interleaved accumulators, larger runs split in halves rounded to a multiple of eight.
 */
export function pairwiseSum(values: ArrayLike<number>, start = 0, count = values.length - start): number {
  if (count < 8) {
    let sum = -0;
    for (let i = 0; i < count; i++) sum += values[start + i];
    return sum;
  }
  if (count <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0].map((_, k) => values[start + k]);
    let i = 8;
    for (; i < count - (count % 8); i += 8) {
      for (let k = 0; k < 8; k++) r[k] += values[start + i + k];
    }
    let sum = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < count; i++) sum += values[start + i];
    return sum;
  }
  let half = Math.floor(count / 2);
  half -= half % 8;
  return pairwiseSum(values, start, half) + pairwiseSum(values, start + half, count - half);
}
