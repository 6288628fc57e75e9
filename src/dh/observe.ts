/**
 * Looks at one configured DH file as the MTA would find it, and runs every
 * check on it. Never throws for a bad file: the problem is what was observed.
 */
import { constants } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Config, DhparamsConfig } from '../config/index.js';
import { readState, resolveOwner, userAccess, type UserAccess } from '../store/index.js';
import { checkDhBytes, MAX_DH_FILE_BYTES, type DhCheck } from './check.js';

export interface DhFileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export interface DhGenerationState {
  generatedAt: string;
  durationMs: number;
  workers: number;
  bits: number;
  /** Where the file it replaced was kept, and why it was replaced. */
  previous?: { savedAs?: string; reason: string };
}

export interface ObservedDhFile {
  config: DhparamsConfig;
  /** Owner and group to write with (the entry's, else the top-level defaults). */
  owner: string | number;
  group: string | number;
  stateDir: string;
  kind: 'file' | 'missing' | 'directory' | 'other' | 'unreadable';
  modifiedAt?: Date;
  identity?: DhFileIdentity;
  mode?: number;
  uid?: number;
  gid?: number;
  check: DhCheck;
  lastGeneration?: DhGenerationState;
  /** The user that must be able to read the file (config `reader`, else Debian-exim if it exists). */
  reader?: UserAccess;
  /** The configured `reader` does not exist on this host. */
  readerUnknown?: boolean;
  /** Numeric owner and group the file should have (undefined where the configured name does not resolve). */
  wanted?: { uid: number | undefined; gid: number | undefined };
}

/** Debian's exim4 runs its receiving processes as this user. */
export const DEBIAN_EXIM_USER = 'Debian-exim';

export function identityOf(st: { dev: number; ino: number; size: number; mtimeMs: number }): DhFileIdentity {
  return { dev: st.dev, ino: st.ino, size: st.size, mtimeMs: st.mtimeMs };
}

export function dhObjectId(file: string): string {
  return `dhparams/${file}`;
}

export async function observeDhFile(config: DhparamsConfig, global: Pick<Config, 'owner' | 'group' | 'state_dir'>): Promise<ObservedDhFile> {
  const base = {
    config,
    owner: config.owner ?? global.owner,
    group: config.group ?? global.group,
    stateDir: global.state_dir,
  };
  const [lastGeneration, reader, wanted] = await Promise.all([
    readState<DhGenerationState>(global.state_dir, dhObjectId(config.file)),
    userAccess(config.reader ?? DEBIAN_EXIM_USER),
    resolveOwner({ owner: base.owner, group: base.group }).catch(() => undefined),
  ]);
  const withState = {
    ...base, ...(lastGeneration ? { lastGeneration } : {}), ...(reader ? { reader } : {}), ...(wanted ? { wanted } : {}),
    ...(config.reader !== undefined && !reader ? { readerUnknown: true } : {}),
  };
  let st;
  try {
    st = await stat(config.file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      return {
        ...withState, kind: 'missing',
        check: {
          severity: 'CRITICAL', code: 'DH_MISSING', message: 'the file does not exist',
          hint: 'tlskeeper creates it at the next `tlskeeper refresh dhparams`; until then Exim (GnuTLS) computes parameters itself when the first TLS client connects, and other servers fail to start TLS',
          facts: {},
        },
      };
    }
    return { ...withState, kind: 'unreadable', check: unreadable(err) };
  }
  const identity = identityOf(st);
  const meta = { identity, modifiedAt: st.mtime, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
  if (st.isDirectory()) {
    return {
      ...withState, ...meta, kind: 'directory',
      check: {
        severity: 'CRITICAL', code: 'DH_NOT_A_FILE', message: 'a directory is in the file\'s place',
        hint: 'Exim refuses it ("TLS cache not a file") and every STARTTLS fails; tlskeeper moves the directory into state_dir/dhparams-old and writes the file at the next `tlskeeper refresh dhparams`',
        facts: {},
      },
    };
  }
  if (!st.isFile()) {
    return {
      ...withState, ...meta, kind: 'other',
      check: {
        severity: 'CRITICAL', code: 'DH_NOT_A_FILE', message: 'the path is not a regular file (device, socket or FIFO)',
        hint: 'remove it or point the configuration at another path; tlskeeper does not replace special files',
        facts: {},
      },
    };
  }
  let bytes: Buffer;
  try {
    bytes = await readCapped(config.file);
  } catch (err) {
    return { ...withState, ...meta, kind: 'unreadable', check: unreadable(err) };
  }
  return { ...withState, ...meta, kind: 'file', check: await checkDhBytes(bytes, config.bits) };
}

/** Read at most MAX_DH_FILE_BYTES + 1 bytes: enough to tell that an oversized file is too large. */
async function readCapped(path: string): Promise<Buffer> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(MAX_DH_FILE_BYTES + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, total, buf.length - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total === buf.length) break;
    }
    return buf.subarray(0, total);
  } finally {
    await fh.close();
  }
}

function unreadable(err: unknown): DhCheck {
  const code = (err as NodeJS.ErrnoException).code;
  return {
    severity: 'CRITICAL', code: 'DH_UNREADABLE',
    message: `cannot read the file: ${code === 'EACCES' ? 'permission denied' : (err as Error).message}`,
    hint: 'tlskeeper must be able to read the files it manages (run it as root, as the packaged unit does); it regenerates an unreadable file at the next refresh',
    facts: {},
  };
}
