// Compiled (never run) by `tsc -p test/types`: the README's usage against the public types, so docs and types agree.
import {
  buildEmojiCorpus,
  buildEmojiDataset,
  compareReports,
  createModel,
  crossValidate,
  doctor,
  explain,
  kCorpusOnlyStyles,
  kEmojiStyles,
  loadDataset,
  planTta,
  preloadAddon,
  predictRun,
  resolveRecipe,
  rocAucScore,
  trainFold,
  type CrossValidationResult,
  type DatasetStyle,
  type EmojiStyle,
  type FoldResult,
  type Recipe,
} from '../../src/index';

export async function readmeUsage(): Promise<[FoldResult, CrossValidationResult]> {
  const recipe: Recipe = resolveRecipe('seed-eva02', ['model.pretrained=/models/eva02_base_448.safetensors', 'device=cuda']);
  const fold0: FoldResult = await trainFold(0, recipe, { data: 'data/competition', run: 'runs/eva02' });
  const cv = await crossValidate(recipe, { data: 'data/competition', run: 'runs/eva02', folds: [0, 1] });
  const auc: number = rocAucScore([0, 1], [0.2, 0.9]);
  const report = await doctor();
  const cuda: boolean = report.cudaAvailable;
  const model = await createModel('eva02_tiny_patch14_224', { numClasses: 2, imgSize: 64, arch: { depth: 4 } });
  const views = planTta('hflip,vflip,rot90').map((entry) => entry.view);
  await model.forwardViews(new Uint8Array(64 * 64 * 3), { shape: [1, 64, 64, 3], views });
  const { cam } = await model.gradCam(new Uint8Array(64 * 64 * 3), { shape: [1, 64, 64, 3], target: 1 });
  const overlay: string = (await explain({ run: 'runs/eva02', image: 'data/emoji/test/x.jpg', fold: 0 })).file;
  const page: string = (await compareReports(['runs/a', 'runs/b'], 'compare.html')).html;
  void [cam.shape, overlay, page];
  const dataset = await loadDataset('data/emoji');
  void [auc, cuda, dataset.train.length];
  return [fold0, cv];
}

// The dataset takes its own styles; the corpus takes those and the corpus-only ones.
export async function emojiStyles(): Promise<void> {
  const held: DatasetStyle[] = ['openmoji'];
  await buildEmojiDataset({ outDir: 'data/emoji', testStyles: held });
  const corpus: EmojiStyle[] = [...kEmojiStyles.filter((style) => style !== 'openmoji'), ...kCorpusOnlyStyles];
  await buildEmojiCorpus({ outDir: 'data/emoji-corpus', styles: corpus });
  // @ts-expect-error a corpus-only style is not a dataset style
  await buildEmojiDataset({ outDir: 'data/emoji', testStyles: ['fluent-flat'] });
}

// The README's "As a dependency" usage: predictRun's options and result.
export async function predictRunUsage(): Promise<number | null> {
  const { submission, ids, probabilities, testAuc } = await predictRun({
    run: 'runs/eva02',
    data: 'data/test-set',
    tta: 'hflip',
    onFold: (f) => void f.views,
  });
  const first: number = probabilities[0];
  void [submission.length, ids.length, first];
  // @ts-expect-error run is a folder path
  await predictRun({ run: 1, data: 'data/test-set' });
  return testAuc;
}

// Issue 16: the addon's first load off the main thread, and a new run's checks.
export async function reliabilityOptions(recipe: Recipe): Promise<CrossValidationResult> {
  const preloaded: Promise<void> = preloadAddon();
  await preloaded;
  // @ts-expect-error verifyImages is true, false or 'auto'
  void crossValidate(recipe, { data: 'd', run: 'r', verifyImages: 'always' });
  return crossValidate(recipe, { data: 'data/competition', run: 'runs/x', verifyImages: 'auto', allowSingleClass: true });
}
