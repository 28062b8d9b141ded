/** foldtorch's public API: re-exports only. */
export * from './errors';
export { loadAddon, addonLocation } from './native/addon';
export { doctor, setNumThreads, imagesToTensor, validateDevice } from './native/runtime';
export type * from './native/types';
export { runParity, formatParity } from './parity/run';
export type { ParityKind, ParityResult } from './parity/kind';
