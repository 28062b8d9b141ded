/** Durable file writes shared by run folders, submissions, reports and the weights cache. */
import * as fs from 'node:fs';
import * as path from 'node:path';

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
  try {
    writeSynced(temporary, data);
    fs.renameSync(temporary, file);
  } catch (error) {
    // A failed rename (`file` is a folder, say) would otherwise leave the whole content beside it.
    fs.rmSync(temporary, { force: true });
    throw error;
  }
}

/** writeFileAtomic without blocking the event loop: the same temporary file, fsync and rename, on the libuv pool. */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.tmp-${process.pid}`;
  try {
    const handle = await fs.promises.open(temporary, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temporary, file);
  } catch (error) {
    await fs.promises.rm(temporary, { force: true });
    throw error;
  }
}

/** `NAME.tmp-PID` (writeFileAtomic) and `NAME.tmp-PID-N` (the addon's safetensors writer). */
const kTemporaryName = /\.tmp-(\d+)(?:-\d+)?$/;

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the temporary files in `dir` that writers killed mid-save left behind (up to a whole checkpoint each);
 * those of a process still running are kept. Returns the removed paths.
 */
export function removeStaleTemporaries(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const match = kTemporaryName.exec(entry.name);
    if (!entry.isFile() || match === null || isRunning(Number(match[1]))) continue;
    const file = path.join(dir, entry.name);
    fs.rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}
