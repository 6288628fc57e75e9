/**
 * TSIG: secret key transaction authentication for DNS (RFC 8945).
 *
 * - Requests are signed as in RFC 8945 §5.1: the MAC covers the message as
 *   sent (before the TSIG RR is appended) followed by the TSIG variables of
 *   §4.3.3 (key name and algorithm in canonical wire form, class ANY, TTL 0,
 *   time signed, fudge, error, other data).
 * - Responses are verified as in §5.4: the TSIG RR must be the last record
 *   of the additional section; the MAC covers the request MAC (its length
 *   and bytes, §4.3.1), then the response with its original ID restored and
 *   ARCOUNT decremented (§4.3.2), then the TSIG variables. The time signed must
 *   be within the fudge of our clock (§5.2.3 applied to the answer).
 * - Server-reported errors BADKEY, BADSIG, BADTIME (§5.2.1–§5.2.3) and
 *   BADTRUNC (§5.2.2.1) become `TsigVerificationError`s with a reason.
 *
 * Supported algorithms (§6): hmac-sha1, hmac-sha224, hmac-sha256 (the default
 * of tsig-keygen and keymgr), hmac-sha384, hmac-sha512. hmac-md5 is refused.
 * The secret lives in a private field: it is not enumerable, not in JSON, not
 * in util.inspect output, and never in an error message.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { decodeName } from './wire/codec.js';
import { type DecodedMessage, encodeName, normalizeName, RRClass, RRType, TsigErrorCode, rcodeName } from './wire/message.js';

export type TsigAlgorithm = 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';

const ALGORITHMS: Record<TsigAlgorithm, { hash: string; length: number }> = {
  'hmac-sha1': { hash: 'sha1', length: 20 },
  'hmac-sha224': { hash: 'sha224', length: 28 },
  'hmac-sha256': { hash: 'sha256', length: 32 },
  'hmac-sha384': { hash: 'sha384', length: 48 },
  'hmac-sha512': { hash: 'sha512', length: 64 },
};

export const TSIG_ALGORITHMS = Object.keys(ALGORITHMS) as TsigAlgorithm[];

/** Default fudge: 300 s, what RFC 8945 §10 recommends and BIND and Knot use. */
export const DEFAULT_FUDGE = 300;

/** `HMAC-SHA256.` → `hmac-sha256`; undefined for anything unsupported. */
export function parseAlgorithm(name: string): TsigAlgorithm | undefined {
  const n = name.trim().toLowerCase().replace(/\.$/, '');
  return (TSIG_ALGORITHMS as string[]).includes(n) ? (n as TsigAlgorithm) : undefined;
}

export class TsigKey {
  /** Key name, lower case, no trailing dot. */
  readonly name: string;
  readonly algorithm: TsigAlgorithm;
  readonly #secret: Buffer;

  constructor(name: string, algorithm: TsigAlgorithm, secret: Buffer) {
    if (!ALGORITHMS[algorithm]) throw new Error(`unsupported TSIG algorithm ${String(algorithm)}`);
    if (secret.length === 0) throw new Error(`TSIG key ${name} has an empty secret`);
    this.name = normalizeName(name);
    if (this.name === '') throw new Error('a TSIG key needs a name');
    encodeName(this.name); // validates
    this.algorithm = algorithm;
    this.#secret = Buffer.from(secret);
  }

  /** Full MAC length of the algorithm, in octets. */
  get macLength(): number {
    return ALGORITHMS[this.algorithm].length;
  }

