/**
 * trainFold: one fold of a recipe, end to end — model, Learner, sampled and augmented epochs, validation AUC
 * each epoch, the best weights, resumable checkpoints, then the fold's out-of-fold and test predictions with TTA.
 */
import * as fs from 'node:fs';
import { planBatch } from '../data/colour';
import { loadBatches, type LoaderItem } from '../data/loader';
import { EpochSampler } from '../data/sampler';
import { aucOrNull } from '../metrics/auc';
import { outOfRange, requireInteger } from '../errors';
import { doctor } from '../native/runtime';
import { writeFileAtomic } from '../files';
import type { Model } from '../native/model';
import type { Precision } from '../native/types';
import { predictItems, viewRows, type PredictOptions, type Prediction } from '../predict/predictor';
import { ttaPlanNote } from '../predict/tta';
import { softmaxOfClass } from '../predict/ensemble';
import { createLearner, manualSeed, type Learner } from './learner';
import type { TrainEvent } from './progress';
import type { Recipe } from './recipe';
import { buildModel, prepareRun, type PreparedRun, type RunOptions } from './prepare';
import { blockOf, shardPlan, type ProcessGroup } from './distributed';

export { buildModel };

export interface EpochMetrics {
  epoch: number;
  trainLoss: number;
  trainAuc: number | null;
  validLoss: number;
  validAuc: number | null;
  /** Top-1 accuracy of the validation fold. */
  validAccuracy: number;
  lr: number;
  seconds: number;
}

export interface FoldResult {
  fold: number;
  bestEpoch: number;
  bestAuc: number | null;
  epochs: EpochMetrics[];
  /** Learning rate of every optimizer step, in order. */
  lrs: number[];
  /** views: each TTA view's probability of class 1 per image (the report shows their spread). */
  oof: { ids: string[]; labels: number[]; probabilities: number[]; views?: number[][] };
  test: { ids: string[]; probabilities: number[]; views?: number[][] } | null;
  ttaNote: string;
  seconds: number;
}

export class TrainingInterrupted extends Error {
  constructor(
    readonly fold: number,
    readonly step: number,
  ) {
    super(`training interrupted in fold ${fold} at step ${step}; the last checkpoint is saved: continue with --resume`);
  }
}

/** What the checkpoint remembers beyond the Learner's own state, to resume at the exact batch. */
interface ResumePoint {
  epoch: number;
  nextBatch: number;
  lossSum: number;
  lossCount: number;
  lrs: number[];
  trainScores: number[];
  trainLabels: number[];
  /** The learning rate of the last batch done (absent in checkpoints written before it was kept). */
  lastLr?: number;
  /** Data-parallel: the world size that wrote it (absent: 1) and every rank's running sums, in rank order. */
  worldSize?: number;
  ranks?: RankSums[];
}

/** One rank's running sums of an epoch's training batches. */
interface RankSums {
  lossSum: number;
  lossCount: number;
  trainScores: number[];
  trainLabels: number[];
}

/** Whether bf16 runs natively, per device kind ('cpu', 'cuda'), asked of doctor() once each. */
const nativeBf16 = new Map<'cpu' | 'cuda', boolean>();

/** 'auto' → bf16 where the hardware runs it natively, fp16 + loss scaling on CUDA without bf16, fp32 otherwise. */
export async function resolvePrecision(recipe: Recipe): Promise<Precision> {
  if (recipe.amp !== 'auto') return recipe.amp;
  const kind = recipe.device.startsWith('cuda') ? 'cuda' : 'cpu';
  if (!nativeBf16.has(kind)) nativeBf16.set(kind, (await doctor()).bf16[kind]);
  if (nativeBf16.get(kind)) return 'bfloat16';
  return kind === 'cuda' ? 'float16' : 'float32';
}

/** Regex sources of the named parameter stages (Model.parameterStages), refusing an unknown name. */
function stagePatterns(model: Model, names: readonly string[], key: string): string[] {
  return names.map((name, i) => {
    const stage = model.parameterStages.find((s) => s.name === name);
    if (!stage)
      throw outOfRange(`${key}[${i}]`, `a parameter stage of ${model.name} (${model.parameterStages.map((s) => s.name).join(', ')})`, name);
    return stage.pattern;
  });
}

