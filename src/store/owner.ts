/**
 * Owner and group of managed files, given by name (`Debian-exim`) or number.
 * Names are resolved through the system's passwd/group databases with
 * `getent`, so NSS sources (LDAP, sssd) work as they do for the MTA.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { StoreError } from '../errors/index.js';

const run = promisify(execFile);

export interface Ownership {
  owner?: string | number | undefined;
  group?: string | number | undefined;
}

const cache = new Map<string, number>();

async function lookup(db: 'passwd' | 'group', name: string | number | undefined): Promise<number | undefined> {
  if (name === undefined) return undefined;
  if (typeof name === 'number') return name;
  if (/^\d+$/.test(name)) return Number(name);
  const key = `${db}:${name}`;
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  try {
    const { stdout } = await run('getent', [db, name], { timeout: 5000 });
    const id = Number(stdout.split(':')[2]);
    if (!Number.isInteger(id)) throw new Error('unparsable getent output');
    cache.set(key, id);
    return id;
  } catch (err) {
    throw new StoreError(`unknown ${db === 'passwd' ? 'user' : 'group'} "${name}"`, {
      code: 'STORE_UNKNOWN_OWNER', cause: err,
      hint: `create it, or set owner/group in the configuration to one that exists (\`getent ${db} ${name}\` finds nothing)`,
    });
  }
}

/** Numeric ids, or undefined where the ownership is left as the process creates it. */
export async function resolveOwner(o: Ownership): Promise<{ uid: number | undefined; gid: number | undefined }> {
  const [uid, gid] = await Promise.all([lookup('passwd', o.owner), lookup('group', o.group)]);
  // Only root may give files away; an unprivileged run (tests, a user's own sandbox)
  // keeps its own ids when the target is itself.
  if (process.getuid && process.getuid() !== 0) {
    return { uid: uid === process.getuid() ? uid : undefined, gid: gid !== undefined && process.getgroups?.().includes(gid) ? gid : undefined };
  }
  return { uid, gid };
}

/** A user's uid and all its group ids, as the kernel checks file access for it. */
export interface UserAccess {
  name: string;
  uid: number;
  gids: number[];
}

const accessCache = new Map<string, Promise<UserAccess | undefined>>();

/** `id -u` and `id -G` of a user (NSS included); undefined when the user does not exist. */
export function userAccess(user: string | number): Promise<UserAccess | undefined> {
  const name = String(user);
  let pending = accessCache.get(name);
  if (!pending) {
    pending = Promise.all([run('id', ['-u', name], { timeout: 5000 }), run('id', ['-G', name], { timeout: 5000 })])
      .then(([u, g]) => ({ name, uid: Number(u.stdout.trim()), gids: g.stdout.trim().split(/\s+/).map(Number) }))
      .catch(() => undefined);
    accessCache.set(name, pending);
  }
  return pending;
}

/** Can `who` read a file with this mode and ownership (POSIX permission bits; root reads everything)? */
export function canRead(file: { mode: number; uid: number; gid: number }, who: UserAccess): boolean {
  if (who.uid === 0) return true;
  if (file.uid === who.uid) return (file.mode & 0o400) !== 0;
  if (who.gids.includes(file.gid)) return (file.mode & 0o040) !== 0;
  return (file.mode & 0o004) !== 0;
}
