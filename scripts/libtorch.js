#!/usr/bin/env node
/**
 * The one libtorch locator, used by CMakeLists.txt, binding.gyp and scripts/setup.sh.
 * Order: LIBTORCH (an unzipped libtorch) → FOLDTORCH_PYTHON (a Python with torch, e.g. a CUDA workstation's
 * pip torch) → python3 on PATH if it has torch → the project's own environment made by scripts/setup.sh.
 *
 * At run time (src/native/addon.ts) it answers `locate({ light: true })`: torch's folder and version without
 * importing torch (a second, not the seconds an import takes), to preload libtorch before the addon.
 *
 * Usage: node scripts/libtorch.js [--explain | --json | --root | --cmake-prefix | --include-dirs | --cuda-include-dirs | --lib-dir | --abi | --cuda | --build-info]
 */

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const kPinnedTorch = '2.13.0';
const projectEnv = process.env.FOLDTORCH_ENV || path.join(os.homedir(), '.cache', 'foldtorch', 'venv');

function fromLibtorchDir(dir, why) {
  const cmake = path.join(dir, 'share', 'cmake');
  if (!fs.existsSync(path.join(cmake, 'Torch', 'TorchConfig.cmake'))) {
    throw new Error(`LIBTORCH=${dir} has no share/cmake/Torch/TorchConfig.cmake: point it at an unzipped libtorch`);
  }
  // An unzipped libtorch names its version in build-version; pip's torch folder (also accepted) in version.py.
  const versionFile = path.join(dir, 'build-version');
  const fromPy = readVersionPy(dir);
  const version = fs.existsSync(versionFile) ? fs.readFileSync(versionFile, 'utf8').trim() : fromPy ? fromPy.version : 'unknown';
  const hasCuda = fs.readdirSync(path.join(dir, 'lib')).some((f) => f.startsWith('libtorch_cuda'));
  const cudaSuffix = /\+cu(\d+)(\d)$/.exec(version);
  const cuda = fromPy?.cuda ? fromPy.cuda : hasCuda ? (cudaSuffix ? `${cudaSuffix[1]}.${cudaSuffix[2]}` : 'yes') : null;
  // libtorch zips of torch 2.x are built with the C++11 ABI unless named "pre-cxx11".
  const abi = /pre-cxx11/.test(dir) ? 0 : 1;
  return { source: 'LIBTORCH', why, root: dir, version, cuda, abi };
}

/** torch/version.py's __version__ and cuda, read as text: the version without importing torch. */
function readVersionPy(root) {
  const file = path.join(root, 'version.py');
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, 'utf8');
  const field = (name) => {
    const m = new RegExp(`^${name}(?:\\s*:[^=]*)?\\s*=\\s*(?:'([^']*)'|"([^"]*)"|None)`, 'm').exec(text);
    return m ? (m[1] ?? m[2] ?? null) : null;
  };
  return { version: field('__version__') || 'unknown', cuda: field('cuda') };
}

/** The build variant of a torch: its local version label (cpu, cu126, rocm6.2), else cpu or cu + the CUDA version. */
function variantOf(found) {
  const label = /\+(.+)$/.exec(found.version);
  if (label) return label[1];
  if (found.cuda && /^\d+\.\d+/.test(found.cuda)) return `cu${found.cuda.split('.').slice(0, 2).join('')}`;
  return found.cuda ? 'cuda' : 'cpu';
}

