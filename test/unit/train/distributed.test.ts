// The launch environment torchrun sets, and DistributedSampler's slicing of an epoch's plan.
import { blockOf, readLaunchEnv, shardPlan } from '../../../src/train/distributed';

const torchrun = { RANK: '1', WORLD_SIZE: '2', LOCAL_RANK: '1', MASTER_ADDR: '10.0.0.5', MASTER_PORT: '29500' };

test("reads torchrun's five variables; none of them means no group", () => {
  expect(readLaunchEnv(torchrun)).toEqual({ rank: 1, worldSize: 2, localRank: 1, masterAddr: '10.0.0.5', masterPort: 29500 });
  expect(readLaunchEnv({})).toBeNull();
  expect(readLaunchEnv({ ...torchrun, LOCAL_RANK: undefined })?.localRank).toBe(1);
});

test('WORLD_SIZE without MASTER_ADDR or MASTER_PORT is refused, naming the variable and torchrun', () => {
  expect(() => readLaunchEnv({ ...torchrun, MASTER_ADDR: undefined })).toThrow(
    'MASTER_ADDR: WORLD_SIZE=2 is set but MASTER_ADDR is not: launch with torchrun (it sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT) or set all five',
  );
  expect(() => readLaunchEnv({ ...torchrun, MASTER_PORT: '' })).toThrow('WORLD_SIZE=2 is set but MASTER_PORT is not');
});

test('RANK, WORLD_SIZE and MASTER_PORT must be integers in range', () => {
  expect(() => readLaunchEnv({ ...torchrun, RANK: '2' })).toThrow(
    'Expected an integer from 0 to 1 in the environment for RANK but received "2"',
  );
  expect(() => readLaunchEnv({ ...torchrun, RANK: undefined })).toThrow('for RANK but received "(unset)"');
  expect(() => readLaunchEnv({ ...torchrun, WORLD_SIZE: 'two' })).toThrow(
    'Expected an integer from 1 to 65536 in the environment for WORLD_SIZE',
  );
  expect(() => readLaunchEnv({ ...torchrun, MASTER_PORT: '70000' })).toThrow(
    'Expected an integer from 1 to 65535 in the environment for MASTER_PORT',
  );
});

test("shardPlan pads with the plan's head and interleaves, as DistributedSampler does", () => {
  const order = [5, 3, 8, 1, 9];
  expect(shardPlan(order, 0, 2)).toEqual([5, 8, 9]);
  expect(shardPlan(order, 1, 2)).toEqual([3, 1, 5]);
  expect(shardPlan(order, 2, 3)).toEqual([8, 5]);
  expect(shardPlan(order, 0, 1)).toEqual(order);
  // Batch k of every rank together is batch k of one process with world × the batch.
  const plan = Array.from({ length: 16 }, (_, i) => 100 + i);
  const ranks = [0, 1].map((r) => shardPlan(plan, r, 2));
  expect([...ranks[0].slice(0, 4), ...ranks[1].slice(0, 4)].sort()).toEqual(plan.slice(0, 8));
});

test('blockOf splits items into contiguous blocks, the last one short', () => {
  expect([0, 1, 2].map((r) => blockOf(7, r, 3))).toEqual([
    [0, 3],
    [3, 6],
    [6, 7],
  ]);
  expect(blockOf(1, 1, 2)).toEqual([1, 1]);
});
