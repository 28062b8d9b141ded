// A consumer project's TypeScript (module nodenext): the ESM import and the package's types, then the same prediction.
import { predictRun, type PredictRunOptions, type PredictRunResult } from 'foldtorch';

const [run, data, out] = process.argv.slice(2);
const options: PredictRunOptions = { run, data, out, onFold: (fold) => console.log(`${fold.name}: ${fold.images} images, ${fold.views} views`) };
const result: PredictRunResult = await predictRun(options);
const mean: number = result.probabilities.reduce((sum, p) => sum + p, 0) / result.ids.length;
console.log(JSON.stringify({ submission: result.submission, folds: result.folds, mean }));