  /** HMAC over the concatenation of `parts`. */
  mac(parts: readonly Buffer[]): Buffer {
    const h = createHmac(ALGORITHMS[this.algorithm].hash, this.#secret);
    for (const p of parts) h.update(p);
    return h.digest();
  }

  toJSON(): { name: string; algorithm: TsigAlgorithm } {
    return { name: this.name, algorithm: this.algorithm };
  }

  toString(): string {
    return `TSIG key ${this.name} (${this.algorithm})`;
  }

  [inspect.custom](): string {
    return `TsigKey { name: '${this.name}', algorithm: '${this.algorithm}', secret: [redacted] }`;
  }
}

/** The TSIG RR's RDATA (RFC 8945 §4.2), plus its owner name. */
export interface TsigRecord {
  keyName: string;
  algorithm: string;
  /** Seconds since the epoch (48-bit on the wire). */
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  otherData: Buffer;
}

function u48(n: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUIntBE(Math.floor(n), 0, 6);
  return b;
}

export function encodeTsigRdata(t: TsigRecord): Buffer {
  const alg = encodeName(t.algorithm, true);
  const a = Buffer.alloc(10);
  a.writeUIntBE(Math.floor(t.timeSigned), 0, 6);
  a.writeUInt16BE(t.fudge, 6);
  a.writeUInt16BE(t.mac.length, 8);
  const b = Buffer.alloc(6);
  b.writeUInt16BE(t.originalId, 0);
  b.writeUInt16BE(t.error, 2);
  b.writeUInt16BE(t.otherData.length, 4);
  return Buffer.concat([alg, a, t.mac, b, t.otherData]);
}

/** Decodes the TSIG RDATA at `rdataOffset` of `msg` (the algorithm name must not be compressed, §4.2, but we tolerate it). */
export function decodeTsigRdata(msg: Buffer, rdataOffset: number, rdlength: number, keyName: string): TsigRecord {
  const end = rdataOffset + rdlength;
  const { name: algorithm, bytes } = decodeName(msg, rdataOffset);
  let o = rdataOffset + bytes;
  const need = (n: number) => {
    if (o + n > end) throw new TsigVerificationError('MALFORMED', 'the TSIG record is truncated');
  };
  need(10);
  const timeSigned = msg.readUIntBE(o, 6);
  const fudge = msg.readUInt16BE(o + 6);
  const macSize = msg.readUInt16BE(o + 8);
  o += 10;
  need(macSize);
  const mac = Buffer.from(msg.subarray(o, o + macSize));
  o += macSize;
  need(6);
  const originalId = msg.readUInt16BE(o);
  const error = msg.readUInt16BE(o + 2);
  const otherLen = msg.readUInt16BE(o + 4);
  o += 6;
  need(otherLen);
  const otherData = Buffer.from(msg.subarray(o, o + otherLen));
  o += otherLen;
  if (o !== end) throw new TsigVerificationError('MALFORMED', 'the TSIG record has trailing data');
  return { keyName: normalizeName(keyName), algorithm: normalizeName(algorithm), timeSigned, fudge, mac, originalId, error, otherData };
}

/** The TSIG variables of RFC 8945 §4.3.3, in canonical wire form. */
function tsigVariables(key: TsigKey, v: { timeSigned: number; fudge: number; error: number; otherData: Buffer }): Buffer {
  const mid = Buffer.alloc(6);
  mid.writeUInt16BE(RRClass.ANY, 0);
  mid.writeUInt32BE(0, 2); // TTL
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(v.fudge, 0);
  tail.writeUInt16BE(v.error, 2);
  tail.writeUInt16BE(v.otherData.length, 4);
  return Buffer.concat([encodeName(key.name, true), mid, encodeName(key.algorithm, true), u48(v.timeSigned), tail, v.otherData]);
}

/** The request MAC as digested into a response MAC (RFC 8945 §4.3.1): MAC size, then MAC. */
function requestMacPart(requestMac: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(requestMac.length, 0);
  return Buffer.concat([len, requestMac]);
}

export interface MacInput {
  /** The DNS message without its TSIG RR, with the original ID and ARCOUNT not counting the TSIG RR (§4.3.2). */
  message: Buffer;
  /** For responses: the MAC of the request they answer (§4.3.1). */
  requestMac?: Buffer;
  timeSigned: number;
  fudge: number;
  error?: number;
  otherData?: Buffer;
}

/** Computes the MAC of RFC 8945 §4.3. */
export function computeMac(key: TsigKey, input: MacInput): Buffer {
  return key.mac([
    ...(input.requestMac ? [requestMacPart(input.requestMac)] : []),
    input.message,
    tsigVariables(key, { timeSigned: input.timeSigned, fudge: input.fudge, error: input.error ?? 0, otherData: input.otherData ?? Buffer.alloc(0) }),
  ]);
}

export interface SignOptions {
  /** Clock, milliseconds since the epoch (injectable for tests); `Date.now` by default. */
  now?: () => number;
  fudge?: number;
  /** When signing a response: the request's MAC. */
  requestMac?: Buffer;
  error?: number;
  otherData?: Buffer;
  /** Override time signed (seconds), e.g. a BADTIME answer echoes the request's. */
  timeSigned?: number;
}

export interface SignedMessage {
  /** The message with the TSIG RR appended and ARCOUNT incremented. */
  message: Buffer;
  mac: Buffer;
  tsig: TsigRecord;
}

/**
 * Signs `message` (RFC 8945 §5.1; §5.3 for a response when `requestMac` is
 * given): computes the MAC over it and appends the TSIG RR as the last
 * additional record.
 */
export function signMessage(message: Buffer, key: TsigKey, opts: SignOptions = {}): SignedMessage {
  if (message.length < 12) throw new Error('message too short to sign');
  const timeSigned = opts.timeSigned ?? Math.floor((opts.now ?? Date.now)() / 1000);
  const fudge = opts.fudge ?? DEFAULT_FUDGE;
  const error = opts.error ?? 0;
  const otherData = opts.otherData ?? Buffer.alloc(0);
  const mac = computeMac(key, { message, ...(opts.requestMac ? { requestMac: opts.requestMac } : {}), timeSigned, fudge, error, otherData });
  const tsig: TsigRecord = { keyName: key.name, algorithm: key.algorithm, timeSigned, fudge, mac, originalId: message.readUInt16BE(0), error, otherData };
  const rdata = encodeTsigRdata(tsig);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(RRType.TSIG, 0);
  fixed.writeUInt16BE(RRClass.ANY, 2);
  fixed.writeUInt32BE(0, 4);
  fixed.writeUInt16BE(rdata.length, 8);
  const out = Buffer.concat([message, encodeName(key.name), fixed, rdata]);
  out.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: out, mac, tsig };
}

