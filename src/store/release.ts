/**
 * Swapping a set of files (cert + key + staple) as one.
 *
 * Layout under `base`:
 *   releases/<id>/cert.pem, key.pem, ocsp.der …   (immutable once written)
 *   current -> releases/<id>                      (one symlink)
 * The MTA is pointed at `base/current/cert.pem` etc. A new release is written
 * and fsynced in full, then `current` is re-pointed by renaming a new symlink
 * over it: readers that resolve the path see either the old set or the new
 * set, never a new certificate beside an old staple. The previous releases are
 * kept (the last good), pruned to `keep`.
 *
 * Exim 4.96 keeps a certificate whose path's symlink was re-pointed until it
 * is reloaded, so every release swap must be followed by the reload action.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors/index.js';
import { atomicWriteFile, fsyncDirectory } from './atomic.js';
import type { Ownership } from './owner.js';

export interface ReleaseFile {
  name: string;
  data: Uint8Array | string;
  mode: number;
}

export interface ReleaseOptions extends Ownership {
  /** How many releases to keep, the new one included (default 3). */
  keep?: number;
  now?: Date;
}

export async function currentRelease(base: string): Promise<string | undefined> {
  try {
    return join(base, await readlink(join(base, 'current')));
  } catch {
    return undefined;
  }
}

export async function installRelease(base: string, files: ReleaseFile[], options: ReleaseOptions = {}): Promise<string> {
  const id = `${(options.now ?? new Date()).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-${randomBytes(3).toString('hex')}`;
  const releases = join(base, 'releases');
  const dir = join(releases, id);
  try {
    await mkdir(dir, { recursive: true, mode: 0o755 });
    for (const f of files) {
      await atomicWriteFile(join(dir, f.name), f.data, { mode: f.mode, owner: options.owner, group: options.group });
    }
    await fsyncDirectory(releases);
    const tmpLink = join(base, `.current-${randomBytes(4).toString('hex')}`);
    await symlink(join('releases', id), tmpLink);
    await rename(tmpLink, join(base, 'current'));
    await fsyncDirectory(base);
  } catch (err) {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    throw new StoreError(`cannot install release in ${base}: ${(err as Error).message}`, {
      code: 'STORE_RELEASE_FAILED', object: base, cause: err,
      hint: 'the previous release is still current; check permissions and disk space',
    });
  }
  await pruneReleases(base, options.keep ?? 3);
  return dir;
}

async function pruneReleases(base: string, keep: number): Promise<void> {
  const releases = join(base, 'releases');
  const current = await currentRelease(base);
  const all = (await readdir(releases)).sort();
  const excess = all.slice(0, Math.max(0, all.length - keep));
  for (const name of excess) {
    if (join(releases, name) !== current) await rm(join(releases, name), { recursive: true, force: true });
  }
}
