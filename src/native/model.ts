/**
 * Registered classifiers (EVA-02, ConvNeXt, EfficientNet-Lite, …) from TypeScript: `createModel(name, options)` builds (and loads a timm
 * .safetensors checkpoint) on the device's native compute thread; `Model` runs forward passes, TTA views,
 * parity helpers and weight export. Arguments are validated here; native code re-checks what would crash.
 */
import * as fs from 'node:fs';
import { closestNames, disposedError, invalidType, outOfRange, requireImageSize, requireInteger } from '../errors';
import { checkModelMemory, describeSizeOptions, estimateMemory } from './memory';
import { loadAddon, loadAddonAsync } from './addon';
import { precisions } from './types';
import type {
  ForwardFloatResult,
  GradCamResult,
  HostTensor,
  ImageSizeOption,
  InputRules,
  LoadReport,
  LossAndGradsResult,
  ModelArchOverrides,
  ModelFamily,
  ModelInfo,
  NativeModel,
  ParameterInfo,
  Precision,
  PretrainedConfigInfo,
  RegistryEntry,
  SafetensorsContents,
  SafetensorsTensorInfo,
  TtaView,
} from './types';

export { precisions };

export interface CreateModelOptions {
  /** Classes of the new head (default: the pretrained tag's); a checkpoint head of another size is replaced. */
  numClasses?: number;
  /** Input size in pixels, a side or [height, width] (default: the config's); a ViT's position embedding is resampled to fit. */
  imgSize?: ImageSizeOption;
  /** Path of a timm .safetensors checkpoint (see resolvePretrained for weights names), or false for random initialisation. */
  pretrained?: string | false;
  /** "cpu", "cuda" or "cuda:N". */
  device?: string;
  gradCheckpointing?: boolean;
  /** NHWC activations; 'auto' follows the model's preference (Model.input.channelsLast); EVA-02 ignores it. */
  channelsLast?: boolean | 'auto';
  /**
   * After loading, a fresh classifier as timm's reset_classifier makes it (U(±1/√features)) instead of the family's
   * own initialisation (EfficientNet's is U(±1/√classes): ±0.7 for 2 classes, first logits of ±10).
   */
  resetClassifier?: boolean;
  /** BatchNorm layers normalise with their running statistics in training too and never update them (fine-tuning). */
  freezeBatchNorm?: boolean;
  /** timm keyword overrides of the architecture (scaled-down test models). */
  arch?: ModelArchOverrides;
}

export interface ImageForwardOptions {
  /** [batch, height, width, channels] of the uint8 NHWC pixels. */
  shape: readonly number[];
  /** Per-channel normalisation; default: the model's pretrained mean/std. */
  normalize?: { mean: readonly number[]; std: readonly number[] };
  precision?: Precision;
  output?: 'logits' | 'preLogits';
}

export interface FloatForwardOptions {
  /** [batch, channels, height, width] of the already normalised input. */
  shape: readonly number[];
  intermediates?: boolean;
  attention?: 'sdpa' | 'explicit';
  precision?: Precision;
}

let registryCache: RegistryEntry[] | undefined;

/** Every registered architecture with its timm model_args and pretrained tags. */
export function listModels(): RegistryEntry[] {
  registryCache ??= loadAddon().listModels();
  return registryCache;
}

/** Architecture names and their name.tag forms. */
export function registeredModelNames(): string[] {
  return listModels().flatMap((entry) => [entry.name, ...entry.tags.map((tag) => tag.tag)]);
}

/** A safetensors file's tensors as float32 arrays, read natively with every offset bounds-checked. */
export async function readSafetensors(path: string): Promise<SafetensorsContents> {
  if (typeof path !== 'string') throw invalidType('path', 'a string', path);
  return loadAddon().readSafetensors(path);
}

export interface SafetensorsHeader {
  metadata: Record<string, string>;
  /** By name, in name order. */
  tensors: Map<string, SafetensorsTensorInfo>;
}

/**
 * A safetensors file's header without its data (names, dtypes, shapes, absolute byte ranges), checked by the
 * native reader that loads weights: the one parser of the format. Synchronous: it reads the header only.
 */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  if (typeof path !== 'string') throw invalidType('path', 'a string', path);
  const header = loadAddon().readSafetensorsHeader(path);
  return { metadata: header.metadata, tensors: new Map(header.tensors.map(({ name, ...info }) => [name, info])) };
}

