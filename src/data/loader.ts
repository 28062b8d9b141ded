/** Batches of uint8 NHWC images for the native bridge, decoded by sharp and prefetched while the consumer computes. */
import { invalidType, outOfRange, requireInteger } from '../errors';
import { type AugmentPlan, checkTransformConfig, isIdentityPlan, planAugment, resizeSizeFor, type TransformConfig } from './augment';
import { augmentRgb, decodeImage, DecodedCache, type DecodeOptions, kDefaultPixelLimit } from './image';

/** What the loader needs of a dataset entry. */
export interface LoaderItem {
  path: string;
  label: number;
}

export interface LoaderOptions {
  transform: TransformConfig;
  batchSize: number;
  /** Run seed and epoch for the augmentation plans (required when `transform.augment` is set). */
  seed?: number;
  epoch?: number;
  /** Batches decoded ahead of the one being consumed (default 2). */
  prefetch?: number;
  /** Images decoded at once; sharp runs each on the libuv pool (default 4 = UV_THREADPOOL_SIZE). */
  concurrency?: number;
  /** Keep decoded, un-augmented images in memory between epochs. */
  cache?: DecodedCache | null;
  dropLast?: boolean;
  /** First batch to produce (resuming mid-epoch): earlier batches are skipped without decoding, plans unchanged. */
  startBatch?: number;
  limitInputPixels?: number;
  /** JPEGs at the model size through libjpeg-turbo in the addon (default true; see DecodeOptions.fastPath). */
  fastPath?: boolean;
  /**
   * This rank's slice of a data-parallel epoch (default rank 0 of 1): the k-th draw here is draw k × worldSize + rank
   * of the whole epoch (DistributedSampler's interleaving), and its augmentation plan is that draw's, so ranks do
   * not repeat each other's flips and turns.
   */
  shard?: { rank: number; worldSize: number };
}

/** One batch: `data` is B×H×W×3 uint8 (NHWC, RGB) in one Buffer; normalisation happens natively with mean/std. */
export interface Batch {
  data: Buffer;
  shape: [number, number, number, number];
  /** Dataset positions of the rows, and their labels. */
  positions: number[];
  labels: Int32Array;
  plans: AugmentPlan[];
  mean: readonly [number, number, number];
  std: readonly [number, number, number];
  /** 0-based batch number in the epoch. */
  index: number;
}

/** A FIFO limit on concurrent tasks, so earlier batches' images are decoded first. */
class Limiter {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.active++;
    try {
      return await task();
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }
}

interface Resolved {
  transform: TransformConfig;
  /** [height, width] of every image in a batch. */
  size: [number, number];
  batchSize: number;
  seed: number;
  epoch: number;
  prefetch: number;
  cache: DecodedCache | null;
  decode: DecodeOptions;
  limiter: Limiter;
  shard: { rank: number; worldSize: number };
}

function resolveShard(shard: LoaderOptions['shard']): { rank: number; worldSize: number } {
  if (shard === undefined) return { rank: 0, worldSize: 1 };
  const worldSize = requireInteger('shard.worldSize', shard?.worldSize, 1, 65536);
  return { rank: requireInteger('shard.rank', shard.rank, 0, worldSize - 1), worldSize };
}

function resolveOptions(options: LoaderOptions): Resolved {
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
  const transform = checkTransformConfig(options.transform);
  if (transform.augment !== null && (options.seed === undefined || options.epoch === undefined)) {
    throw invalidType('seed and epoch', 'integers when transform.augment is set', options.seed ?? options.epoch);
  }
  if (options.cache != null && !(options.cache instanceof DecodedCache)) throw invalidType('cache', 'a DecodedCache', options.cache);
  return {
    transform,
    size: transform.size as [number, number], // checkTransformConfig gives [height, width]
    batchSize: requireInteger('batchSize', options.batchSize, 1),
    seed: requireInteger('seed', options.seed ?? 0, 0, 0xffffffff),
    epoch: requireInteger('epoch', options.epoch ?? 0, 0, 0xffffffff),
    prefetch: requireInteger('prefetch', options.prefetch ?? 2, 1, 64),
    cache: options.cache ?? null,
    decode: {
      size: transform.size,
      interpolation: transform.interpolation,
      limitInputPixels: requireInteger('limitInputPixels', options.limitInputPixels ?? kDefaultPixelLimit, 1),
      fastPath: options.fastPath ?? true,
    },
    limiter: new Limiter(requireInteger('concurrency', options.concurrency ?? 4, 1, 256)),
    shard: resolveShard(options.shard),
  };
}

