/** Seeded mutations of a seed file for the fuzz harness: bit flips, byte edits, truncation, chunk moves, and per format edits. */

/** mulberry32: small, fast and seedable; each case gets its own stream from (seed, case index). */
export class Prng {
  private state: number;

  constructor(seed: number, index: number) {
    this.state = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0;
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return Math.floor(this.next() * n);
  }
}

export type Format = 'safetensors' | 'jpeg' | 'png' | 'csv';

function flipBits(bytes: Buffer, rng: Prng): Buffer {
  const out = Buffer.from(bytes);
  for (let i = 1 + rng.below(8); i > 0; i--) out[rng.below(out.length)] ^= 1 << rng.below(8);
  return out;
}

function setBytes(bytes: Buffer, rng: Prng): Buffer {
  const out = Buffer.from(bytes);
  const interesting = [0x00, 0xff, 0x7f, 0x80, 0x01, 0xfe];
  for (let i = 1 + rng.below(4); i > 0; i--)
    out[rng.below(out.length)] = rng.below(2) ? interesting[rng.below(interesting.length)] : rng.below(256);
  return out;
}

function truncate(bytes: Buffer, rng: Prng): Buffer {
  return bytes.subarray(0, rng.below(bytes.length));
}

/** Deletes, duplicates or overwrites a chunk with another part of the file. */
function moveChunk(bytes: Buffer, rng: Prng): Buffer {
  const start = rng.below(bytes.length);
  const length = 1 + rng.below(Math.min(64, bytes.length - start));
  const chunk = bytes.subarray(start, start + length);
  const at = rng.below(bytes.length);
  switch (rng.below(3)) {
    case 0:
      return Buffer.concat([bytes.subarray(0, start), bytes.subarray(start + length)]);
    case 1:
      return Buffer.concat([bytes.subarray(0, at), chunk, bytes.subarray(at)]);
    default: {
      const out = Buffer.from(bytes);
      chunk.copy(out, at);
      return out;
    }
  }
}

/** The marker segments before the first scan, as [start, end) byte ranges. */
function jpegSegments(bytes: Buffer): Array<[number, number]> {
  const segments: Array<[number, number]> = [];
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff && bytes[at + 1] !== 0xda) {
    const end = at + 2 + bytes.readUInt16BE(at + 2);
    segments.push([at, end]);
    at = end;
  }
  return segments;
}

/** Removes one marker segment (DQT, DHT, SOF, APPn, ...) before the scan. */
function removeJpegSegment(bytes: Buffer, rng: Prng): Buffer {
  const segments = jpegSegments(bytes);
  if (segments.length === 0) return flipBits(bytes, rng);
  const [start, end] = segments[rng.below(segments.length)];
  return Buffer.concat([bytes.subarray(0, start), bytes.subarray(end)]);
}

/** Edits the JSON header of a safetensors file (a digit, a quote, a bracket), keeping the length prefix right. */
function editSafetensorsHeader(bytes: Buffer, rng: Prng): Buffer {
  if (bytes.length < 8) return flipBits(bytes, rng);
  const length = Number(bytes.readBigUInt64LE(0));
  if (length > bytes.length - 8) return flipBits(bytes, rng);
  const header = bytes
    .subarray(8, 8 + length)
    .toString('latin1')
    .split('');
  const replacements = ['0', '9', '-1', '"', ',', '[', ']', '{', '}', '', ' ', '18446744073709551615', '1e9', 'null'];
  for (let i = 1 + rng.below(3); i > 0; i--) header[rng.below(header.length)] = replacements[rng.below(replacements.length)];
  const text = Buffer.from(header.join(''), 'latin1');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([prefix, text, bytes.subarray(8 + length)]);
}

/** Duplicates, drops or swaps lines, or inserts a quote, comma or newline. */
function editCsv(bytes: Buffer, rng: Prng): Buffer {
  const lines = bytes.toString('utf8').split('\n');
  const i = rng.below(lines.length);
  switch (rng.below(4)) {
    case 0:
      lines.splice(i, 0, lines[rng.below(lines.length)]);
      break;
    case 1:
      lines.splice(i, 1);
      break;
    case 2:
      [lines[i], lines[0]] = [lines[0], lines[i]];
      break;
    default: {
      const line = lines[i];
      const at = rng.below(line.length + 1);
      lines[i] = `${line.slice(0, at)}${['"', ',', '\n', '\r', '\uFEFF', '..', '/'][rng.below(7)]}${line.slice(at)}`;
    }
  }
  return Buffer.from(lines.join('\n'), 'utf8');
}

/** One mutation (sometimes two) of `seed` for case `index`. */
export function mutate(seed: Buffer, format: Format, rng: Prng): Buffer {
  const generic = [flipBits, setBytes, truncate, moveChunk];
  const special = { safetensors: editSafetensorsHeader, jpeg: removeJpegSegment, png: flipBits, csv: editCsv }[format];
  let out = seed;
  for (let rounds = 1 + (rng.below(4) === 0 ? 1 : 0); rounds > 0; rounds--) {
    const pick = rng.below(generic.length + 2);
    out = pick >= generic.length ? special(out, rng) : generic[pick](out, rng);
    if (out.length === 0) break;
  }
  return out;
}
