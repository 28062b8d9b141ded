#!/usr/bin/env node
/** Compares two submissions (image_name,probability rows, no header): same images in the same order, |Δp| ≤ tolerance. */

const fs = require('node:fs');

function readRows(file) {
  return fs
    .readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line, i) => {
      const [id, p] = line.split(',');
      const value = Number(p);
      if (!id || !Number.isFinite(value))
        throw new Error(`${file}:${i + 1}: expected image_name,probability (got ${JSON.stringify(line)})`);
      return { id, value };
    });
}

/** The largest difference; throws naming the row when the ids differ or a difference exceeds `tolerance`. */
function compareSubmissions(actual, expected, tolerance) {
  if (actual.length !== expected.length) throw new Error(`expected ${expected.length} rows (got ${actual.length})`);
  let worst = 0;
  actual.forEach((row, i) => {
    if (row.id !== expected[i].id) throw new Error(`row ${i + 1}: expected ${expected[i].id} (got ${row.id})`);
    const diff = Math.abs(row.value - expected[i].value);
    if (!(diff <= tolerance)) throw new Error(`row ${i + 1} (${row.id}): expected ${expected[i].value} ± ${tolerance} (got ${row.value})`);
    worst = Math.max(worst, diff);
  });
  return worst;
}

if (require.main === module) {
  const [actual, expected, tolerance = '1e-5'] = process.argv.slice(2);
  const worst = compareSubmissions(readRows(actual), readRows(expected), Number(tolerance));
  console.log(`${actual} matches ${expected} (largest difference ${worst.toExponential(2)})`);
}
module.exports = { readRows, compareSubmissions };
