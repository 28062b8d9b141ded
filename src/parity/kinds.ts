/** Every parity kind `foldtorch parity` knows; each kind lives in its own file. */
import { cceParity } from './cce';
import type { ParityKind } from './kind';
import { sklearnMetricsParity } from './metrics';
import { ranger21Parity } from './ranger21';
import { ttachParity } from './ttach';

export const parityKinds: ParityKind[] = [
  ttachParity,
  sklearnMetricsParity,
  ranger21Parity,
  cceParity,
];