export type TsigFailure =
  /** The response carries no TSIG RR, or one with an empty MAC and no error. */
  | 'UNSIGNED'
  /** The server does not know the key (name or algorithm), §5.2.1. */
  | 'BADKEY'
  /** The server found our MAC wrong (wrong secret), §5.2.2. */
  | 'BADSIG'
  /** The server found our time outside its fudge, §5.2.3. */
  | 'BADTIME'
  /** A MAC was truncated below policy, §5.2.2.1. */
  | 'BADTRUNC'
  /** The response is signed with another key than the request. */
  | 'WRONG_KEY'
  /** The response's MAC does not verify with our key. */
  | 'MAC_MISMATCH'
  /** The response's time signed is outside the fudge of our clock. */
  | 'TIME_SKEW'
  | 'MALFORMED';

export class TsigVerificationError extends Error {
  readonly reason: TsigFailure;
  /** For BADTIME: the server's clock (seconds) from Other Data, when sent. */
  readonly serverTime: number | undefined;
  constructor(reason: TsigFailure, message: string, serverTime?: number) {
    super(message);
    this.name = 'TsigVerificationError';
    this.reason = reason;
    this.serverTime = serverTime;
  }
}

/** Finds the TSIG RR; it must be the last additional record (RFC 8945 §5.4 / §4.2). */
export function findTsig(msg: DecodedMessage): { record: DecodedMessage['additionals'][number]; tsig: TsigRecord } | undefined {
  const idx = msg.additionals.findIndex((r) => r.type === RRType.TSIG);
  if (idx === -1) return undefined;
  if (idx !== msg.additionals.length - 1) throw new TsigVerificationError('MALFORMED', 'the TSIG record is not the last record of the message');
  const record = msg.additionals[idx]!;
  if (record.class !== RRClass.ANY) throw new TsigVerificationError('MALFORMED', 'the TSIG record is not of class ANY');
  const tsig = decodeTsigRdata(msg.raw, record.rdlengthOffset + 2, record.rdata.length, record.name);
  return { record, tsig };
}

/** The bytes a TSIG MAC covers: the message before its TSIG RR, original ID restored, ARCOUNT decremented (§4.3.2). */
export function unsignedPart(msg: DecodedMessage, tsigOffset: number, originalId: number): Buffer {
  const body = Buffer.from(msg.raw.subarray(0, tsigOffset));
  body.writeUInt16BE(originalId, 0);
  body.writeUInt16BE(msg.additionals.length - 1, 10);
  return body;
}

export interface VerifyOptions {
  /** The MAC we sent in the request this answers. */
  requestMac: Buffer;
  /** Our clock, milliseconds since the epoch. */
  now?: () => number;
}

/**
 * Verifies a response's TSIG (RFC 8945 §5.4). Returns the TSIG record when
 * the MAC verifies and the time is within the fudge; throws a
 * TsigVerificationError otherwise, including when the server reports a TSIG
 * error (BADKEY/BADSIG come unsigned; BADTIME comes signed with the server's
 * time in Other Data, §5.2.3).
 */
