// Atomic file writes: write a temp file next to the target, fsync it, rename it over the target.
// A reader sees either the old file or the complete new one, never a partial write; on failure the
// temp file is removed and an existing target is left untouched.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

function tempPathFor(path: string): string {
  const abs = resolve(path);
  const tag = `${process.pid}.${randomBytes(6).toString('hex')}`;
  return join(dirname(abs), `.${basename(abs)}.${tag}.tmp`);
}

// Persist the rename itself. Best effort: directories cannot be opened/fsynced on every platform.
function fsyncDirSync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // ignore
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes `data` to `path` atomically (temp file in the same directory + fsync + rename), creating
 * the parent directory if needed. Strings are written as UTF-8. On any error the temp file is
 * removed and the error is rethrown; a pre-existing file at `path` is then unchanged.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const abs = resolve(path);
  const dir = dirname(abs);
  mkdirSync(dir, { recursive: true });
  const tmp = tempPathFor(abs);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx');
    writeFileSync(fd, data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, abs);
  } catch (err) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // already failing; keep the original error
      }
    }
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dir);
}

/** Async variant of {@link writeFileAtomic}, same guarantees. */
export async function writeFileAtomicAsync(path: string, data: Uint8Array | string): Promise<void> {
  const abs = resolve(path);
  const dir = dirname(abs);
  await mkdir(dir, { recursive: true });
  const tmp = tempPathFor(abs);
  try {
    const fh = await open(tmp, 'wx');
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, abs);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
  fsyncDirSync(dir);
}
