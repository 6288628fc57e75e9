/**
 * PKCS#3 DHParameter in DER (PKCS #3 v1.4 §9; the `DH PARAMETERS` PEM body
 * that OpenSSL, GnuTLS, Exim, nginx, Dovecot and Postfix read):
 *
 *   DHParameter ::= SEQUENCE {
 *     prime              INTEGER, -- p
 *     base               INTEGER, -- g
 *     privateValueLength INTEGER OPTIONAL }
 *
 * A codec for exactly this structure on src/pki's strict DER reader and
 * writer (only src/pki may use asn1js). Strict on purpose (X.690 §10, DER):
 * definite minimal lengths, minimal INTEGER encodings, no negative values,
 * nothing after the SEQUENCE, nothing inside it beyond the three fields. A file that
 * an OpenSSL or GnuTLS parser might "repair" is rejected here, so what passes
 * is unambiguous.
 */
import { DER_TAG, DerCursor, DerError, derElement, readUnsignedInteger, topLevel } from '../pki/index.js';

export interface DhParameter {
  p: bigint;
  g: bigint;
  /** Present in files certtool writes (the bit size of the private exponent). */
  privateValueLength?: bigint;
}

export { DerError };

const MAX_LENGTH = 64 * 1024; // far above any DH size tlskeeper accepts (8192 bits = 1 KiB); bounds the work

/** Decode a DHParameter; throws DerError on anything but exactly one valid structure. */
export function decodeDhParameter(der: Uint8Array): DhParameter {
  const seq = topLevel(der, DER_TAG.SEQUENCE, 'DHParameter', MAX_LENGTH);
  const fields = new DerCursor(der, seq, 'DHParameter');
  const out: DhParameter = {
    p: readUnsignedInteger(der, fields.next(DER_TAG.INTEGER, 'prime p'), 'prime p'),
    g: readUnsignedInteger(der, fields.next(DER_TAG.INTEGER, 'base g'), 'base g'),
  };
  if (!fields.done) out.privateValueLength = readUnsignedInteger(der, fields.next(DER_TAG.INTEGER, 'privateValueLength'), 'privateValueLength');
  fields.end();
  return out;
}

function encodeInteger(v: bigint): Buffer {
  if (v < 0n) throw new RangeError('DHParameter integers are non-negative');
  let hex = v.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let body = Buffer.from(hex, 'hex');
  if (body[0]! & 0x80) body = Buffer.concat([Buffer.from([0]), body]);
  return derElement(DER_TAG.INTEGER, body);
}

/** DER of a DHParameter (p, g[, privateValueLength]). Also used by tests to write bad files. */
export function encodeDhParameter(params: DhParameter): Buffer {
  const parts = [encodeInteger(params.p), encodeInteger(params.g)];
  if (params.privateValueLength !== undefined) parts.push(encodeInteger(params.privateValueLength));
  return derElement(DER_TAG.SEQUENCE, ...parts);
}

/** Bit length of a positive integer (0 for 0). */
export function bitLength(n: bigint): number {
  return n === 0n ? 0 : n.toString(2).length;
}