function checkBoolean(name: string, value: unknown): boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') throw invalidType(name, 'a boolean', value);
  return value as boolean | undefined;
}

/** The one check of a precision name (torch's dtype names), for every call that takes one. */
export function checkPrecision(value: unknown, name = 'precision'): Precision | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !(precisions as readonly string[]).includes(value)) {
    throw outOfRange(name, `one of ${precisions.join(', ')}`, value);
  }
  return value as Precision;
}

function checkShape(name: string, shape: unknown, length: number): number[] {
  if (!Array.isArray(shape) || shape.length !== length) throw invalidType(name, `an array of ${length} integers`, shape);
  return shape.map((d, i) => requireInteger(`${name}[${i}]`, d, 1));
}

/** [height, width] from a side or a pair. */
/** Checks overrides against the keys the model's family declares (listModels()[i].archKeys). */
function checkArch(arch: unknown, entry: RegistryEntry): ModelArchOverrides | undefined {
  if (arch === undefined) return undefined;
  if (typeof arch !== 'object' || arch === null || Array.isArray(arch)) throw invalidType('arch', 'an object', arch);
  const out: ModelArchOverrides = {};
  for (const [key, value] of Object.entries(arch as Record<string, unknown>)) {
    if (value === undefined) continue;
    const spec = entry.archKeys.find((k) => k.name === key);
    if (!spec) throw outOfRange('arch', `only the keys ${entry.archKeys.map((k) => k.name).join(', ')} (${entry.family})`, key);
    const name = `arch.${key}`;
    if (spec.kind === 'boolean') {
      out[key] = checkBoolean(name, value) as boolean;
    } else if (spec.kind === 'integers') {
      if (!Array.isArray(value) || (spec.length > 0 && value.length !== spec.length)) {
        throw invalidType(name, spec.length > 0 ? `an array of ${spec.length} integers` : 'an array of integers', value);
      }
      out[key] = value.map((d, i) => requireInteger(`${name}[${i}]`, d, 1));
    } else if (spec.kind === 'integer') {
      out[key] = requireInteger(name, value, 1);
    } else {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw outOfRange(name, 'a non-negative number', value);
      out[key] = value;
    }
  }
  return out;
}

/** The "height, width" part of an accepted NHWC shape: "448, 448", or "height >= 32, width >= 32". */
export function describeInput(rules: InputRules): string {
  if (rules.fixedSize) return `${rules.size[0]}, ${rules.size[1]}`;
  const multiple = rules.sizeMultiple > 1 ? ` (multiples of ${rules.sizeMultiple})` : '';
  return `height >= ${rules.minSize}, width >= ${rules.minSize}${multiple}`;
}

/** Whether an image of height × width goes through a model with these input rules. */
export function fitsInput(rules: InputRules, height: number, width: number): boolean {
  if (rules.fixedSize) return height === rules.size[0] && width === rules.size[1];
  return height >= rules.minSize && width >= rules.minSize && height % rules.sizeMultiple === 0 && width % rules.sizeMultiple === 0;
}

/** Builds a registered model (optionally from a timm checkpoint) on its device. */
export async function createModel(name: string, options: CreateModelOptions = {}): Promise<Model> {
  if (typeof name !== 'string') throw invalidType('name', 'a model name string', name);
  const names = registeredModelNames();
  if (!names.includes(name)) {
    throw outOfRange('name', `a registered model name (closest: ${closestNames(name, names).join(', ')})`, name);
  }
  const entry = listModels().find((e) => e.name === name.split('.')[0]) as RegistryEntry;
  if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
  const numClasses = options.numClasses === undefined ? undefined : requireInteger('numClasses', options.numClasses, 0);
  const imgSize = options.imgSize === undefined ? undefined : requireImageSize('imgSize', options.imgSize);
  let pretrained = '';
  if (options.pretrained !== undefined && options.pretrained !== false) {
    if (typeof options.pretrained !== 'string') throw invalidType('pretrained', 'a .safetensors path or false', options.pretrained);
    if (!fs.existsSync(options.pretrained)) throw outOfRange('pretrained', 'an existing .safetensors file', options.pretrained);
    pretrained = options.pretrained;
  }
  if (options.device !== undefined && typeof options.device !== 'string') throw invalidType('device', 'a device string', options.device);
  const nativeOptions = {
    name,
    numClasses,
    imgSize,
    pretrained,
    device: options.device ?? 'cpu',
    gradCheckpointing: checkBoolean('gradCheckpointing', options.gradCheckpointing) ?? false,
    ...(options.channelsLast === 'auto' ? {} : { channelsLast: checkBoolean('channelsLast', options.channelsLast) ?? false }),
    resetClassifier: checkBoolean('resetClassifier', options.resetClassifier) ?? false,
    freezeBatchNorm: checkBoolean('freezeBatchNorm', options.freezeBatchNorm) ?? false,
    arch: checkArch(options.arch, entry),
  };
  const addon = await loadAddonAsync();
  // Refused with the figures before libtorch's allocator would fail with its own text.
  const sizeOptions = [describeSizeOptions('arch.', nativeOptions.arch ?? {}), describeSizeOptions('', { imgSize: options.imgSize })]
    .filter(Boolean)
    .join(', ');
  checkModelMemory(await estimateMemory(addon, nativeOptions), sizeOptions ? `${sizeOptions} (${name})` : name, nativeOptions.device);
  return new Model(await addon.createModel(nativeOptions));
}

