// Colour augmentation plans and their native application in the bridge.
import {
  affineMatrices,
  colourMatrices,
  fadeAmounts,
  grayscaleMatrix,
  hueRotationMatrix,
  outlineStrengths,
  planBatch,
  planColour,
  planFade,
  planOutline,
} from '../../../src/data/colour';
import { resolveRecipe } from '../../../src/train/recipe';
import { imagesToTensor } from '../../../src/native/runtime';
import { loadAddon } from '../../../src/native/addon';

describe('colour plans', () => {
  test('hue rotation by 0 is the identity and keeps grey grey at any angle', () => {
    hueRotationMatrix(0).forEach((v, i) => expect(v).toBeCloseTo([1, 0, 0, 0, 1, 0, 0, 0, 1][i], 3));
    const m = hueRotationMatrix(1.234);
    for (let row = 0; row < 3; row++) expect(m[row * 3] + m[row * 3 + 1] + m[row * 3 + 2]).toBeCloseTo(1, 2);
  });

  test('plans are a pure function of (seed, epoch, position) and follow the probabilities', () => {
    const config = { grayscale: 0.25, hue: 0.5 };
    expect(planColour(config, 7, 2, 11)).toEqual(planColour(config, 7, 2, 11));
    let grey = 0;
    let identity = 0;
    for (let k = 0; k < 4000; k++) {
      const m = planColour(config, 7, 0, k);
      if (m[0] === 0.299 && m[3] === 0.299) grey++;
      if (m[0] === 1 && m[4] === 1 && m[8] === 1) identity++;
    }
    expect(grey / 4000).toBeGreaterThan(0.22);
    expect(grey / 4000).toBeLessThan(0.28);
    expect(identity / 4000).toBeGreaterThan(0.75 * 0.5 - 0.04);
    expect(identity / 4000).toBeLessThan(0.75 * 0.5 + 0.04);
    expect(colourMatrices({ grayscale: 0, hue: 0 }, 1, 0, [0, 1])).toBeNull();
    expect(() => planColour({ grayscale: 2, hue: 0 }, 1, 0, 0)).toThrow(
      'Expected a number from 0 to 1 for augment.grayscale but received 2',
    );
  });
});

describe('colour matrices in the bridge', () => {
  test('greyscale gives luma in every channel, before mean/std', async () => {
    const pixels = Buffer.from([255, 0, 0, 0, 255, 0]);
    const matrices = new Float32Array([...grayscaleMatrix(), ...hueRotationMatrix(0)]);
    const addon = loadAddon();
    const t = await addon.imagesToTensor(pixels, {
      shape: [2, 1, 1, 3],
      mean: [0.5, 0.5, 0.5],
      std: [0.5, 0.5, 0.5],
      device: 'cpu',
      augment: { colorMatrices: matrices },
    } as never);
    const grey = (0.299 - 0.5) / 0.5;
    expect(Array.from(t.data.slice(0, 3)).map((v) => +v.toFixed(5))).toEqual([grey, grey, grey].map((v) => +v.toFixed(5)));
    expect(Array.from(t.data.slice(3, 6)).map((v) => Math.round(v * 1000) / 1000)).toEqual([-1, 1, -1]);
    await expect(imagesToTensor(pixels, { shape: [2, 1, 1, 3], mean: [0, 0, 0], std: [1, 1, 1] })).resolves.toBeDefined();
    expect(() =>
      addon.imagesToTensor(pixels, {
        shape: [2, 1, 1, 3],
        mean: [0, 0, 0],
        std: [1, 1, 1],
        device: 'cpu',
        augment: { colorMatrices: new Float32Array(9) },
      } as never),
    ).toThrow('Expected 18 values (a 3x3 matrix per RGB image) for imagesToTensor options.augment.colorMatrices but received 9');
  });
});

/** The non-zero values of a per-image plan over 4000 draws of epoch 0, seed 7. */
function drawsOf(plan: (probability: number, seed: number, epoch: number, position: number) => number, probability: number): number[] {
  return Array.from({ length: 4000 }, (_, k) => plan(probability, 7, 0, k)).filter((v) => v > 0);
}

