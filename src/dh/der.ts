/**
 * PKCS#3 DHParameter in DER (PKCS #3 v1.4 §9; the `DH PARAMETERS` PEM body
 * that OpenSSL, GnuTLS, Exim, nginx, Dovecot and Postfix read):
 *
 *   DHParameter ::= SEQUENCE {
 *     prime              INTEGER, -- p
 *     base               INTEGER, -- g
 *     privateValueLength INTEGER OPTIONAL }
 *
 * A hand-written codec for exactly this structure, kept inside src/dh (only
 * src/pki may use asn1js; the DER encoding primitives are shared from src/pki/der.ts). It is strict on purpose (X.690 §10, DER): definite
 * minimal lengths, minimal INTEGER encodings, no negative values, nothing
 * after the SEQUENCE, nothing inside it beyond the three fields. A file that
 * an OpenSSL or GnuTLS parser might "repair" is rejected here, so what passes
 * is unambiguous.
 */
import { derElement } from '../pki/der.js';

export interface DhParameter {
  p: bigint;
  g: bigint;
  /** Present in files certtool writes (the bit size of the private exponent). */
  privateValueLength?: bigint;
}

/** A structural problem in the DER, with a short reason for the message. */
export class DerError extends Error {
  constructor(message: string, readonly truncated = false) {
    super(message);
    this.name = 'DerError';
  }
}

const TAG_INTEGER = 0x02;
const TAG_SEQUENCE = 0x30;
/** Far above any DH size tlskeeper accepts (8192 bits = 1 KiB); bounds the work. */
const MAX_LENGTH = 64 * 1024;

interface Tlv {
  tag: number;
  start: number; // first content byte
  end: number; // one past the last content byte
}

function readTlv(der: Uint8Array, offset: number, what: string): Tlv {
  if (offset >= der.length) throw new DerError(`${what}: data ends before the tag`, true);
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: high-tag-number form is not used in DHParameter`);
  if (offset + 1 >= der.length) throw new DerError(`${what}: data ends before the length`, true);
  let pos = offset + 1;
  const first = der[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new DerError(`${what}: indefinite length is not DER`);
  } else {
    const n = first & 0x7f;
    if (n > 3) throw new DerError(`${what}: length field of ${n} bytes is too large`);
    if (pos + n > der.length) throw new DerError(`${what}: data ends inside the length`, true);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[pos++]!;
    // X.690 §10.1: the definite form uses the fewest octets.
    if (length < 0x80 || der[pos - n] === 0) throw new DerError(`${what}: length is not minimally encoded (not DER)`);
  }
  if (length > MAX_LENGTH) throw new DerError(`${what}: length ${length} is implausibly large`);
  if (pos + length > der.length) {
    throw new DerError(`${what}: says ${length} bytes but only ${der.length - pos} follow`, true);
  }
  return { tag, start: pos, end: pos + length };
}

function readInteger(der: Uint8Array, offset: number, what: string): { value: bigint; next: number } {
  const tlv = readTlv(der, offset, what);
  if (tlv.tag !== TAG_INTEGER) throw new DerError(`${what}: expected INTEGER (tag 0x02), found tag 0x${tlv.tag.toString(16).padStart(2, '0')}`);
  const len = tlv.end - tlv.start;
  if (len === 0) throw new DerError(`${what}: empty INTEGER`);
  const b0 = der[tlv.start]!;
  if (b0 & 0x80) throw new DerError(`${what}: is negative`);
  // X.690 §8.3.2: the first 9 bits are never all zero (no redundant leading 0x00).
  if (len > 1 && b0 === 0 && (der[tlv.start + 1]! & 0x80) === 0) throw new DerError(`${what}: INTEGER is not minimally encoded (not DER)`);
  const hex = Buffer.from(der.subarray(tlv.start, tlv.end)).toString('hex');
  return { value: BigInt(`0x${hex}`), next: tlv.end };
}

/** Decode a DHParameter; throws DerError on anything but exactly one valid structure. */
export function decodeDhParameter(der: Uint8Array): DhParameter {
  if (der.length === 0) throw new DerError('no data', true);
  const seq = readTlv(der, 0, 'DHParameter');
  if (seq.tag !== TAG_SEQUENCE) throw new DerError(`expected SEQUENCE (tag 0x30), found tag 0x${seq.tag.toString(16).padStart(2, '0')}`);
  if (seq.end !== der.length) throw new DerError(`${der.length - seq.end} bytes after the DHParameter SEQUENCE`);
  const p = readInteger(der, seq.start, 'prime p');
  const g = readInteger(der, p.next, 'base g');
  const out: DhParameter = { p: p.value, g: g.value };
  let next = g.next;
  if (next < seq.end) {
    const l = readInteger(der, next, 'privateValueLength');
    out.privateValueLength = l.value;
    next = l.next;
  }
  if (next !== seq.end) throw new DerError('extra fields inside the DHParameter SEQUENCE');
  return out;
}

function encodeInteger(v: bigint): Buffer {
  if (v < 0n) throw new RangeError('DHParameter integers are non-negative');
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return derElement(TAG_INTEGER, body);
}

/** DER of a DHParameter (p, g[, privateValueLength]). Also used by tests to write bad files. */
export function encodeDhParameter(params: DhParameter): Buffer {
  const parts = [encodeInteger(params.p), encodeInteger(params.g)];
  if (params.privateValueLength !== undefined) parts.push(encodeInteger(params.privateValueLength));
  return derElement(TAG_SEQUENCE, ...parts);
}

/** Bit length of a positive integer (0 for 0). */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}
