/** Every parity kind `foldtorch parity` knows; each kind lives in its own file. */
import type { ParityKind } from './kind';
import { sklearnMetricsParity } from './metrics';
import { ttachParity } from './ttach';

export const parityKinds: ParityKind[] = [
  ttachParity,
  sklearnMetricsParity,
];
