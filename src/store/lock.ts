/**
 * Per-object locks in the lock directory (`lock_dir`, else `state_dir/locks`), so a timer run and a hook run never
 * work on the same object at once (certmagic's rule: lock, re-check, then
 * work — callers re-read the object's state after taking the lock).
 *
 * A lock is a file created with O_EXCL holding the owner's pid. A lock whose
 * pid is dead is stale and is taken over: it is first renamed to a unique name
 * (only one contender's rename can succeed), then the O_EXCL create is retried.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LockBusyError, StoreError } from '../errors/index.js';
import { processAlive } from './atomic.js';

export interface Lock {
  readonly path: string;
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for a live holder; 0 fails at once. */
  waitMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/** `certificate/mx` → `certificate--mx.lock` (object ids never hold `--`). */
export function lockFileName(objectId: string): string {
  return `${objectId.replace(/[^A-Za-z0-9._-]+/g, '--')}.lock`;
}

const lockDirectories = new Set<string>();

/** Take the lock of `objectId` in `lockDir` (config: `lockDirOf(config)`). */
export async function acquireLock(lockDir: string, objectId: string, options: LockOptions = {}): Promise<Lock> {
  const dir = lockDir;
  if (!lockDirectories.has(dir)) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    lockDirectories.add(dir);
  }
  const path = join(dir, lockFileName(objectId));
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      let released = false;
      return {
        path,
        async release() {
          if (released) return;
          released = true;
          try { unlinkSync(path); } catch { /* already gone (taken over as stale?) */ }
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && lockDirectories.delete(dir)) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        lockDirectories.add(dir);
        continue;
      }
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new StoreError(`cannot create lock ${path}: ${(err as Error).message}`, {
          code: 'LOCK_FAILED', object: objectId, cause: err, hint: `check that ${dir} is writable`,
        });
      }
    }
    const holder = readHolder(path);
    if (holder !== undefined && !processAlive(holder)) {
      // Stale: take it over. The rename makes the takeover race-free.
      const stale = `${path}.stale-${randomBytes(4).toString('hex')}`;
      // Re-check that the file we rename is still the dead holder's, then discard it.
      if (readHolder(path) === holder) {
        try {
          renameSync(path, stale);
          unlinkSync(stale);
        } catch { /* another contender took it over first */ }
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new LockBusyError(`${objectId} is locked by process ${holder ?? '?'}`, {
        code: 'LOCK_BUSY', object: objectId,
        hint: 'another tlskeeper run (timer or hook) is working on it; this run leaves it alone and the next one will catch up',
      });
    }
    await new Promise((r) => setTimeout(r, options.pollMs ?? 100));
  }
}

function readHolder(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Run `work` holding the object's lock. */
export async function withLock<T>(lockDir: string, objectId: string, work: () => Promise<T>, options?: LockOptions): Promise<T> {
  const lock = await acquireLock(lockDir, objectId, options);
  try {
    return await work();
  } finally {
    await lock.release();
  }
}