describe('outlines', () => {
  test('plans: a pure function of (seed, epoch, position), drawn with the probability, strengths in [0.5, 1]', () => {
    expect(planOutline(0.3, 7, 2, 11)).toBe(planOutline(0.3, 7, 2, 11));
    const drawn = drawsOf(planOutline, 0.3);
    expect(drawn.length / 4000).toBeGreaterThan(0.27);
    expect(drawn.length / 4000).toBeLessThan(0.33);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(1);
    // Streams of their own: whether an image is outlined says nothing about its affine jitter, colour or fade draw
    // (all four combinations about equally often at 0.5 each), unlike when outlines shared affine's stream.
    const positions = Array.from({ length: 4000 }, (_, k) => k);
    const affine = affineMatrices({ affine: 0.5, scale: 1.25, shift: 0.1, rotate: 15 }, 7, 0, positions)!;
    const jittered = positions.map((k) => affine[k * 6] !== 1 || affine[k * 6 + 2] !== 0);
    const outlined = positions.map((k) => planOutline(0.5, 7, 0, k) > 0);
    const greyed = positions.map((k) => planColour({ grayscale: 0.5, hue: 0 }, 7, 0, k)[1] !== 0);
    const faded = positions.map((k) => planFade(0.5, 7, 0, k) > 0);
    for (const other of [jittered, greyed, faded]) {
      for (const [a, b] of [
        [true, true],
        [true, false],
        [false, true],
        [false, false],
      ]) {
        const share = positions.filter((k) => outlined[k] === a && other[k] === b).length / 4000;
        expect(share).toBeGreaterThan(0.22);
        expect(share).toBeLessThan(0.28);
      }
    }
    expect(outlineStrengths(0, 1, 0, [0, 1])).toBeNull();
    expect(Array.from(outlineStrengths(1, 7, 0, [5, 6])!)).toEqual([planOutline(1, 7, 0, 5), planOutline(1, 7, 0, 6)].map(Math.fround));
    expect(() => planOutline(1.5, 1, 0, 0)).toThrow('Expected a number from 0 to 1 for augment.outline but received 1.5');
  });

  test('the bridge darkens both sides of a boundary by strength × edge; flat areas and the frame stay as they were', async () => {
    // Two 2x4 grey images, columns 204 204 255 255: a luma step of 0.2, half-way up the 0.1–0.3 ramp.
    const row = [204, 204, 255, 255].flatMap((v) => [v, v, v]);
    const pixels = Buffer.from([...row, ...row, ...row, ...row]);
    const t = await imagesToTensor(pixels, {
      shape: [2, 2, 4, 3],
      mean: [0, 0, 0],
      std: [1, 1, 1],
      augment: { outlineStrengths: new Float32Array([1, 0.5]) },
    });
    const channel0 = (image: number) => Array.from(t.data.slice(image * 24, image * 24 + 8)).map((v) => +v.toFixed(4));
    // Full strength: 0.8 and 1 times (1 - 0.5) at the step; untouched away from it.
    expect(channel0(0)).toEqual([0.8, 0.4, 0.5, 1, 0.8, 0.4, 0.5, 1]);
    // Half strength: times (1 - 0.25).
    expect(channel0(1)).toEqual([0.8, 0.6, 0.75, 1, 0.8, 0.6, 0.75, 1]);
    await expect(
      imagesToTensor(pixels, { shape: [2, 2, 4, 3], mean: [0, 0, 0], std: [1, 1, 1], augment: { outlineStrengths: new Float32Array(1) } }),
    ).rejects.toThrow('Expected 2 values (one per image) for augment.outlineStrengths but received');
  });
});

