import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  buildMismatch,
  pipInstallCommand,
  readBuildInfo,
  torchLocator,
  torchRelease,
  type FoundTorch,
} from '../../../src/native/buildInfo';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const locator = torchLocator(repoRoot);
const found: FoundTorch = {
  source: 'FOLDTORCH_PYTHON',
  why: 'FOLDTORCH_PYTHON names a Python',
  root: '/env/torch',
  version: '2.13.0+cpu',
  cuda: null,
  abi: null,
  python: '/env/bin/python',
};

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'foldtorch-buildinfo-'));
}

describe('build info against the torch found', () => {
  test('a release is the version without its local label', () => {
    expect(torchRelease('2.13.0+cpu')).toBe('2.13.0');
    expect(torchRelease('2.14.1')).toBe('2.14.1');
  });

  test('the pip command names the Python, the release and the variant index', () => {
    expect(pipInstallCommand({ torch: '2.13.0', variant: 'cpu' }, '/env/bin/python')).toBe(
      '/env/bin/python -m pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu',
    );
    expect(pipInstallCommand({ torch: '2.14.1', variant: 'cu126' })).toBe(
      'python3 -m pip install torch==2.14.1 --index-url https://download.pytorch.org/whl/cu126',
    );
    expect(pipInstallCommand({ torch: '2.14.1', variant: 'cuda' })).toBe('python3 -m pip install torch==2.14.1');
  });

  test('the same release and variant fit; the ABI only counts when both sides know it', () => {
    expect(buildMismatch('/p/foldtorch.node', { torch: '2.13.0', variant: 'cpu', abi: 1 }, found, 'cpu')).toBeNull();
    expect(buildMismatch('/p/foldtorch.node', { torch: '2.13.0', variant: 'cpu', abi: 1 }, { ...found, abi: 0 }, 'cpu')).toContain(
      'was built for torch 2.13.0 (cpu, C++11 ABI 1) but the torch found is torch 2.13.0+cpu (cpu, C++11 ABI 0)',
    );
  });

  test('another release: both torches, where the found one is, and the commands that fix it', () => {
    expect(buildMismatch('/p/foldtorch.node', { torch: '2.12.0', variant: 'cpu', abi: 1 }, found, 'cpu')).toBe(
      [
        '/p/foldtorch.node was built for torch 2.12.0 (cpu, C++11 ABI 1) but the torch found is torch 2.13.0+cpu (cpu) at /env/torch (FOLDTORCH_PYTHON names a Python).',
        '    Install the torch it was built for: /env/bin/python -m pip install torch==2.12.0 --index-url https://download.pytorch.org/whl/cpu',
        '    or build the addon for yours: npx foldtorch build (in the repository: npm run build:native)',
      ].join('\n'),
    );
  });

  test('another variant of the same release does not fit', () => {
    expect(
      buildMismatch(
        '/p/foldtorch.node',
        { torch: '2.13.0', variant: 'cpu', abi: null },
        { ...found, version: '2.13.0+cu126', cuda: '12.6' },
        'cu126',
      ),
    ).toMatch(/^\/p\/foldtorch\.node was built for torch 2\.13\.0 \(cpu\) but the torch found is torch 2\.13\.0\+cu126 \(cu126\)/);
  });

  test('foldtorch.json beside the addon: absent is null, malformed names the file', () => {
    const dir = tempDir();
    const addon = path.join(dir, 'foldtorch.node');
    expect(readBuildInfo(addon)).toBeNull();
    fs.writeFileSync(
      path.join(dir, 'foldtorch.json'),
      JSON.stringify({ torch: '2.13.0', variant: 'cpu', abi: 1, source: 'project environment', napi: 8 }),
    );
    expect(readBuildInfo(addon)).toEqual({ torch: '2.13.0', variant: 'cpu', abi: 1, source: 'project environment', napi: 8 });
    fs.writeFileSync(path.join(dir, 'foldtorch.json'), JSON.stringify({ torch: 2 }));
    expect(() => readBuildInfo(addon)).toThrow(
      `${path.join(dir, 'foldtorch.json')}: expected {"torch": "X.Y.Z", "variant": "cpu|cuXXX"} (got {"torch":2})`,
    );
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('the locator at run time (scripts/libtorch.js, light)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const key of ['LIBTORCH', 'FOLDTORCH_PYTHON']) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  });

  /** A pip-style torch folder: lib/, share/cmake/Torch, version.py. */
  function fakeTorch(version: string, cuda: string | null): string {
    const root = tempDir();
    fs.mkdirSync(path.join(root, 'lib'));
    fs.mkdirSync(path.join(root, 'share', 'cmake', 'Torch'), { recursive: true });
    fs.writeFileSync(path.join(root, 'share', 'cmake', 'Torch', 'TorchConfig.cmake'), '');
    fs.writeFileSync(
      path.join(root, 'version.py'),
      `__version__ = '${version}'\ndebug = False\ncuda: Optional[str] = ${cuda ? `'${cuda}'` : 'None'}\n`,
    );
    return root;
  }

  test('the variant is the local label, else cu + the CUDA version, else cpu', () => {
    expect(locator.variantOf({ version: '2.13.0+cpu', cuda: null })).toBe('cpu');
    expect(locator.variantOf({ version: '2.13.0', cuda: '12.8' })).toBe('cu128');
    expect(locator.variantOf({ version: '2.13.0', cuda: null })).toBe('cpu');
  });

  test('LIBTORCH at a pip torch folder: version and CUDA from version.py', () => {
    const root = fakeTorch('2.14.1', '12.6');
    process.env.LIBTORCH = root;
    expect(locator.locate({ light: true })).toMatchObject({ source: 'LIBTORCH', root, version: '2.14.1', cuda: '12.6' });
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('LIBTORCH without TorchConfig.cmake is refused by name', () => {
    const root = tempDir();
    process.env.LIBTORCH = root;
    expect(() => locator.locate({ light: true })).toThrow(
      `LIBTORCH=${root} has no share/cmake/Torch/TorchConfig.cmake: point it at an unzipped libtorch`,
    );
    fs.rmSync(root, { recursive: true, force: true });
  });

  test('FOLDTORCH_PYTHON, light: torch found without importing it, its version.py read', () => {
    const root = fakeTorch('2.13.0+cpu', null);
    const python = path.join(root, 'python');
    // A stand-in Python that answers the locator's find_spec probe.
    fs.writeFileSync(python, `#!/bin/sh\necho '${JSON.stringify({ root })}'\n`, { mode: 0o755 });
    process.env.FOLDTORCH_PYTHON = python;
    expect(locator.locate({ light: true })).toEqual({
      source: 'FOLDTORCH_PYTHON',
      why: 'FOLDTORCH_PYTHON names a Python',
      python,
      root,
      version: '2.13.0+cpu',
      cuda: null,
      abi: null,
    });
    fs.writeFileSync(python, '#!/bin/sh\nexit 1\n', { mode: 0o755 });
    expect(() => locator.locate({ light: true })).toThrow(`FOLDTORCH_PYTHON=${python} cannot import torch`);
    fs.rmSync(root, { recursive: true, force: true });
  });
});