export function verifyResponse(msg: DecodedMessage, key: TsigKey, opts: VerifyOptions): TsigRecord {
  const found = findTsig(msg);
  if (!found) throw new TsigVerificationError('UNSIGNED', `the response (${rcodeName(msg.flags.rcode)}) carries no TSIG signature`);
  const { record, tsig } = found;
  const serverError = (e: number): TsigVerificationError | undefined => {
    switch (e) {
      case TsigErrorCode.BADKEY: return new TsigVerificationError('BADKEY', `the server does not know TSIG key ${key.name} (${key.algorithm}) (BADKEY)`);
      case TsigErrorCode.BADSIG: return new TsigVerificationError('BADSIG', `the server rejected the signature made with TSIG key ${key.name} (BADSIG)`);
      case TsigErrorCode.BADTRUNC: return new TsigVerificationError('BADTRUNC', 'the server rejected the MAC length (BADTRUNC)');
      default: return undefined;
    }
  };
  if (tsig.mac.length === 0) {
    // An unsigned error answer (§5.3.2): we cannot verify it, but it can only make us fail.
    const err = serverError(tsig.error);
    if (err) throw err;
    if (tsig.error === TsigErrorCode.BADTIME) throw new TsigVerificationError('BADTIME', 'the server found our clock outside its time window (BADTIME)', serverTimeOf(tsig));
    throw new TsigVerificationError('UNSIGNED', `the response (${rcodeName(msg.flags.rcode)}) carries an empty TSIG MAC`);
  }
  if (tsig.keyName !== key.name || tsig.algorithm !== key.algorithm) {
    throw new TsigVerificationError('WRONG_KEY', `the response is signed with key ${tsig.keyName} (${tsig.algorithm}), not ${key.name} (${key.algorithm})`);
  }
  // We always send the full MAC, so we accept only a full one back (local truncation policy, §5.2.2.1).
  if (tsig.mac.length !== key.macLength) {
    throw new TsigVerificationError('BADTRUNC', `the response's MAC is ${tsig.mac.length} octets, expected ${key.macLength}`);
  }
  const expected = computeMac(key, {
    message: unsignedPart(msg, record.offset, tsig.originalId),
    requestMac: opts.requestMac,
    timeSigned: tsig.timeSigned,
    fudge: tsig.fudge,
    error: tsig.error,
    otherData: tsig.otherData,
  });
  if (!timingSafeEqual(expected, tsig.mac)) {
    throw new TsigVerificationError('MAC_MISMATCH', `the response's TSIG MAC does not verify with key ${key.name}: it was altered or not signed with our secret`);
  }
  const err = serverError(tsig.error);
  if (err) throw err;
  if (tsig.error === TsigErrorCode.BADTIME) {
    throw new TsigVerificationError('BADTIME', 'the server found our clock outside its time window (BADTIME)', serverTimeOf(tsig));
  }
  if (tsig.error !== 0) throw new TsigVerificationError('MALFORMED', `the server reported TSIG error ${rcodeName(tsig.error)}`);
  const now = Math.floor((opts.now ?? Date.now)() / 1000);
  if (Math.abs(now - tsig.timeSigned) > tsig.fudge) {
    throw new TsigVerificationError('TIME_SKEW', `the response was signed at ${tsig.timeSigned}, ${now - tsig.timeSigned} s from our clock, beyond the fudge of ${tsig.fudge} s`, tsig.timeSigned);
  }
  return tsig;
}

function serverTimeOf(t: TsigRecord): number | undefined {
  return t.otherData.length === 6 ? t.otherData.readUIntBE(0, 6) : undefined;
}

// ---------------------------------------------------------------------------
// Key files

export class KeyFileError extends Error {}

/**
 * Parses TSIG keys from text. Understands:
 * - BIND's `key "name" { algorithm hmac-sha256; secret "base64"; };` as
 *   written by `tsig-keygen` / `ddns-confgen` (comments `//`, `#`, `/* *\/`
 *   allowed, other statements skipped);
 * - Knot's YAML as written by `keymgr -t` (`key: - id: … algorithm: … secret: …`).
 * Errors never quote the secret.
 */
