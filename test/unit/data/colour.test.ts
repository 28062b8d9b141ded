// Colour augmentation plans and their native application in the bridge.
import { colourMatrices, grayscaleMatrix, hueRotationMatrix, outlineStrengths, planColour, planOutline } from '../../../src/data/colour';
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
    expect(() => planColour({ grayscale: 2, hue: 0 }, 1, 0, 0)).toThrow('Expected a number from 0 to 1 for augment.grayscale but received 2');
  });
});

describe('colour matrices in the bridge', () => {
  test('greyscale gives luma in every channel, before mean/std', async () => {
    const pixels = Buffer.from([255, 0, 0, 0, 255, 0]);
    const matrices = new Float32Array([...grayscaleMatrix(), ...hueRotationMatrix(0)]);
    const addon = loadAddon();
    const t = await addon.imagesToTensor(pixels, { shape: [2, 1, 1, 3], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], device: 'cpu', colorMatrices: matrices } as never);
    const grey = (0.299 - 0.5) / 0.5;
    expect(Array.from(t.data.slice(0, 3)).map((v) => +v.toFixed(5))).toEqual([grey, grey, grey].map((v) => +v.toFixed(5)));
    expect(Array.from(t.data.slice(3, 6)).map((v) => Math.round(v * 1000) / 1000)).toEqual([-1, 1, -1]);
    await expect(imagesToTensor(pixels, { shape: [2, 1, 1, 3], mean: [0, 0, 0], std: [1, 1, 1] })).resolves.toBeDefined();
    expect(() => addon.imagesToTensor(pixels, { shape: [2, 1, 1, 3], mean: [0, 0, 0], std: [1, 1, 1], device: 'cpu', colorMatrices: new Float32Array(9) } as never))
      .toThrow('Expected 18 values (a 3x3 matrix per RGB image) for colorMatrices but received 9');
  });
});

describe('outlines', () => {
  test('plans: a pure function of (seed, epoch, position), drawn with the probability, strengths in [0.5, 1]', () => {
    expect(planOutline(0.3, 7, 2, 11)).toBe(planOutline(0.3, 7, 2, 11));
    const strengths = Array.from({ length: 4000 }, (_, k) => planOutline(0.3, 7, 0, k));
    const drawn = strengths.filter((v) => v > 0);
    expect(drawn.length / 4000).toBeGreaterThan(0.27);
    expect(drawn.length / 4000).toBeLessThan(0.33);
    expect(Math.min(...drawn)).toBeGreaterThanOrEqual(0.5);
    expect(Math.max(...drawn)).toBeLessThanOrEqual(1);
    // Its own stream: the colour plans do not change when outlines are turned on.
    expect(planColour({ grayscale: 0.25, hue: 0.5 }, 7, 0, 3)).toEqual(planColour({ grayscale: 0.25, hue: 0.5 }, 7, 0, 3));
    expect(outlineStrengths(0, 1, 0, [0, 1])).toBeNull();
    expect(Array.from(outlineStrengths(1, 7, 0, [5, 6])!)).toEqual([planOutline(1, 7, 0, 5), planOutline(1, 7, 0, 6)].map(Math.fround));
    expect(() => planOutline(1.5, 1, 0, 0)).toThrow('Expected a number from 0 to 1 for augment.outline but received 1.5');
  });

  test('the bridge darkens both sides of a boundary by strength × edge; flat areas and the frame stay as they were', async () => {
    // Two 2x4 grey images, columns 204 204 255 255: a luma step of 0.2, half-way up the 0.1–0.3 ramp.
    const row = [204, 204, 255, 255].flatMap((v) => [v, v, v]);
    const pixels = Buffer.from([...row, ...row, ...row, ...row]);
    const t = await imagesToTensor(pixels, { shape: [2, 2, 4, 3], mean: [0, 0, 0], std: [1, 1, 1], outlineStrengths: new Float32Array([1, 0.5]) });
    const channel0 = (image: number) => Array.from(t.data.slice(image * 24, image * 24 + 8)).map((v) => +v.toFixed(4));
    // Full strength: 0.8 and 1 times (1 - 0.5) at the step; untouched away from it.
    expect(channel0(0)).toEqual([0.8, 0.4, 0.5, 1, 0.8, 0.4, 0.5, 1]);
    // Half strength: times (1 - 0.25).
    expect(channel0(1)).toEqual([0.8, 0.6, 0.75, 1, 0.8, 0.6, 0.75, 1]);
    await expect(imagesToTensor(pixels, { shape: [2, 2, 4, 3], mean: [0, 0, 0], std: [1, 1, 1], outlineStrengths: new Float32Array(1) }))
      .rejects.toThrow('Expected 2 values (one per image) for outlineStrengths but received');
  });
});