async function loadOne(item: LoaderItem, plan: AugmentPlan, r: Resolved): Promise<Buffer> {
  if (r.cache === null) return decodeImage(item.path, r.decode, plan);
  // Cached un-augmented, at the size the plan turns into place (transposed for odd turns of a non-square size).
  const decode = { ...r.decode, size: resizeSizeFor(r.size, plan) };
  const key = DecodedCache.key(item.path, decode);
  let rgb = r.cache.get(key);
  if (rgb === undefined) {
    rgb = await decodeImage(item.path, decode);
    r.cache.set(key, rgb);
  }
  return isIdentityPlan(plan) ? rgb : augmentRgb(rgb, decode.size, plan);
}

async function buildBatch(
  items: readonly LoaderItem[],
  order: readonly number[],
  start: number,
  count: number,
  r: Resolved,
): Promise<Batch> {
  const [height, width] = r.size;
  const imageBytes = height * width * 3;
  const data = Buffer.allocUnsafe(count * imageBytes);
  const positions = order.slice(start, start + count);
  const plans = positions.map((_, k) => planAugment(r.transform.augment, r.seed, r.epoch, (start + k) * r.shard.worldSize + r.shard.rank));
  await Promise.all(
    positions.map(async (position, k) => {
      const rgb = await r.limiter.run(() => loadOne(items[position], plans[k], r));
      rgb.copy(data, k * imageBytes);
    }),
  );
  return {
    data,
    shape: [count, height, width, 3],
    positions,
    labels: Int32Array.from(positions, (p) => items[p].label),
    plans,
    mean: r.transform.mean,
    std: r.transform.std,
    index: Math.floor(start / r.batchSize),
  };
}

/**
 * Streams the batches of one epoch in `order` (dataset positions, e.g. from EpochSampler.epoch). Up to
 * `prefetch` batches are decoded while the consumer works on the current one. The augmentation plan of
 * the k-th draw of the epoch is `planAugment(augment, seed, epoch, k)`, so a sample drawn twice by the
 * imbalanced sampler gets two independent plans, and a resumed epoch gets the same plans again.
 */
export async function* loadBatches(items: readonly LoaderItem[], order: readonly number[], options: LoaderOptions): AsyncGenerator<Batch> {
  const r = resolveOptions(options);
  order.forEach((position, k) => requireInteger(`order[${k}]`, position, 0, items.length - 1));
  const starts: number[] = [];
  for (let start = 0; start < order.length; start += r.batchSize) {
    if (options.dropLast && start + r.batchSize > order.length) break;
    starts.push(start);
  }
  const pending: Array<Promise<Batch>> = [];
  let next = requireInteger('startBatch', options.startBatch ?? 0, 0);
  const fill = (): void => {
    while (pending.length < r.prefetch && next < starts.length) {
      const start = starts[next++];
      const batch = buildBatch(items, order, start, Math.min(r.batchSize, order.length - start), r);
      batch.catch(() => undefined); // awaited below; this only stops an early failure counting as unhandled
      pending.push(batch);
    }
  };
  fill();
  while (pending.length > 0) {
    const batch = await (pending.shift() as Promise<Batch>);
    fill();
    yield batch;
  }
}

/** Convenience for evaluation: every item once, in dataset order, no augmentation. */
export function loadInOrder(items: readonly LoaderItem[], options: Omit<LoaderOptions, 'seed' | 'epoch'>): AsyncGenerator<Batch> {
  if (options.transform.augment !== null) {
    throw outOfRange(
      'transform.augment',
      'null for in-order evaluation loading (TTA is applied by the predictor)',
      options.transform.augment,
    );
  }
  return loadBatches(
    items,
    items.map((_, i) => i),
    options,
  );
}
