/** Checkpoints cross devices: weights and training checkpoints saved on the device load on the CPU, same logits. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createModel } from '../../src/native/model';
import { createLearner } from '../../src/train/learner';
import { gpuTest, kArch, kNormalize, kSide, maxDiff, tinyEvaOn, toyBatch } from './helpers';

const kOptimizer = { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: 10 };

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-gpu-ckpt-'));
}

gpuTest('checkpoint: a training checkpoint saved on the device resumes on the CPU with the same logits', async (target) => {
  const dir = tempDir();
  try {
    const trained = await createLearner(await tinyEvaOn(target.device, 41), { optimizer: kOptimizer, seed: 41, normalize: kNormalize });
    for (let i = 0; i < 3; i++) await trained.trainStep(toyBatch(i).images, toyBatch(i).labels, { shape: toyBatch(i).shape });
    const saved = await trained.save(path.join(dir, 'ckpt'));
    assert.equal(saved.document.device, target.device === 'cpu' ? 'cpu' : 'cuda:0');
    const resumed = await createLearner(await tinyEvaOn('cpu', 42), { optimizer: kOptimizer, seed: 42, normalize: kNormalize });
    const loaded = await resumed.load(path.join(dir, 'ckpt'));
    assert.equal(loaded.step, 3);
    const test = toyBatch(500, 6);
    const onDevice = await trained.evalStep(test.images, { shape: test.shape });
    const onCpu = await resumed.evalStep(test.images, { shape: test.shape });
    assert.ok(maxDiff(onCpu, onDevice) <= 1e-5, `CPU vs device logits after resume: ${maxDiff(onCpu, onDevice)}`);
    const weightsDevice = await trained.model.getTensors();
    const weightsCpu = await resumed.model.getTensors();
    for (const name of Object.keys(weightsDevice)) assert.equal(maxDiff(weightsCpu[name], weightsDevice[name]), 0, name);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

gpuTest('checkpoint: .safetensors weights saved on the device load on the CPU bit for bit', async (target) => {
  const dir = tempDir();
  try {
    const model = await tinyEvaOn(target.device, 43);
    const file = path.join(dir, 'weights.safetensors');
    await model.saveWeights(file);
    const cpu = await createModel('eva02_tiny_patch14_224', { numClasses: 2, imgSize: kSide, arch: kArch, pretrained: file });
    assert.deepEqual(cpu.loadReport.missing, []);
    const saved = await model.getTensors();
    const loaded = await cpu.getTensors();
    for (const name of Object.keys(saved)) assert.equal(maxDiff(loaded[name], saved[name]), 0, name);
    const images = toyBatch(7, 4);
    const a = await model.forward(images.images, { shape: images.shape });
    const b = await cpu.forward(images.images, { shape: images.shape });
    assert.ok(maxDiff(a, b) <= 1e-5, `device vs CPU logits: ${maxDiff(a, b)}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
