#!/usr/bin/env node
/**
 * Writes a consumer project's package.json and package-lock.json that depend on the packed tarball, the lock's
 * entries taken from this repository's lock (its production packages, same versions and integrity), so that
 * `npm ci --offline` installs from the tarball and the npm cache alone: a fresh range resolution would need the
 * registry's package documents, which `npm ci` here never cached.
 *   node test/consumer/lockfile.js APP_DIR TARBALL
 */

const fs = require('node:fs');
const path = require('node:path');

const repo = path.resolve(__dirname, '..', '..');

/** The registry tarball URL of a package: https://registry.npmjs.org/@scope/name/-/name-1.2.3.tgz */
function registryUrl(name, version) {
  return `https://registry.npmjs.org/${name}/-/${name.split('/').pop()}-${version}.tgz`;
}

function consumerLock(repoLock, pkg, tarballSpec) {
  const packages = {
    '': { name: 'consumer', version: '1.0.0', dependencies: { [pkg.name]: tarballSpec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: tarballSpec,
      license: pkg.license,
      dependencies: pkg.dependencies,
      bin: pkg.bin,
      engines: pkg.engines,
    },
  };
  for (const [where, entry] of Object.entries(repoLock.packages)) {
    if (where === '' || entry.dev || entry.link || !where.startsWith('node_modules/')) continue;
    const name = entry.name ?? where.slice(where.lastIndexOf('node_modules/') + 'node_modules/'.length);
    packages[where] = { ...entry, resolved: entry.resolved ?? registryUrl(name, entry.version) };
  }
  return { name: 'consumer', version: '1.0.0', lockfileVersion: 3, requires: true, packages };
}

if (require.main === module) {
  const [app, tarball] = process.argv.slice(2);
  const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8'));
  const repoLock = JSON.parse(fs.readFileSync(path.join(repo, 'package-lock.json'), 'utf8'));
  const spec = `file:${path.relative(app, tarball)}`;
  fs.mkdirSync(app, { recursive: true });
  fs.writeFileSync(
    path.join(app, 'package.json'),
    `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, dependencies: { [pkg.name]: spec } }, null, 2)}\n`,
  );
  fs.writeFileSync(path.join(app, 'package-lock.json'), `${JSON.stringify(consumerLock(repoLock, pkg, spec), null, 2)}\n`);
}
module.exports = { consumerLock, registryUrl };
