/**
 * Folds in parallel: one worker process per device (`devices: ['cuda:0', 'cuda:1']`) or, on CPU, `workers: N`
 * processes sharing the cores. The parent has made the run folder (folds.csv) already; each worker trains whole
 * folds with the sequential code, so folds, seeds and per-fold files are a sequential run's. Their progress
 * events come back here to the one display. A worker that dies fails its fold (its checkpoint stays for --resume).
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { invalidData } from '../errors';
import type { FromWorker, ToWorker, WorkerSetup } from './foldWorker';
import type { TrainEvent } from './progress';
import type { Recipe } from './recipe';
import { TrainingInterrupted, type FoldResult } from './trainFold';

export interface FoldWorkersOptions {
  recipe: Recipe;
  data: string;
  run: string;
  skipUnreadable: boolean;
  /** One worker per entry. */
  devices: string[];
  emit: (event: TrainEvent) => void;
  shouldStop: () => boolean;
}

/** The compiled worker script (beside this file when built; dist/ when this runs from the TypeScript sources). */
function workerScript(): string {
  const beside = path.join(__dirname, 'foldWorker.js');
  if (fs.existsSync(beside)) return beside;
  const built = path.join(__dirname, '..', '..', 'dist', 'src', 'train', 'foldWorker.js');
  if (!fs.existsSync(built)) throw invalidData(built, 'the fold worker is not built: run npx tsc -p tsconfig.json');
  return built;
}

/** Trains `folds` across the workers; resolves to the results in fold order, or rejects with the first failure. */
export async function runFoldsInWorkers(folds: readonly number[], options: FoldWorkersOptions): Promise<FoldResult[]> {
  const queue = [...folds];
  const results = new Map<number, FoldResult>();
  const failures: Error[] = [];
  const cores = availableParallelism();
  const workers: ChildProcess[] = [];
  const stopTimer = setInterval(() => {
    if (options.shouldStop()) for (const w of workers) if (w.connected) w.send({ type: 'stop' } satisfies ToWorker);
  }, 200);
  const threads = Math.max(1, Math.floor(cores / options.devices.length));
  try {
    await Promise.all(
      options.devices.map(
        (device) =>
          new Promise<void>((resolve) => {
            const setup: WorkerSetup = {
              recipe: { ...options.recipe, device },
              data: options.data,
              run: options.run,
              skipUnreadable: options.skipUnreadable,
              threads,
            };
            const worker = fork(workerScript(), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
            workers.push(worker);
            let current: number | null = null;
            const next = () => {
              current = failures.length === 0 && !options.shouldStop() ? (queue.shift() ?? null) : null;
              if (current === null) worker.disconnect();
              else worker.send({ type: 'fold', fold: current } satisfies ToWorker);
            };
            worker.on('message', (message: FromWorker) => {
              if (message.type === 'event') return options.emit(message.event);
              if (message.type === 'done') results.set(message.fold, message.result);
              else if (message.type === 'interrupted') failures.push(new TrainingInterrupted(message.fold, message.step));
              else failures.push(invalidData(`fold ${message.fold}`, `failed in its worker on ${device}: ${message.message}`));
              next();
            });
            worker.on('exit', (code, signal) => {
              if (current !== null) {
                failures.push(
                  invalidData(
                    `fold ${current}`,
                    `its worker on ${device} died (${signal ? `signal ${signal}` : `exit code ${code}`}); the fold's last checkpoint is kept: continue with --resume`,
                  ),
                );
              }
              resolve();
            });
            worker.send({ type: 'setup', setup } satisfies ToWorker);
            next();
          }),
      ),
    );
  } finally {
    clearInterval(stopTimer);
  }
  const interrupted = failures.find((f) => f instanceof TrainingInterrupted);
  if (failures.length > 0)
    throw interrupted && failures.length === 1 ? interrupted : (failures.find((f) => !(f instanceof TrainingInterrupted)) ?? failures[0]);
  return folds.map((fold) => results.get(fold)!);
}
