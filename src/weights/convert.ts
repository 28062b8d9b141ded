/**
 * Drives scripts/weights/convert_checkpoint.py: Python loads the checkpoint (torch.load, weights_only) and reports
 * its keys, TypeScript decides the new names, Python writes the safetensors file. One process, one load.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { toolError } from '../errors';
import { indent, packageRoot } from './python';

export interface ConversionPlan {
  mapping: ReadonlyMap<string, string>;
  /** safetensors `__metadata__`: strings only. */
  metadata: Record<string, string>;
}

export interface ConversionRequest {
  python: string;
  checkpoint: string;
  output: string;
  /** Given the checkpoint's keys (in file order), the renaming and metadata; throwing stops the conversion. */
  plan(keys: string[]): ConversionPlan;
  log?: (line: string) => void;
  timeoutMs?: number;
}

export interface ConversionResult {
  tensors: number;
  bytes: number;
  torch: string;
}

export function converterScript(): string {
  return path.join(packageRoot(), 'scripts', 'weights', 'convert_checkpoint.py');
}

interface ScriptEvent {
  event: string;
  keys?: string[];
  torch?: string;
  tensors?: number;
  bytes?: number;
}

function parseEvent(line: string): ScriptEvent | null {
  if (!line.startsWith('{')) return null;
  try {
    const value = JSON.parse(line) as ScriptEvent;
    return typeof value.event === 'string' ? value : null;
  } catch {
    return null;
  }
}

export function runConversion(request: ConversionRequest): Promise<ConversionResult> {
  const log = request.log ?? (() => undefined);
  return new Promise((resolve, reject) => {
    const child = spawn(request.python, [converterScript(), request.checkpoint, request.output], { stdio: ['pipe', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), request.timeoutMs ?? 10 * 60_000);
    const stderr: string[] = [];
    let planError: Error | null = null;
    let torch = 'unknown';
    let done: ConversionResult | null = null;
    child.stdin.on('error', () => undefined); // Python may exit before reading its instructions
    child.stderr.on('data', (chunk: Buffer) => {
      stderr.push(
        ...chunk
          .toString('utf8')
          .split(/\r?\n/)
          .filter((l) => l.trim()),
      );
      stderr.splice(0, Math.max(0, stderr.length - 30));
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      const event = parseEvent(line);
      if (event?.event === 'keys') {
        torch = event.torch ?? torch;
        log(`  ${event.keys?.length ?? 0} tensors read with torch ${torch}`);
        try {
          const plan = request.plan(event.keys ?? []);
          child.stdin.end(`${JSON.stringify({ mapping: Object.fromEntries(plan.mapping), metadata: plan.metadata })}\n`);
        } catch (error) {
          planError = error as Error;
          child.stdin.end(`${JSON.stringify({ abort: planError.message.split('\n')[0] })}\n`);
        }
      } else if (event?.event === 'done') {
        done = { tensors: event.tensors ?? 0, bytes: event.bytes ?? 0, torch };
      } else if (line.trim()) {
        stderr.push(line);
      }
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(
        toolError(`weights: could not run ${request.python} (${error.message})`, [
          'check the Python named by --python or FOLDTORCH_PYTHON',
        ]),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (planError) return reject(planError);
      if (code === 0 && done) return resolve(done);
      const how = signal ? `was stopped (${signal})` : `exited with code ${code}`;
      reject(
        toolError(
          `weights: converting ${request.checkpoint} failed (${request.python} ${how}). Its last lines:\n${indent(stderr.join('\n') || '(nothing)')}`,
          [
            'if it says a module is missing, install it into that Python (torch and numpy are needed), or name another with --python / FOLDTORCH_PYTHON',
            'if it says the checkpoint cannot be read, fetch again: the wheel may have been replaced since it was checked',
          ],
        ),
      );
    });
  });
}