/** The classifier's parameters: the last parameter stage. */
function classifierPattern(model: Model): string {
  const stage = model.parameterStages.find((s) => s.name === 'classifier');
  if (!stage) throw outOfRange('model', 'a model with a classifier stage', model.name);
  return stage.pattern;
}

/**
 * What trains in `epoch`: the classifier alone during the head warm-up, then everything but the frozen stages.
 * Applied at every epoch start, so a resumed run gets the same state.
 */
async function applyTrainable(learner: Learner, model: Model, recipe: Recipe, epoch: number): Promise<void> {
  const frozen = stagePatterns(model, recipe.finetune.freeze, 'finetune.freeze');
  if (frozen.length === 0 && recipe.finetune.headWarmupEpochs === 0) return;
  await learner.unfreeze(/./);
  if (epoch < recipe.finetune.headWarmupEpochs) {
    await learner.freeze(new RegExp(`^(?!${classifierPattern(model).replace(/^\^/, '')})`));
  }
  for (const pattern of frozen) await learner.freeze(new RegExp(pattern));
}

function meanLoss(logits: Float32Array, labels: readonly number[], classes: number): number {
  let total = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    const max = Math.max(...row);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    total += Math.log(sum) + max - row[labels[i]];
  }
  return labels.length ? total / labels.length : NaN;
}

/** Binary ROC AUC; null with one class present, or for a multi-class model (pretraining), where accuracy is kept. */
function foldAuc(labels: readonly number[], scores: ArrayLike<number>, classes: number): number | null {
  return classes !== 2 ? null : aucOrNull(labels, scores);
}

async function makeLearner(
  model: Model,
  recipe: Recipe,
  stepsPerEpoch: number,
  precision: Precision,
  dataParallel: boolean,
): Promise<Learner> {
  const o = recipe.optimizer;
  // optimizer.lr is the classifier's; the backbone (the default group) runs at backboneLrScale of it, its
  // warmdown floor scaled alike (Ranger21's corrected mode keeps each group's lr / min_lr ratio).
  const scale = recipe.finetune.backboneLrScale;
  return createLearner(model, {
    ...(scale !== 1 ? { paramGroups: [{ pattern: new RegExp(classifierPattern(model)), lr: o.lr }] } : {}),
    optimizer: {
      lr: o.lr * scale,
      warmdownMinLr: o.warmdownMinLr * scale,
      warmdownStartPct: o.warmdownStartPct,
      weightDecay: o.weightDecay,
      mode: o.mode,
      numEpochs: recipe.epochs,
      numBatchesPerEpoch: stepsPerEpoch,
      ...(o.warmupIterations !== null ? { numWarmupIterations: o.warmupIterations } : {}),
    },
    loss:
      recipe.loss === 'ce'
        ? { kind: 'ce', labelSmoothing: recipe.labelSmoothing }
        : { kind: 'cce', variant: recipe.loss === 'cce-2021' ? 'v2021' : 'head', labelSmoothing: recipe.labelSmoothing },
    precision,
    accumulationSteps: recipe.gradAccumulation,
    seed: recipe.seed,
    ...(dataParallel ? { dataParallel } : {}),
  });
}

interface FoldContext {
  prepared: PreparedRun;
  fold: number;
  emit: (event: TrainEvent) => void;
  shouldStop: () => boolean;
  /** Data-parallel: this process' group; rank 0 alone writes the fold's files. */
  group?: ProcessGroup | null;
}

/** Every rank's sums, gathered (rank order); one process: its own. */
async function gatherSums(group: ProcessGroup | null, own: RankSums): Promise<RankSums[]> {
  if (!group) return [own];
  const parts = await group.allGather([own.lossSum, own.lossCount, ...own.trainScores, ...own.trainLabels]);
  return parts.map((p) => {
    const n = (p.length - 2) / 2;
    return { lossSum: p[0], lossCount: p[1], trainScores: Array.from(p.subarray(2, 2 + n)), trainLabels: Array.from(p.subarray(2 + n)) };
  });
}

/** Whether any rank was asked to stop (a collective: every rank must call it at the same step). */
async function anyStop(group: ProcessGroup | null, shouldStop: () => boolean): Promise<boolean> {
  if (!group) return shouldStop();
  return (await group.allGather([shouldStop() ? 1 : 0])).some((p) => p[0] > 0);
}

