// Data-parallel training over c10d's Gloo on loopback, as separate rank processes (dist/fuzz/dataParallel.js):
// parity with one process on the same samples, a rank that dies, a port already in use.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadAddon } from '../../src/native/addon';
import { freePort } from '../../src/train/distributed';

const repoRoot = path.join(__dirname, '..', '..');
const script = path.join(repoRoot, 'dist', 'fuzz', 'dataParallel.js');
const missing = fs.existsSync(script) ? loadAddon().distributedAvailable() : `${script} is not built (npx tsc -p tsconfig.json)`;
if (missing) console.warn(`data_parallel.test: skipped: ${missing}`);
const maybe = missing ? test.skip : test;

interface RankOutput {
  rank: number;
  worldSize: number;
  losses: number[];
  tensors: Record<string, number[]>;
}
interface Exit {
  code: number | null;
  stderr: string;
  seconds: number;
}

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-ddp-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function runRank(args: string[], env: Record<string, string>): Promise<Exit> {
  const started = Date.now();
  const child = spawn('node', [script, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr, seconds: (Date.now() - started) / 1000 })));
}

async function runGroup(worldSize: number, args: string[], port: number): Promise<Exit[]> {
  return Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      runRank([...args, '--out', path.join(dir, `ws${worldSize}-r${rank}.json`)], {
        RANK: String(rank),
        WORLD_SIZE: String(worldSize),
        LOCAL_RANK: String(rank),
        MASTER_ADDR: '127.0.0.1',
        MASTER_PORT: String(port),
      }),
    ),
  );
}

function maxDiff(a: RankOutput, b: RankOutput): number {
  let worst = 0;
  for (const name of Object.keys(a.tensors))
    a.tensors[name].forEach((v, i) => {
      worst = Math.max(worst, Math.abs(v - b.tensors[name][i]));
    });
  return worst;
}

const read = (file: string) => JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as RankOutput;

maybe('two ranks with batch 4 end where one process with batch 8 ends on the same samples (fp32, 1e-5)', async () => {
  const args = ['--global', '8', '--steps', '4'];
  const single = await runRank([...args, '--out', path.join(dir, 'single.json')], {});
  expect(single).toMatchObject({ code: 0, stderr: '' });
  const group = await runGroup(2, args, await freePort());
  expect(group.map((e) => e.code)).toEqual([0, 0]);
  const [one, rank0, rank1] = [read('single.json'), read('ws2-r0.json'), read('ws2-r1.json')];
  // The ranks started from different weights (seeded by rank): the broadcast and the averaged gradients make
  // them bit-identical; against one process only the summation order of the gradient differs.
  expect(maxDiff(rank0, rank1)).toBe(0);
  expect(maxDiff(one, rank0)).toBeLessThan(1e-5);
  expect(maxDiff(one, rank0)).toBeGreaterThan(0);
  // Each rank's loss is the mean over its half: their mean is the one process' loss over the whole batch.
  one.losses.forEach((loss, step) => expect((rank0.losses[step] + rank1.losses[step]) / 2).toBeCloseTo(loss, 5));
  expect(Object.keys(one.tensors).length).toBeGreaterThan(10);
});

maybe('freezing all but the head for 2 steps, then unfreezing, keeps the parity (the reducer follows the trainable set)', async () => {
  const args = ['--global', '8', '--steps', '4', '--head-steps', '2'];
  expect((await runRank([...args, '--out', path.join(dir, 'single.json')], {})).code).toBe(0);
  expect((await runGroup(2, args, await freePort())).map((e) => e.code)).toEqual([0, 0]);
  const [one, rank0, rank1] = [read('single.json'), read('ws2-r0.json'), read('ws2-r1.json')];
  expect(maxDiff(rank0, rank1)).toBe(0);
  expect(maxDiff(one, rank0)).toBeLessThan(1e-5);
});

maybe('a rank that dies makes the other fail with a clear error, not hang', async () => {
  const exits = await runGroup(2, ['--global', '8', '--steps', '4', '--die-at', '2', '--timeout-ms', '20000'], await freePort());
  expect(exits[1].code).toBe(3);
  expect(exits[0].code).toBe(1);
  expect(exits[0].stderr).toMatch(
    /^distributed: the gradient all-reduce failed; another rank probably died or stopped answering \(.*Connection closed by peer/,
  );
  // Gloo sees the closed connection at once: well inside the 20 s collective timeout.
  expect(exits[0].seconds).toBeLessThan(20);
});

maybe('a rank 0 whose MASTER_PORT is taken says so', async () => {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const exit = await runRank(['--global', '8', '--steps', '1', '--out', path.join(dir, 'busy.json')], {
      RANK: '0',
      WORLD_SIZE: '2',
      MASTER_ADDR: '127.0.0.1',
      MASTER_PORT: String(port),
    });
    expect(exit.code).toBe(1);
    expect(exit.stderr).toBe(
      `distributed: MASTER_PORT ${port} on 127.0.0.1 is already in use; choose a free port (rank 0 listens there)\n`,
    );
  } finally {
    server.close();
  }
});

maybe('a rank whose peers never come fails after the rendezvous timeout, naming the address', async () => {
  const port = await freePort();
  const exit = await runRank(['--global', '8', '--steps', '1', '--timeout-ms', '2000', '--out', path.join(dir, 'alone.json')], {
    RANK: '1',
    WORLD_SIZE: '2',
    MASTER_ADDR: '127.0.0.1',
    MASTER_PORT: String(port),
  });
  expect(exit.code).toBe(1);
  // c10d logs its own socket errors first; ours is the last line.
  expect(exit.stderr.trim().split('\n').pop()).toMatch(
    new RegExp(
      `^distributed: rank 1 could not meet the other 1 rank\\(s\\) at MASTER_ADDR=127.0.0.1 MASTER_PORT=${port} within 2000 ms \\(`,
    ),
  );
});
