// A consumer project's plain ES module: predicts the fixture through the installed package's public API, checks the
// ensemble against expected.csv and that libtorch was mapped from the moved folder, not the build machine's.
import { readFileSync } from 'node:fs';
import { predictRun } from 'foldtorch';

const [run, data, out, expected, comparer, torchDir] = process.argv.slice(2);
const { compareSubmissions, readRows } = (await import(comparer)).default;
const result = await predictRun({ run, data, out });
const returned = result.ids.map((id, i) => ({ id, value: result.probabilities[i] }));
const worst = compareSubmissions(returned, readRows(expected), 1e-5);
const mapped = [
  ...new Set(
    readFileSync('/proc/self/maps', 'utf8')
      .split('\n')
      .filter((line) => line.endsWith('/libtorch_cpu.so'))
      .map((line) => line.slice(line.indexOf('/'))),
  ),
];
if (mapped.length !== 1 || !mapped[0].startsWith(`${torchDir}/`)) {
  throw new Error(`expected libtorch_cpu.so from ${torchDir} (got ${JSON.stringify(mapped)})`);
}
console.log(JSON.stringify({ folds: result.folds, images: result.ids.length, worst, libtorch: mapped[0] }));
