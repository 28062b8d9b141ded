/**
 * Test hooks, kept out of the package root as onnxruntime keeps its own: `import … from 'foldtorch/testing'`.
 * They force rare paths (a native exception, an inf gradient, the loss scaler on CPU) so tests can reach them;
 * nothing in training calls them.
 */
import { loadAddon } from './native/addon';
import type { Model } from './native/model';
import type { BatchNormActCheck, BatchNormActCheckOptions, DepthwiseConvCheck, DepthwiseConvCheckOptions } from './native/types';
import { createLearner, injectNonFiniteGradientInto, type Learner, type LearnerOptions } from './train/learner';

export interface LearnerTestOptions extends LearnerOptions {
  /** Run the loss scaler although the precision does not need it (to exercise it on CPU). */
  forceGradScaler?: boolean;
}

/** createLearner with the test-only options. */
export function createTestLearner(model: Model, options: LearnerTestOptions): Promise<Learner> {
  return createLearner(model, options);
}

/** The learner's next backward makes its first gradient inf (the loss scaler must skip that step). */
export function injectNonFiniteGradient(learner: Learner): void {
  injectNonFiniteGradientInto(learner);
}

/** Raises a native exception of the given kind on the compute thread; resolves never. */
export function raiseNativeError(kind: 'type' | 'value' | 'shape' | 'error'): Promise<never> {
  return loadAddon().raiseNativeError(kind);
}

/** One training step of the fused CPU BatchNorm (+ ReLU6) that channels-last EfficientNet training runs. */
export function batchNormActTrainCheck(options: BatchNormActCheckOptions): Promise<BatchNormActCheck> {
  return loadAddon().batchNormActTrainCheck(options);
}

/** One training step of the depthwise convolution backward that channels-last EfficientNet training runs on the CPU. */
export function depthwiseConvTrainCheck(options: DepthwiseConvCheckOptions): Promise<DepthwiseConvCheck> {
  return loadAddon().depthwiseConvTrainCheck(options);
}

/**
 * Turns the depthwise convolution's CPU training backward off (every convolution goes to ATen's conv2d, as
 * FOLDTORCH_DEPTHWISE_BACKWARD=aten at load does) or on again; returns whether it was on. Not while a step runs.
 */
export function useDepthwiseBackward(enabled: boolean): boolean {
  return loadAddon().useDepthwiseBackward(enabled);
}
