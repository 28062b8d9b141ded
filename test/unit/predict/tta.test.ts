import { dihedralKey } from '../../../src/predict/dihedral';
import {
  formatTtaSpec,
  mergeTta,
  normalizeTtaSpec,
  parseTtaSpec,
  planTta,
  seedTtaSpec,
  ttachViews,
  ttaPlanNote,
  type TtaPlanEntry,
  type TtaSpec,
} from '../../../src/predict/tta';
import { applyViewToImage } from '../../../src/predict/dihedral';

const f32 = (...values: number[]) => Float32Array.from(values);

describe('ttach views', () => {
  test('the seed spec: 16 views, first transform varying slowest, rot90 = torch.rot90 k = angle / 90', () => {
    const views = ttachViews(seedTtaSpec);
    expect(views).toHaveLength(16);
    expect(views.map((v) => v.params.join(' '))).toEqual([
      'false false 0',
      'false false 90',
      'false false 180',
      'false false 270',
      'false true 0',
      'false true 90',
      'false true 180',
      'false true 270',
      'true false 0',
      'true false 90',
      'true false 180',
      'true false 270',
      'true true 0',
      'true true 90',
      'true true 180',
      'true true 270',
    ]);
    expect(views[13].view).toEqual({ hflip: true, vflip: true, rot: 1 });
    expect(views[13].ops).toEqual([{ op: 'hflip' }, { op: 'vflip' }, { op: 'rot90', k: 1 }]);
  });

  test('Rotate90 prepends angle 0 when it is missing, as ttach', () => {
    expect(ttachViews([{ type: 'rot90', angles: [90] }]).map((v) => v.params)).toEqual([[0], [90]]);
    expect(normalizeTtaSpec([{ type: 'rot90', angles: [180, 0] }])).toEqual([{ type: 'rot90', angles: [180, 0] }]);
    expect(ttachViews([{ type: 'rot90', angles: [-90, 450] }]).map((v) => v.view.rot)).toEqual([0, 3, 1]);
  });

  test('no TTA: one identity view', () => {
    expect(planTta([])).toEqual([
      { view: { hflip: false, vflip: false, rot: 0 }, ops: [], weight: 1, element: { rot: 0, flip: false }, ttachViews: [0] },
    ]);
  });

  test('a Compose order other than hflip, vflip, rot90 still gives the same pixels in the fixed order', () => {
    const spec: TtaSpec = [{ type: 'rot90', angles: [0, 90] }, { type: 'hflip' }, { type: 'vflip' }];
    const image = Float32Array.from({ length: 2 * 15 }, (_, i) => i * 0.5);
    for (const v of ttachViews(spec)) {
      const ttachOrder = applyViewToImage(image, [1, 2, 3, 5], v.ops);
      const fixedOrder = applyViewToImage(image, [1, 2, 3, 5], v.view);
      expect(fixedOrder.shape).toEqual(ttachOrder.shape);
      expect(Array.from(fixedOrder.data)).toEqual(Array.from(ttachOrder.data));
    }
    // rot90 then hflip = hflip then rot270.
    expect(ttachViews(spec)[6].view).toEqual({ hflip: true, vflip: false, rot: 3 });
  });
});

