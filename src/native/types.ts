/** The addon's exact types: what native/bridge exports, option objects keyed as the C++ parsers read them. */

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

export interface DoctorReport {
  torchVersion: string;
  builtWithCuda: boolean;
  cudaAvailable: boolean;
  cudaDevices: { index: number; name: string; computeCapability: string; totalMemory: number }[];
  cpuCapability: string;
  bf16: { cpu: boolean; cpuNative: string; cuda: boolean };
  intraOpThreads: number;
  /** Threads foldtorch's own CPU kernels (fused BatchNorm, depthwise backward) run on: intraOpThreads unless the
   * addon was compiled without OpenMP, when every chunk runs on one thread. */
  kernelThreads: number;
  availableCores: number;
  interOpThreads: number;
  blas: string;
  lapack: string;
  mkldnn: boolean;
  openmp: boolean;
  cxxFlags: string;
  buildConfig: string;
  parallelInfo: string;
}

export interface ImagesToTensorOptions {
  /** [batch, height, width, channels] of the uint8 NHWC buffer. */
  shape: number[];
  mean: number[];
  std: number[];
  device: string;
  channelsLast?: boolean;
  /** The batch's style augmentations, as the Learner takes them. */
  augment?: BatchAugment;
}

/**
 * A batch's style augmentations, one object for every call that turns pixels into the model's input
 * (native/train/batch_transform.h applies them on the device, in this order, before normalising). Each is optional;
 * src/data/colour.ts's planBatch() draws them.
 */
export interface BatchAugment {
  /** Per-image 3×3 RGB matrices (batch × 9, row-major), applied in [0, 1]: greyscale, hue rotation. */
  colorMatrices?: Float32Array;
  /** Per-image outline strengths in [0, 1] (batch values): dark lines along colour boundaries. */
  outlineStrengths?: Float32Array;
  /** Per-image fade amounts in [0, 1] (batch values): colours blended toward white, outlines kept. */
  fadeAmounts?: Float32Array;
  /** Per-image 2×3 affine matrices (batch × 6, affine_grid's convention): scale/shift/rotation jitter, white fill. */
  affineMatrices?: Float32Array;
}

export interface MatmulBenchmarkOptions {
  size: number;
  repeats: number;
  dtype?: Precision;
  device?: string;
}

/** Element counts from a model's config (parameters exact), and the bytes the device has free (Infinity: unknown). */
export interface NativeMemoryEstimate {
  parameters: number;
  buffers: number;
  activations: number;
  availableBytes: number;
}

/** A small BatchNorm (+ ReLU6) case: NCHW numbers, the output gradient, and the layer's parameters and statistics. */
export interface BatchNormActCheckOptions {
  shape: [number, number, number, number];
  input: number[];
  grad: number[];
  weight: number[];
  bias: number[];
  runningMean: number[];
  runningVar: number[];
  momentum: number;
  eps: number;
  relu6: boolean;
  dtype: 'float32' | 'bfloat16';
}

/** What the step gave, as float32 NCHW: output, gradients, and the updated running statistics. */
export interface BatchNormActCheck {
  output: HostTensor;
  gradInput: HostTensor;
  gradWeight: HostTensor;
  gradBias: HostTensor;
  runningMean: HostTensor;
  runningVar: HostTensor;
}

/** A small depthwise convolution case: NCHW input, the [C, 1, K, K] weight, and the output gradient, all as numbers. */
export interface DepthwiseConvCheckOptions {
  shape: [number, number, number, number];
  kernel: number;
  stride: number;
  /** Every side, or [top, bottom, left, right]. */
  padding: number | [number, number, number, number];
  input: number[];
  weight: number[];
  /** One value per channel, or none. */
  bias?: number[];
  grad: number[];
  /** float32, or bfloat16 autocast over float32 input, weight and bias. */
  dtype: 'float32' | 'bfloat16';
}

