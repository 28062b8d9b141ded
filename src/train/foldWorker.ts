/**
 * A fold worker process (forked by foldWorkers.ts): trains the folds the parent sends it, one at a time, on its
 * own device and threads, with the very code of a sequential run (trainFold, resuming the fold's checkpoint),
 * and sends back every progress event and each fold's result.
 */
import { setNumThreads } from '../native/runtime';
import type { Recipe } from './recipe';
import { TrainingInterrupted, trainFold } from './trainFold';

export interface WorkerSetup {
  recipe: Recipe;
  data: string;
  run: string;
  skipUnreadable: boolean;
  /** Intra-op threads of this worker (its share of the cores). */
  threads: number;
}

export type ToWorker = { type: 'setup'; setup: WorkerSetup } | { type: 'fold'; fold: number } | { type: 'stop' };
export type FromWorker =
  | { type: 'event'; event: import('./progress').TrainEvent }
  | { type: 'done'; fold: number; result: import('./trainFold').FoldResult }
  | { type: 'interrupted'; fold: number; step: number }
  | { type: 'failed'; fold: number; message: string };

function send(message: FromWorker): void {
  process.send?.(message);
}

let setup: WorkerSetup | undefined;
let stopRequested = false;
// Ctrl-C reaches the whole process group: the worker stops after saving, as a sequential run does.
process.on('SIGINT', () => {
  stopRequested = true;
});

async function runFoldMessage(fold: number): Promise<void> {
  if (!setup) throw new Error('foldWorker: a fold arrived before the setup');
  try {
    const result = await trainFold(fold, setup.recipe, {
      data: setup.data,
      run: setup.run,
      resume: true,
      skipUnreadable: setup.skipUnreadable,
      progress: (event) => {
        if (event.type !== 'run-start') send({ type: 'event', event });
      },
      shouldStop: () => stopRequested,
    });
    send({ type: 'done', fold, result });
  } catch (error) {
    if (error instanceof TrainingInterrupted) send({ type: 'interrupted', fold, step: error.step });
    else send({ type: 'failed', fold, message: (error as Error).message });
  }
}

process.on('message', (message: ToWorker) => {
  if (message.type === 'setup') {
    setup = message.setup;
    setNumThreads(setup.threads);
  } else if (message.type === 'stop') {
    stopRequested = true;
  } else {
    void runFoldMessage(message.fold);
  }
});