describe('planTta', () => {
  test("the seed's 16 views are the 8 symmetries twice: first occurrences, weight 2", () => {
    const plan = planTta(seedTtaSpec);
    expect(plan.map((e) => [e.view.hflip, e.view.vflip, e.view.rot])).toEqual([
      [false, false, 0],
      [false, false, 1],
      [false, false, 2],
      [false, false, 3],
      [false, true, 0],
      [false, true, 1],
      [false, true, 2],
      [false, true, 3],
    ]);
    expect(plan.map((e) => e.ttachViews)).toEqual([
      [0, 14],
      [1, 15],
      [2, 12],
      [3, 13],
      [4, 10],
      [5, 11],
      [6, 8],
      [7, 9],
    ]);
    expect(plan.every((e) => e.weight === 2)).toBe(true);
    expect(new Set(plan.map((e) => dihedralKey(e.element))).size).toBe(8);
    expect(plan[5].ops).toEqual([{ op: 'vflip' }, { op: 'rot90', k: 1 }]);
  });

  test("dedup false keeps ttach's list one to one", () => {
    const plan = planTta('hflip,vflip,rot90', { dedup: false });
    expect(plan).toHaveLength(16);
    expect(plan.map((e) => e.ttachViews[0])).toEqual([...Array(16).keys()]);
    expect(plan.every((e) => e.weight === 1)).toBe(true);
  });

  test('notes', () => {
    expect(ttaPlanNote(planTta(seedTtaSpec))).toBe(
      "TTA: ttach's 16 views are 8 distinct symmetries (hflip∘vflip = rot180); each is computed once with weight 2: " +
        '8 forward passes instead of 16, the same merged result up to float32 summation order.',
    );
    expect(ttaPlanNote(planTta('hflip,rot90=90'))).toBe('TTA: 4 views, all distinct.');
    expect(ttaPlanNote(planTta('none'))).toBe('TTA: 1 view, all distinct.');
    expect(ttaPlanNote(planTta('rot90=90/180,rot90=90'))).toBe(
      "TTA: ttach's 6 views are 4 distinct symmetries (hflip∘vflip = rot180); " +
        'each is computed once with weight 1/2: 4 forward passes instead of 6, the same merged result up to float32 summation order.',
    );
  });
});

