// Runs in its own process for the checkpoint tests: trains the toy task of train_helpers.ts through the raw
// addon (FOLDTORCH_ADDON), optionally loading a checkpoint first and saving one after steps; prints one line
// per step ("step N") and, with `out`, writes every model tensor (sorted by name) as raw float32 to that file.

const fs = require('node:fs');

const addon = require(process.env.FOLDTORCH_ADDON);
const args = JSON.parse(process.argv[2]);
const side = 32;

// The toy task's generator, compiled from train_helpers.ts by the project's tsc (set-up runs it before the tests).
const { toyBatch } = require(require('node:path').join(__dirname, '..', '..', '..', 'dist', 'test', 'native', 'train_helpers.js'));

async function main() {
  addon.manualSeed(args.modelSeed);
  const model = await addon.createModel({
    name: 'eva02_tiny_patch14_224',
    numClasses: 2,
    imgSize: side,
    pretrained: '',
    device: 'cpu',
    gradCheckpointing: false,
    channelsLast: false,
    arch: { patchSize: 8, embedDim: 32, depth: 2, numHeads: 2 },
  });
  const learner = await addon.createLearner(model, {
    optimizer: { lr: 3e-3, numEpochs: 1, numBatchesPerEpoch: args.total, mode: 'corrected' },
    loss: { kind: 'cce', variant: 'head', balancingFactor: 1, labelSmoothing: 0 },
    precision: 'float32',
    accumulationSteps: 1,
    seed: args.seed,
    forceGradScaler: !!args.scaler,
    mean: [0.5, 0.5, 0.5],
    std: [0.25, 0.25, 0.25],
  });
  if (args.load) await learner.load(args.load);
  for (let step = args.from; step < args.to; step++) {
    const batch = toyBatch(step);
    const images = batch.images;
    const labels = Int32Array.from(batch.labels);
    await learner.trainStep(images, labels, { shape: [8, side, side, 3] });
    if (args.saveEvery) await learner.save(args.save, JSON.stringify({ step: step + 1 }));
    process.stdout.write(`step ${step + 1}\n`);
  }
  if (args.save && !args.saveEvery) await learner.save(args.save, JSON.stringify({ step: args.to }));
  if (args.out) {
    const tensors = await model.getTensors();
    const parts = Object.keys(tensors)
      .sort()
      .map((name) => Buffer.from(tensors[name].data.buffer));
    fs.writeFileSync(args.out, Buffer.concat(parts));
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
