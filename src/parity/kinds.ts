/** Every parity kind `foldtorch parity` knows; each kind lives in its own file. */
import type { ParityKind } from './kind';

export const parityKinds: ParityKind[] = [];
