/**
 * The `convnext` parity kind: ConvNeXt model fixtures (logits, pre-logits, stem and stage outputs) of both block
 * variants (Linear MLP and conv_mlp) in contiguous and channels-last layouts, and the registry against timm's
 * (convnext_timm_registry.json).
 */
import type { ParityKind, ParityResult } from './kind';
import { modelFixtureStems, readmeTolerance, runModelFixture, type ToleranceFor } from './model_common';
import { runRegistryFixture } from './model_registry';

const kInScope = /^convnext_(atto|femto|pico|nano|tiny|small|base|large|xlarge)$/;

function tolerances(dir: string): ToleranceFor {
  const logits = readmeTolerance(dir, 'ConvNeXt logits', { atol: 1e-5, rtol: 0 });
  // The README gives no row for intermediate maps; the EVA-02 block-output tolerance is the analogue.
  const features = readmeTolerance(dir, 'EVA-02 features / block outputs', { atol: 1e-4, rtol: 0 });
  return (output) => (output === 'logits' || output === 'pre_logits' ? logits : features);
}

export const convnextKind: ParityKind = {
  name: 'convnext',
  fixtures: (fileNames) => modelFixtureStems(fileNames, 'convnext'),
  async run(dir, fixture, options) {
    if (fixture.endsWith('_timm_registry')) return runRegistryFixture(dir, fixture, options, kInScope);
    const results: ParityResult[] = [];
    for (const channelsLast of [false, true]) {
      const run = await runModelFixture(dir, fixture, options, tolerances(dir), { channelsLast });
      results.push(...run.map((r) => (channelsLast ? { ...r, check: `${r.check} (channels-last)` } : r)));
    }
    return results;
  },
};