/** predictItems over `items`, each rank predicting one block and all of them gathering the whole in order. */
async function predictSharded(
  group: ProcessGroup | null,
  model: Model,
  items: readonly LoaderItem[],
  options: PredictOptions,
): Promise<Prediction> {
  if (!group) return predictItems(model, items, options);
  const [start, end] = blockOf(items.length, group.rank, group.worldSize);
  const own = await predictItems(model, items.slice(start, end), options);
  const parts = await group.allGather([...own.probabilities, ...own.logits]);
  const probabilities: number[] = [];
  const logits: number[] = [];
  for (const part of parts) {
    const n = part.length / (1 + model.numClasses);
    probabilities.push(...part.subarray(0, n));
    logits.push(...part.subarray(n));
  }
  // The per-view probabilities stay on each rank: only the merged ones are gathered.
  return { probabilities: Float64Array.from(probabilities), logits: Float32Array.from(logits), plan: own.plan, viewProbabilities: null };
}

/** Trains fold `fold` of `recipe` into the run folder; resumes from its last checkpoint when there is one. */
export async function trainFold(fold: number, recipe: Recipe, options: RunOptions): Promise<FoldResult> {
  requireInteger('fold', fold, 0, recipe.folds - 1);
  const prepared = await prepareRun(recipe, { ...options, folds: [fold] });
  return runFold({ prepared, fold, emit: options.progress ?? (() => undefined), shouldStop: options.shouldStop ?? (() => false) });
}

type Best = { epoch: number; auc: number | null; score: number | null };

/** What a started fold's steps share: its data, model, learner and place in the process group. */
interface FoldRun {
  context: FoldContext;
  recipe: Recipe;
  train: LoaderItem[];
  valid: (LoaderItem & { imageName: string })[];
  model: Model;
  learner: Learner;
  precision: Precision;
  cache: PreparedRun['cache'] | null;
  group: ProcessGroup | null;
  rank: number;
  worldSize: number;
  batchesPerEpoch: number;
  /** Every optimizer step's lr so far (the run's lr curve), extended as steps are taken. */
  lrs: number[];
}

export async function runFold(context: FoldContext): Promise<FoldResult> {
  const { prepared, fold } = context;
  const { recipe, run } = prepared;
  const started = Date.now();
  const state = run.readState(fold);
  const precision = await resolvePrecision(recipe);
  // Seeded before the model's random init, so a fold is reproducible (and resumable) in any process.
  manualSeed(recipe.seed + fold);
  const model = await buildModel(recipe);
  try {
    if (state.done && fs.existsSync(run.foldOof(fold))) return JSON.parse(fs.readFileSync(run.foldOof(fold), 'utf8')) as FoldResult;
    const f = await startFold(context, model, precision);
    let resume = await resumePoint(f);
    // Without the log's `type` field, so a resumed fold's oof.json is the uninterrupted one's.
    const epochs: EpochMetrics[] = run
      .readMetrics<EpochMetrics & { type: string }>(fold)
      .filter((m) => m.type === 'epoch')
      .map(({ type, ...metrics }) => metrics);
    let best: Best = { epoch: state.bestEpoch, auc: state.bestAuc, score: state.bestScore ?? state.bestAuc };
    if (resume) f.lrs.push(...resume.lrs);
    const sampler = new EpochSampler(
      f.train.map((i) => i.label),
      { kind: recipe.sampler, seed: recipe.seed + fold },
    );
    for (let epoch = resume?.epoch ?? 0; epoch < recipe.epochs; epoch++) {
      const epochStarted = Date.now();
      await applyTrainable(f.learner, model, recipe, epoch);
      const point: ResumePoint =
        resume && resume.epoch === epoch
          ? resume
          : { epoch, nextBatch: 0, lossSum: 0, lossCount: 0, lrs: f.lrs, trainScores: [], trainLabels: [] };
      resume = null;
      const lastLr = await trainEpoch(f, epoch, point, sampler);
      const metrics = await validateEpoch(f, epoch, point, lastLr, epochStarted);
      best = await endEpoch(f, metrics, best, epochs);
    }
    f.learner.dispose();
    const result = await predictFold(context, model, { train: f.train, valid: f.valid }, { best, epochs, lrs: f.lrs, precision, started });
    if (f.rank === 0)
      run.writeState({ fold, done: true, bestEpoch: best.epoch, bestAuc: best.auc, bestScore: best.score, epochsDone: recipe.epochs });
    return result;
  } finally {
    model.dispose();
  }
}