function fromPython(python, source, why, light) {
  // light: find torch's folder without importing it, and read its version.py.
  const code = light
    ? 'import json, importlib.util;' +
      's = importlib.util.find_spec("torch");' +
      'print(json.dumps({"root": s.submodule_search_locations[0]}) if s and s.submodule_search_locations else "null")'
    : 'import json, torch, torch.utils, os;' +
      'print(json.dumps({"root": os.path.dirname(torch.__file__), "version": torch.__version__,' +
      ' "cuda": torch.version.cuda, "abi": int(torch._C._GLIBCXX_USE_CXX11_ABI),' +
      ' "cmake": torch.utils.cmake_prefix_path}))';
  let out;
  try {
    out = execFileSync(python, ['-c', code], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
  const info = JSON.parse(out);
  if (!info) return null;
  if (light) {
    const version = readVersionPy(info.root);
    if (!version) return null;
    return { source, why, python, root: info.root, version: version.version, cuda: version.cuda, abi: null };
  }
  return { source, why, python, ...info };
}

/** The libtorch to build against or load; options.light skips importing torch (no abi, no cmake prefix). */
function locate(options = {}) {
  const light = Boolean(options.light);
  if (process.env.LIBTORCH) return fromLibtorchDir(process.env.LIBTORCH, 'the LIBTORCH environment variable is set');
  if (process.env.FOLDTORCH_PYTHON) {
    const found = fromPython(process.env.FOLDTORCH_PYTHON, 'FOLDTORCH_PYTHON', 'FOLDTORCH_PYTHON names a Python', light);
    if (!found) throw new Error(`FOLDTORCH_PYTHON=${process.env.FOLDTORCH_PYTHON} cannot import torch`);
    return found;
  }
  const projectPython = path.join(projectEnv, 'bin', 'python');
  if (fs.existsSync(projectPython)) {
    const found = fromPython(
      projectPython,
      'project environment',
      `the project's environment ${projectEnv} (made by npm run setup or npx foldtorch setup)`,
      light,
    );
    if (found) return found;
  }
  const system = fromPython('python3', 'python3 on PATH', 'python3 on PATH imports torch', light);
  if (system) return system;
  return null;
}

/** What a build records beside its .node (foldtorch.json): the torch it was built for, compared before loading. */
function buildInfo(found) {
  return { torch: found.version.replace(/\+.*$/, ''), variant: variantOf(found), abi: found.abi, source: found.source, napi: 8 };
}

function main() {
  const arg = process.argv[2] || '--explain';
  const found = locate();
  if (!found) {
    if (arg === '--explain' || arg === '--json') {
      console.log(
        arg === '--json'
          ? 'null'
          : `libtorch: not found (no LIBTORCH, no FOLDTORCH_PYTHON, no ${projectEnv}, no python3 with torch). Run: npm run setup (installs torch==${kPinnedTorch} into ${projectEnv})`,
      );
      return;
    }
    console.error(
      `libtorch not found. Run: npm run setup   (or set LIBTORCH=/path/to/libtorch, or FOLDTORCH_PYTHON=/path/to/python with torch)`,
    );
    process.exit(1);
  }
  const root = found.root;
  const includeDirs = [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')];
  const libDir = path.join(root, 'lib');
  // pip's CUDA torch keeps the CUDA library headers (cusparse.h, cublas_v2.h, ...) in site-packages/nvidia/*/include.
  const nvidiaDir = path.join(root, '..', 'nvidia');
  const cudaIncludeDirs = fs.existsSync(nvidiaDir)
    ? fs
        .readdirSync(nvidiaDir)
        .map((d) => path.join(nvidiaDir, d, 'include'))
        .filter((d) => fs.existsSync(d))
        .sort()
    : [];
  const cmakePrefix = found.cmake || path.join(root, 'share', 'cmake');
  switch (arg) {
    case '--json':
      console.log(JSON.stringify({ ...found, includeDirs, cudaIncludeDirs, libDir, cmakePrefix }));
      break;
    case '--root':
      console.log(root);
      break;
    case '--cmake-prefix':
      console.log(cmakePrefix);
      break;
    case '--include-dirs':
      console.log(includeDirs.join(' '));
      break;
    case '--cuda-include-dirs':
      console.log(cudaIncludeDirs.join(';'));
      break;
    case '--lib-dir':
      console.log(libDir);
      break;
    case '--abi':
      console.log(found.abi);
      break;
    case '--cuda':
      console.log(found.cuda ? 1 : 0);
      break;
    case '--build-info':
      console.log(JSON.stringify(buildInfo(found), null, 2));
      break;
    default:
      console.log(
        `libtorch ${found.version}${found.cuda ? ` (CUDA ${found.cuda})` : ' (CPU)'} from ${found.source}: ${found.why}\n  ${root}`,
      );
  }
}

if (require.main === module) main();
module.exports = { locate, projectEnv, kPinnedTorch, variantOf, buildInfo };
