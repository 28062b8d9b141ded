/** Every parity kind `foldtorch parity` knows; each kind lives in its own file. */
import { cceParity } from './cce';
import { convnextKind } from './convnext';
import { efficientnetKind } from './efficientnet';
import { eva02Kind } from './eva02';
import type { ParityKind } from './kind';
import { sklearnMetricsParity } from './metrics';
import { ranger21Parity } from './ranger21';
import { imbalancedSamplerParity } from './sampler';
import { sklearnFoldsParity } from './sklearn';
import { ttachParity } from './ttach';

export const parityKinds: ParityKind[] = [
  eva02Kind,
  convnextKind,
  efficientnetKind,
  ttachParity,
  sklearnMetricsParity,
  sklearnFoldsParity,
  imbalancedSamplerParity,
  ranger21Parity,
  cceParity,
];