/** A classifier living natively on one device; call dispose() to free its memory early. */
export class Model {
  readonly name: string;
  readonly family: ModelFamily;
  readonly numClasses: number;
  readonly numFeatures: number;
  /** [height, width] the model was built for. */
  readonly imgSize: [number, number];
  readonly device: string;
  readonly pretrainedConfig: PretrainedConfigInfo;
  /** What inputs the model takes: its family's size rules and channels-last preference. */
  readonly input: InputRules;
  /** Parameter groups from the input side (stem, blocks or stages, head, classifier) as regexes over names. */
  readonly parameterStages: { name: string; pattern: string }[];
  private handle: NativeModel | undefined;

  constructor(native: NativeModel) {
    const info: ModelInfo = native.info();
    this.handle = native;
    this.name = info.name;
    this.family = info.family;
    this.numClasses = info.numClasses;
    this.numFeatures = info.numFeatures;
    this.imgSize = info.imgSize;
    this.device = info.device;
    this.pretrainedConfig = info.pretrainedConfig;
    this.input = info.input;
    this.parameterStages = info.parameterStages;
  }

  /** The addon object, for native consumers such as the Learner. */
  get native(): NativeModel {
    if (!this.handle) throw disposedError('Model');
    return this.handle;
  }

  get disposed(): boolean {
    return this.handle === undefined;
  }

  /** What the last checkpoint load did: loaded, missing, unexpected, resampled and replaced keys. */
  get loadReport(): LoadReport {
    return this.native.loadReport;
  }

  private checkImages(images: unknown, shape: unknown): number[] {
    if (!(images instanceof Uint8Array)) throw invalidType('images', 'a Buffer or Uint8Array', images);
    const [batch, height, width, channels] = checkShape('shape', shape, 4);
    if (channels !== 3 || !fitsInput(this.input, height, width)) {
      throw outOfRange('shape', `[batch, ${describeInput(this.input)}, 3]`, `[${batch}, ${height}, ${width}, ${channels}]`);
    }
    return [batch, height, width, channels];
  }

  private imageOptions(options: ImageForwardOptions) {
    if (typeof options !== 'object' || options === null) throw invalidType('options', 'an object', options);
    const normalize = options.normalize;
    if (normalize !== undefined && (typeof normalize !== 'object' || normalize === null)) {
      throw invalidType('normalize', 'an object with mean and std', normalize);
    }
    if (options.output !== undefined && options.output !== 'logits' && options.output !== 'preLogits') {
      throw outOfRange('output', 'logits or preLogits', options.output);
    }
    return {
      mean: normalize ? [...normalize.mean] : undefined,
      std: normalize ? [...normalize.std] : undefined,
      precision: checkPrecision(options.precision),
      output: options.output,
    };
  }

  /** uint8 NHWC images → logits [batch, classes] (or pre-logits), eval mode, no gradients. */
  async forward(images: Uint8Array, options: ImageForwardOptions): Promise<HostTensor> {
    const shape = this.checkImages(images, options?.shape);
    return this.native.forward(images, { shape, ...this.imageOptions(options) });
  }

