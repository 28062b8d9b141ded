/** `npm run demo`: the project's main job. For now: doctor plus a small native forward pass through the bridge. */
import { doctor, imagesToTensor } from '../native/runtime';
import { formatDoctor } from './doctor';

export async function demoCommand(_args: { out?: string }): Promise<void> {
  process.stdout.write(`${formatDoctor(await doctor())}\n`);
  const pixels = Buffer.from([0, 128, 255, 255, 128, 0]);
  const tensor = await imagesToTensor(pixels, { shape: [1, 1, 2, 3], mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] });
  process.stdout.write(`bridge: [1,1,2,3] uint8 → [${tensor.shape.join(',')}] float32 ${Array.from(tensor.data, (v) => v.toFixed(4)).join(' ')}\n`);
}
