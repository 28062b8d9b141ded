// `foldtorch setup` and `foldtorch build` as an installed package runs them: what they do with torch and the addon
// present, and the worded error of each thing that can be missing (nothing here creates an environment or builds).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { repoRoot, runCliSync } from './fixtures';

const locator = require(path.join(repoRoot, 'scripts', 'libtorch.js'));

/** A bin folder holding only the named tools (links to the real ones). */
function binWith(tools: string[]): string {
  const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-bin-'));
  for (const tool of tools) {
    const real = (process.env.PATH ?? '')
      .split(':')
      .map((dir) => path.join(dir, tool))
      .find((file) => fs.existsSync(file));
    if (real) fs.symlinkSync(real, path.join(bin, tool));
  }
  return bin;
}

describe('foldtorch setup and build', () => {
  const noTorch = { LIBTORCH: '', FOLDTORCH_PYTHON: '', FOLDTORCH_ENV: path.join(os.tmpdir(), 'foldtorch-no-env') };
  const torchPython = locator.locate({ light: true })?.python as string | undefined;

  test('setup with torch found and a build that fits: nothing created, nothing built', () => {
    const { code, out } = runCliSync(['setup', '--no-build']);
    expect(code).toBe(0);
    expect(out).toMatch(/^setup: torch \d+\.\d+\.\d+\S* \(cpu\) at \//m);
    expect(out).toContain('setup: the addon loads: nothing to build');
  });

  test('setup without torch and without python3 says how to get one', () => {
    const bin = binWith(['node', 'sh']);
    const { code, out } = runCliSync(['setup'], { ...noTorch, PATH: bin });
    expect(code).toBe(1);
    expect(out).toContain(
      `setup: no torch found: creating ${noTorch.FOLDTORCH_ENV} with torch==${locator.kPinnedTorch} (CPU, about 200 MB)`,
    );
    expect(out).toContain(
      `foldtorch: \`python3 -m venv ${noTorch.FOLDTORCH_ENV}\` failed (spawnSync python3 ENOENT)\nWhat to do:\n  1. Install Python 3 with venv`,
    );
    expect(fs.existsSync(noTorch.FOLDTORCH_ENV)).toBe(false);
    fs.rmSync(bin, { recursive: true, force: true });
  });

  test('build without cmake, a C++ compiler or make names them', () => {
    const bin = binWith(['node', 'sh']);
    const { code, out } = runCliSync(['build'], { PATH: bin });
    expect(code).toBe(1);
    expect(out).toContain(
      'foldtorch build: cmake, c++, make not found on PATH (a build from source needs them)\nWhat to do:\n  1. Debian/Ubuntu: apt-get install cmake g++ make',
    );
    fs.rmSync(bin, { recursive: true, force: true });
  });

  test('build without torch says to run setup first', () => {
    const bin = binWith(['node', 'sh', 'cmake', 'c++', 'make', 'python3']);
    const { code, out } = runCliSync(['build'], { ...noTorch, PATH: bin });
    expect(code).toBe(1);
    expect(out).toContain('foldtorch build: no torch found to build against\nWhat to do:\n  1. Run `npx foldtorch setup` first');
    fs.rmSync(bin, { recursive: true, force: true });
  });

  test('setup --art without npm names the command that failed', () => {
    if (!torchPython) throw new Error('no Python with torch found: run npm run setup');
    const bin = binWith(['node', 'sh']);
    const art = fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-art-'));
    const { code, out } = runCliSync(['setup', '--art', '--no-build'], {
      FOLDTORCH_PYTHON: torchPython,
      FOLDTORCH_ART_DIR: art,
      PATH: bin,
    });
    expect(code).toBe(1);
    expect(out).toContain(`setup: installing the artwork packages into ${art}: emoji-datasource@16.0.0 @discordapp/twemoji@16.0.1`);
    expect(out).toMatch(
      /foldtorch: `npm install --prefix \S+ --no-audit --no-fund --loglevel error emoji-datasource@16\.0\.0 .*` failed \(spawnSync npm ENOENT\)\nWhat to do:\n {2}1\. Check the network and npm/,
    );
    fs.rmSync(art, { recursive: true, force: true });
    fs.rmSync(bin, { recursive: true, force: true });
  });
});
