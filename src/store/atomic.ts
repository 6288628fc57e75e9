/**
 * Atomic file replacement. Every file an MTA reads while it runs goes through
 * here: the new bytes are written to a temporary file in the same directory
 * (rename(2) is atomic only within one filesystem), fsynced, given their mode
 * and owner, renamed over the target, and the directory is fsynced so the
 * rename itself survives a crash. A reader sees the old file or the new one,
 * never a mixture; a writer killed at any point leaves at most a stray
 * `.tlskeeper-tmp-*` file, which the next write removes.
 *
 * The sequence runs whole in a writer thread (./writer-threads.ts): one
 * message per file instead of eleven trips through the libuv pool.
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { chown, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StoreError } from '../errors/index.js';
import { resolveOwner, type Ownership } from './owner.js';
import { replaceInThread, type ReplaceFailure } from './writer-threads.js';

export const TEMP_PREFIX = '.tlskeeper-tmp-';

export interface WriteOptions extends Ownership {
  /** File mode, e.g. 0o644. Set explicitly on every write; never inherited from umask. */
  mode: number;
}

/** Replace `target` with `data` atomically (see the module comment). */
export async function atomicWriteFile(target: string, data: Uint8Array | string, options: WriteOptions): Promise<void> {
  const dir = dirname(target);
  const tmp = join(dir, `${TEMP_PREFIX}${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}`);
  const { uid, gid } = await resolveOwner(options);
  await sweepStaleTemps(dir);
  try {
    // open(2)'s mode is masked by the umask, so the thread also chmods.
    await replaceInThread({
      target, tmp, dir, mode: options.mode, uid: uid ?? -1, gid: gid ?? -1,
      // A fresh copy of just these bytes: posting a view of Node's shared 8 KiB
      // buffer pool (what an HTTP body usually is) would copy the whole slab.
      data: typeof data === 'string' ? Buffer.from(data) : new Uint8Array(data),
    });
  } catch (failure) {
    const f = failure as ReplaceFailure;
    if (f.code === 'EISDIR_TARGET') {
      throw new StoreError(`${target} is a directory`, {
        code: 'STORE_TARGET_IS_DIRECTORY', object: target,
        hint: 'move the directory away; tlskeeper only replaces regular files',
      });
    }
    throw new StoreError(`cannot write ${target}: ${f.message}`, {
      code: 'STORE_WRITE_FAILED', object: target, cause: Object.assign(new Error(f.message), { code: f.code }),
      hint: 'check that the directory exists and is writable by tlskeeper, and that the disk is not full; the previous file is unchanged',
    });
  }
}

/** Make a rename durable: fsync the directory that holds the entry (POSIX; ext4/xfs need it). */
export async function fsyncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Directories already swept by this process: a dead writer's leftovers are removed once, not on every write. */
const sweptDirectories = new Set<string>();

/** Remove temp files of earlier writers whose process is gone (once per directory per process). */
async function sweepStaleTemps(dir: string): Promise<void> {
  if (sweptDirectories.has(dir)) return;
  sweptDirectories.add(dir);
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return; // the write itself will report the missing directory
  }
  for (const entry of entries) {
    if (!entry.startsWith(TEMP_PREFIX)) continue;
    // .tlskeeper-tmp-<name>.<pid>.<random>
    const pid = Number(entry.split('.').at(-2));
    if (Number.isInteger(pid) && pid !== process.pid && !processAlive(pid)) {
      await unlink(join(dir, entry)).catch(() => undefined);
    }
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Remove a managed file (only where the config says the MTA tolerates its absence). */
export async function atomicRemoveFile(target: string): Promise<boolean> {
  try {
    await unlink(target);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw new StoreError(`cannot remove ${target}: ${(err as Error).message}`, { code: 'STORE_REMOVE_FAILED', object: target, cause: err });
  }
  await fsyncDirectory(dirname(target));
  return true;
}

export async function fileExists(path: string): Promise<boolean> {
  return stat(path).then(() => true, () => false);
}

export { chown };