export function parseKeyFile(text: string): TsigKey[] {
  if (/^\s*key\s*:\s*$/m.test(text) && /^\s*-\s*id\s*:/m.test(text)) return parseKnotKeys(text);
  return parseBindKeys(text);
}

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) { i++; continue; }
    if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      if (end === -1) throw new KeyFileError('unterminated /* comment');
      i = end + 2;
      continue;
    }
    if (c === '{' || c === '}' || c === ';') { tokens.push(c); i++; continue; }
    if (c === '"') {
      const end = text.indexOf('"', i + 1);
      if (end === -1) throw new KeyFileError('unterminated quoted string');
      tokens.push(`"${text.slice(i + 1, end)}`); // leading quote marks a string token
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < text.length && !/[\s{};"]/.test(text[j]!)) j++;
    tokens.push(text.slice(i, j));
    i = j;
  }
  return tokens;
}

const unquote = (t: string) => (t.startsWith('"') ? t.slice(1) : t);

function decodeSecret(b64: string, keyName: string): Buffer {
  const s = b64.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(s) || s.length % 4 !== 0) throw new KeyFileError(`the secret of key ${keyName} is not valid base64`);
  const buf = Buffer.from(s, 'base64');
  if (buf.length === 0) throw new KeyFileError(`key ${keyName} has an empty secret`);
  return buf;
}

function makeKey(name: string, algorithm: string | undefined, secret: string | undefined): TsigKey {
  if (!algorithm) throw new KeyFileError(`key ${name} has no algorithm`);
  const alg = parseAlgorithm(algorithm);
  if (!alg) throw new KeyFileError(`key ${name}: algorithm ${algorithm} is not supported (use one of ${TSIG_ALGORITHMS.join(', ')})`);
  if (secret === undefined) throw new KeyFileError(`key ${name} has no secret`);
  try {
    return new TsigKey(name, alg, decodeSecret(secret, name));
  } catch (err) {
    if (err instanceof KeyFileError) throw err;
    throw new KeyFileError(`key ${name}: ${(err as Error).message}`);
  }
}

function parseBindKeys(text: string): TsigKey[] {
  const t = tokenize(text);
  const keys: TsigKey[] = [];
  let i = 0;
  const skipStatement = () => {
    // Skip to the `;` that ends this statement, over balanced braces.
    let depth = 0;
    while (i < t.length) {
      const tok = t[i++]!;
      if (tok === '{') depth++;
      else if (tok === '}') depth--;
      else if (tok === ';' && depth <= 0) return;
    }
  };
  while (i < t.length) {
    if (t[i] !== 'key') { skipStatement(); continue; }
    const name = t[i + 1];
    if (name === undefined || name === '{' || t[i + 2] !== '{') throw new KeyFileError('expected key "name" { … };');
    i += 3;
    let algorithm: string | undefined;
    let secret: string | undefined;
    while (i < t.length && t[i] !== '}') {
      const k = t[i]!;
      const v = t[i + 1];
      if (v === undefined || t[i + 2] !== ';') throw new KeyFileError(`key ${unquote(name)}: expected "${k} value;"`);
      if (k === 'algorithm') algorithm = unquote(v);
      else if (k === 'secret') secret = unquote(v);
      i += 3;
    }
    if (t[i] !== '}') throw new KeyFileError(`key ${unquote(name)}: missing }`);
    i++;
    if (t[i] === ';') i++;
    keys.push(makeKey(unquote(name), algorithm, secret));
  }
  if (keys.length === 0) throw new KeyFileError('no key statement found');
  return keys;
}

function parseKnotKeys(text: string): TsigKey[] {
  const keys: TsigKey[] = [];
  let cur: { id?: string; algorithm?: string; secret?: string } | undefined;
  const flush = () => {
    if (cur?.id) keys.push(makeKey(cur.id, cur.algorithm, cur.secret));
    cur = undefined;
  };
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\s+#.*$/, '').replace(/^#.*$/, '');
    const item = /^\s*-\s*id\s*:\s*"?([^"\s]+)"?\s*$/.exec(line);
    if (item) { flush(); cur = { id: item[1]! }; continue; }
    const kv = /^\s+(algorithm|secret)\s*:\s*"?([^"\s]+)"?\s*$/.exec(line);
    if (kv && cur) cur[kv[1] as 'algorithm' | 'secret'] = kv[2]!;
  }
  flush();
  if (keys.length === 0) throw new KeyFileError('no key found');
  return keys;
}

/** Builds a key from a bare base64 secret (the `secret_file` form). */
export function keyFromSecret(name: string, algorithm: TsigAlgorithm, base64Secret: string): TsigKey {
  return new TsigKey(name, algorithm, decodeSecret(base64Secret, normalizeName(name)));
}