/** The fold's split, its slice of each epoch and its learner; announces the fold. */
async function startFold(context: FoldContext, model: Model, precision: Precision): Promise<FoldRun> {
  const { prepared, fold, emit } = context;
  const { recipe, run } = prepared;
  const group = context.group ?? null;
  const [rank, worldSize] = [group?.rank ?? 0, group?.worldSize ?? 1];
  const { train, valid } = prepared.split(fold);
  // Data-parallel: each rank's slice of the epoch (DistributedSampler's, the tail padded).
  const samplesPerEpoch = Math.ceil(train.length / worldSize);
  const batchesPerEpoch = Math.ceil(samplesPerEpoch / recipe.batchSize);
  const stepsPerEpoch = Math.max(1, Math.floor(batchesPerEpoch / recipe.gradAccumulation));
  const learner = await makeLearner(model, recipe, stepsPerEpoch, precision, group !== null);
  fs.mkdirSync(run.foldDir(fold), { recursive: true });
  emit({ type: 'fold-start', fold, trainSize: train.length, validSize: valid.length, stepsPerEpoch, epochs: recipe.epochs });
  const cache = recipe.cacheImages ? prepared.cache : null;
  return { context, recipe, train, valid, model, learner, precision, cache, group, rank, worldSize, batchesPerEpoch, lrs: [] };
}

/** The fold's last checkpoint loaded into the learner, and where in the run it was taken; null for a fresh fold. */
async function resumePoint(f: FoldRun): Promise<ResumePoint | null> {
  const {
    prepared: { run },
    fold,
    emit,
  } = f.context;
  if (!fs.existsSync(`${run.lastCheckpoint(fold)}.safetensors`)) return null;
  const info = await f.learner.load(run.lastCheckpoint(fold));
  let resume = info.document.user as ResumePoint;
  if ((resume.worldSize ?? 1) !== f.worldSize) {
    throw outOfRange(
      'WORLD_SIZE',
      `the world size that wrote fold ${fold}'s checkpoint (${resume.worldSize ?? 1}): resume with as many ranks`,
      f.worldSize,
    );
  }
  const own = resume.ranks?.[f.rank];
  if (own) resume = { ...resume, ...own, trainScores: [...own.trainScores], trainLabels: [...own.trainLabels] };
  if (f.rank === 0) run.truncateMetrics(fold, resume.epoch);
  emit({ type: 'message', text: `fold ${fold}: resumed at epoch ${resume.epoch}, batch ${resume.nextBatch} (step ${info.step})` });
  return resume;
}

