/** Where the golden fixtures are for the data tests: ../shared/golden beside the repo, or $FOLDTORCH_GOLDEN. */
import { resolve } from 'node:path';

export function goldenDir(): string {
  return process.env.FOLDTORCH_GOLDEN ?? resolve(__dirname, '../../..', '../shared/golden');
}