describe('fading toward white', () => {
  test('plans: a pure function of (seed, epoch, position), drawn with the probability, amounts in [0, 1), a stream of its own', () => {
    expect(planFade(0.4, 7, 2, 11)).toBe(planFade(0.4, 7, 2, 11));
    const drawn = drawsOf(planFade, 0.4);
    expect(drawn.length / 4000).toBeGreaterThan(0.37);
    expect(drawn.length / 4000).toBeLessThan(0.43);
    expect(Math.max(...drawn)).toBeLessThan(1);
    const mean = drawn.reduce((a, b) => a + b, 0) / drawn.length;
    expect(mean).toBeGreaterThan(0.47);
    expect(mean).toBeLessThan(0.53);
    const both =
      Array.from({ length: 4000 }, (_, k) => k).filter((k) => planFade(0.4, 7, 0, k) > 0 && planOutline(0.5, 7, 0, k) > 0).length / 4000;
    expect(both).toBeGreaterThan(0.17);
    expect(both).toBeLessThan(0.23);
    expect(fadeAmounts(0, 1, 0, [0, 1])).toBeNull();
    expect(Array.from(fadeAmounts(1, 7, 0, [5, 6])!)).toEqual([planFade(1, 7, 0, 5), planFade(1, 7, 0, 6)].map(Math.fround));
    expect(() => planFade(-0.1, 1, 0, 0)).toThrow('Expected a number from 0 to 1 for augment.fade but received -0.1');
    expect(() => resolveRecipe('demo-cpu', ['augment.fade=2'])).toThrow('Expected a number from 0 to 1 for augment.fade but received 2');
  });

  test('the bridge blends toward white by the amount; outlines are found before fading and drawn over it', async () => {
    // The outline test's images: columns 204 204 255 255, an edge of 0.5 on both sides of the step.
    const row = [204, 204, 255, 255].flatMap((v) => [v, v, v]);
    const pixels = Buffer.from([...row, ...row, ...row, ...row]);
    const channel0 = (t: { data: Float32Array }, image: number) =>
      Array.from(t.data.slice(image * 24, image * 24 + 4)).map((v) => +v.toFixed(4));
    const faded = await imagesToTensor(pixels, {
      shape: [2, 2, 4, 3],
      mean: [0, 0, 0],
      std: [1, 1, 1],
      augment: { fadeAmounts: new Float32Array([0.5, 1]) },
    });
    // 0.8 → 1 - 0.2 × 0.5; white stays white; amount 1 is a blank page.
    expect(channel0(faded, 0)).toEqual([0.9, 0.9, 1, 1]);
    expect(channel0(faded, 1)).toEqual([1, 1, 1, 1]);
    const both = await imagesToTensor(pixels, {
      shape: [2, 2, 4, 3],
      mean: [0, 0, 0],
      std: [1, 1, 1],
      augment: { fadeAmounts: new Float32Array([0.5, 1]), outlineStrengths: new Float32Array([1, 1]) },
    });
    // The full outline survives the fade: times (1 - 0.5) at the step, even on the blank page.
    expect(channel0(both, 0)).toEqual([0.9, 0.45, 0.5, 1]);
    expect(channel0(both, 1)).toEqual([1, 0.5, 0.5, 1]);
    await expect(
      imagesToTensor(pixels, { shape: [2, 2, 4, 3], mean: [0, 0, 0], std: [1, 1, 1], augment: { fadeAmounts: new Float32Array(3) } }),
    ).rejects.toThrow('Expected 2 values (one per image) for augment.fadeAmounts but received');
  });
});

describe('planBatch: the one augment object', () => {
  const off = { grayscale: 0, hue: 0, affine: 0, scale: 1.2, shift: 0.1, rotate: 15, outline: 0, fade: 0 };

  test('gathers exactly the per-augmentation plans, and is undefined when every one is off', () => {
    expect(planBatch(off, 3, 1, [0, 1, 2])).toBeUndefined();
    const on = { ...off, grayscale: 0.3, hue: 0.5, affine: 0.7, outline: 0.4, fade: 0.6 };
    const positions = [4, 9, 2];
    const augment = planBatch(on, 3, 1, positions, 0.75)!;
    expect(Object.keys(augment).sort()).toEqual(['affineMatrices', 'colorMatrices', 'fadeAmounts', 'outlineStrengths']);
    expect(augment.colorMatrices).toEqual(colourMatrices(on, 3, 1, positions));
    expect(augment.outlineStrengths).toEqual(outlineStrengths(0.4, 3, 1, positions));
    expect(augment.fadeAmounts).toEqual(fadeAmounts(0.6, 3, 1, positions));
    expect(augment.affineMatrices).toEqual(affineMatrices(on, 3, 1, positions, 0.75));
    expect(Object.keys(planBatch({ ...off, fade: 1 }, 3, 1, positions)!)).toEqual(['fadeAmounts']);
  });

  test('imagesToTensor applies the affine jitter too: a half turn moves each pixel to the opposite corner', async () => {
    // One 2x3 image, pixel values 0..5 in the red channel: a 180° turn maps pixel centres onto pixel centres.
    const pixels = Buffer.from([0, 1, 2, 3, 4, 5].flatMap((v) => [v * 40, 0, 0]));
    const red = async (augment?: { affineMatrices: Float32Array }) =>
      Array.from((await imagesToTensor(pixels, { shape: [1, 2, 3, 3], mean: [0, 0, 0], std: [1, 1, 1], augment })).data.slice(0, 6)).map(
        (v) => Math.round(v * 255),
      );
    expect(await red()).toEqual([0, 40, 80, 120, 160, 200]);
    expect(await red({ affineMatrices: new Float32Array([1, 0, 0, 0, 1, 0]) })).toEqual([0, 40, 80, 120, 160, 200]);
    expect(await red({ affineMatrices: new Float32Array([-1, 0, 0, 0, -1, 0]) })).toEqual([200, 160, 120, 80, 40, 0]);
  });
});
