#!/usr/bin/env node
/**
 * Lists the npm packages a GPU-machine run needs (for scripts/gpu-prepare.sh): the addon build's header packages,
 * plus every package the compiled entry points load at run time, followed through require() and package
 * dependencies. Fails when one of them pulls in sharp (its native binary would not travel).
 *
 * Usage: node scripts/gpu-deps.js ENTRY.js...   → one node_modules/<name> folder per line
 */

const fs = require('node:fs');
const path = require('node:path');
const { builtinModules } = require('node:module');

const kBuildPackages = ['node-addon-api', 'node-api-headers'];
const kForbidden = ['sharp'];
const root = path.resolve(__dirname, '..');

/** Bare package names required by the JS files reachable from `entries` through relative requires. */
function requiredPackages(entries) {
  const seen = new Set();
  const packages = new Set();
  const visit = (file) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = fs.readFileSync(file, 'utf8');
    for (const match of source.matchAll(/require\(["']([^"']+)["']\)|import\(["']([^"']+)["']\)/g)) {
      const request = match[1] ?? match[2];
      if (request.startsWith('.')) {
        const base = path.resolve(path.dirname(file), request);
        const next = [`${base}.js`, path.join(base, 'index.js'), base].find((f) => fs.existsSync(f) && fs.statSync(f).isFile());
        if (!next) throw new Error(`gpu-deps: ${path.relative(root, file)} requires ${request}, which is not compiled`);
        visit(next);
      } else if (!request.startsWith('node:') && !builtinModules.includes(request.split('/')[0])) {
        packages.add(request.startsWith('@') ? request.split('/').slice(0, 2).join('/') : request.split('/')[0]);
      }
    }
  };
  entries.forEach((entry) => visit(path.resolve(entry)));
  return packages;
}

/** The package folders of `names` and of everything they depend on. */
function closure(names) {
  const dirs = new Map();
  const add = (name, from) => {
    const dir = path.dirname(require.resolve(`${name}/package.json`, { paths: [from] }));
    if (dirs.has(dir)) return;
    dirs.set(dir, name);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) add(dep, dir);
  };
  names.forEach((name) => add(name, root));
  return dirs;
}

function main() {
  const entries = process.argv.slice(2);
  if (entries.length === 0) throw new Error('gpu-deps: name the compiled entry points (dist/...js)');
  const dirs = closure([...kBuildPackages, ...requiredPackages(entries)]);
  const bad = [...dirs.values()].filter((name) => kForbidden.includes(name));
  if (bad.length > 0) throw new Error(`gpu-deps: the GPU run would load ${bad.join(', ')}; import modules that do not`);
  for (const dir of [...dirs.keys()].sort()) console.log(path.relative(root, dir));
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}