/** What the step gave, as float32 NCHW: the output and the gradients (the bias's when there is one). */
export interface DepthwiseConvCheck {
  output: HostTensor;
  gradInput: HostTensor;
  gradWeight: HostTensor;
  gradBias?: HostTensor;
}

export interface NativeAddon {
  doctor(): Promise<DoctorReport>;
  setNumThreads(threads: number): void;
  imagesToTensor(images: Uint8Array, options: ImagesToTensorOptions): Promise<HostTensor>;
  matmulBenchmark(options: MatmulBenchmarkOptions): Promise<number>;
  /** Rejects with a native exception of the given kind, raised on the compute thread (diagnostics, tests). */
  raiseNativeError(kind: 'type' | 'value' | 'shape' | 'error'): Promise<never>;
  /** One training step of the fused CPU BatchNorm (+ ReLU6) on a small channels-last tensor (tests). */
  batchNormActTrainCheck(options: BatchNormActCheckOptions): Promise<BatchNormActCheck>;
  depthwiseConvTrainCheck(options: DepthwiseConvCheckOptions): Promise<DepthwiseConvCheck>;
  /** Turns the depthwise convolution's CPU training backward off (ATen's conv2d) or on; returns whether it was on. */
  useDepthwiseBackward(enabled: boolean): boolean;
  /**
   * A JPEG of exactly `size` (a side or [height, width]) decoded by libjpeg-turbo into RGB with the plan's flips and
   * quarter turns (an odd number of turns swaps height and width); null when the file is not for this path (other
   * size, CMYK, EXIF or ICC data, any decoder warning). libuv thread.
   */
  decodeJpegExact(bytes: Uint8Array, size: number | readonly [number, number], plan: OrientationPlan): Promise<Buffer | null>;
  /** The plan's flips and quarter turns applied to RGB of `size` (a side or [height, width]). libuv thread. */
  orientPixels(rgb: Uint8Array, size: number | readonly [number, number], plan: OrientationPlan): Promise<Buffer>;
  /** Whether this build has libjpeg-turbo (turbojpeg.h was found when it was built). */
  readonly jpegFastPath: boolean;
}

/** albumentations' order: HorizontalFlip, VerticalFlip, then `rot90` counter-clockwise quarter turns. */
export interface OrientationPlan {
  hflip: boolean;
  vflip: boolean;
  rot90: number;
}

// ---- Training core (native/train, native/bridge/optim_wrap.cc and learner_wrap.cc) ----

export type Ranger21Mode = 'legacy' | 'corrected';

/** Ranger21's options as the native parser reads them (ParseRanger21Options); src/train/optimizer.ts fills defaults. */
export interface Ranger21NativeOptions {
  lr: number;
  numEpochs: number;
  numBatchesPerEpoch: number;
  weightDecay?: number;
  eps?: number;
  betas?: [number, number];
  useWarmup?: boolean;
  numWarmupIterations?: number;
  warmupPctDefault?: number;
  warmdownActive?: boolean;
  warmdownStartPct?: number;
  warmdownMinLr?: number;
  lookaheadActive?: boolean;
  lookaheadMergeTime?: number;
  lookaheadBlendingAlpha?: number;
  softplus?: boolean;
  betaSoftplus?: number;
  usingGc?: boolean;
  usingNormGc?: boolean;
  gcConvOnly?: boolean;
  normlossActive?: boolean;
  normlossFactor?: number;
  useAdaptiveGradientClipping?: boolean;
  agcClippingValue?: number;
  agcEps?: number;
  mode?: Ranger21Mode;
  /**
   * Corrected mode: step stacks of same-shape parameters together (default true; much faster on a GPU, equal to
   * the tensor-by-tensor step to float rounding). Legacy mode always steps tensor by tensor, as the reference.
   */
  foreach?: boolean;
}

export interface Ranger21TraceOptions {
  optimizer: Ranger21NativeOptions;
  steps: number;
  params: { shape: number[]; data: Float32Array }[];
  /** Per parameter, the gradient fed at every step: steps × numel values. */
  grads: Float32Array[];
  /** Parameter groups by index; one group of everything when absent. */
  groups?: { params: number[]; lr?: number; weightDecay?: number; eps?: number }[];
}

