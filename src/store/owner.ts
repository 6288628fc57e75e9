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
