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
}

export interface MatmulBenchmarkOptions {
  size: number;
  repeats: number;
  dtype?: 'float32' | 'bfloat16' | 'float16';
  device?: string;
}

export interface NativeAddon {
  doctor(): Promise<DoctorReport>;
  setNumThreads(threads: number): void;
  imagesToTensor(images: Uint8Array, options: ImagesToTensorOptions): Promise<HostTensor>;
  matmulBenchmark(options: MatmulBenchmarkOptions): Promise<number>;
  /** Rejects with a native exception of the given kind, raised on the compute thread (diagnostics, tests). */
  raiseNativeError(kind: 'type' | 'value' | 'shape' | 'error'): Promise<never>;
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
