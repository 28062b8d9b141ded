/** `foldtorch report --compare runA runB …`: one page with the runs' metrics, ROC curves overlaid and per-group scores. */
import { compareReports } from '../report/compare';

export interface ReportArgs {
  compare: string[];
  out?: string;
}

export async function reportCommand(args: ReportArgs): Promise<number> {
  const result = await compareReports(args.compare ?? [], args.out ?? 'compare.html');
  process.stdout.write(`comparison of ${result.runs.length} runs: ${result.html}\n`);
  return 0;
}
