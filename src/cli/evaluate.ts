/** `foldtorch evaluate`: ROC AUC and the confusion matrix of a submission against a labels CSV. */
import { readLabelCsv } from '../data/csv';
import { invalidData } from '../errors';
import { rocAucScore } from '../metrics/auc';
import { scoresAtThreshold } from '../metrics/confusion';
import { readSubmission } from '../predict/submission';

export interface EvaluateArgs {
  pred: string;
  labels: string;
  threshold?: number;
  json?: boolean;
}

export async function evaluateCommand(args: EvaluateArgs): Promise<number> {
  const predictions = await readSubmission(args.pred);
  const labels = await readLabelCsv(args.labels);
  const byName = new Map(labels.map((row) => [row.imageName, row.label]));
  const y: number[] = [];
  predictions.ids.forEach((id) => {
    const label = byName.get(id);
    if (label === undefined) throw invalidData(args.labels, `has no label for ${JSON.stringify(id)} (listed in ${args.pred})`);
    y.push(label);
  });
  if (labels.length !== predictions.ids.length) {
    const predicted = new Set(predictions.ids);
    const missing = labels.find((row) => !predicted.has(row.imageName));
    if (missing)
      throw invalidData(`${args.labels} line ${missing.line}`, `${JSON.stringify(missing.imageName)} has no prediction in ${args.pred}`);
  }
  const threshold = args.threshold ?? 0.5;
  const auc = rocAucScore(y, Array.from(predictions.probabilities));
  const scores = scoresAtThreshold(y, predictions.probabilities, threshold);
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ auc, ...scores })}\n`);
  } else {
    const [[tn, fp], [fn, tp]] = scores.confusion.matrix;
    process.stdout.write(
      `${[
        `images:    ${y.length}`,
        `ROC AUC:   ${auc.toFixed(6)}`,
        `threshold: ${threshold}   accuracy ${scores.accuracy.toFixed(4)}  precision ${scores.precision.toFixed(4)}  recall ${scores.recall.toFixed(4)}  f1 ${scores.f1.toFixed(4)}`,
        '              pred 0   pred 1',
        `  true 0   ${String(tn).padStart(8)} ${String(fp).padStart(8)}`,
        `  true 1   ${String(fn).padStart(8)} ${String(tp).padStart(8)}`,
      ].join('\n')}\n`,
    );
  }
  return 0;
}
