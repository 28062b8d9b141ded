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
