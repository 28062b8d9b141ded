/**
 * Chart rendering off the main thread: vega-lite compile, vega parse and SVG rendering of a report's charts run in
 * one worker thread, so a report written at the end of a run does not stall the event loop (each chart takes
 * 50–190 ms of synchronous work on the main thread).
 */
import { Worker } from 'node:worker_threads';
import type { TopLevelSpec } from 'vega-lite';

// Plain JavaScript so the worker runs the same from ts-jest and from dist/; the modules come by resolved path.
const kWorkerSource = `
const { parentPort, workerData } = require('worker_threads');
const vega = require(workerData.vega);
const vegaLite = require(workerData.vegaLite);
parentPort.on('message', async ({ id, spec }) => {
  try {
    const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
    try {
      parentPort.postMessage({ id, svg: await view.toSVG() });
    } finally {
      view.finalize();
    }
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});`;

interface Reply {
  id: number;
  svg?: string;
  error?: string;
}

/** vega-lite specs → SVG texts, in order, rendered in a worker thread that exits afterwards. Data must be inline. */
export async function renderSvgs(specs: readonly TopLevelSpec[]): Promise<string[]> {
  if (specs.length === 0) return [];
  const worker = new Worker(kWorkerSource, {
    eval: true,
    workerData: { vega: require.resolve('vega'), vegaLite: require.resolve('vega-lite') },
  });
  try {
    return await new Promise<string[]>((resolve, reject) => {
      const out: string[] = new Array(specs.length);
      let pending = specs.length;
      worker.on('error', reject);
      worker.on('exit', (code) => reject(new Error(`report: the chart renderer exited early (code ${code})`)));
      worker.on('message', (reply: Reply) => {
        if (reply.error !== undefined) {
          reject(new Error(`report: chart ${reply.id + 1} of ${specs.length} failed to render (${reply.error})`));
          return;
        }
        out[reply.id] = reply.svg as string;
        if (--pending === 0) resolve(out);
      });
      specs.forEach((spec, id) => worker.postMessage({ id, spec }));
    });
  } finally {
    await worker.terminate();
  }
}
