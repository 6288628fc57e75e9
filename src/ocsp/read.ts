/**
 * What the ocsp job observes for one certificate entry: the certificate file
 * as the MTA serves it (leaf + chain), the staple file, and the refresh state.
 * Never writes and never throws for a bad file: the problem is part of what
 * was observed.
 *
 * Only the certificate file is read, never the private key: stapling does
 * not need it. (`src/certs/read.ts` reads and checks both for the certs job;
 * it also parses every certificate with pkijs, which at a thousand
 * certificates costs more than the OCSP round trips, so this job uses the
 * codec's DER reader instead.)
 */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import type { CertificateConfig } from '../config/index.js';
import { describeError, TlskeeperError, type SerializedError } from '../errors/index.js';
import { isIssuedBy, namesIssuer, parseCertificateInfoCached, parseCertificatePemChain, type CertificateInfo } from '../pki/index.js';
import { stateFilePath } from '../store/index.js';
import { stateForLeaf, stateObjectId, type OcspRefreshState } from './state.js';
import { examineStaple, type ExaminedStaple, type StapleSubject } from './validate.js';

/** What identifies a file's content without reading it: a replacement (rename) changes ino, a rewrite mtime/ctime/size. */
export interface FileIdentity {
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

export interface StapleVerdict {
  /** The clock-independent verdict on the bytes (both undefined when there are none, or no leaf to judge them by). */
  examined?: ExaminedStaple;
  problem?: SerializedError;
}

export interface ObservedStapleFile {
  path: string;
  /** The file's bytes; undefined when it is missing or unreadable. */
  bytes: Buffer | undefined;
  identity?: FileIdentity;
  missing: boolean;
  readError?: SerializedError;
  /**
   * Examine the bytes (RFC 6960 checks, signature included) on first use:
   * a forced refresh never looks at the proof it replaces, so it does not
   * pay for verifying it.
   */
  verdict(): StapleVerdict;
}

export interface ObservedOcsp {
  config: CertificateConfig;
  /** The certificate file's bytes as read. */
  certBytes?: Buffer;
  certIdentity?: FileIdentity;
  certError?: SerializedError;
  leaf?: CertificateInfo;
  issuer?: CertificateInfo;
  /** Where the issuer came from: the certificate file, or an AIA fetch remembered in the state. */
  issuerSource?: 'chain' | 'state';
  responderUrl?: string;
  responderUrlSource?: 'config' | 'certificate';
  /** Undefined when no ocsp_file is configured. */
  staple?: ObservedStapleFile;
  /** Refresh state about this very leaf (a renewed certificate starts afresh). */
  state?: OcspRefreshState;
  /** A state file exists (maybe about an earlier certificate). */
  stateExists: boolean;
}

export function subjectOf(o: ObservedOcsp, source: string): StapleSubject | undefined {
  return o.leaf ? { name: o.config.name, leaf: o.leaf, issuer: o.issuer, source } : undefined;
}

export function stapleSource(path: string): string {
  return `the staple in ${path}`;
}

/** Observe one certificate entry (asynchronous by contract; the reads themselves are synchronous, see readWithIdentity). */
export async function readOcspEntry(config: CertificateConfig, stateDir: string): Promise<ObservedOcsp> {
  const certRead = readWithIdentity(config.cert);
  const stapleRead = config.ocsp_file ? readWithIdentity(config.ocsp_file) : undefined;
  const rawState = readStateSync(stateDir, config.name);
  const o: ObservedOcsp = { config, stateExists: rawState !== undefined };
  const certObject = `certificate ${config.name} (${config.cert})`;

  if (certRead.bytes) {
    o.certBytes = certRead.bytes;
    o.certIdentity = certRead.identity;
    try {
      const chain = parseCertificatePemChain(certRead.bytes, certObject);
      o.leaf = chain[0]!;
      // The issuer is the chain certificate the leaf names (issuer name, and key
      // identifier when both carry one). Its signature on the leaf is not
      // verified here (an ECDSA verification per certificate and run): the file
      // is as trusted as the leaf in it, and with a wrong issuer the CA's
      // answer does not match the CertID or does not verify, so nothing is
      // installed. An issuer fetched from the network is verified (fetch.ts).
      const issuer = chain.slice(1).find((c) => namesIssuer(o.leaf!, c));
      if (issuer) {
        o.issuer = issuer;
        o.issuerSource = 'chain';
      }
    } catch (err) {
      o.certError = asSerialized(err, certObject, 'CERT_UNREADABLE');
    }
  } else if (certRead.error) {
    o.certError = fileError(certRead.error, certObject, 'CERT_UNREADABLE');
  }
  completeFromLeaf(o, rawState);
  if (config.ocsp_file) o.staple = stapleFile(o, config.ocsp_file, stapleRead!);
  return o;
}

/**
 * The re-check under the lock: if the certificate and staple files are the
 * same files with the same size and times as when `previous` was observed,
 * reuse its parse (only the state is re-read); otherwise observe afresh.
 */
export async function reobserveOcspEntry(previous: ObservedOcsp, stateDir: string): Promise<ObservedOcsp> {
  const config = previous.config;
  const certId = identityOf(config.cert);
  const stapleId = config.ocsp_file ? identityOf(config.ocsp_file) : undefined;
  const rawState = readStateSync(stateDir, config.name);
  const unchanged = sameIdentity(certId, previous.certIdentity)
    && (!config.ocsp_file || (previous.staple?.missing ? stapleId === undefined : sameIdentity(stapleId, previous.staple?.identity)));
  // An issuer remembered in the state may have changed with it: observe afresh (rare: only AIA-fetched issuers).
  if (!unchanged || !previous.leaf || previous.issuerSource === 'state') return readOcspEntry(config, stateDir);
  const o: ObservedOcsp = { ...previous, stateExists: rawState !== undefined };
  delete o.state;
  completeFromLeaf(o, rawState);
  return o;
}

function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** State, remembered issuer and responder URL, once the leaf is known. */
function completeFromLeaf(o: ObservedOcsp, rawState: object | undefined): void {
  const config = o.config;
  if (!o.leaf) return;
  o.state = stateForLeaf(rawState, o.leaf.fingerprintSha256);
  if (!o.issuer && o.state?.issuerDer) {
    try {
      const remembered = parseCertificateInfoCached(Buffer.from(o.state.issuerDer, 'base64'), `issuer of ${config.name}`);
      if (isIssuedBy(o.leaf, remembered)) {
        o.issuer = remembered;
        o.issuerSource = 'state';
      }
    } catch {
      // a damaged state only costs a new AIA fetch
    }
  }
  delete o.responderUrl;
  delete o.responderUrlSource;
  if (config.ocsp.disabled) return;
  // RFC 5280 §4.2.2.1: the id-ad-ocsp accessLocation; only http(s) can be fetched.
  const fromCertificate = o.leaf.ocspUrls.find((u) => /^https?:\/\//i.test(u));
  if (config.ocsp.url) {
    o.responderUrl = config.ocsp.url;
    o.responderUrlSource = 'config';
  } else if (fromCertificate) {
    o.responderUrl = fromCertificate;
    o.responderUrlSource = 'certificate';
  }
}

function stapleFile(o: ObservedOcsp, path: string, read: FileRead): ObservedStapleFile {
  let verdict: StapleVerdict | undefined;
  const file: ObservedStapleFile = {
    path,
    bytes: read.bytes,
    ...(read.identity ? { identity: read.identity } : {}),
    missing: read.error?.code === 'ENOENT',
    ...(read.error && read.error.code !== 'ENOENT' ? { readError: fileError(read.error, `staple of ${o.config.name} (${path})`, 'OCSP_FILE_UNREADABLE') } : {}),
    verdict(): StapleVerdict {
      if (verdict) return verdict;
      const subject = subjectOf(o, stapleSource(path));
      verdict = {};
      if (read.bytes && subject) {
        try {
          verdict = { examined: examineStaple(read.bytes, subject) };
        } catch (err) {
          verdict = { problem: describeError(err) };
        }
      }
      return verdict;
    },
  };
  return file;
}

interface FileRead {
  bytes?: Buffer;
  identity?: FileIdentity;
  error?: NodeJS.ErrnoException;
}

/*
 * Certificate and staple files are read synchronously: they are a few
 * kilobytes on a local disk, and a synchronous read costs a sixth of the CPU
 * of a promise-based one (measured: 10 µs against 60 µs per file), which at a
 * thousand certificates is the difference that matters. The event loop is
 * held for microseconds per file.
 */

/** readFile, keeping the fstat it needs anyway (same four system calls). */
function readWithIdentity(path: string): FileRead {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const st = fstatSync(fd);
    const bytes = Buffer.allocUnsafe(st.size);
    let filled = 0;
    while (filled < st.size) {
      const n = readSync(fd, bytes, filled, st.size - filled, filled);
      if (n === 0) break;
      filled += n;
    }
    return { bytes: filled === st.size ? bytes : bytes.subarray(0, filled), identity: { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } };
  } catch (err) {
    return { error: err as NodeJS.ErrnoException };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

function identityOf(path: string): FileIdentity | undefined {
  try {
    const st = statSync(path, { throwIfNoEntry: false });
    return st ? { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs } : undefined;
  } catch {
    return undefined; // unreadable: the full read reports why
  }
}

/** store's readState, synchronously (see above): the state file, or undefined when missing or damaged. */
function readStateSync(stateDir: string, name: string): object | undefined {
  const path = stateFilePath(stateDir, stateObjectId(name));
  // Usually there is none (no failure to remember); a failed open builds an exception, which costs more than the check.
  if (!existsSync(path)) return undefined;
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as object;
  } catch {
    return undefined;
  }
}

function asSerialized(err: unknown, object: string, code: string): SerializedError {
  if (err instanceof TlskeeperError) return err.toJSON();
  return fileError(err as NodeJS.ErrnoException, object, code);
}

function fileError(err: NodeJS.ErrnoException, object: string, code: string): SerializedError {
  const errno = err.code;
  if (!errno) return describeError(err);
  return {
    code, object,
    message: `${object}: ${errno === 'ENOENT' ? 'file does not exist' : errno === 'EACCES' ? 'permission denied' : errno === 'EISDIR' ? 'is a directory' : errno}`,
    hint: errno === 'ENOENT' ? 'check the path in the configuration' : 'check the file and its permissions',
  };
}
