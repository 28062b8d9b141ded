/**
 * Data-parallel training's process group, as torchrun sets it up: RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and
 * MASTER_PORT from the environment, c10d (Gloo on CPU, NCCL on CUDA) met through a TCPStore, and the sample plan
 * sliced across ranks the way torch's DistributedSampler slices it.
 */
import * as net from 'node:net';
import { invalidData, outOfRange } from '../errors';
import { loadAddon } from '../native/addon';
import type { DistributedGroupInfo } from '../native/types';

export interface LaunchEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

function envInteger(env: NodeJS.ProcessEnv, name: string, min: number, max: number): number {
  const text = env[name];
  if (text === undefined || !/^\d+$/.test(text.trim()) || Number(text) < min || Number(text) > max) {
    throw outOfRange(name, `an integer from ${min} to ${max} in the environment`, text ?? '(unset)');
  }
  return Number(text);
}

/** The launch environment torchrun (or `foldtorch train --nproc-per-node`) sets, or null outside such a launch. */
export function readLaunchEnv(env: NodeJS.ProcessEnv = process.env): LaunchEnv | null {
  if (env.WORLD_SIZE === undefined && env.RANK === undefined) return null;
  const worldSize = envInteger(env, 'WORLD_SIZE', 1, 65536);
  const rank = envInteger(env, 'RANK', 0, worldSize - 1);
  for (const name of ['MASTER_ADDR', 'MASTER_PORT']) {
    if (!env[name]) {
      throw invalidData(
        name,
        `WORLD_SIZE=${worldSize} is set but ${name} is not: launch with torchrun (it sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or set all five`,
      );
    }
  }
  const localRank = env.LOCAL_RANK === undefined ? rank : envInteger(env, 'LOCAL_RANK', 0, worldSize - 1);
  return { rank, worldSize, localRank, masterAddr: env.MASTER_ADDR!, masterPort: envInteger(env, 'MASTER_PORT', 1, 65535) };
}

/** This process' place in the group and its collectives (run on the device's compute thread, in call order). */
export class ProcessGroup {
  constructor(
    readonly info: DistributedGroupInfo & { localRank: number },
    readonly device: string,
  ) {}

  get rank(): number {
    return this.info.rank;
  }

  get worldSize(): number {
    return this.info.worldSize;
  }

  get isMain(): boolean {
    return this.info.rank === 0;
  }

  /** Every rank's numbers, in rank order. */
  async allGather(values: ArrayLike<number>): Promise<Float64Array[]> {
    return loadAddon().distributedAllGather(Float64Array.from(values), this.device);
  }

  async barrier(): Promise<void> {
    await loadAddon().distributedBarrier(this.device);
  }
}

/** Joins the group the launch environment names (once per process); `device` runs its collectives. */
export async function joinProcessGroup(launch: LaunchEnv, device: string, timeoutMs?: number): Promise<ProcessGroup> {
  const addon = loadAddon();
  const missing = addon.distributedAvailable();
  if (missing !== null) throw invalidData('WORLD_SIZE', missing);
  const info = await addon.initDistributed({
    rank: launch.rank,
    worldSize: launch.worldSize,
    masterAddr: launch.masterAddr,
    masterPort: launch.masterPort,
    device,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  return new ProcessGroup({ ...info, localRank: launch.localRank }, device);
}

/**
 * DistributedSampler's slice of an epoch's plan: the plan padded with its own head to a multiple of the world
 * size, then every worldSize-th sample from `rank` on. Batch k of every rank together is batch k of one process
 * with worldSize times the batch.
 */
export function shardPlan(order: readonly number[], rank: number, worldSize: number): number[] {
  if (worldSize === 1) return [...order];
  const total = Math.ceil(order.length / worldSize) * worldSize;
  const padded = [...order];
  for (let i = 0; padded.length < total; i++) padded.push(order[i % order.length]);
  return padded.filter((_, i) => i % worldSize === rank);
}

/** Contiguous blocks of `count` items, one per rank: [start, end) of `rank`'s. */
export function blockOf(count: number, rank: number, worldSize: number): [number, number] {
  const size = Math.ceil(count / worldSize);
  return [Math.min(count, rank * size), Math.min(count, (rank + 1) * size)];
}

/** A TCP port free on loopback now (for MASTER_PORT of a local launch). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
