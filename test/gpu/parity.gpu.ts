/** `foldtorch parity` on the device: the EVA-02, ConvNeXt and EfficientNet-Lite golden fixtures in float32, at their README's tolerances. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatParity, runParity } from '../../src/parity/run';
import { gpuTest } from './helpers';

/** FOLDTORCH_GOLDEN, else ../shared/golden beside the checkout (scripts/gpu-prepare.sh copies it to .gpu/golden). */
function goldenDir(): string {
  return process.env.FOLDTORCH_GOLDEN ?? path.resolve(__dirname, '..', '..', '..', '..', 'shared', 'golden');
}

for (const kind of ['eva02', 'convnext', 'efficientnet']) {
  gpuTest(`parity: ${kind} fixtures on the device match timm (float32, no TF32)`, async (target, t) => {
    const dir = goldenDir();
    if (!fs.existsSync(dir)) {
      t.skip(`no fixtures at ${dir}: set FOLDTORCH_GOLDEN to a copy of shared/golden`);
      return;
    }
    const summary = await runParity(dir, { only: [kind], device: target.device });
    const report = formatParity(summary);
    t.diagnostic(
      report
        .split('\n')
        .filter((line) => !line.startsWith('PASS'))
        .join('\n'),
    );
    assert.ok(summary.results.length > 0, `no ${kind} fixtures in ${dir}`);
    const failed = summary.results
      .filter((r) => !r.pass)
      .map((r) => `${r.fixture} ${r.check}: ${r.maxError} > ${r.tolerance} ${r.detail ?? ''}`);
    assert.deepEqual(failed, []);
  });
}
