/**
 * DER encoding primitives (X.690 §8.1, §10) shared by the codecs written by
 * hand in tlskeeper (the OCSP request, PKCS#3 DH parameters).
 */

/** DER length octets (X.690 §8.1.3, definite form, minimal). */
export function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One TLV element: tag, minimal length, contents. */
export function derElement(tag: number, ...contents: Buffer[]): Buffer {
  const body = Buffer.concat(contents);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}