export interface Ranger21TraceResult {
  /** Per parameter, [steps, ...shape]: the parameter after each step. */
  params: HostTensor[];
  /** Per parameter, [steps, ...shape]: p.grad after each step (the optimizer rewrites it in place). */
  grads: HostTensor[];
  /** steps × groups, row-major. */
  lrs: Float64Array;
  varianceNormalized: Float64Array;
}

export interface Ranger21ScheduleOptions {
  optimizer: Ranger21NativeOptions;
  steps: number;
  groupLr?: number;
}

export interface Ranger21ScheduleResult {
  /** The lr at steps 1..steps. */
  lrs: Float64Array;
  warmupIterations: number;
  warmdownStart: number;
  totalIterations: number;
}

export type LossKindName = 'cce' | 'ce';
export type CceVariantName = 'head' | 'v2021';

export interface LossNativeOptions {
  kind?: LossKindName;
  variant?: CceVariantName;
  balancingFactor?: number;
  labelSmoothing?: number;
}

export interface ClassificationLossOptions extends LossNativeOptions {
  logits: Float32Array;
  shape: [number, number];
  targets: Int32Array | number[];
}

export interface ClassificationLossResult {
  loss: number;
  /** S / (B·K), the reference's complement entropy value (0 for plain CE). */
  complementTerm: number;
  /** d loss / d logits. */
  grad: HostTensor;
}

export interface NativeAddon {
  ranger21Trace(options: Ranger21TraceOptions): Promise<Ranger21TraceResult>;
  ranger21Schedule(options: Ranger21ScheduleOptions): Ranger21ScheduleResult;
  classificationLoss(options: ClassificationLossOptions): Promise<ClassificationLossResult>;
}

// ---- Models (native/bridge/model_wrap.cc, model_forward.cc, safetensors_wrap.cc) ----

/** A registered family's name ('eva02', 'convnext', 'efficientnet', …): families are plug-ins of the registry. */
export type ModelFamily = string;
/** The one precision vocabulary: torch's dtype names, as every call and the recipe's `amp` take them. */
export const precisions = ['float32', 'bfloat16', 'float16'] as const;
export type Precision = (typeof precisions)[number];

/**
 * timm-style keyword overrides of a named architecture (as create_model(name, embed_dim=64, ...)), by timm's
 * keyword in camelCase (embedDim, depths, channelMultiplier, dropRate, …); each family lists the keys it takes
 * (RegistryEntry.archKeys).
 */
export type ModelArchOverrides = Record<string, number | boolean | number[]>;

/** One override a family takes. */
export interface ArchKeyInfo {
  name: string;
  kind: 'integer' | 'number' | 'boolean' | 'integers';
  /** For 'integers': the exact length (0: any). */
  length: number;
}

/** An input size: one side for a square, or [height, width] as timm's img_size. */
export type ImageSizeOption = number | readonly [number, number];

/** What a model accepts, stated by the model (its family's rules). */
export interface InputRules {
  /** The size it was built for, [height, width]. */
  size: [number, number];
  /** Only `size` goes through (a ViT's patch grid); otherwise any size within the rules below. */
  fixedSize: boolean;
  minSize: number;
  sizeMultiple: number;
  /** Convolutions here run faster on NHWC activations. */
  channelsLast: boolean;
}

export interface NativeCreateModelOptions {
  /** Registered name, or name.tag for a pretrained tag's preprocessing defaults. */
  name: string;
  numClasses?: number;
  /** [height, width]. */
  imgSize?: [number, number];
  /** Path of a timm .safetensors checkpoint; '' for none. */
  pretrained?: string;
  device?: string;
  gradCheckpointing?: boolean;
  /** Absent: the model's preference. */
  channelsLast?: boolean;
  /** A fresh classifier after loading (timm's reset_classifier) instead of the model's own initialisation. */
  resetClassifier?: boolean;
  /** BatchNorm keeps its running statistics in training too. */
  freezeBatchNorm?: boolean;
  arch?: ModelArchOverrides;
}

