/**
 * The `eva02` parity kind: EVA-02 model fixtures (logits, pre-logits, per-block outputs, features, RoPE table,
 * parameter and input gradients), position-embedding resampling through the real checkpoint load path, and the
 * registry against timm's (eva02_timm_registry.json).
 */
import * as path from 'node:path';
import { createModel } from '../native/model';
import { readFixtureJson, readFixtureSafetensors } from './fixture';
import type { ParityKind, ParityOptions, ParityResult } from './kind';
import {
  compareTensor,
  createOptionsFromKwargs,
  modelFixtureStems,
  readmeTolerance,
  runModelFixture,
  structuralResult,
  type ToleranceFor,
} from './model_common';
import { runRegistryFixture } from './model_registry';

const kInScope = /^eva02_(tiny|small|base|large)_/;

function tolerances(dir: string): ToleranceFor {
  const logits = readmeTolerance(dir, 'EVA-02 logits / pre_logits', { atol: 1e-5, rtol: 1e-5 });
  const features = readmeTolerance(dir, 'EVA-02 features / block outputs', { atol: 1e-4, rtol: 0 });
  const grads = readmeTolerance(dir, 'EVA-02 parameter grads', { atol: 1e-5, rtol: 0 });
  return (output) => (output === 'logits' || output === 'pre_logits' ? logits : output.startsWith('grad') ? grads : features);
}

interface ResampleJson {
  model_create_model: {
    model_name: string;
    kwargs: Record<string, unknown>;
    pretrained_cfg_overlay?: { num_classes?: number };
  };
  checkpoint_grid?: number[];
  model_grid?: number[];
}

/** Load a checkpoint of another grid (and head) the way users do, then check what timm's load produced. */
async function runResampleFixture(dir: string, stem: string, options: ParityOptions, tolFor: ToleranceFor): Promise<ParityResult[]> {
  const json = readFixtureJson<ResampleJson>(path.join(dir, `${stem}.json`));
  const spec = json.model_create_model;
  const model = await createModel(spec.model_name, {
    ...createOptionsFromKwargs(spec.kwargs),
    pretrained: path.join(dir, `${stem}.checkpoint.safetensors`),
    device: options.device,
  });
  try {
    const report = model.loadReport;
    const problems: string[] = [];
    const gridChanged = JSON.stringify(json.checkpoint_grid) !== JSON.stringify(json.model_grid);
    if (gridChanged !== report.resampled.includes('pos_embed')) problems.push(`resampled = [${report.resampled}]`);
    const headChanged =
      spec.pretrained_cfg_overlay?.num_classes !== undefined && spec.pretrained_cfg_overlay.num_classes !== spec.kwargs.num_classes;
    if (headChanged !== (report.replaced.includes('head.weight') && report.replaced.includes('head.bias'))) {
      problems.push(`replaced = [${report.replaced}]`);
    }
    const results = [structuralResult(stem, 'load report', problems)];
    const io = readFixtureSafetensors(path.join(dir, `${stem}.io.safetensors`));
    const loaded = readFixtureSafetensors(path.join(dir, `${stem}.loaded_weights.safetensors`));
    const ours = await model.getTensors();
    results.push(compareTensor(stem, 'pos_embed (expected_pos_embed)', ours.pos_embed, io.get('expected_pos_embed')!, tolFor('logits')));
    for (const [name, expected] of loaded) {
      if (name.startsWith('head.')) continue; // timm re-initialised the replaced head; loaded_weights holds fixed values
      const check = compareTensor(stem, `loaded ${name}`, ours[name], expected, tolFor('logits'));
      if (!check.pass || name === 'pos_embed') results.push(check);
    }
    // The fixture's head values, then the forward pass of the loaded model.
    await model.load(path.join(dir, `${stem}.loaded_weights.safetensors`));
    const input = io.get('input')!;
    const out = await model.forwardFloat(input.data as Float32Array, { shape: input.shape, intermediates: true });
    const outputs: Record<string, typeof out.logits> = {
      ...out.intermediates,
      logits: out.logits,
      pre_logits: out.preLogits,
      features: out.features,
    };
    for (const [name, expected] of io) {
      if (name === 'input' || name.endsWith('_fp64') || !(name in outputs)) continue;
      results.push(compareTensor(stem, name, outputs[name], expected, tolFor(name)));
    }
    return results;
  } finally {
    model.dispose();
  }
}

export const eva02Kind: ParityKind = {
  name: 'eva02',
  fixtures: (fileNames) => modelFixtureStems(fileNames, 'eva02', ['weights', 'checkpoint']),
  async run(dir, fixture, options) {
    const tolFor = tolerances(dir);
    if (fixture.endsWith('_timm_registry')) return runRegistryFixture(dir, fixture, options, kInScope);
    const json = readFixtureJson<Record<string, unknown>>(path.join(dir, `${fixture}.json`));
    if (json.model_create_model) return runResampleFixture(dir, fixture, options, tolFor);
    return runModelFixture(dir, fixture, options, tolFor);
  },
};
