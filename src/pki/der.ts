/**
 * The DER primitives (X.690 §8.1, §10) shared by the codecs tlskeeper writes
 * by hand: the OCSP request and response (./ocsp-codec.ts) and PKCS#3 DH
 * parameters (src/dh/der.ts). The reader is strict on purpose: definite,
 * minimal lengths (X.690 §10.1), single-byte tags, nothing past the end, so
 * that what passes is unambiguous and nothing a lenient parser would
 * "repair" gets through.
 */

// ---------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------

/**
 * A structural problem in DER; callers turn it into a ValidationError with
 * their own code. `truncated`: the data ends before the structure does (a
 * file cut short), as opposed to data that is complete but wrong.
 */
export class DerError extends Error {
  constructor(message: string, readonly truncated = false) {
    super(message);
    this.name = 'DerError';
  }
}

export interface Tlv {
  /** The identifier octet. */
  tag: number;
  /** Offset of the contents. */
  start: number;
  /** Offset just past the contents. */
  end: number;
  /** Offset of the identifier octet (for "the encoded element"). */
  offset: number;
}

export const DER_TAG = {
  BOOLEAN: 0x01, INTEGER: 0x02, BIT_STRING: 0x03, OCTET_STRING: 0x04, NULL: 0x05, OID: 0x06,
  UTF8String: 0x0c, ENUMERATED: 0x0a, SEQUENCE: 0x30, SET: 0x31, PrintableString: 0x13, T61String: 0x14,
  IA5String: 0x16, UTCTime: 0x17, GeneralizedTime: 0x18, UniversalString: 0x1c, BMPString: 0x1e,
} as const;

const TAG_NAMES = new Map<number, string>(Object.entries(DER_TAG).map(([name, tag]) => [tag, name.replace(/_/g, ' ')]));

/** "SEQUENCE (0x30)", "[0] (0xa0)", "tag 0x9f" */
export function describeTag(tag: number): string {
  const hex = `0x${tag.toString(16).padStart(2, '0')}`;
  const name = TAG_NAMES.get(tag) ?? ((tag & 0xc0) === 0x80 ? `[${tag & 0x1f}]` : undefined);
  return name ? `${name} (${hex})` : `tag ${hex}`;
}

/** No element tlskeeper reads comes near this; it bounds the work on hostile input. */
const DEFAULT_MAX_LENGTH = 16 * 1024 * 1024;

/**
 * The element at `offset`, which must end by `limit` (the end of the
 * enclosing element, or of the data). Running past the data sets
 * `truncated`; running past an enclosing element does not.
 */
export function readTlv(buf: Uint8Array, offset: number, limit: number, what: string, maxLength = DEFAULT_MAX_LENGTH): Tlv {
  const cut = limit >= buf.length;
  if (offset >= limit) throw new DerError(`${what}: ${cut ? 'data ends' : 'the enclosing element ends'} before the tag`, cut);
  const tag = buf[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`${what}: multi-byte tags are not used here`);
  if (offset + 1 >= limit) throw new DerError(`${what}: ${cut ? 'data ends' : 'the enclosing element ends'} before the length`, cut);
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else if (first === 0x80) {
    throw new DerError(`${what}: indefinite length (BER), not DER`);
  } else {
    const count = first & 0x7f;
    if (count > 4) throw new DerError(`${what}: length field of ${count} bytes`);
    if (pos + count > limit) throw new DerError(`${what}: data ends inside the length`, cut);
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + buf[pos++]!;
    // X.690 §10.1: the definite form uses the fewest octets.
    if (length < 0x80 || buf[pos - count] === 0) throw new DerError(`${what}: length is not minimally encoded (not DER)`);
  }
  if (length > maxLength) throw new DerError(`${what}: length ${length} is implausibly large`);
  const end = pos + length;
  if (end > limit) throw new DerError(`${what}: says ${length} bytes but only ${limit - pos} follow`, cut);
  return { tag, start: pos, end, offset };
}

/** The one element that makes up `buf`, with tag `tag` and nothing after it. */
export function topLevel(buf: Uint8Array, tag: number, what: string, maxLength?: number): Tlv {
  if (buf.length === 0) throw new DerError(`${what}: no data`, true);
  const tlv = readTlv(buf, 0, buf.length, what, maxLength);
  if (tlv.tag !== tag) throw new DerError(`${what}: expected ${describeTag(tag)}, found ${describeTag(tlv.tag)}`);
  if (tlv.end !== buf.length) throw new DerError(`${what}: ${buf.length - tlv.end} bytes after the end of the structure`);
  return tlv;
}

/** Reads the elements of a constructed element one after another. */
export class DerCursor {
  pos: number;
  constructor(private readonly buf: Uint8Array, private readonly outer: Tlv, private readonly what: string) {
    this.pos = outer.start;
  }
  get done(): boolean {
    return this.pos >= this.outer.end;
  }
  peekTag(): number | undefined {
    return this.done ? undefined : this.buf[this.pos];
  }
  next(expectedTag: number, what: string): Tlv {
    const tlv = readTlv(this.buf, this.pos, this.outer.end, `${this.what} ${what}`);
    if (tlv.tag !== expectedTag) {
      throw new DerError(`${this.what} ${what}: expected ${describeTag(expectedTag)}, found ${describeTag(tlv.tag)}`);
    }
    this.pos = tlv.end;
    return tlv;
  }
  optional(expectedTag: number, what: string): Tlv | undefined {
    return this.peekTag() === expectedTag ? this.next(expectedTag, what) : undefined;
  }
  any(what: string): Tlv {
    const tlv = readTlv(this.buf, this.pos, this.outer.end, `${this.what} ${what}`);
    this.pos = tlv.end;
    return tlv;
  }
  end(): void {
    if (!this.done) throw new DerError(`${this.what}: ${this.outer.end - this.pos} unexpected trailing bytes`);
  }
}

/**
 * A non-negative INTEGER's contents as a BigInt, strictly: not empty, not
 * negative, no redundant leading zero byte (X.690 §8.3.2).
 */
export function readUnsignedInteger(buf: Uint8Array, tlv: Tlv, what: string): bigint {
  const len = tlv.end - tlv.start;
  if (len === 0) throw new DerError(`${what}: empty INTEGER`);
  const b0 = buf[tlv.start]!;
  if (b0 & 0x80) throw new DerError(`${what}: is negative`);
  if (len > 1 && b0 === 0 && (buf[tlv.start + 1]! & 0x80) === 0) throw new DerError(`${what}: INTEGER is not minimally encoded (not DER)`);
  return BigInt(`0x${Buffer.from(buf.subarray(tlv.start, tlv.end)).toString('hex')}`);
}