export interface PretrainedConfigInfo {
  tag: string;
  mean: number[];
  std: number[];
  interpolation: string;
  imgSize: number;
  cropPct: number;
  cropMode: string;
  numClasses: number;
}

export interface ModelInfo {
  name: string;
  family: ModelFamily;
  numClasses: number;
  numFeatures: number;
  /** [height, width] the model was built for. */
  imgSize: [number, number];
  device: string;
  channelsLast: boolean;
  pretrainedConfig: PretrainedConfigInfo;
  input: InputRules;
  /** Parameter groups from the input side (stem, blocks/stages, head, classifier): regexes over parameter names. */
  parameterStages: { name: string; pattern: string }[];
}

export interface LoadReport {
  loaded: string[];
  missing: string[];
  unexpected: string[];
  resampled: string[];
  replaced: string[];
}

export interface NativeForwardOptions {
  /** [batch, height, width, channels] of the uint8 NHWC buffer. */
  shape: number[];
  mean?: number[];
  std?: number[];
  precision?: Precision;
  output?: 'logits' | 'preLogits';
}

/** One TTA view, applied in this order: hflip (W), vflip (H), then rot90 `rot` times counter-clockwise. */
export interface TtaView {
  hflip: boolean;
  vflip: boolean;
  rot: number;
}

export interface NativeForwardViewsOptions extends NativeForwardOptions {
  views: TtaView[];
}

export interface NativeGradCamOptions extends NativeForwardOptions {
  /** The class whose logit is explained. */
  target: number;
}

export interface GradCamResult {
  /** [batch, h, w] in [0, 1]: the last feature map's grid (ConvNeXt, EfficientNet) or the patch grid (EVA-02). */
  cam: HostTensor;
  /** [batch, classes], from the same (eval-mode, fp32) forward. */
  logits: HostTensor;
}

export interface ForwardFloatOptions {
  /** [batch, channels, height, width] of the normalised float input. */
  shape: number[];
  intermediates?: boolean;
  attention?: 'sdpa' | 'explicit';
  precision?: Precision;
}

export interface ForwardFloatResult {
  logits: HostTensor;
  preLogits: HostTensor;
  features: HostTensor;
  /** e.g. patch_embed, tokens_after_pos_embed, rope_embed, block_0… (EVA-02); stem, stage_0… (ConvNeXt). */
  intermediates: Record<string, HostTensor>;
}

export interface LossAndGradsResult {
  loss: number;
  /** The forward's logits (train-mode ones when asked for train mode). */
  logits: HostTensor;
  grads: Record<string, HostTensor>;
  gradInput: HostTensor;
}

export interface ParameterInfo {
  name: string;
  shape: number[];
  dtype: string;
  requiresGrad: boolean;
  /** A buffer (BatchNorm running statistics), not a parameter. */
  buffer: boolean;
}

export interface NativeModel {
  info(): ModelInfo;
  readonly loadReport: LoadReport;
  readonly disposed: boolean;
  forward(images: Uint8Array, options: NativeForwardOptions): Promise<HostTensor>;
  forwardViews(images: Uint8Array, options: NativeForwardViewsOptions): Promise<HostTensor>;
  gradCam(images: Uint8Array, options: NativeGradCamOptions): Promise<GradCamResult>;
  forwardFloat(input: Float32Array, options: ForwardFloatOptions): Promise<ForwardFloatResult>;
  lossAndGrads(
    input: Float32Array,
    options: { shape: number[]; targets: number[]; precision?: Precision; train?: boolean },
  ): Promise<LossAndGradsResult>;
  parameters(): Promise<ParameterInfo[]>;
  getTensors(options?: { names?: string[] }): Promise<Record<string, HostTensor>>;
  load(path: string): Promise<LoadReport>;
  saveWeights(path: string, metadata?: Record<string, string>): Promise<void>;
  dispose(): void;
  /**
   * Wall and process-CPU seconds per timed step on random input (bench/model.ts); training steps (AdamW) change
   * the weights.
   */
  benchmark(options: { batch: number; mode: 'forward' | 'train'; precision?: Precision; warmup?: number; iterations?: number }): Promise<{
    seconds: number[];
    cpuSeconds: number[];
  }>;
}