/** Trains one epoch's batches from `point.nextBatch`, checkpointing as the recipe says; returns the last batch's lr. */
async function trainEpoch(f: FoldRun, epoch: number, point: ResumePoint, sampler: EpochSampler): Promise<number> {
  const {
    context: { prepared, fold, emit },
    recipe,
    model,
    learner,
    rank,
    worldSize,
    lrs,
  } = f;
  const { run } = prepared;
  const order = shardPlan(sampler.epoch(epoch), rank, worldSize);
  // A run stopped after an epoch's last batch resumes with no batch left in it: the epoch's lr is the saved one.
  let lastLr = point.nextBatch > 0 ? (point.lastLr ?? lrs[lrs.length - 1] ?? 0) : 0;
  let imagesSeen = 0;
  const stepClock = Date.now();
  for await (const batch of loadBatches(f.train, order, {
    transform: prepared.transform(model, recipe.augment),
    batchSize: recipe.batchSize,
    seed: recipe.seed + fold,
    epoch,
    prefetch: Math.max(1, recipe.prefetch),
    cache: f.cache,
    startBatch: point.nextBatch,
    shard: { rank, worldSize },
  })) {
    // The draw's place in the whole epoch's plan (rank-interleaved), so ranks get their own style jitter.
    const positions = Array.from(batch.labels, (_, j) => (batch.index * recipe.batchSize + j) * worldSize + rank);
    const augment = planBatch(recipe.augment, recipe.seed + fold, epoch, positions, batch.shape[1] / batch.shape[2]);
    const result = await learner.trainStep(batch.data, batch.labels, { shape: batch.shape, augment, returnLogits: true });
    point.lossSum += result.loss * batch.shape[0];
    point.lossCount += batch.shape[0];
    if (result.logits) {
      const probs = Array.from(softmaxOfClass(result.logits, model.numClasses, model.numClasses > 1 ? 1 : 0));
      point.trainScores.push(...probs);
      point.trainLabels.push(...batch.labels);
    }
    if (result.stepped) lrs.push(result.lr);
    lastLr = result.lr;
    imagesSeen += batch.shape[0];
    point.nextBatch = batch.index + 1;
    const globalStep = epoch * f.batchesPerEpoch + point.nextBatch;
    emit({
      type: 'step',
      fold,
      epoch,
      step: globalStep,
      totalSteps: recipe.epochs * f.batchesPerEpoch,
      loss: result.loss,
      lr: result.lr,
      imagesPerSecond: imagesSeen / Math.max(1e-3, (Date.now() - stepClock) / 1000),
      skipped: result.skipped,
    });
    const atBoundary = result.stepped || recipe.gradAccumulation === 1;
    const stop = atBoundary && (await anyStop(f.group, f.context.shouldStop));
    if (atBoundary && (result.step % recipe.checkpointEvery === 0 || stop)) {
      point.lrs = lrs;
      point.lastLr = lastLr;
      if (f.group) {
        point.worldSize = worldSize;
        point.ranks = await gatherSums(f.group, point);
      }
      if (rank === 0) {
        await learner.save(run.lastCheckpoint(fold), point);
        emit({ type: 'checkpoint', fold, step: result.step, path: run.lastCheckpoint(fold) });
      }
      if (stop) throw new TrainingInterrupted(fold, result.step);
    }
  }
  return lastLr;
}

/** The epoch's metrics: every rank's training sums, and the validation fold predicted without TTA. */
async function validateEpoch(f: FoldRun, epoch: number, point: ResumePoint, lastLr: number, epochStarted: number): Promise<EpochMetrics> {
  const { recipe, model, valid } = f;
  const validPrediction = await predictSharded(f.group, model, valid, {
    tta: 'none',
    merge: 'mean',
    batchSize: recipe.evalBatchSize,
    interpolation: f.context.prepared.interpolation(model),
    precision: f.precision,
    cache: f.cache,
  });
  const validLabels = valid.map((item) => item.label);
  const sums = await gatherSums(f.group, point);
  const lossSum = sums.reduce((total, r) => total + r.lossSum, 0);
  const lossCount = sums.reduce((total, r) => total + r.lossCount, 0);
  return {
    epoch,
    trainLoss: lossSum / Math.max(1, lossCount),
    trainAuc: foldAuc(
      sums.flatMap((r) => r.trainLabels),
      sums.flatMap((r) => r.trainScores),
      model.numClasses,
    ),
    validLoss: meanLoss(validPrediction.logits, validLabels, model.numClasses),
    validAuc: foldAuc(validLabels, validPrediction.probabilities, model.numClasses),
    validAccuracy: accuracyOf(validPrediction.logits, validLabels, model.numClasses),
    lr: lastLr,
    seconds: (Date.now() - epochStarted) / 1000,
  };
}

