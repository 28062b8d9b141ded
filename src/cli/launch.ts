/**
 * `--nproc-per-node N`: torchrun's single-node launch without Python. Starts N copies of this command as local
 * ranks (RANK = LOCAL_RANK = i, WORLD_SIZE = N, MASTER_ADDR/MASTER_PORT for rank 0's TCPStore); rank 0 keeps the
 * terminal's stdout, the others' stdout is dropped (their errors still show). A rank that fails ends the others.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { requireInteger } from '../errors';
import { freePort } from '../train/distributed';

/** argv without `--nproc-per-node N` / `--nproc-per-node=N`. */
export function withoutLaunchFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (/^--nproc-per-node=/.test(argv[i])) continue;
    if (argv[i] === '--nproc-per-node') {
      i++;
      continue;
    }
    out.push(argv[i]);
  }
  return out;
}

/** Runs `nproc` local ranks of this command line; resolves to the exit code (the first failure's). */
export async function launchLocalRanks(nproc: number): Promise<number> {
  requireInteger('--nproc-per-node', nproc, 1, 64);
  const port = process.env.MASTER_PORT ?? String(await freePort());
  const argv = withoutLaunchFlag(process.argv.slice(1));
  const children: ChildProcess[] = [];
  const exits = Array.from(
    { length: nproc },
    (_, rank) =>
      new Promise<number>((resolve) => {
        const child = spawn(process.execPath, argv, {
          env: {
            ...process.env,
            RANK: String(rank),
            LOCAL_RANK: String(rank),
            WORLD_SIZE: String(nproc),
            MASTER_ADDR: process.env.MASTER_ADDR ?? '127.0.0.1',
            MASTER_PORT: port,
          },
          stdio: ['inherit', rank === 0 ? 'inherit' : 'ignore', 'inherit'],
        });
        children.push(child);
        child.on('exit', (code, signal) => {
          const status = code ?? (signal ? 128 + 15 : 1);
          // As torchrun does: one rank's failure stops the group (the others would fail on their next collective).
          if (status !== 0) for (const other of children) if (other !== child && other.exitCode === null) other.kill('SIGTERM');
          resolve(status);
        });
      }),
  );
  const codes = await Promise.all(exits);
  return codes.find((code) => code !== 0) ?? 0;
}