  /** Logits of each TTA view, [views, batch, classes]; flips and rot90 are applied natively on the device. */
  async forwardViews(images: Uint8Array, options: ImageForwardOptions & { views: readonly TtaView[] }): Promise<HostTensor> {
    const shape = this.checkImages(images, options?.shape);
    if (!Array.isArray(options.views) || options.views.length === 0)
      throw invalidType('views', 'a non-empty array of views', options.views);
    const views = options.views.map((view, i) => {
      if (typeof view !== 'object' || view === null) throw invalidType(`views[${i}]`, 'an object {hflip, vflip, rot}', view);
      return {
        hflip: checkBoolean(`views[${i}].hflip`, view.hflip) ?? false,
        vflip: checkBoolean(`views[${i}].vflip`, view.vflip) ?? false,
        rot: view.rot === undefined ? 0 : requireInteger(`views[${i}].rot`, view.rot, 0, 3),
      };
    });
    return this.native.forwardViews(images, { shape, views, ...this.imageOptions(options) });
  }

  /**
   * Grad-CAM of class `target` for uint8 NHWC images: eval mode, fp32, gradients of that logit through the model's
   * own backward path (no parameter's gradient is touched); `cam` is [batch, h, w] in [0, 1] on the last feature grid.
   */
  async gradCam(
    images: Uint8Array,
    options: Omit<ImageForwardOptions, 'output' | 'precision'> & { target: number },
  ): Promise<GradCamResult> {
    const shape = this.checkImages(images, options?.shape);
    const target = requireInteger('target', options.target, 0, this.numClasses - 1);
    const { mean, std } = this.imageOptions(options);
    return this.native.gradCam(images, { shape, target, mean, std });
  }

  /** Normalised float NCHW input → logits, pre-logits, features (and intermediates): the parity path. */
  async forwardFloat(input: Float32Array, options: FloatForwardOptions): Promise<ForwardFloatResult> {
    if (!(input instanceof Float32Array)) throw invalidType('input', 'a Float32Array', input);
    const shape = checkShape('shape', options?.shape, 4);
    if (options.attention !== undefined && options.attention !== 'sdpa' && options.attention !== 'explicit') {
      throw outOfRange('attention', 'sdpa or explicit', options.attention);
    }
    return this.native.forwardFloat(input, {
      shape,
      intermediates: checkBoolean('intermediates', options.intermediates) ?? false,
      attention: options.attention,
      precision: checkPrecision(options.precision),
    });
  }

  /**
   * Mean cross-entropy against `targets` with every parameter's gradient and the input's (autocast, when asked,
   * covers the forward only, as in training). Eval mode unless `train`: then one training forward (batch
   * statistics, BatchNorm running-statistic updates, dropout), as the train-mode parity fixtures record it.
   */
  async lossAndGrads(
    input: Float32Array,
    options: { shape: readonly number[]; targets: readonly number[]; precision?: Precision; train?: boolean },
  ): Promise<LossAndGradsResult> {
    if (!(input instanceof Float32Array)) throw invalidType('input', 'a Float32Array', input);
    const shape = checkShape('shape', options?.shape, 4);
    if (!Array.isArray(options.targets)) throw invalidType('targets', 'an array of class indices', options.targets);
    const targets = options.targets.map((t, i) => requireInteger(`targets[${i}]`, t, 0, this.numClasses - 1));
    const train = checkBoolean('train', options.train) ?? false;
    return this.native.lossAndGrads(input, { shape, targets, precision: checkPrecision(options.precision), train });
  }

  /** Parameter names (timm's state_dict order), shapes and dtypes. */
  async parameters(): Promise<ParameterInfo[]> {
    return this.native.parameters();
  }

  /** Copies of parameters as float32 (all, or the named ones). */
  async getTensors(names?: readonly string[]): Promise<Record<string, HostTensor>> {
    if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) {
      throw invalidType('names', 'an array of parameter names', names);
    }
    return this.native.getTensors(names ? { names: [...names] } : undefined);
  }

  /** Loads a timm .safetensors checkpoint into this model (same rules as createModel's pretrained). */
  async load(path: string): Promise<LoadReport> {
    if (typeof path !== 'string') throw invalidType('path', 'a string', path);
    return this.native.load(path);
  }

  /** Writes the weights as .safetensors under timm's names (atomically: tmp file + fsync + rename). */
  async saveWeights(path: string, metadata: Record<string, string> = {}): Promise<void> {
    if (typeof path !== 'string') throw invalidType('path', 'a string', path);
    return this.native.saveWeights(path, metadata);
  }

  dispose(): void {
    this.handle?.dispose();
    this.handle = undefined;
  }
}
