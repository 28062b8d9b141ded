#!/usr/bin/env node
/**
 * The one libtorch locator, used by CMakeLists.txt, binding.gyp and scripts/setup.sh.
 * Order: LIBTORCH (an unzipped libtorch) → FOLDTORCH_PYTHON (a Python with torch, e.g. a CUDA workstation's
 * pip torch) → python3 on PATH if it has torch → the project's own environment made by scripts/setup.sh.
 *
 * Usage: node scripts/libtorch.js [--explain | --json | --root | --cmake-prefix | --include-dirs | --cuda-include-dirs | --lib-dir | --abi | --cuda]
 */
'use strict';
const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const kPinnedTorch = '2.13.0';
const projectEnv = process.env.FOLDTORCH_ENV || path.join(os.homedir(), '.cache', 'foldtorch', 'venv');

function fromLibtorchDir(dir, why) {
  const cmake = path.join(dir, 'share', 'cmake');
  if (!fs.existsSync(path.join(cmake, 'Torch', 'TorchConfig.cmake'))) {
    throw new Error(`LIBTORCH=${dir} has no share/cmake/Torch/TorchConfig.cmake: point it at an unzipped libtorch`);
  }
  const versionFile = path.join(dir, 'build-version');
  const version = fs.existsSync(versionFile) ? fs.readFileSync(versionFile, 'utf8').trim() : 'unknown';
  const hasCuda = fs.readdirSync(path.join(dir, 'lib')).some((f) => f.startsWith('libtorch_cuda'));
  // libtorch zips of torch 2.x are built with the C++11 ABI unless named "pre-cxx11".
  const abi = /pre-cxx11/.test(dir) ? 0 : 1;
  return { source: 'LIBTORCH', why, root: dir, version, cuda: hasCuda ? 'yes' : null, abi };
}

function fromPython(python, source, why) {
  const code =
    'import json, torch, torch.utils, os;' +
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
  return { source, why, python, ...info };
}

function locate() {
  if (process.env.LIBTORCH) return fromLibtorchDir(process.env.LIBTORCH, 'the LIBTORCH environment variable is set');
  if (process.env.FOLDTORCH_PYTHON) {
    const found = fromPython(process.env.FOLDTORCH_PYTHON, 'FOLDTORCH_PYTHON', 'FOLDTORCH_PYTHON names a Python');
    if (!found) throw new Error(`FOLDTORCH_PYTHON=${process.env.FOLDTORCH_PYTHON} cannot import torch`);
    return found;
  }
  const projectPython = path.join(projectEnv, 'bin', 'python');
  if (fs.existsSync(projectPython)) {
    const found = fromPython(projectPython, 'project environment', `the project's environment ${projectEnv} (made by scripts/setup.sh)`);
    if (found) return found;
  }
  const system = fromPython('python3', 'python3 on PATH', 'python3 on PATH imports torch');
  if (system) return system;
  return null;
}

function main() {
  const arg = process.argv[2] || '--explain';
  const found = locate();
  if (!found) {
    if (arg === '--explain' || arg === '--json') {
      console.log(arg === '--json' ? 'null' : `libtorch: not found (no LIBTORCH, no FOLDTORCH_PYTHON, no ${projectEnv}, no python3 with torch). Run: npm run setup (installs torch==${kPinnedTorch} into ${projectEnv})`);
      return;
    }
    console.error(`libtorch not found. Run: npm run setup   (or set LIBTORCH=/path/to/libtorch, or FOLDTORCH_PYTHON=/path/to/python with torch)`);
    process.exit(1);
  }
  const root = found.root;
  const includeDirs = [path.join(root, 'include'), path.join(root, 'include', 'torch', 'csrc', 'api', 'include')];
  const libDir = path.join(root, 'lib');
  // pip's CUDA torch keeps the CUDA library headers (cusparse.h, cublas_v2.h, ...) in site-packages/nvidia/*/include.
  const nvidiaDir = path.join(root, '..', 'nvidia');
  const cudaIncludeDirs = fs.existsSync(nvidiaDir)
    ? fs.readdirSync(nvidiaDir).map((d) => path.join(nvidiaDir, d, 'include')).filter((d) => fs.existsSync(d)).sort()
    : [];
  const cmakePrefix = found.cmake || path.join(root, 'share', 'cmake');
  switch (arg) {
    case '--json': console.log(JSON.stringify({ ...found, includeDirs, cudaIncludeDirs, libDir, cmakePrefix })); break;
    case '--root': console.log(root); break;
    case '--cmake-prefix': console.log(cmakePrefix); break;
    case '--include-dirs': console.log(includeDirs.join(' ')); break;
    case '--cuda-include-dirs': console.log(cudaIncludeDirs.join(';')); break;
    case '--lib-dir': console.log(libDir); break;
    case '--abi': console.log(found.abi); break;
    case '--cuda': console.log(found.cuda ? 1 : 0); break;
    default:
      console.log(`libtorch ${found.version}${found.cuda ? ` (CUDA ${found.cuda})` : ' (CPU)'} from ${found.source}: ${found.why}\n  ${root}`);
  }
}

if (require.main === module) main();
module.exports = { locate, projectEnv, kPinnedTorch };
