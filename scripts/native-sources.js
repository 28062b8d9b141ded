#!/usr/bin/env node
/** Lists the addon's C++ sources for both builds (CMakeLists.txt and binding.gyp), so the list is never written twice. */

const fs = require('node:fs');
const path = require('node:path');

const nativeDir = path.join(__dirname, '..', 'native');

function walk(dir) {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((entry) => {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) return walk(full);
      return entry.name.endsWith('.cc') ? [full] : [];
    });
}

function sources(part) {
  const all = walk(nativeDir).map((file) => path.relative(path.join(__dirname, '..'), file));
  const isBridge = (file) => file.startsWith(path.join('native', 'bridge')) || file === path.join('native', 'addon.cc');
  if (part === 'core') return all.filter((file) => !isBridge(file));
  if (part === 'bridge') return all.filter(isBridge);
  return all;
}

if (require.main === module) {
  const part = (process.argv[2] || '--all').replace(/^--/, '');
  console.log(sources(part).join(' '));
}
module.exports = { sources };