export interface RegistryEntry {
  name: string;
  family: ModelFamily;
  /** timm's model_args of the entrypoint, under timm's keyword names. */
  args: Record<string, number | boolean | string | number[]>;
  /** Pretrained tags, the default first. */
  tags: PretrainedConfigInfo[];
  /** The keyword overrides its family takes. */
  archKeys: ArchKeyInfo[];
}

export interface SafetensorsTensor extends HostTensor {
  dtype: string;
}

export interface SafetensorsContents {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

/** One tensor of a safetensors header; begin and end are absolute byte offsets in the file. */
export interface SafetensorsTensorInfo {
  dtype: string;
  shape: number[];
  begin: number;
  end: number;
}

export interface NativeSafetensorsHeader {
  tensors: (SafetensorsTensorInfo & { name: string })[];
  metadata: Record<string, string>;
}

export interface NativeAddon {
  createModel(options: NativeCreateModelOptions): Promise<NativeModel>;
  listModels(): RegistryEntry[];
  /** What createModel(options) would hold and a training step of batchSize images keep; nothing is built. */
  estimateMemory(options: NativeCreateModelOptions & { batchSize?: number }): Promise<NativeMemoryEstimate>;
  readSafetensors(path: string): Promise<SafetensorsContents>;
  readSafetensorsHeader(path: string): NativeSafetensorsHeader;
}

export interface GradScalerNativeOptions {
  initScale?: number;
  growthFactor?: number;
  backoffFactor?: number;
  growthInterval?: number;
}

/** createLearner's options as LearnerWrap parses them (src/train/learner.ts validates and fills them). */
export interface LearnerNativeOptions {
  optimizer: Ranger21NativeOptions;
  loss?: LossNativeOptions;
  precision?: Precision;
  accumulationSteps?: number;
  seed?: number;
  gradScaler?: GradScalerNativeOptions;
  forceGradScaler?: boolean;
  /** ECMAScript regex sources matched against parameter names; first match wins. */
  paramGroups?: { pattern: string; lr?: number; weightDecay?: number }[];
  mean: number[];
  std: number[];
  channelsLast?: boolean;
  /** Train data-parallel in the process group joined by initDistributed (rank 0's weights broadcast first). */
  dataParallel?: boolean;
}

export interface TrainStepResult {
  /** This micro-batch's mean loss. */
  loss: number;
  /** The first parameter group's lr for the optimizer step this micro-batch belongs to. */
  lr: number;
  /** The loss scale after this call (1 without a scaler). */
  scale: number;
  /** The optimizer step was skipped: inf/NaN under the loss scaler. */
  skipped: boolean;
  /** This call completed an optimizer step (taken or skipped). */
  stepped: boolean;
  /** Optimizer steps taken so far. */
  step: number;
  /** Micro-batches accumulated toward the next step. */
  microStep: number;
  /** Data-parallel: seconds the gradient all-reduces of this call took (they overlap the backward). */
  allreduceSeconds: number;
  /** This micro-batch's logits, [batch × classes] row-major, when `returnLogits` was asked for. */
  logits?: Float32Array;
}

export interface TrainStepNativeOptions {
  shape: number[];
  augment?: BatchAugment;
  returnLogits?: boolean;
}

export interface LearnerCounters {
  step: number;
  microStep: number;
  skippedSteps: number;
  samples: number;
  scale: number;
  /** The lr the next optimizer step will use (first group). */
  nextLr: number;
}

export interface LearnerParameterInfo {
  name: string;
  shape: number[];
  trainable: boolean;
}

export interface NativeCheckpointInfo {
  path: string;
  /** The checkpoint's JSON document, as stored in the .safetensors metadata and the .json copy. */
  document: string;
  step: number;
}

export interface NativeLearner {
  trainStep(images: Uint8Array, labels: Int32Array, options: TrainStepNativeOptions): Promise<TrainStepResult>;
  evalStep(images: Uint8Array, options: { shape: number[] }): Promise<HostTensor>;
  setTrainable(pattern: string, trainable: boolean): Promise<number>;
  parameterInfo(): Promise<LearnerParameterInfo[]>;
  counters(): Promise<LearnerCounters>;
  save(prefix: string, userJson: string): Promise<NativeCheckpointInfo>;
  load(prefix: string): Promise<NativeCheckpointInfo>;
  injectNonFiniteGradient(): void;
  readonly disposed: boolean;
  dispose(): void;
}

export interface NativeAddon {
  createLearner(model: NativeModel, options: LearnerNativeOptions): Promise<NativeLearner>;
  /** Seeds the process' default CPU (and CUDA) generators, e.g. before createModel for a reproducible init. */
  manualSeed(seed: number): void;
  /** Null when this build has c10d, else why not. */
  distributedAvailable(): string | null;
  /** Joins (once per process) the c10d process group: TCPStore at masterAddr:masterPort, Gloo on CPU, NCCL on CUDA. */
  initDistributed(options: DistributedNativeOptions): Promise<DistributedGroupInfo>;
  /** Every rank's values in rank order (the lengths may differ); on the device's compute thread. */
  distributedAllGather(values: Float64Array, device: string): Promise<Float64Array[]>;
  distributedBarrier(device: string): Promise<void>;
}

export interface DistributedNativeOptions {
  rank: number;
  worldSize: number;
  masterAddr: string;
  masterPort: number;
  device: string;
  timeoutMs?: number;
  bucketBytes?: number;
}

export interface DistributedGroupInfo {
  rank: number;
  worldSize: number;
  backend: 'gloo' | 'nccl';
}

// ---- Device-level calls (native/bridge/device_runtime.cc) ----

/** The CUDA caching allocator's counters in bytes (all zero for "cpu"). */
export interface CudaMemoryStats {
  allocated: number;
  /** Highest `allocated` since the last resetCudaPeakMemory. */
  peak: number;
  reserved: number;
  peakReserved: number;
}

/**
 * The CPU block cache (native/train/cpu_block_cache.h): libtorch's CPU allocator keeps freed blocks of 64 KiB and
 * more for the next tensor of their size, so that training steps reuse mapped memory instead of faulting in fresh
 * pages. Set its idle limit with FOLDTORCH_CPU_CACHE_MB (default a quarter of RAM; 0 = libtorch's own allocator).
 */
export interface CpuMemoryStats {
  installed: boolean;
  /** Most bytes kept idle. */
  capacity: number;
  /** Bytes of freed blocks held for reuse. */
  idle: number;
  /** Bytes of cached-size blocks held by live tensors. */
  inUse: number;
  /** Allocations served from idle blocks, and allocations that mapped new memory. */
  hits: number;
  misses: number;
}

/** float32 matmul/convolution precision on CUDA: "highest" = no TF32 (parity), "high" = TF32 allowed. */
export type Float32MatmulPrecision = 'highest' | 'high';

export interface NativeAddon {
  cudaMemoryStats(device: string): CudaMemoryStats;
  resetCudaPeakMemory(device: string): void;
  emptyCudaCache(): void;
  cpuMemoryStats(): CpuMemoryStats;
  emptyCpuCache(): void;
  /** Resolves once the device's compute thread has run every earlier call and the GPU has finished them. */
  synchronizeDevice(device: string): Promise<void>;
  setFloat32MatmulPrecision(precision: Float32MatmulPrecision): void;
}