/** Keeps the best epoch's weights, logs the epoch and checkpoints its end (rank 0); returns the best so far. */
async function endEpoch(f: FoldRun, metrics: EpochMetrics, previous: Best, epochs: EpochMetrics[]): Promise<Best> {
  const {
    context: {
      prepared: { run },
      fold,
      emit,
      shouldStop,
    },
    recipe,
    model,
    learner,
    group,
    worldSize,
  } = f;
  const { epoch } = metrics;
  // Binary: the seed's validation AUC. More classes (a pretraining run): top-1 accuracy.
  const score = model.numClasses === 2 ? metrics.validAuc : metrics.validAccuracy;
  const isBest = recipe.keepWeights === 'last' || previous.epoch < 0 || (score ?? -Infinity) > (previous.score ?? -Infinity);
  const best = isBest ? { epoch, auc: metrics.validAuc, score } : previous;
  epochs.push(metrics);
  const next: ResumePoint = {
    epoch: epoch + 1,
    nextBatch: 0,
    lossSum: 0,
    lossCount: 0,
    lrs: f.lrs,
    trainScores: [],
    trainLabels: [],
    ...(group ? { worldSize } : {}),
  };
  if (f.rank === 0) {
    if (isBest) await model.saveWeights(run.bestWeights(fold), { epoch: String(epoch), validAuc: String(metrics.validAuc) });
    run.appendMetrics(fold, { type: 'epoch', ...metrics });
    emit({ type: 'epoch-end', fold, ...metrics, best: isBest });
    run.writeState({ fold, done: false, bestEpoch: best.epoch, bestAuc: best.auc, bestScore: best.score, epochsDone: epoch + 1 });
    await learner.save(run.lastCheckpoint(fold), next);
  }
  // The others read rank 0's best weights at the end: they wait for its files at every epoch's end.
  await group?.barrier();
  if ((await anyStop(group, shouldStop)) && epoch + 1 < recipe.epochs) throw new TrainingInterrupted(fold, (await learner.counters()).step);
  return best;
}

function accuracyOf(logits: Float32Array, labels: readonly number[], classes: number): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const row = logits.subarray(i * classes, (i + 1) * classes);
    if (row.indexOf(Math.max(...row)) === labels[i]) correct++;
  }
  return labels.length ? correct / labels.length : NaN;
}

/** Loads the best weights and predicts the validation fold (out-of-fold) and the test set with TTA. */
async function predictFold(
  context: FoldContext,
  model: Model,
  split: { train: LoaderItem[]; valid: (LoaderItem & { imageName: string })[] },
  info: { best: Best; epochs: EpochMetrics[]; lrs: number[]; precision: Precision; started: number },
): Promise<FoldResult> {
  const { prepared, fold, emit } = context;
  const { recipe, run, dataset } = prepared;
  const group = context.group ?? null;
  await model.load(run.bestWeights(fold));
  const tta = recipe.tta.length ? recipe.tta.join(',') : 'none';
  const predictOptions = {
    tta,
    merge: recipe.ttaMerge,
    batchSize: recipe.evalBatchSize,
    interpolation: prepared.interpolation(model),
    precision: info.precision,
    cache: recipe.cacheImages ? prepared.cache : null,
  } as const;
  let clock = Date.now();
  const oof = await predictSharded(group, model, split.valid, predictOptions);
  emit({
    type: 'predict',
    what: `fold ${fold} out-of-fold`,
    images: split.valid.length,
    views: oof.plan.length,
    seconds: (Date.now() - clock) / 1000,
  });
  let test: FoldResult['test'] = null;
  if (dataset.test.length > 0) {
    clock = Date.now();
    const prediction = await predictSharded(group, model, dataset.test, predictOptions);
    test = {
      ids: dataset.test.map((item) => item.imageName),
      probabilities: Array.from(prediction.probabilities),
      views: viewRows(prediction.viewProbabilities, prediction.plan.length),
    };
    emit({
      type: 'predict',
      what: `fold ${fold} test`,
      images: dataset.test.length,
      views: prediction.plan.length,
      seconds: (Date.now() - clock) / 1000,
    });
  }
  const result: FoldResult = {
    fold,
    bestEpoch: info.best.epoch,
    bestAuc: info.best.auc,
    epochs: info.epochs,
    lrs: info.lrs,
    oof: {
      ids: split.valid.map((item) => item.imageName),
      labels: split.valid.map((item) => item.label),
      probabilities: Array.from(oof.probabilities),
      views: viewRows(oof.viewProbabilities, oof.plan.length),
    },
    test,
    ttaNote: ttaPlanNote(oof.plan),
    seconds: (Date.now() - info.started) / 1000,
  };
  if (group && !group.isMain) return result;
  writeFileAtomic(run.foldOof(fold), JSON.stringify(result));
  const bestAccuracy = model.numClasses === 2 ? undefined : info.best.score;
  emit({ type: 'fold-end', fold, bestEpoch: info.best.epoch, bestAuc: info.best.auc, bestAccuracy, seconds: result.seconds });
  return result;
}
