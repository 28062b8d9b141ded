/** Durable file writes shared by run folders, submissions, reports and the weights cache. */
import * as fs from 'fs';
import * as path from 'path';

/** Writes `data` to `file` and fsyncs it (the caller renames it into place). */
export function writeSynced(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** Writes via a temporary file, fsync and rename: readers see the old or the new file, never a mix. */
export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  writeSynced(temporary, data);
  fs.renameSync(temporary, file);
}
