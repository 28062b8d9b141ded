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
}

// ---- Models (native/bridge/model_wrap.cc, model_forward.cc, safetensors_wrap.cc) ----

export type ModelFamily = 'eva02' | 'convnext';
export type Precision = 'float32' | 'bfloat16' | 'float16';

/** timm-style keyword overrides of a named architecture (as create_model(name, embed_dim=64, ...)). */
export interface ModelArchOverrides {
  patchSize?: number;
  embedDim?: number;
  depth?: number;
  numHeads?: number;
  mlpRatio?: number;
  qkvFused?: boolean;
  scaleMlp?: boolean;
  scaleAttnInner?: boolean;
  refFeatShape?: number[];
  depths?: number[];
  dims?: number[];
  convMlp?: boolean;
}

export interface NativeCreateModelOptions {
  /** Registered name, or name.tag for a pretrained tag's preprocessing defaults. */
  name: string;
  numClasses?: number;
  imgSize?: number;
  /** Path of a timm .safetensors checkpoint; '' for none. */
  pretrained?: string;
  device?: string;
  gradCheckpointing?: boolean;
  channelsLast?: boolean;
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
  imgSize: number;
  device: string;
  channelsLast: boolean;
  pretrainedConfig: PretrainedConfigInfo;
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
  grads: Record<string, HostTensor>;
  gradInput: HostTensor;
}

export interface ParameterInfo {
  name: string;
  shape: number[];
  dtype: string;
  requiresGrad: boolean;
}

export interface NativeModel {
  info(): ModelInfo;
  readonly loadReport: LoadReport;
  readonly disposed: boolean;
  forward(images: Uint8Array, options: NativeForwardOptions): Promise<HostTensor>;
  forwardViews(images: Uint8Array, options: NativeForwardViewsOptions): Promise<HostTensor>;
  forwardFloat(input: Float32Array, options: ForwardFloatOptions): Promise<ForwardFloatResult>;
  lossAndGrads(input: Float32Array, options: { shape: number[]; targets: number[]; precision?: Precision }): Promise<LossAndGradsResult>;
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
}

export interface SafetensorsTensor extends HostTensor {
  dtype: string;
}

export interface SafetensorsContents {
  tensors: Record<string, SafetensorsTensor>;
  metadata: Record<string, string>;
}

export interface NativeAddon {
  createModel(options: NativeCreateModelOptions): Promise<NativeModel>;
  listModels(): RegistryEntry[];
  readSafetensors(path: string): Promise<SafetensorsContents>;
}