describe('mergeTta', () => {
  const plan2 = planTta('hflip'); // two views, weight 1 each
  const a = f32(1, 4, -2);
  const b = f32(3, 1, 2);

  test.each([
    ['mean', [2, 2.5, 0]],
    ['sum', [4, 5, 0]],
    ['max', [3, 4, 2]],
    ['min', [1, 1, -2]],
    ['gmean', [Math.fround(Math.sqrt(3)), 2, NaN]],
    ['tsharpen', [Math.fround((1 + Math.fround(Math.sqrt(3))) / 2), 1.5, NaN]],
  ] as const)("%s (ttach's Merger; NaN for negative logits where ttach gives NaN)", (mode, expected) => {
    expect(Array.from(mergeTta([a, b], plan2, mode))).toEqual(expected);
  });

  test('weights count each view that many times', () => {
    const plan: TtaPlanEntry[] = plan2.map((e, i) => ({ ...e, weight: i === 0 ? 2 : 1 }));
    expect(Array.from(mergeTta([a, b], plan))).toEqual([Math.fround(5 / 3), 3, Math.fround(-2 / 3)]);
    expect(Array.from(mergeTta([a, b], plan, 'sum'))).toEqual([5, 9, -2]);
    expect(Array.from(mergeTta([f32(2), f32(4)], plan, 'gmean'))).toEqual([Math.fround(16 ** Math.fround(1 / 3))]);
  });

  test("the deduplicated seed plan gives ttach's 16-view result", () => {
    const full = planTta(seedTtaSpec, { dedup: false });
    const dedup = planTta(seedTtaSpec);
    // Outputs depend only on the symmetry, as they do for a real model fed identical tensors.
    const outputOf = (key: string) =>
      Float32Array.from({ length: 6 }, (_, j) => Math.sin(key.length * 7.1 + key.charCodeAt(1) * 1.3 + j) * 3);
    const mergedFull = mergeTta(
      full.map((e) => outputOf(dihedralKey(e.element))),
      full,
    );
    const mergedDedup = mergeTta(
      dedup.map((e) => outputOf(dihedralKey(e.element))),
      dedup,
    );
    for (let i = 0; i < 6; i++) expect(Math.abs(mergedFull[i] - mergedDedup[i])).toBeLessThanOrEqual(1e-6);
    for (const mode of ['max', 'min'] as const) {
      expect(
        mergeTta(
          dedup.map((e) => outputOf(dihedralKey(e.element))),
          dedup,
          mode,
        ),
      ).toEqual(
        mergeTta(
          full.map((e) => outputOf(dihedralKey(e.element))),
          full,
          mode,
        ),
      );
    }
  });

  test.each([
    [
      'mode',
      () => mergeTta([a, b], plan2, 'median' as never),
      'Expected one of mean, gmean, sum, max, min, tsharpen for mode but received "median"',
    ],
    [
      'outputs type',
      () => mergeTta(a as never, plan2),
      'Expected an array with one Float32Array per view for outputs but received a Float32Array of 12 bytes',
    ],
    ['output count', () => mergeTta([a], plan2), 'Expected one output per plan entry (2) for outputs but received an array of length 1'],
    ['empty plan', () => mergeTta([], []), 'Expected at least one view for plan but received an array of length 0'],
    [
      'output dtype',
      () => mergeTta([a, [1, 2, 3] as never], plan2),
      'Expected a Float32Array for outputs[1] but received an array of length 3',
    ],
    [
      'output length',
      () => mergeTta([a, f32(1)], plan2),
      'Expected the same length as outputs[0] (3) for outputs[1] but received a Float32Array of 4 bytes',
    ],
    [
      'weight',
      () => mergeTta([a, b], [plan2[0], { ...plan2[1], weight: 0.5 }]),
      'Expected an integer >= 1 for plan[1].weight but received 0.5',
    ],
  ])('validation: %s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});

describe('spec parsing and validation', () => {
  test('CLI form', () => {
    expect(parseTtaSpec('hflip,vflip,rot90')).toEqual(seedTtaSpec);
    expect(parseTtaSpec(' hflip , rot90=90/180 ')).toEqual([{ type: 'hflip' }, { type: 'rot90', angles: [0, 90, 180] }]);
    expect(parseTtaSpec('none')).toEqual([]);
    expect(parseTtaSpec('')).toEqual([]);
    expect(formatTtaSpec(seedTtaSpec)).toBe('hflip,vflip,rot90=0/90/180/270');
    expect(formatTtaSpec([])).toBe('none');
    expect(parseTtaSpec(formatTtaSpec(parseTtaSpec('vflip,rot90=270')))).toEqual(parseTtaSpec('vflip,rot90=270'));
  });

  test.each([
    [
      'unknown name',
      () => parseTtaSpec('hflp,vflip'),
      'Expected one of hflip, vflip, rot90 (did you mean hflip?) for tta item 1 but received "hflp"',
    ],
    ['value on a flip', () => parseTtaSpec('vflip=1'), 'Expected vflip without a value for tta item 1 but received "vflip=1"'],
    ['bad angle', () => parseTtaSpec('hflip,rot90=45'), 'Expected a multiple of 90 degrees for tta item 2 angles[0] but received 45'],
    ['empty angle', () => parseTtaSpec('rot90=90/'), 'Expected a multiple of 90 degrees for tta item 1 angles[1] but received NaN'],
    ['not a string', () => parseTtaSpec(3 as never), 'Expected a string such as "hflip,vflip,rot90" for tta but received 3'],
    [
      'not a list',
      () => normalizeTtaSpec({}),
      'Expected an array of transforms or a string such as "hflip,vflip,rot90" for tta but received an object (Object)',
    ],
    ['bad type', () => normalizeTtaSpec([{ type: 'scale' }]), 'Expected one of hflip, vflip, rot90 for tta[0].type but received "scale"'],
    [
      'angles missing',
      () => normalizeTtaSpec([{ type: 'rot90' }]),
      'Expected a non-empty array of angles for tta[0].angles but received undefined',
    ],
    [
      'angle type',
      () => normalizeTtaSpec([{ type: 'rot90', angles: ['90'] }]),
      'Expected a multiple of 90 degrees for tta[0].angles[0] but received "90"',
    ],
  ])('%s', (_name, call, message) => {
    expect(call).toThrow(message);
  });
});
