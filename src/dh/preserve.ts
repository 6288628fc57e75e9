/**
 * Keeps the file tlskeeper is about to replace in `state_dir/dhparams-old/`,
 * so nothing a postmaster (or Exim) put there is ever lost.
 *
 * A regular file is copied first and only then replaced atomically by the
 * caller, so the live path always holds a complete file. If tlskeeper cannot
 * read it (permissions), a hard link keeps the same bytes without reading
 * them. A directory in the file's place cannot be replaced atomically by a
 * file: it is moved away first (it was already unusable: Exim says "TLS cache
 * not a file"), copied and removed when the state directory is on another
 * filesystem.
 */
import { constants } from 'node:fs';
import { copyFile, cp, link, mkdir, open, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StoreError } from '../errors/index.js';
import { fsyncDirectory } from '../store/index.js';

export function oldDir(stateDir: string): string {
  return join(stateDir, 'dhparams-old');
}

function slug(file: string): string {
  return file.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^_+/, '');
}

function stamp(now: Date): string {
  return now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

async function freeName(dir: string, base: string): Promise<string> {
  for (let i = 0; ; i++) {
    const candidate = join(dir, i === 0 ? base : `${base}.${i}`);
    const exists = await stat(candidate).then(() => true, () => false);
    if (!exists) return candidate;
  }
}

/**
 * Save what is at `file` before it is replaced; returns where it went
 * (undefined when there was nothing). Throws StoreError when it cannot be
 * kept: then nothing must be written.
 */
export async function preserveOld(
  file: string, kind: 'file' | 'directory' | 'unreadable', stateDir: string, now: Date, reasonCode: string,
): Promise<string> {
  const dir = oldDir(stateDir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const dest = await freeName(dir, `${slug(file)}.${stamp(now)}.${reasonCode.toLowerCase().replace(/^dh_/, '')}`);
  try {
    if (kind === 'directory') {
      try {
        await rename(file, dest);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        await cp(file, dest, { recursive: true, preserveTimestamps: true, errorOnExist: true, force: false });
        await rm(file, { recursive: true });
      }
      await fsyncDirectory(dir);
      return dest;
    }
    try {
      await copyFile(file, dest, constants.COPYFILE_EXCL);
      const fh = await open(dest, constants.O_RDONLY);
      try { await fh.sync(); } finally { await fh.close(); }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EACCES' && code !== 'EPERM') throw err;
      await rm(dest, { force: true });
      await link(file, dest); // same bytes, without reading them
    }
    await fsyncDirectory(dir);
    return dest;
  } catch (err) {
    throw new StoreError(`cannot keep the previous ${file} in ${dir}: ${(err as Error).message}`, {
      code: 'DH_KEEP_OLD_FAILED', object: file, cause: err,
      hint: `nothing was written; make ${dir} writable (and on the same filesystem as the file, if tlskeeper cannot read it)`,
    });
  }
}
