import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parityKinds } from '../../../src/parity/kinds';
import { specFromTtachConstructor, ttachParity } from '../../../src/parity/ttach';
import { goldenDir, goldenFile } from '../metrics/golden';

describe('parity kind ttach', () => {
  test('is registered and finds its fixture', () => {
    expect(parityKinds).toContain(ttachParity);
    expect(ttachParity.fixtures(['ttach.json', 'ttach.safetensors', 'cce.json', 'ttach_other.json'])).toEqual(['ttach']);
  });

  test('every check passes on the golden fixture', async () => {
    goldenFile('ttach.safetensors');
    const results = await ttachParity.run(goldenDir, 'ttach', { device: 'cpu' });
    expect(results).toHaveLength(4 * 7);
    expect(results.filter((r) => !r.pass)).toEqual([]);
    const dedup = results.find((r) => r.check === 'hflip_vflip_rot4.merged_mean_dedup')!;
    expect(dedup.maxError).toBeLessThanOrEqual(1e-6);
    expect(dedup.detail).toBe('8 distinct views for 16');
    expect(results.find((r) => r.check === 'hflip_vflip_rot4.merged_mean')!.maxError).toBe(0);
  });

  test('fails when the fixture disagrees (a clockwise rotation would)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ttach-'));
    try {
      const json = JSON.parse(readFileSync(goldenFile('ttach.json'), 'utf8'));
      const views = json.composes.rot90_only.index_image_per_view;
      views[1] = views[1].map((row: number[]) => [...row].reverse()).reverse();
      json.composes.hflip_rot2.constructor = 'Compose([Scale(scales=[2])])';
      writeFileSync(join(dir, 'ttach.json'), JSON.stringify(json));
      copyFileSync(goldenFile('ttach.safetensors'), join(dir, 'ttach.safetensors'));
      const results = await ttachParity.run(dir, 'ttach', { device: 'cpu' });
      expect(results.filter((r) => !r.pass).map((r) => [r.check, r.detail])).toEqual([
        ['rot90_only.index_image_per_view', undefined],
        ['hflip_rot2', 'ttach: unsupported transform (got "Scale(scales=[2])")'],
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('reads ttach constructors', () => {
    expect(specFromTtachConstructor('Compose([Rotate90(angles=[90])])  # 0 is prepended automatically')).toEqual([
      { type: 'rot90', angles: [90] },
    ]);
    expect(specFromTtachConstructor('Compose([HorizontalFlip(), VerticalFlip(), Rotate90(angles=[0,90,180,270])])')).toEqual([
      { type: 'hflip' },
      { type: 'vflip' },
      { type: 'rot90', angles: [0, 90, 180, 270] },
    ]);
    expect(specFromTtachConstructor('Compose([])')).toEqual([]);
    expect(() => specFromTtachConstructor('ClassificationTTAWrapper(model)')).toThrow(
      'ttach: cannot read the Compose constructor (got "ClassificationTTAWrapper(model)")',
    );
  });
});
