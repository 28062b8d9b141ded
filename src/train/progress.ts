/** Training progress for people and programs: a bar on a terminal, plain lines otherwise, JSON lines with --json. */

export type TrainEvent =
  | { type: 'run-start'; run: string; recipe: string; folds: number[]; device: string }
  | { type: 'fold-start'; fold: number; trainSize: number; validSize: number; stepsPerEpoch: number; epochs: number }
  | {
      type: 'step';
      fold: number;
      epoch: number;
      step: number;
      totalSteps: number;
      loss: number;
      lr: number;
      imagesPerSecond: number;
      skipped: boolean;
    }
  | {
      type: 'epoch-end';
      fold: number;
      epoch: number;
      trainLoss: number;
      trainAuc: number | null;
      validLoss: number;
      validAuc: number | null;
      validAccuracy?: number;
      seconds: number;
      best: boolean;
    }
  | { type: 'checkpoint'; fold: number; step: number; path: string }
  | { type: 'fold-end'; fold: number; bestEpoch: number; bestAuc: number | null; bestAccuracy?: number | null; seconds: number }
  | { type: 'predict'; what: string; images: number; views: number; seconds: number }
  | { type: 'run-end'; oofAuc: number | null; testAuc: number | null; seconds: number }
  | { type: 'message'; text: string };

export const kProgressModes = ['auto', 'bar', 'plain', 'json', 'silent'] as const;
export type ProgressMode = (typeof kProgressModes)[number];

export type ProgressSink = (event: TrainEvent) => void;

function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--:--';
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m >= 60 ? `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m` : `${m}:${String(s % 60).padStart(2, '0')}`;
}

const fmt = (v: number | null, digits = 4) => (v === null || Number.isNaN(v) ? 'n/a' : v.toFixed(digits));

/** One human line per event (non-TTY and the bar's permanent lines); null for events shown only in the bar. */
export function describeEvent(event: TrainEvent): string | null {
  switch (event.type) {
    case 'run-start':
      return `run ${event.run}: recipe ${event.recipe}, folds ${event.folds.join(',')}, device ${event.device}`;
    case 'fold-start':
      return `fold ${event.fold}: ${event.trainSize} train / ${event.validSize} valid images, ${event.epochs} epochs x ${event.stepsPerEpoch} steps`;
    case 'epoch-end':
      return `fold ${event.fold} epoch ${event.epoch}: train loss ${fmt(event.trainLoss)} auc ${fmt(event.trainAuc)} | valid loss ${fmt(event.validLoss)} ${event.validAuc === null && event.validAccuracy !== undefined ? `accuracy ${fmt(event.validAccuracy)}` : `auc ${fmt(event.validAuc)}`} | ${event.seconds.toFixed(1)} s${event.best ? ' *best' : ''}`;
    case 'fold-end': {
      const score = event.bestAccuracy !== undefined ? `valid accuracy ${fmt(event.bestAccuracy)}` : `valid auc ${fmt(event.bestAuc)}`;
      return `fold ${event.fold}: best epoch ${event.bestEpoch}, ${score} (${formatSeconds(event.seconds)})`;
    }
    case 'predict':
      return `predict ${event.what}: ${event.images} images x ${event.views} views (${event.seconds.toFixed(1)} s)`;
    case 'run-end':
      return `done: out-of-fold auc ${fmt(event.oofAuc)}, test auc ${fmt(event.testAuc)} (${formatSeconds(event.seconds)})`;
    case 'message':
      return event.text;
    case 'checkpoint':
      return null;
    case 'step':
      return null;
  }
}

function stepLine(e: Extract<TrainEvent, { type: 'step' }>, width: number): string {
  const done = e.step / e.totalSteps;
  const eta =
    e.imagesPerSecond > 0 ? formatSeconds(((e.totalSteps - e.step) / Math.max(e.step, 1)) * (e.step / e.imagesPerSecond)) : '--:--';
  const barWidth = Math.max(10, Math.min(30, width - 80));
  const filled = Math.round(done * barWidth);
  return `fold ${e.fold} ep ${e.epoch} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}] ${e.step}/${e.totalSteps} loss ${e.loss.toFixed(4)} lr ${e.lr.toExponential(2)} ${e.imagesPerSecond.toFixed(0)} img/s ETA ${eta}`;
}

/** A sink writing to `stream` in the chosen mode ('auto': a bar on a TTY, plain lines otherwise). */
export function createProgress(mode: ProgressMode = 'auto', stream: NodeJS.WriteStream = process.stdout): ProgressSink {
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'plain') : mode;
  if (resolved === 'silent') return () => undefined;
  if (resolved === 'json') return (event) => stream.write(`${JSON.stringify(event)}\n`);
  let plainSteps = 0;
  let stepStart = Date.now();
  let barShown = false;
  return (event) => {
    if (event.type === 'step') {
      if (resolved === 'bar') {
        stream.write(`\r${stepLine(event, stream.columns ?? 120)}\x1b[K`);
        barShown = true;
      } else if (Date.now() - stepStart > 10000 || ++plainSteps === 1) {
        // Plain mode: a line every 10 s at most, so logs stay readable.
        stepStart = Date.now();
        stream.write(`${stepLine(event, 100)}\n`);
      }
      return;
    }
    const line = describeEvent(event);
    if (line === null) return;
    if (barShown) stream.write('\r\x1b[K');
    barShown = false;
    stream.write(`${line}\n`);
  };
}
